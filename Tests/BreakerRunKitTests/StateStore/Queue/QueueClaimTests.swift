import BreakerRunKit
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite struct QueueClaimTests {
    let directory = QueueTestDirectory()
    var store: QueueStore { directory.store() }

    @Test func twoDrainsNeverHoldTheSameItem() throws {
        for index in 1...3 { try enqueue(queueItem(["/bin/echo", "\(index)"]), in: store) }
        let drainA = directory.store()
        let drainB = directory.store()
        let a1 = try #require(try drainA.claimOldest())
        let b1 = try #require(try drainB.claimOldest())
        let a2 = try #require(try drainA.claimOldest())
        #expect([a1.sequence, b1.sequence, a2.sequence] == [1, 2, 3])
        #expect(try drainB.claimOldest() == nil)
        // A success removes the item: no one claims it again.
        try a1.remove()
        #expect(try drainB.claimOldest() == nil)
        // A released item is free again, unchanged.
        b1.release()
        let again = try #require(try drainB.claimOldest())
        #expect(again.sequence == 2)
        #expect(again.item == b1.item)
        #expect(try store.list().map(\.sequence) == [2, 3])
    }

    @Test func twoConcurrentDrainsRunEachItemExactlyOnce() throws {
        for index in 1...100 { try enqueue(queueItem(["/bin/echo", "\(index)"]), in: store) }
        let runs = Mutex<[UInt64]>([])
        let failures = Mutex<Int>(0)
        let directory = self.directory
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            // Each drain its own store: its own descriptors, as two processes.
            let drain = directory.store()
            do {
                while let claim = try drain.claimOldest() {
                    runs.withLock { $0.append(claim.sequence) }
                    try claim.remove()
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        // A claimer that opened an item just before another removed it must
        // let it go, not run it again.
        #expect(runs.withLock { $0 }.sorted() == Array(1...100))
        #expect(try store.list().isEmpty)
    }

    @Test func aRewrittenItemIsClaimedByOneDrainAtATime() throws {
        try enqueue(queueItem(), in: store)
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        let first = try #require(try store.claimOldest())
        // A late claimer opened the old file; the first claimer rewrites it
        // (rename over) and releases: the late claimer's inode is not the item's.
        let stale = open(itemPath, O_RDONLY | O_CLOEXEC)
        defer { close(stale) }
        #expect(try first.recordFailure(maxAttempts: 5) == .kept(attempts: 1))
        #expect(flock(stale, LOCK_EX | LOCK_NB) == 0)
        // The store itself, opening afresh, gets the rewritten item once.
        let second = try #require(try store.claimOldest())
        #expect(second.item.attempts == 1)
        #expect(try directory.store().claimOldest() == nil)
    }

    @Test func anItemWhoseDrainWasKilledIsClaimableAgainUnchanged() throws {
        try enqueue(queueItem(["/bin/echo", "once"], stdin: [0, 1, 2]), in: store)
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        let before = try #require(bytes(of: itemPath))
        // Another process holds the item's lock (flock(1), as a drain would)
        // and is killed with SIGKILL in the middle of the replay.
        let holder = try LockHolder(locking: itemPath)
        #expect(try store.claimOldest() == nil)
        #expect(holder.killWithSIGKILL())
        // The kernel freed the lock; the item is there, whole, and runs again.
        let claim = try #require(try store.claimOldest())
        #expect(claim.item.call == .command(["/bin/echo", "once"]))
        #expect(claim.item.attempts == 0)
        #expect(bytes(of: itemPath) == before)
    }

    @Test func aClaimIsNeverInheritedByTheReplayedCall() throws {
        try enqueue(queueItem(), in: store)
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        let claim = try #require(try store.claimOldest())
        let flags = descriptors(openOn: itemPath).map { fcntl($0, F_GETFD) }
        #expect(flags.count == 1)
        #expect(flags.allSatisfy { $0 >= 0 && $0 & FD_CLOEXEC != 0 })
        let queueFlags = descriptors(openOn: directory.queue).map { fcntl($0, F_GETFD) }
        #expect(queueFlags.count == 1)
        #expect(queueFlags.allSatisfy { $0 >= 0 && $0 & FD_CLOEXEC != 0 })
        claim.release()
        #expect(descriptors(openOn: itemPath).isEmpty)
        #expect(descriptors(openOn: directory.queue).isEmpty)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give the directory a group of its own"))
    func aHardLinkedItemInASharedDirectoryIsMovedAsideAndTheOtherFileKept() throws {
        try FileManager.default.createDirectory(atPath: directory.stateDirectory, withIntermediateDirectories: true)
        #expect(chown(directory.stateDirectory, 0, 4_242) == 0)
        #expect(chmod(directory.stateDirectory, 0o2770) == 0)
        try enqueue(queueItem(), in: store)
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        let elsewhere = "\(directory.path)/elsewhere"
        let original = try #require(bytes(of: itemPath))
        #expect(link(itemPath, elsewhere) == 0)
        #expect(try store.claimOldest() == nil)
        #expect(bytes(of: elsewhere) == original)
        #expect(directory.problems.all.map(\.movedTo) == ["\(itemPath).corrupt-20261130T011500Z"])
        #expect(directory.problems.all.first?.reason.contains("2 hard links") == true)
    }

    @Test func aRewriteKilledBeforeItsRenameLeavesTheFormerItem() throws {
        try enqueue(queueItem(), in: store)
        // The drain died after writing half of the rewrite, before the rename.
        try writeFile(Array(#"{"attempts":1,"call":"#.utf8), to: "\(directory.queue)/\(itemFileName(1)).tmp")
        let claim = try #require(try store.claimOldest())
        #expect(claim.item.attempts == 0)
        #expect(names(in: directory.queue) == [itemFileName(1), "lock"])
    }

    @Test func failuresCountUpAndTheLastOneMovesTheItemToDead() throws {
        let position = try enqueue(queueItem(["/bin/false"]), in: store)
        try enqueue(queueItem(["/bin/true"]), in: store)
        #expect(try #require(try store.claimOldest()).recordFailure(maxAttempts: 3) == .kept(attempts: 1))
        #expect(try #require(try store.claimOldest()).recordFailure(maxAttempts: 3) == .kept(attempts: 2))
        let last = try #require(try store.claimOldest())
        #expect(last.item.attempts == 2)
        let deadPath = "\(directory.queue)/dead/\(itemFileName(1))"
        #expect(try last.recordFailure(maxAttempts: 3) == .dead(attempts: 3, path: deadPath))
        #expect(!last.isHeld)
        let dead = try QueueItemCodec.decode(try #require(bytes(of: deadPath)))
        #expect(dead.id == position.id)
        #expect(dead.attempts == 3)
        // The next claim is the next item; the dead one never comes back.
        let next = try #require(try store.claimOldest())
        #expect(next.item.call == .command(["/bin/true"]))
        #expect(try store.summary(nowWallNanoseconds: queueTestWallNanoseconds).dead == 1)
    }

    @Test func aDrainThatKeepsAFailedItemGoesOnAfterIt() throws {
        for index in 1...3 { try enqueue(queueItem(["/bin/echo", "\(index)"]), in: store) }
        let first = try #require(try store.claimOldest())
        try first.recordFailure(maxAttempts: 5)
        let next = try #require(try store.claimOldest(after: first.sequence))
        #expect(next.sequence == 2)
    }

    @Test func aDeadItemOfTheSameNumberIsKept() throws {
        try writeFile(Array("an earlier dead item".utf8), to: "\(directory.queue)/dead/\(itemFileName(1))")
        try enqueue(queueItem(), in: store)
        let path = try #require(try store.claimOldest()).moveToDead()
        #expect(path == "\(directory.queue)/dead/00000000000000000001-2.item")
        #expect(bytes(of: "\(directory.queue)/dead/\(itemFileName(1))") == Array("an earlier dead item".utf8))
    }

    @Test func aCorruptItemIsMovedAsideReportedAndNeverReturned() throws {
        try enqueue(queueItem(["/bin/echo", "1"]), in: store)
        try enqueue(queueItem(["/bin/echo", "2"]), in: store)
        let garbage = Array(#"{"format":1,"id":"q-0123456789abcdef0123456789abcdef","call":"#.utf8)
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        try writeFile(garbage, to: itemPath)
        // A listing shows it as unreadable and moves nothing.
        let listed = try store.list()
        #expect(listed.first?.contents == .failure(.notJSON))
        #expect(bytes(of: itemPath) == garbage)
        let claim = try #require(try store.claimOldest())
        #expect(claim.item.call == .command(["/bin/echo", "2"]))
        let aside = "\(itemPath).corrupt-20261130T011500Z"
        #expect(bytes(of: aside) == garbage)
        #expect(directory.problems.all == [QueueProblem(path: itemPath, reason: "not valid JSON", movedTo: aside)])
        #expect(directory.problems.all.first?.description
            == "queue item \(itemPath) was unreadable (not valid JSON); moved aside to \(aside), never run")
        #expect(try store.list().map(\.sequence) == [2])
    }

    @Test func anItemOfANewerFormatIsLeftWhereItIsAndNotRun() throws {
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        let newer = Array(#"{"format":2,"everything":"different"}"#.utf8)
        try writeFile(newer, to: itemPath)
        #expect(try store.claimOldest() == nil)
        #expect(bytes(of: itemPath) == newer)
        #expect(directory.problems.all.map(\.movedTo) == [nil])
        #expect(directory.problems.all.first?.reason == "format 2, newer than this breaker-run reads (up to 1)")
    }

    @Test func aSymlinkPlantedAtAnItemsNameIsNeverFollowed() throws {
        try enqueue(queueItem(), in: store)
        let target = "\(directory.path)/victim"
        let victim = Array(QueueItemCodec.encode(queueItem(["/bin/rm", "-rf", "/"])))
        try writeFile(victim, to: target)
        #expect(chmod(target, 0o644) == 0)
        let itemPath = "\(directory.queue)/\(itemFileName(1))"
        #expect(unlink(itemPath) == 0)
        #expect(symlink(target, itemPath) == 0)
        #expect(try store.list().first?.item == nil)
        #expect(try store.claimOldest() == nil)
        // Moved aside as a link, reported; the target is untouched and never run.
        let aside = "\(itemPath).corrupt-20261130T011500Z"
        #expect(fileStatus(aside)?.isSymlink == true)
        #expect(bytes(of: target) == victim)
        #expect(fileStatus(target)?.mode == 0o644)
        #expect(directory.problems.all.map(\.movedTo) == [aside])
        #expect(directory.problems.all.first?.reason.contains("refusing to follow symlink") == true)
    }

    @Test func symlinksPlantedForTheQueueItsLockOrTemporaryFileAreNeverFollowed() throws {
        let target = "\(directory.path)/victim"
        try writeFile(Array("keep".utf8), to: target)
        try FileManager.default.createDirectory(atPath: "\(directory.stateDirectory)/payments", withIntermediateDirectories: true)
        #expect(chmod(directory.stateDirectory, 0o700) == 0 && chmod("\(directory.stateDirectory)/payments", 0o700) == 0)

        #expect(symlink(directory.path, directory.queue) == 0)
        #expect(throws: StateStoreError.symlinkRefused(path: directory.queue)) { try store.enqueue(queueItem(), maxItems: 10) }
        #expect(throws: StateStoreError.symlinkRefused(path: directory.queue)) { try store.list() }
        #expect(unlink(directory.queue) == 0)

        try FileManager.default.createDirectory(atPath: directory.queue, withIntermediateDirectories: false)
        #expect(chmod(directory.queue, 0o700) == 0)
        #expect(symlink(target, "\(directory.queue)/lock") == 0)
        #expect(throws: StateStoreError.symlinkRefused(path: "\(directory.queue)/lock")) { try store.enqueue(queueItem(), maxItems: 10) }
        #expect(unlink("\(directory.queue)/lock") == 0)

        #expect(symlink(target, "\(directory.queue)/enqueue.tmp") == 0)
        try enqueue(queueItem(), in: store)
        #expect(fileStatus("\(directory.queue)/enqueue.tmp") == nil)
        #expect(bytes(of: target) == Array("keep".utf8))
        #expect(try store.list().count == 1)
    }

    @Test func aQueueDirectoryOthersCanWriteIsRefused() throws {
        try enqueue(queueItem(), in: store)
        #expect(chmod(directory.queue, 0o777) == 0)
        #expect(throws: StateStoreError.writableByOthers(path: directory.queue, mode: 0o777)) { try store.claimOldest() }
    }
}
