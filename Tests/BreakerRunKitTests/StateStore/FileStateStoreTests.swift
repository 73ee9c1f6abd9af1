import Dispatch
import Testing

@Suite struct FileStateStoreTests {
    fileprivate let temporary = TemporaryDirectory()
    fileprivate let warnings = WarningLog()
    var store: FileStateStore { temporary.store(warnings: warnings) }
    var breaker: String { "\(temporary.stateDirectory)/payments" }

    @Test func writesTheStateAndReadsItBack() throws {
        let opened = try store.update("payments") { state, now in
            state.counts.successes = 3
            state.trip(at: now, for: .seconds(30), reason: "manual", policy: Policy())
            return state
        }
        let (read, now) = try store.read("payments")
        #expect(read == opened)
        #expect(read.nextTrialAt == now + .seconds(30))
        #expect(read.counts.successes == 3)
        let document = try #require(jsonObject(at: "\(breaker)/state.json"))
        #expect(document["format"] as? Int == 1)
        #expect(document["boot_id"] as? String == "boot-a")
        #expect(document["state"] as? String == "open")
        #expect(warnings.all.isEmpty)
    }

    @Test func readsAMissingBreakerAsANewClosedOneWithoutCreatingAnything() throws {
        let (state, _) = try store.read("payments")
        #expect(state == BreakerRecord())
        #expect(state.circuitState == .closed)
        #expect(!FileManager.default.fileExists(atPath: temporary.stateDirectory))
    }

    @Test func doesNotWriteWhenTheBodyChangesNothing() throws {
        try store.update("payments") { _, _ in }
        #expect(FileManager.default.fileExists(atPath: "\(breaker)/lock"))
        #expect(!FileManager.default.fileExists(atPath: "\(breaker)/state.json"))
    }

    @Test func writesNothingWhenTheBodyThrows() throws {
        struct Refusal: Error {}
        #expect(throws: Refusal.self) {
            try store.update("payments") { state, _ in
                state.counts.failures += 1
                throw Refusal()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "\(breaker)/state.json"))
    }

    @Test func replacesATemporaryFileLeftByACrashedWriter() throws {
        try write("half a sta", to: "\(breaker)/state.json.tmp")
        try store.update("payments") { state, _ in state.counts.successes += 1 }
        #expect(try store.read("payments").0.counts.successes == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: breaker).sorted() == ["lock", "state.json"])
    }

    @Test func movesAnUnreadableStateFileAsideWarnsAndStartsClosed() throws {
        let garbage = "{\"state\": \"open\", truncated"
        try write(garbage, to: "\(breaker)/state.json")
        try store.update("payments") { state, _ in
            #expect(state == BreakerRecord())
            state.counts.successes += 1
        }
        let aside = "\(breaker)/state.json.corrupt-20261130T011500Z"
        #expect(contents(of: aside) == Array(garbage.utf8))
        let document = try #require(jsonObject(at: "\(breaker)/state.json"))
        #expect((document["counts"] as? [String: Any])?["successes"] as? Int == 1)
        #expect(warnings.all == [
            "state file \(breaker)/state.json was unreadable (not valid JSON); moved aside to \(aside), starting closed"
        ])
    }

    @Test func keepsAnEarlierCorruptFileWhenTheNameIsTaken() throws {
        try write("one", to: "\(breaker)/state.json.corrupt-20261130T011500Z")
        try write("[]", to: "\(breaker)/state.json")
        try store.update("payments") { state, _ in state.counts.failures += 1 }
        #expect(contents(of: "\(breaker)/state.json.corrupt-20261130T011500Z") == Array("one".utf8))
        #expect(contents(of: "\(breaker)/state.json.corrupt-20261130T011500Z-2") == Array("[]".utf8))
        #expect(warnings.all.first?.contains("(not a JSON object)") == true)
    }

    @Test func readsAnUnreadableStateFileAsClosedAndLeavesItAlone() throws {
        try write("", to: "\(breaker)/state.json")
        let (state, _) = try store.read("payments")
        #expect(state == BreakerRecord())
        #expect(contents(of: "\(breaker)/state.json") == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: breaker) == ["state.json"])
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("(empty file)") == true)
    }

    @Test func refusesAStateFileOfANewerFormatAndLeavesItAlone() throws {
        let newer = #"{"format": 2, "state": "closed", "counts": {"successes": 7}}"#
        try write(newer, to: "\(breaker)/state.json")
        let path = "\(breaker)/state.json"
        #expect(throws: StateStoreError.unsupportedFormat(path: path, found: 2, highestSupported: 1)) {
            try store.update("payments") { state, _ in state.counts.successes += 1 }
        }
        #expect(throws: StateStoreError.unsupportedFormat(path: path, found: 2, highestSupported: 1)) {
            _ = try store.read("payments")
        }
        #expect(contents(of: path) == Array(newer.utf8))
        #expect(StateStoreError.unsupportedFormat(path: path, found: 2, highestSupported: 1).description
            == "state file \(path) has format 2, newer than this breaker-run reads (up to 1); upgrade breaker-run or move the file aside")
    }

    @Test func readsAFileWithoutFormatOrBootIDLeniently() throws {
        try write(#"{"state": "closed", "consecutive_failures": 2, "counts": {"failures": 2}}"#, to: "\(breaker)/state.json")
        let (state, _) = try store.read("payments")
        #expect(state.consecutiveFailures == 2)
        #expect(state.counts.failures == 2)
        #expect(warnings.all.isEmpty)
    }

    @Test func reExpressesAnOpenBreakerOnTheClockOfANewBoot() throws {
        try store.update("payments") { state, now in
            state.trip(at: now, for: .seconds(60), policy: Policy())
        }
        // Rebooted: 5 s since boot, 10 s of wall time after the trip.
        let afterReboot = FixedClock(
            instant: Instant(
                monotonicNanoseconds: 5_000_000_000,
                wallNanoseconds: FixedClock.bootA.instant.wallNanoseconds + 10_000_000_000
            ),
            bootID: "boot-b"
        )
        let rebooted = temporary.store(clock: afterReboot, warnings: warnings)
        let (state, now) = try rebooted.read("payments")
        #expect(state.openedAt?.monotonicNanoseconds == -5_000_000_000)
        #expect(state.nextTrialAt?.monotonicNanoseconds == 55_000_000_000)
        #expect(state.retryAfter(at: now) == .seconds(50))
        #expect(jsonObject(at: "\(breaker)/state.json")?["boot_id"] as? String == "boot-a")

        // The first change on the new boot stores it on the new boot's clock.
        try rebooted.update("payments") { _, _ in }
        let document = try #require(jsonObject(at: "\(breaker)/state.json"))
        #expect(document["boot_id"] as? String == "boot-b")
        #expect((document["next_trial_at"] as? [String: Any])?["boottime_ns"] as? Int == 55_000_000_000)
    }

    @Test func createsDirectoriesPrivateAndFilesOwnerOnly() throws {
        try store.update("payments") { state, _ in state.counts.successes += 1 }
        let permit = try #require(try store.acquirePermit("payments", slots: 1))
        defer { permit.release() }
        #expect(permissions(of: "\(temporary.path)/var") == 0o700)
        #expect(permissions(of: temporary.stateDirectory) == 0o700)
        #expect(permissions(of: breaker) == 0o700)
        #expect(permissions(of: "\(breaker)/state.json") == 0o600)
        #expect(permissions(of: "\(breaker)/lock") == 0o600)
        #expect(permissions(of: "\(breaker)/permit.0") == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: breaker).sorted() == ["lock", "permit.0", "state.json"])
    }

    @Test func refusesASymlinkInPlaceOfTheBreakerDirectory() throws {
        let outside = "\(temporary.path)/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: temporary.stateDirectory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: breaker, withDestinationPath: outside)

        let refusal = StateStoreError.symlinkRefused(path: breaker)
        #expect(throws: refusal) { try store.update("payments") { state, _ in state.counts.successes += 1 } }
        #expect(throws: refusal) { _ = try store.read("payments") }
        #expect(throws: refusal) { _ = try store.acquirePermit("payments", slots: 1) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(isSymlink(breaker))
        #expect(refusal.description.hasPrefix("refusing to follow symlink \(breaker)"))
    }

    @Test(arguments: ["state.json", "lock", "permit.0"])
    func refusesASymlinkInPlaceOfAFile(file: String) throws {
        let target = "\(temporary.path)/target"
        try write("precious", to: target)
        try FileManager.default.createDirectory(atPath: breaker, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(breaker)/\(file)", withDestinationPath: target)

        let refusal = StateStoreError.symlinkRefused(path: "\(breaker)/\(file)")
        if file == "permit.0" {
            #expect(throws: refusal) { _ = try store.acquirePermit("payments", slots: 1) }
        } else {
            #expect(throws: refusal) { try store.update("payments") { state, _ in state.counts.successes += 1 } }
        }
        if file == "state.json" {
            #expect(throws: refusal) { _ = try store.read("payments") }
        }
        #expect(contents(of: target) == Array("precious".utf8))
        #expect(isSymlink("\(breaker)/\(file)"))
    }

    @Test func refusesAFileInPlaceOfTheBreakerDirectory() throws {
        try write("x", to: breaker)
        #expect(throws: StateStoreError.notADirectory(path: breaker)) {
            try store.update("payments") { _, _ in }
        }
    }

    @Test func namesTheStateDirectoryWhenItCannotBeCreated() throws {
        try write("a file", to: "\(temporary.path)/var")
        let store = temporary.store(warnings: warnings)
        #expect {
            try store.update("payments") { _, _ in }
        } throws: { error in
            guard case StateStoreError.cannotCreateDirectory(let path, let cause) = error else { return false }
            return path == temporary.stateDirectory && cause.errno == ENOTDIR
                && "\(error)" == "cannot create state directory \(temporary.stateDirectory): Not a directory; create it or pass --state-dir"
        }
    }

    @Test func grantsOnePermitPerSlotUntilReleased() throws {
        let first = try #require(try store.acquirePermit("payments", slots: 1))
        #expect(first.slot == 0)
        #expect(first.path == "\(breaker)/permit.0")
        #expect(try store.acquirePermit("payments", slots: 1) == nil)
        first.release()
        #expect(!first.isHeld)
        let again = try #require(try store.acquirePermit("payments", slots: 1))
        #expect(again.slot == 0)
    }

    @Test func grantsTheNextFreeSlotAndNoneBeyondTheLast() throws {
        let first = try #require(try store.acquirePermit("payments", slots: 2))
        let second = try #require(try store.acquirePermit("payments", slots: 2))
        #expect(first.slot == 0 && second.slot == 1)
        #expect(try store.acquirePermit("payments", slots: 2) == nil)
        #expect(try store.acquirePermit("payments", slots: 0) == nil)
        second.release()
        #expect(try store.acquirePermit("payments", slots: 2)?.slot == 1)
    }

    @Test func releasesAPermitWhenItIsDropped() throws {
        do {
            let held = try store.acquirePermit("payments", slots: 1)
            #expect(held != nil)
        }
        #expect(try store.acquirePermit("payments", slots: 1) != nil)
    }

    @Test func grantsPermitsInsideAnUpdate() throws {
        let store = self.store
        let permit = try store.update("payments") { state, now in
            state.trip(at: now, for: .zero, policy: Policy())
            var permit: HeldLock?
            let admission = state.admit(at: now, policy: Policy()) {
                permit = try? store.acquirePermit("payments", slots: 1)
                return permit != nil
            }
            guard case .admitted(let ticket) = admission, ticket.isTrial else { return nil as HeldLock? }
            return permit
        }
        let held = try #require(permit)
        let rejected = try store.update("payments") { state, now in
            state.admit(at: now, policy: Policy()) { (try? store.acquirePermit("payments", slots: 1)) != nil }
        }
        #expect(rejected == .rejected(.trialsTaken))
        held.release()
    }

    @Test func keepsEveryIncrementUnderConcurrentUpdates() throws {
        let store = self.store
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            let thread = Thread {
                for _ in 0..<200 {
                    do {
                        try store.update("payments") { state, _ in state.counts.successes += 1 }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        #expect(failures.withLock { $0 } == [])
        let (state, _) = try store.read("payments")
        #expect(state.counts.successes == 1600)
        // The first update made state.json; the 1,599 others only counted.
        #expect(try FileManager.default.contentsOfDirectory(atPath: breaker).sorted() == ["counts", "lock", "state.json"])
        #expect(try pendingCounts(in: breaker).counts.successes == 1599)
    }

    @Test func opensTheLockAndPermitsCloseOnExec() throws {
        let lockPath = "\(breaker)/lock"
        let flags = try store.update("payments") { _, _ in
            descriptors(openOn: lockPath).map { fcntl($0, F_GETFD) }
        }
        #expect(flags.count == 1)
        #expect(flags.allSatisfy { $0 >= 0 && $0 & FD_CLOEXEC != 0 })
        #expect(descriptors(openOn: lockPath).isEmpty)

        let permit = try #require(try store.acquirePermit("payments", slots: 1))
        let permitFlags = descriptors(openOn: permit.path).map { fcntl($0, F_GETFD) }
        #expect(permitFlags.count == 1)
        #expect(permitFlags.allSatisfy { $0 >= 0 && $0 & FD_CLOEXEC != 0 })
        permit.release()
        #expect(descriptors(openOn: permit.path).isEmpty)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func holdsTheLockAgainstTheFlockCommandOfAnotherProcess() throws {
        let lockPath = "\(breaker)/lock"
        let status = try store.update("payments") { _, _ in
            let flock = Process()
            flock.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            flock.arguments = ["--nonblock", "--conflict-exit-code", "3", lockPath, "true"]
            try flock.run()
            flock.waitUntilExit()
            return flock.terminationStatus
        }
        #expect(status == 3)
    }

    @Test func holdsTheLockAgainstFlockOnTheSameFile() throws {
        let lockPath = "\(breaker)/lock"
        let blocked = try store.update("payments") { _, _ in
            let other = open(lockPath, O_RDONLY | O_CLOEXEC)
            defer { close(other) }
            return flock(other, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK
        }
        #expect(blocked)
        let other = open(lockPath, O_RDONLY | O_CLOEXEC)
        defer { close(other) }
        #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
    }
}
import BreakerRunKit
import CircuitBreaker
import Foundation
import Synchronization

/// A clock that always reads the same instant on a named boot.
fileprivate struct FixedClock: BreakerClock {
    var instant: Instant
    var bootID: String

    func now() -> Instant { instant }

    /// 2026-11-30T01:15:00Z, 1000 s after the boot "boot-a".
    static let bootA = FixedClock(
        instant: Instant(monotonicNanoseconds: 1_000 * 1_000_000_000, wallNanoseconds: 1_796_001_300 * 1_000_000_000),
        bootID: "boot-a"
    )
}

/// Collects the store's warnings.
fileprivate final class WarningLog: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    var sink: @Sendable (String) -> Void {
        { [self] line in lines.withLock { $0.append(line) } }
    }
}

/// A fresh directory per test (mkdtemp(3)), removed afterwards, with its
/// path resolved so that it compares equal to /proc/self/fd targets.
fileprivate final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("\(NSTemporaryDirectory())/breaker-run-store-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(created != nil, "mkdtemp failed")
        let raw = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        path = URL(fileURLWithPath: raw).resolvingSymlinksInPath().path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The state directory used by the tests: two levels that do not exist yet.
    var stateDirectory: String { "\(path)/var/state" }

    func store(clock: FixedClock = .bootA, warnings: WarningLog = WarningLog()) -> FileStateStore {
        FileStateStore(directory: stateDirectory, clock: clock, warn: warnings.sink)
    }
}

fileprivate func contents(of path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map(Array.init)
}

fileprivate func write(_ text: String, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// The permission bits of a file, not following a symlink.
fileprivate func permissions(of path: String) -> mode_t? {
    var status = stat()
    guard lstat(path, &status) == 0 else { return nil }
    return status.st_mode & 0o7777
}

fileprivate func isSymlink(_ path: String) -> Bool {
    var status = stat()
    return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK
}

/// This process's descriptors that are open on `path`, from /proc/self/fd
/// (the queue's tests use it too).
func descriptors(openOn path: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return entries.compactMap { entry in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"),
              target == path else { return nil }
        return Int32(entry)
    }
}

/// The decoded `counts` file of a breaker directory.
fileprivate func pendingCounts(in breaker: String) throws -> PendingCounts {
    let bytes = try #require(contents(of: "\(breaker)/counts"))
    return try #require(PendingCounts.decode(bytes))
}

fileprivate func jsonObject(at path: String) -> [String: Any]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// Counts-only changes go to `NAME/counts`, without rewriting `state.json`
/// (`PendingCounts`), and are folded into it exactly once.
@Suite struct PendingCountsTests {
    fileprivate let temporary = TemporaryDirectory()
    fileprivate let warnings = WarningLog()
    var store: FileStateStore { temporary.store(warnings: warnings) }
    var breaker: String { "\(temporary.stateDirectory)/payments" }

    /// Opens the breaker: a full write, so that state.json exists.
    func open() throws {
        try store.update("payments") { state, now in
            state.trip(at: now, for: .seconds(30), reason: "manual", policy: Policy())
        }
    }

    @Test func aCountsOnlyChangeLeavesStateJSONAsItWasAndIsReadBack() throws {
        try open()
        let before = try #require(contents(of: "\(breaker)/state.json"))
        for _ in 0..<3 {
            try store.update("payments") { state, now in
                _ = state.admit(at: now, policy: Policy()) { true }
                state.counts.fallbacks += 1
            }
        }
        #expect(contents(of: "\(breaker)/state.json") == before)
        let pending = try pendingCounts(in: breaker)
        #expect(pending.counts == Counts(successes: 0, failures: 0, ignored: 0, rejected: 3, fallbacks: 3))
        #expect(pending.epoch == PendingCounts.initialEpoch)
        #expect(permissions(of: "\(breaker)/counts") == 0o600)
        let (state, _) = try store.read("payments")
        #expect(state.counts.rejected == 3)
        #expect(state.counts.fallbacks == 3)
        #expect(state.circuitState != .closed)
        #expect(warnings.all.isEmpty)
    }

    @Test func aCountsOnlyChangeRemovesATemporaryFileLeftByAKilledWriter() throws {
        try open()
        try write("half a sta", to: "\(breaker)/state.json.tmp")
        try store.update("payments") { state, _ in state.counts.rejected += 1 }
        #expect(try FileManager.default.contentsOfDirectory(atPath: breaker).sorted() == ["counts", "lock", "state.json"])
    }

    @Test func theNextStateChangeFoldsThePendingCountsOnceUnderANewEpoch() throws {
        try open()
        try store.update("payments") { state, _ in state.counts.rejected += 2 }
        try store.update("payments") { state, now in
            state.reset(at: now)
            state.counts.successes += 1
        }
        let document = try #require(jsonObject(at: "\(breaker)/state.json"))
        let epoch = try #require(document["counts_epoch"] as? UInt64)
        #expect(epoch != PendingCounts.initialEpoch && epoch <= PendingCounts.largestEpoch)
        #expect((document["counts"] as? [String: Int])?["rejected"] == 2)
        #expect((document["counts"] as? [String: Int])?["successes"] == 1)
        #expect(try pendingCounts(in: breaker) == PendingCounts(epoch: epoch, counts: Counts()))
        let (state, _) = try store.read("payments")
        #expect(state.counts.rejected == 2)
        #expect(state.circuitState == .closed)
    }

    @Test func countsOfAnotherEpochAreNotCountedTwice() throws {
        try open()
        try store.update("payments") { state, _ in state.counts.rejected += 5 }
        let unfolded = try #require(contents(of: "\(breaker)/counts"))
        try store.update("payments") { state, now in state.reset(at: now) }
        // A fold whose reset of the counts file was lost (a power cut).
        try Data(unfolded).write(to: URL(fileURLWithPath: "\(breaker)/counts"))

        #expect(try store.read("payments").0.counts.rejected == 5)
        try store.update("payments") { state, _ in state.counts.successes += 1 }
        let (state, _) = try store.read("payments")
        #expect(state.counts.rejected == 5)
        #expect(state.counts.successes == 1)
        let epoch = try #require(jsonObject(at: "\(breaker)/state.json")?["counts_epoch"] as? UInt64)
        #expect(try pendingCounts(in: breaker) == PendingCounts(epoch: epoch, counts: Counts(successes: 1, failures: 0, ignored: 0, rejected: 0, fallbacks: 0)))
    }

    @Test func countsWithoutAStateFileAreNotCounted() throws {
        try write(PendingCounts(epoch: 0, counts: Counts(successes: 9, failures: 0, ignored: 0, rejected: 0, fallbacks: 0)).encodedText, to: "\(breaker)/counts")
        #expect(try store.read("payments").0.counts.successes == 0)
        try store.update("payments") { state, _ in state.counts.successes += 1 }
        #expect(try store.read("payments").0.counts.successes == 1)
        // That first write made state.json, under an epoch the old file lacks.
        let epoch = try #require(jsonObject(at: "\(breaker)/state.json")?["counts_epoch"] as? UInt64)
        #expect(try pendingCounts(in: breaker) == PendingCounts(epoch: epoch, counts: Counts()))
    }

    @Test func aDamagedCountsFileIsReportedAndRewritten() throws {
        try open()
        try store.update("payments") { state, _ in state.counts.rejected += 4 }
        var torn = try #require(contents(of: "\(breaker)/counts"))
        torn[torn.count / 2] ^= 0x01
        try Data(torn).write(to: URL(fileURLWithPath: "\(breaker)/counts"))

        #expect(try store.read("payments").0.counts.rejected == 0)
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("counts file \(breaker)/counts was damaged") == true)
        try store.update("payments") { state, _ in state.counts.rejected += 1 }
        #expect(try store.read("payments").0.counts.rejected == 1)
        #expect(try pendingCounts(in: breaker).counts.rejected == 1)
    }

    @Test(arguments: ["symlink", "directory"])
    func somethingPlantedAtTheCountsFileCostsOnlyItsCountsNotTheState(planted: String) throws {
        try open()
        let target = "\(temporary.path)/target"
        try write("precious", to: target)
        if planted == "symlink" {
            try FileManager.default.createSymbolicLink(atPath: "\(breaker)/counts", withDestinationPath: target)
        } else {
            try FileManager.default.createDirectory(atPath: "\(breaker)/counts", withIntermediateDirectories: false)
        }
        // A rejection by the open breaker: counted, in state.json instead.
        try store.update("payments") { state, now in _ = state.admit(at: now, policy: Policy()) { true } }
        let (state, _) = try store.read("payments")
        #expect(state.circuitState != .closed, "the breaker is still open")
        #expect(state.counts.rejected == 1)
        #expect((jsonObject(at: "\(breaker)/state.json")?["counts"] as? [String: Int])?["rejected"] == 1)
        #expect(contents(of: target) == Array("precious".utf8))
        #expect(warnings.all.contains { $0.contains("counts file \(breaker)/counts cannot be used") && $0.contains("until it is removed") })
    }

    @Test func aCountsFileRoundTripsAndAnyChangedByteIsRefused() throws {
        let pending = PendingCounts(epoch: PendingCounts.largestEpoch,
                                    counts: Counts(successes: .max, failures: 1, ignored: 2, rejected: 3, fallbacks: 4))
        let bytes = pending.encoded()
        #expect(bytes.count == PendingCounts.encodedLength)
        #expect(PendingCounts.decode(bytes) == pending)
        for index in bytes.indices {
            var changed = bytes
            changed[index] = changed[index] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
            #expect(PendingCounts.decode(changed) == nil, "byte \(index) changed")
        }
        #expect(PendingCounts.decode(Array(bytes.dropLast())) == nil)
        #expect(PendingCounts.decode([]) == nil)
    }

    @Test func onlyAChangeOfCountsAloneIsACountsOnlyChange() {
        var before = BreakerRecord()
        before.counts.rejected = 7
        var after = before
        after.counts.rejected = 9
        after.counts.successes = 1
        #expect(FileStateStore.countsIncrease(from: before, to: after)
            == Counts(successes: 1, failures: 0, ignored: 0, rejected: 2, fallbacks: 0))
        var lowered = before
        lowered.counts.rejected = 6
        #expect(FileStateStore.countsIncrease(from: before, to: lowered) == nil)
        var opened = after
        opened.trip(at: FixedClock.bootA.instant, for: .seconds(30), reason: "manual", policy: Policy())
        #expect(FileStateStore.countsIncrease(from: before, to: opened) == nil)
        #expect(PendingCounts.adding(Counts(successes: 2, failures: 0, ignored: 0, rejected: 0, fallbacks: 0),
                                     to: Counts(successes: .max - 1, failures: 0, ignored: 0, rejected: 0, fallbacks: 0)).successes == .max)
    }
}

extension PendingCounts {
    var encodedText: String { String(decoding: encoded(), as: UTF8.self) }
}
