import BreakerRunKit
import CircuitBreaker
import Foundation
import Synchronization

/// 2026-11-30T01:15:00Z on the wall clock, in nanoseconds since the epoch.
let queueTestWallNanoseconds: Int64 = 1_796_001_300 * 1_000_000_000

/// A clock that always reads 2026-11-30T01:15:00Z.
struct QueueTestClock: BreakerClock {
    var bootID: String { "boot-q" }
    func now() -> Instant {
        Instant(monotonicNanoseconds: 1_000 * 1_000_000_000, wallNanoseconds: queueTestWallNanoseconds)
    }
}

/// Collects what a queue store reports.
final class QueueProblemLog: Sendable {
    private let problems = Mutex<[QueueProblem]>([])

    var all: [QueueProblem] { problems.withLock { $0 } }

    var sink: @Sendable (QueueProblem) -> Void {
        { [self] problem in problems.withLock { $0.append(problem) } }
    }
}

/// A fresh state directory per test, removed afterwards, and
/// queue stores of the breaker `payments` over it.
final class QueueTestDirectory: Sendable {
    let path: String
    let problems = QueueProblemLog()

    init() {
        let raw = "\(NSTemporaryDirectory())/breaker-run-queue-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
        path = URL(fileURLWithPath: raw).resolvingSymlinksInPath().path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The state directory: a level that does not exist yet.
    var stateDirectory: String { "\(path)/state" }
    /// The breaker's queue directory.
    var queue: String { "\(stateDirectory)/payments/queue" }

    /// A new store value: each has its own descriptors, as another process would.
    func store() -> QueueStore {
        let files = FileStateStore(directory: stateDirectory, clock: QueueTestClock(), warn: { _ in })
        return QueueStore(stateStore: files, breaker: "payments", clock: QueueTestClock(), report: problems.sink)
    }
}

/// An item of the command `argv`, queued `secondsAgo` before the test clock's time.
func queueItem(_ argv: [String] = ["/bin/echo", "hello"], secondsAgo: Int64 = 0, stdin: [UInt8] = []) -> QueueItem {
    QueueItem(call: .command(argv), workingDirectory: "/srv/batch", standardInput: stdin,
              environment: ["TZ": "UTC"], queuedAtWallNanoseconds: queueTestWallNanoseconds - secondsAgo * 1_000_000_000,
              user: QueueItem.User(id: 34, name: "backup"))
}

/// Enqueues and returns the position, failing the test on any other outcome.
@discardableResult
func enqueue(_ item: QueueItem, in store: QueueStore, maxItems: Int = 1000) throws -> QueuePosition {
    guard case .queued(let position) = try store.enqueue(item, maxItems: maxItems) else {
        throw QueueTestFailure(message: "not queued")
    }
    return position
}

struct QueueTestFailure: Error {
    var message: String
}

/// The file name of item `sequence`, as the store writes it.
func itemFileName(_ sequence: Int) -> String {
    let digits = String(sequence)
    return String(repeating: "0", count: 20 - digits.count) + digits + ".item"
}

/// The names in a directory, sorted; empty when it does not exist.
func names(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

/// A file's bytes, or nil.
func bytes(of path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map(Array.init)
}

/// Writes bytes to a file, creating its directory.
func writeFile(_ bytes: [UInt8], to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// A file's mode, owner group and whether it is a link, not following a link.
func fileStatus(_ path: String) -> (mode: mode_t, group: gid_t, isSymlink: Bool)? {
    var status = stat()
    guard lstat(path, &status) == 0 else { return nil }
    return (status.st_mode & 0o7777, status.st_gid, (status.st_mode & S_IFMT) == S_IFLNK)
}

/// Another process that holds an exclusive flock(2) on a file, as a drain
/// running that item would: flock(1), which alone holds the lock
/// (`--close`: its command does not inherit it), in a process group of its own,
/// spawned with posix_spawn(3) and waited for with waitpid(2) (no threads,
/// no run loop).
struct LockHolder {
    let processGroup: pid_t

    /// Starts `flock --close PATH sh -c 'echo locked; exec sleep 600'` and returns
    /// once it says it holds the lock.
    init(locking path: String) throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw QueueTestFailure(message: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addclose(&actions, ends[0])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let arguments = ["/usr/bin/flock", "--exclusive", "--close", path, "/bin/sh", "-c", "echo locked; exec sleep 600"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, arguments[0], &actions, &attributes, &argv, environ)
        close(ends[1])
        defer { close(ends[0]) }
        guard spawned == 0 else { throw QueueTestFailure(message: "posix_spawn failed: \(spawned)") }
        processGroup = child
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.last != UInt8(ascii: "\n") && read(ends[0], &byte, 1) == 1 { line.append(byte) }
        guard line == Array("locked\n".utf8) else {
            killWithSIGKILL()
            throw QueueTestFailure(message: "flock(1) did not take the lock")
        }
    }

    /// Kills the whole group with SIGKILL and reaps flock(1).
    /// - Returns: whether flock(1) died of SIGKILL.
    @discardableResult
    func killWithSIGKILL() -> Bool {
        kill(-processGroup, SIGKILL)
        var status: Int32 = 0
        while waitpid(processGroup, &status, 0) == -1 && errno == EINTR {}
        return status & 0x7F == SIGKILL
    }
}
