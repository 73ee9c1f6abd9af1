import BreakerRunKit
import BreakerRunNetwork
import CircuitBreaker
import Foundation
import Testing

/// The PostgreSQL store's keys (issue 19), in-process against a real server
/// (`PostgresServer`): `trackKey`, a key's state under `NAME/KEY`,
/// `recordKeyState` and `keyEntries`, with the file store's rules. Each
/// store is one connection, as each breaker-run process is; a second store
/// is another host.
@Suite("PostgreSQL store's keys", .enabled(if: PostgresServer.isUsable, "PostgreSQL server binaries not found: install Debian's postgresql"))
struct PostgresKeyStoreTests {
    /// A store of `server`, its local directory under `directory`.
    static func store(_ server: PostgresServer, directory: String) -> PostgresStateStore {
        let settings = PostgreSQLSettings(host: "127.0.0.1", port: server.port, user: PostgresServer.role, database: "postgres",
                                          sslMode: .disable, connectTimeout: .seconds(60))
        let local = FileStateStore(directory: directory, clock: SystemClock(), warn: { _ in })
        return PostgresStateStore(settings: settings, local: local, environment: ["PGPASSWORD": PostgresServer.password])
    }

    static func key(_ key: String) -> KeyedName { KeyedName(breaker: "alpha", key: key) }

    /// Tracks `key`, which must be granted, and returns its lease.
    static func track(_ store: PostgresStateStore, _ key: String, bounds: PerKey) throws -> any StatePermit {
        guard case .tracked(let lease) = try store.trackKey(Self.key(key), bounds: bounds) else {
            throw PostgresServer.Failure("\(key) was not tracked")
        }
        return lease
    }

    /// Tracks `key`, runs one successful call's worth of counting on it, and
    /// gives the lease back.
    static func use(_ store: PostgresStateStore, _ key: String, bounds: PerKey, successes: UInt64 = 1) throws {
        let lease = try track(store, key, bounds: bounds)
        defer { lease.release() }
        try store.update(Self.key(key).storeName) { state, _ in state.counts.successes += successes }
    }

    /// Opens `key` for an hour and records it in the index.
    static func open(_ store: PostgresStateStore, _ key: String) throws {
        try store.update(Self.key(key).storeName) { state, now in
            state.trip(at: now, for: .seconds(3600), reason: "connection refused", policy: Policy())
        }
        try store.recordKeyState(Self.key(key))
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("breaker-run-pgkeys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Two keys are two breakers: one opened is recorded open with its
    /// reason and times, the other stays closed; each state is its own
    /// `breakers` row, and the index is one `keys` row each.
    @Test func twoKeysKeepTheirOwnStateAndTheIndexRecordsIt() throws {
        let server = try PostgresServer()
        let store = Self.store(server, directory: try Self.temporaryDirectory())
        let bounds = PerKey(maxKeys: 10)
        let lease = try Self.track(store, "db-1", bounds: bounds)
        try Self.open(store, "db-1")
        lease.release()
        try Self.use(store, "db-2", bounds: bounds, successes: 2)

        let entries = try store.keyEntries(of: "alpha")
        #expect(entries.map(\.key) == ["db-1", "db-2"])
        #expect(entries.map(\.state) == [.open, .closed])
        #expect(entries[0].reason == "connection refused")
        let (state, now) = try store.read(Self.key("db-1").storeName)
        #expect(entries[0].nextTrialAtWallNanoseconds.map { $0 / 1000 } == state.nextTrialAt.map { $0.wallNanoseconds / 1000 })
        #expect(entries[0].openedAtWallNanoseconds.map { $0 / 1000 } == state.openedAt.map { $0.wallNanoseconds / 1000 })
        #expect(state.effectiveCircuitState(at: now) != .closed)
        #expect(try store.read(Self.key("db-2").storeName).0.counts.successes == 2)
        #expect(try store.read("alpha").0.counts == Counts(), "a key's counts are its own")
        #expect(try store.keyEntries(of: "beta").isEmpty)
        #expect(try server.psql("SELECT string_agg(name, ',' ORDER BY name) FROM breaker_run.breakers") == "alpha/db-1,alpha/db-2")
        #expect(try server.psql("SELECT max(version) FROM breaker_run.schema_version") == "2")

        // Reset: recorded closed again, its times and reason gone.
        try store.update(Self.key("db-1").storeName) { state, now in state.reset(at: now) }
        try store.recordKeyState(Self.key("db-1"))
        let reset = try store.keyEntries(of: "alpha")[0]
        #expect(reset.state == .closed && reset.reason == nil && reset.openedAtWallNanoseconds == nil)
    }

    /// At `max_keys: 2`, a third key forgets the least recently used closed
    /// key (by `last_used`, not by registration), whose counts go to the
    /// breaker's own state and whose rows are deleted; an open key is never
    /// forgotten, and with every key open a new key is refused as full.
    @Test func aNewKeyForgetsTheLeastRecentlyUsedClosedKeyAndNeverAnOpenOne() throws {
        let server = try PostgresServer()
        let store = Self.store(server, directory: try Self.temporaryDirectory())
        let bounds = PerKey(maxKeys: 2)
        try Self.use(store, "a", bounds: bounds, successes: 3)
        try Self.use(store, "b", bounds: bounds, successes: 5)
        try Self.use(store, "a", bounds: bounds)
        try Self.use(store, "c", bounds: bounds)
        #expect(try store.keyEntries(of: "alpha").map(\.key) == ["a", "c"], "b was used least recently")
        #expect(try store.read("alpha").0.counts.successes == 5, "b's counts went to the breaker")
        #expect(try store.read(Self.key("b").storeName).0.counts.successes == 0, "b's state is gone")
        #expect(try server.psql("SELECT count(*) FROM breaker_run.breakers WHERE name = 'alpha/b'") == "0")
        #expect(try server.psql("SELECT tracked FROM breaker_run.keyed_breakers WHERE breaker = 'alpha'") == "2")

        // a is open: d forgets c, the closed one, though a is older.
        try Self.open(store, "a")
        try Self.use(store, "d", bounds: bounds)
        #expect(try store.keyEntries(of: "alpha").map(\.key) == ["a", "d"])
        try Self.open(store, "d")
        #expect(try store.trackKey(Self.key("e"), bounds: bounds) == .full(tracked: 2))
        #expect(try store.keyEntries(of: "alpha").map(\.key) == ["a", "d"])
        // 3 + 1 of a stay a's; b's 5 and c's 1 are the breaker's.
        #expect(try store.read("alpha").0.counts.successes == 6)
        #expect(try store.read(Self.key("a").storeName).0.counts.successes == 4)
    }

    /// A key recorded closed whose state is open (its transition not yet
    /// recorded) is not forgotten: its row is brought up to date instead.
    @Test func aKeyOpenButRecordedClosedIsKeptAndItsRecordCorrected() throws {
        let server = try PostgresServer()
        let store = Self.store(server, directory: try Self.temporaryDirectory())
        let bounds = PerKey(maxKeys: 1)
        try Self.use(store, "a", bounds: bounds)
        try store.update(Self.key("a").storeName) { state, now in state.trip(at: now, for: .seconds(3600), policy: Policy()) }
        #expect(try store.trackKey(Self.key("b"), bounds: bounds) == .full(tracked: 1))
        #expect(try store.keyEntries(of: "alpha").map(\.state) == [.open])
    }

    /// A key in use, by another process (another connection) or by this one,
    /// is not forgotten; released, it is.
    @Test func aKeyInUseIsNeverForgotten() throws {
        let server = try PostgresServer()
        let directory = try Self.temporaryDirectory()
        let store = Self.store(server, directory: directory)
        let other = Self.store(server, directory: directory)
        let bounds = PerKey(maxKeys: 1)
        let elsewhere = try Self.track(other, "a", bounds: bounds)
        #expect(try store.trackKey(Self.key("b"), bounds: bounds) == .full(tracked: 1), "a is in use on another connection")
        elsewhere.release()

        let here = try Self.track(store, "a", bounds: bounds)
        #expect(try store.trackKey(Self.key("b"), bounds: bounds) == .full(tracked: 1), "a is in use by this process")
        #expect(try other.trackKey(Self.key("b"), bounds: bounds) == .full(tracked: 1), "and so for the others")
        here.release()
        let lease = try Self.track(other, "b", bounds: bounds)
        #expect(try store.keyEntries(of: "alpha").map(\.key) == ["b"])
        lease.release()
    }

    /// A closed key idle longer than `expire_after` is forgotten by the next
    /// new key, even below `max_keys`; one used since, or open, is kept.
    @Test func idleClosedKeysExpireWhenANewKeyComes() throws {
        let server = try PostgresServer()
        let store = Self.store(server, directory: try Self.temporaryDirectory())
        let bounds = PerKey(maxKeys: 100, expireAfter: .seconds(3600))
        for key in ["idle", "open", "busy"] { try Self.use(store, key, bounds: bounds, successes: 2) }
        try Self.open(store, "open")
        // Two hours pass for every key, on the server's clock.
        _ = try server.psql("UPDATE breaker_run.keys SET last_used = last_used - interval '2 hours'")
        try Self.use(store, "busy", bounds: bounds)
        try Self.use(store, "new", bounds: bounds)
        #expect(try store.keyEntries(of: "alpha").map(\.key) == ["busy", "new", "open"])
        #expect(try store.read("alpha").0.counts.successes == 2, "idle's counts went to the breaker")
    }

    /// 8 threads, each its own connection (as 8 processes), 50 uses each over
    /// 4 keys at `max_keys: 2`: keys are forgotten and registered
    /// concurrently, and every use is counted exactly once, in a key still
    /// tracked or in the breaker's own state; never more than 2 keys.
    @Test func concurrentUsesAcrossForgottenKeysAreCountedExactly() throws {
        let server = try PostgresServer()
        let directory = try Self.temporaryDirectory()
        let bounds = PerKey(maxKeys: 2)
        let tracked = LockedCounter()
        let full = LockedCounter()
        let failures = LockedCounter()
        let finished = DispatchGroup()
        for worker in 0..<8 {
            finished.enter()
            // Threads of their own, all at once: GCD would run about as
            // many as there are cores.
            Thread {
                defer { finished.leave() }
                let store = Self.store(server, directory: directory)
                for call in 0..<50 {
                    let key = Self.key("k\((worker + call) % 4)")
                    do {
                        switch try store.trackKey(key, bounds: bounds) {
                        case .tracked(let lease):
                            try store.update(key.storeName) { state, _ in state.counts.successes += 1 }
                            lease.release()
                            tracked.add()
                        case .full:
                            try store.update("alpha") { state, _ in state.counts.rejected += 1 }
                            full.add()
                        }
                    } catch {
                        failures.add("\(error)")
                    }
                }
            }.start()
        }
        finished.wait()
        #expect(failures.value == 0, "\(failures.messages.prefix(3))")
        #expect(tracked.value + full.value == 400)
        let store = Self.store(server, directory: directory)
        let entries = try store.keyEntries(of: "alpha")
        #expect(entries.count <= 2)
        var successes = try store.read("alpha").0.counts.successes
        for entry in entries { successes += try store.read(Self.key(entry.key).storeName).0.counts.successes }
        #expect(successes == UInt64(tracked.value), "every tracked use counted once")
        #expect(try store.read("alpha").0.counts.rejected == UInt64(full.value))
        #expect(try server.psql("SELECT count(*) FROM breaker_run.breakers WHERE name LIKE 'alpha/%'") == String(entries.count),
                "no state row of a forgotten key is left")
        #expect(try server.psql("SELECT tracked FROM breaker_run.keyed_breakers") == String(entries.count))
    }
}

/// A counter shared by threads, with what was noted at each count.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var notes: [String] = []

    func add(_ note: String? = nil) {
        lock.withLock {
            count += 1
            if let note { notes.append(note) }
        }
    }

    var value: Int { lock.withLock { count } }
    var messages: [String] { lock.withLock { notes } }
}

extension KeyLease: Equatable {
    /// Two answers are equal when both are `.full` of the same count, or
    /// both `.tracked` (whatever the lease).
    public static func == (lhs: KeyLease, rhs: KeyLease) -> Bool {
        switch (lhs, rhs) {
        case (.full(let left), .full(let right)): left == right
        case (.tracked, .tracked): true
        default: false
        }
    }
}
