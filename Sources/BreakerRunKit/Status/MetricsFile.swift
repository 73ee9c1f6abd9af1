import CircuitBreaker

/// The `metrics_file` of the configuration: a Prometheus textfile (for
/// node_exporter's textfile collector) rewritten with every breaker's metrics
/// after each change of any breaker's state.
///
/// The file is replaced atomically: the text goes to a temporary file in the
/// same directory (`.NAME.tmp-PID`, which the collector ignores because it
/// does not end in `.prom`), is made mode 0644, fsync'd, and renamed over
/// `PATH`, so a scrape never sees half a file. Rewrites by concurrent
/// processes are serialized by an `flock(2)` on `.metrics.lock` in the state
/// directory, taken before the states are read, so that the last rename
/// always carries the latest states.
public struct MetricsFile: Sendable {
    /// The file to rewrite.
    public var path: String
    /// The breakers to export, in the order printed.
    public var breakers: [BreakerConfiguration]
    /// Where their states are read (without locks).
    public var store: any StateBackend
    /// The directory of `.metrics.lock`: the local state directory, whichever
    /// backend keeps the states, since the file is this host's.
    public var lockDirectory: String

    /// Creates a metrics file writer whose states are in files.
    /// - Parameters:
    ///   - path: the file to rewrite.
    ///   - breakers: the breakers to export.
    ///   - store: where their states are read; its directory holds the lock.
    public init(path: String, breakers: [BreakerConfiguration], store: FileStateStore) {
        self.init(path: path, breakers: breakers, store: store, lockDirectory: store.directory)
    }

    /// Creates a metrics file writer for states in any backend.
    /// - Parameters:
    ///   - path: the file to rewrite.
    ///   - breakers: the breakers to export.
    ///   - store: where their states are read.
    ///   - lockDirectory: the local directory of `.metrics.lock`.
    public init(path: String, breakers: [BreakerConfiguration], store: any StateBackend, lockDirectory: String) {
        self.path = path
        self.breakers = breakers
        self.store = store
        self.lockDirectory = lockDirectory
    }

    /// Every breaker's metrics as of now: each state read without a lock
    /// (`state.json` is only ever replaced whole; a PostgreSQL row is read
    /// as committed). A breaker whose state cannot be read is left out, so
    /// that one damaged breaker does not hide the others, and is returned
    /// with its error.
    /// - Parameter store: where the states are read.
    /// - Parameter breakers: the breakers, in the order to print them.
    /// - Returns: the exposition text of the readable breakers, and each
    ///   unreadable one's name with the backend's error (`StateStoreError`,
    ///   `PostgresStateStoreError`).
    public static func render(_ breakers: [BreakerConfiguration], from store: any StateBackend) -> (text: String, unreadable: [(name: String, error: any Error)]) {
        render(breakers, from: store, queues: { _ in nil })
    }

    /// The exposition of `breakers` as `render(_:from:)` makes it, with
    /// the figures of their queues.
    /// - Parameters:
    ///   - breakers: the breakers, in the order to print them.
    ///   - store: where their states are read.
    ///   - queues: a breaker's queue figures and totals; nil for a breaker
    ///     without a queue.
    /// - Returns: the text, and the breakers whose state could not be read.
    package static func render(_ breakers: [BreakerConfiguration], from store: any StateBackend,
                               queues: (BreakerConfiguration) -> (summary: QueueSummary, totals: QueueTotals)?) -> (text: String, unreadable: [(name: String, error: any Error)]) {
        var entries: [Metrics.Breaker] = []
        var unreadable: [(name: String, error: any Error)] = []
        var latest: Instant?
        for breaker in breakers {
            do {
                var (state, now) = try store.read(breaker.name)
                var keys: KeysStatus?
                if breaker.perKey != nil {
                    let entries = try store.keyEntries(of: breaker.name)
                    keys = KeysStatus(entries, nowWallNanoseconds: now.wallNanoseconds)
                    for entry in entries {
                        let counts = try store.read(KeyedName(breaker: breaker.name, key: entry.key).storeName).0.counts
                        state.counts = PendingCounts.adding(counts, to: state.counts)
                    }
                }
                var entry = Metrics.Breaker(name: breaker.name, state: state, policy: breaker.policy)
                entry.keys = keys
                let queue = queues(breaker)
                (entry.queue, entry.queueTotals) = (queue?.summary, queue?.totals)
                entries.append(entry)
                latest = now
            } catch {
                unreadable.append((breaker.name, error))
            }
        }
        // With no breakers the time is never used.
        return (Metrics.render(entries, at: latest ?? Instant(monotonicNanoseconds: 0, wallNanoseconds: 0)), unreadable)
    }

    /// The directory `path` is in, when it does not exist (or is not a
    /// directory); nil when it does. `validate` warns of it; a run writes
    /// no metrics file there, and says nothing, until it exists (a
    /// node_exporter not installed yet).
    /// - Parameter path: the metrics file.
    /// - Returns: the missing directory, or nil.
    public static func missingDirectory(of path: String) -> String? {
        let directory = Self.directory(of: path)
        var info = stat()
        return stat(directory, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? nil : directory
    }

    private static func directory(of path: String) -> String {
        let slash = path.lastIndex(of: "/")
        return slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    }

    /// Rewrites the file with every readable breaker's current metrics;
    /// does nothing when its directory does not exist
    /// (`missingDirectory(of:)`).
    /// - Returns: the breakers left out because their state cannot be read,
    ///   each with its error.
    /// - Throws: `SystemError` when the lock, the temporary file or the
    ///   rename fails (the old file then stays as it was).
    @discardableResult
    public func write() throws -> [(name: String, error: any Error)] {
        if Self.missingDirectory(of: path) != nil { return [] }
        let lockPath = lockDirectory + "/.metrics.lock"
        let lock = try retryingInterrupts("open", path: lockPath) {
            open(lockPath, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        defer { closeDescriptor(lock) }
        try retryingInterrupts("flock", path: lockPath) { flock(lock, LOCK_EX) }
        let rendered = Self.render(breakers, from: store)
        try Self.replace(path, with: Array(rendered.text.utf8))
        return rendered.unreadable
    }

    /// Replaces `path` atomically with `bytes`, mode 0644, through a
    /// temporary file named with this process's id (which the collector
    /// ignores: it starts with a dot).
    static func replace(_ path: String, with bytes: [UInt8]) throws {
        let directory = Self.directory(of: path)
        let base = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory)/.\(base).tmp-\(getpid())"
        // A leftover of a killed writer with the same pid (the name is ours).
        _ = unlink(temporary)
        try replaceFileAtomically(path, with: bytes, temporary: temporary, mode: 0o644)
    }
}
