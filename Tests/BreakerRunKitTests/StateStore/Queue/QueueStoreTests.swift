import BreakerRunKit
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite struct QueueStoreTests {
    let directory = QueueTestDirectory()
    var store: QueueStore { directory.store() }

    @Test func itemsAreListedOldestFirstWithTheirPositions() throws {
        let first = try enqueue(queueItem(["/bin/echo", "1"]), in: store)
        let second = try enqueue(queueItem(["/bin/echo", "2"]), in: store)
        let third = try enqueue(queueItem(["/bin/echo", "3"]), in: store)
        #expect([first.sequence, second.sequence, third.sequence] == [1, 2, 3])
        #expect([first.waiting, second.waiting, third.waiting] == [1, 2, 3] as [Int])
        #expect(third.description == "item 3 of 3 waiting")
        let listed = try store.list()
        #expect(listed.map(\.sequence) == [1, 2, 3])
        #expect(listed.map { $0.item?.call } == [.command(["/bin/echo", "1"]), .command(["/bin/echo", "2"]), .command(["/bin/echo", "3"])])
        #expect(listed.map { $0.item?.id } == [first.id, second.id, third.id])
        #expect(names(in: directory.queue) == ["00000000000000000001.item", "00000000000000000002.item", "00000000000000000003.item", "lock"])
    }

    @Test func numbersKeepGrowingAfterTheQueueIsEmptied() throws {
        try enqueue(queueItem(), in: store)
        try enqueue(queueItem(), in: store)
        try #require(try store.claimOldest()).remove()
        try #require(try store.claimOldest()).remove()
        #expect(try store.list().isEmpty)
        let next = try enqueue(queueItem(), in: store)
        #expect(next.sequence == 3)
        #expect(next.waiting == 1)
    }

    @Test func aDamagedOrLostNumberInTheLockFileStillNumbersAfterTheItemsPresent() throws {
        for _ in 1...3 { try enqueue(queueItem(), in: store) }
        try writeFile(Array("garbage without a newline".utf8), to: "\(directory.queue)/lock")
        #expect(try enqueue(queueItem(), in: store).sequence == 4)
        try writeFile([], to: "\(directory.queue)/lock")
        #expect(try enqueue(queueItem(), in: store).sequence == 5)
        #expect(bytes(of: "\(directory.queue)/lock") == Array("5\n".utf8))
    }

    @Test func aFullQueueRefusesTheItemAndWritesNothing() throws {
        try enqueue(queueItem(), in: store, maxItems: 2)
        try enqueue(queueItem(), in: store, maxItems: 2)
        #expect(try store.enqueue(queueItem(["/bin/false"]), maxItems: 2) == .full(waiting: 2, maxItems: 2))
        #expect(try store.list().count == 2)
        #expect(!(try store.list().contains { $0.item?.call == .command(["/bin/false"]) }))
    }

    @Test func binaryStandardInputIsStoredByteForByte() throws {
        var input = (0...255).map(UInt8.init)
        input += input.reversed() + [0, 0, 0x1A, 0x0D, 0x0A]
        try enqueue(queueItem(stdin: input), in: store)
        let claim = try #require(try store.claimOldest())
        #expect(claim.item.standardInput == input)
    }

    @Test func temporaryFilesOfKilledWritersAreIgnoredAndRemoved() throws {
        try enqueue(queueItem(["/bin/echo", "kept"]), in: store)
        // An enqueuer killed before its rename, a claimer killed mid-rewrite.
        try writeFile(Array(#"{"format":1,"id":"q-"#.utf8), to: "\(directory.queue)/enqueue.tmp")
        try writeFile(Array("half".utf8), to: "\(directory.queue)/\(itemFileName(1)).tmp")
        #expect(try store.list().map(\.sequence) == [1])
        try enqueue(queueItem(), in: store)
        #expect(!names(in: directory.queue).contains("enqueue.tmp"))
        let claim = try #require(try store.claimOldest())
        #expect(claim.item.call == .command(["/bin/echo", "kept"]))
        #expect(!names(in: directory.queue).contains("\(itemFileName(1)).tmp"))
        #expect(directory.problems.all.isEmpty)
    }

    @Test func concurrentEnqueuersGetDistinctNumbersInArrivalOrder() throws {
        let perWriter = 25
        let sequences = Mutex<[[UInt64]]>([])
        let failures = Mutex<Int>(0)
        let directory = self.directory
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            // Each writer its own store: its own descriptors and locks.
            let store = directory.store()
            var mine: [UInt64] = []
            for index in 0..<perWriter {
                if let position = try? enqueue(queueItem(["/bin/echo", "\(writer)", "\(index)"]), in: store) {
                    mine.append(position.sequence)
                } else {
                    failures.withLock { $0 += 1 }
                }
            }
            sequences.withLock { $0.append(mine) }
        }
        #expect(failures.withLock { $0 } == 0)
        let all = sequences.withLock { $0 }
        #expect(Set(all.joined()) == Set(1...200))
        // Each writer's items came out in the order it queued them.
        #expect(all.allSatisfy { $0 == $0.sorted() })
        let listed = try store.list()
        #expect(listed.map(\.sequence) == Array(1...200))
        for writer in 0..<8 {
            let indexes = listed.compactMap { entry -> String? in
                guard case .command(let argv)? = entry.item?.call, argv[1] == "\(writer)" else { return nil }
                return argv[2]
            }
            #expect(indexes == (0..<perWriter).map(String.init))
        }
    }

    @Test func itemsArePrivateOutsideASharedDirectory() throws {
        try enqueue(queueItem(), in: store)
        #expect(fileStatus(directory.queue)?.mode == 0o700)
        #expect(fileStatus("\(directory.queue)/\(itemFileName(1))")?.mode == 0o600)
        #expect(fileStatus("\(directory.queue)/lock")?.mode == 0o600)
        try #require(try store.claimOldest()).moveToDead()
        #expect(fileStatus("\(directory.queue)/dead")?.mode == 0o700)
        #expect(fileStatus("\(directory.queue)/dead/\(itemFileName(1))")?.mode == 0o600)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to give the directory a group of its own"))
    func itemsAreGroupFilesInASharedSetgidDirectory() throws {
        let group: gid_t = 4_242
        try FileManager.default.createDirectory(atPath: directory.stateDirectory, withIntermediateDirectories: true)
        #expect(chown(directory.stateDirectory, 0, group) == 0)
        #expect(chmod(directory.stateDirectory, 0o2770) == 0)
        try enqueue(queueItem(), in: store)
        try enqueue(queueItem(), in: store)
        #expect(fileStatus(directory.queue)?.mode == 0o2770)
        #expect(fileStatus(directory.queue)?.group == group)
        // An item is its writer's command: the group reads it, only its
        // owner writes it (a drain runs only its own user's items).
        for (file, mode) in [(itemFileName(1), 0o640), (itemFileName(2), 0o640), ("lock", 0o660)] as [(String, mode_t)] {
            #expect(fileStatus("\(directory.queue)/\(file)")?.mode == mode, "\(file)")
            #expect(fileStatus("\(directory.queue)/\(file)")?.group == group, "\(file)")
        }
        try #require(try store.claimOldest()).recordFailure(maxAttempts: 5)
        #expect(fileStatus("\(directory.queue)/\(itemFileName(1))")?.mode == 0o640)
        try #require(try store.claimOldest()).moveToDead()
        #expect(fileStatus("\(directory.queue)/dead")?.mode == 0o2770)
        #expect(fileStatus("\(directory.queue)/dead")?.group == group)
    }

    @Test func expiredItemsAreDroppedByTheInjectedWallClock() throws {
        try enqueue(queueItem(["/bin/echo", "3h"], secondsAgo: 3 * 3600), in: store)
        try enqueue(queueItem(["/bin/echo", "held"], secondsAgo: 3 * 3600), in: store)
        try enqueue(queueItem(["/bin/echo", "2h+1s"], secondsAgo: 2 * 3600 + 1), in: store)
        try enqueue(queueItem(["/bin/echo", "2h"], secondsAgo: 2 * 3600), in: store)
        try enqueue(queueItem(["/bin/echo", "new"]), in: store)
        // A drain is running item 2: it is left to it.
        let running = try #require(try directory.store().claimOldest(after: 1))
        #expect(running.sequence == 2)
        let dropped = try store.dropExpired(maxAge: .seconds(2 * 3600), nowWallNanoseconds: queueTestWallNanoseconds)
        #expect(dropped.map(\.call) == [.command(["/bin/echo", "3h"]), .command(["/bin/echo", "2h+1s"])])
        #expect(try store.list().map(\.sequence) == [2, 4, 5])
        // An hour later, by the wall clock alone.
        running.release()
        let later = try store.dropExpired(maxAge: .seconds(2 * 3600), nowWallNanoseconds: queueTestWallNanoseconds + 3600 * 1_000_000_000)
        #expect(later.map(\.call) == [.command(["/bin/echo", "held"]), .command(["/bin/echo", "2h"])])
        #expect(try store.list().map(\.sequence) == [5])
    }

    @Test func anItemQueuedInTheFutureIsNotExpired() throws {
        try enqueue(queueItem(secondsAgo: -3600), in: store)
        #expect(try store.dropExpired(maxAge: .zero, nowWallNanoseconds: queueTestWallNanoseconds).isEmpty)
        #expect(try store.summary(nowWallNanoseconds: queueTestWallNanoseconds).oldestAge == .zero)
    }

    @Test func theSummaryCountsWaitingAndDeadItemsAndTheOldestAge() throws {
        #expect(try store.summary(nowWallNanoseconds: queueTestWallNanoseconds) == QueueSummary(waiting: 0, oldestAge: nil, dead: 0))
        try enqueue(queueItem(secondsAgo: 600), in: store)
        try enqueue(queueItem(secondsAgo: 90), in: store)
        try enqueue(queueItem(secondsAgo: 30), in: store)
        try #require(try store.claimOldest()).moveToDead()
        let summary = try store.summary(nowWallNanoseconds: queueTestWallNanoseconds)
        #expect(summary == QueueSummary(waiting: 2, oldestAge: .seconds(90), dead: 1))
        #expect(!FileManager.default.fileExists(atPath: "\(directory.stateDirectory)/other"))
    }

    @Test func anOperatorDropsAnItemByIdUnlessADrainRunsIt() throws {
        let first = try enqueue(queueItem(["/bin/echo", "1"]), in: store)
        let second = try enqueue(queueItem(["/bin/echo", "2"]), in: store)
        let third = try enqueue(queueItem(["/bin/echo", "3"]), in: store)
        let running = try #require(try directory.store().claimOldest())
        #expect(try store.drop(id: first.id) == .busy)
        guard case .dropped(let item, fromDead: false) = try store.drop(id: second.id) else {
            Issue.record("item 2 was not dropped")
            return
        }
        #expect(item.call == .command(["/bin/echo", "2"]))
        #expect(try store.drop(id: second.id) == .notFound)
        #expect(try store.list().map(\.sequence) == [1, 3])
        running.release()
        try #require(try store.claimOldest(after: 1)).moveToDead()
        guard case .dropped(_, fromDead: true) = try store.drop(id: third.id) else {
            Issue.record("dead item 3 was not dropped")
            return
        }
        #expect(names(in: "\(directory.queue)/dead").isEmpty)
    }

    @Test func nothingIsCreatedByReading() throws {
        #expect(try store.list().isEmpty)
        #expect(try store.claimOldest() == nil)
        #expect(try store.dropExpired(maxAge: .zero, nowWallNanoseconds: 0).isEmpty)
        #expect(try store.drop(id: QueueItem.newID()) == .notFound)
        #expect(!FileManager.default.fileExists(atPath: directory.stateDirectory))
    }
}
