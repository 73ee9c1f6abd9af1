import BreakerRunKit
import CircuitBreaker
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Breaker state in a PostgreSQL database, shared by every host that names
/// the same server and schema: the file store's semantics across a fleet.
///
/// Tables, in the configured schema (created on first use, versioned in
/// `schema_version` and migrated forward under a transaction-level advisory
/// lock, so that concurrent first runs do not race):
///
///     breakers(name text PRIMARY KEY, state jsonb, updated_at timestamptz, updated_by text)
///     events(id bigserial PRIMARY KEY, breaker text, at timestamptz, host text,
///            from_state text, to_state text, reason text, actor text)
///     schema_version(version int)
///     keys(breaker text, key text, state smallint, opened_at timestamptz,
///          next_trial_at timestamptz, reason text, last_used timestamptz,
///          PRIMARY KEY (breaker, key))        -- version 2: keyed breakers
///     keyed_breakers(breaker text PRIMARY KEY, tracked int)
///
/// - A keyed breaker's key keeps its state in the `breakers` row named
///   `NAME/KEY` (`KeyedName.storeName`), and its place in the key index in
///   `keys` (`PostgresStateStore+Keys.swift`).
/// - `update` is one transaction: the row is created if missing, locked with
///   `SELECT ... FOR UPDATE`, the server's `clock_timestamp()` is read after
///   the lock is held, the new state is written and its transitions are
///   appended to `events` with this host's name; then COMMIT. No lock is held
///   while the call runs.
/// - Trial permits and bulkhead slots are session-level advisory locks
///   (`pg_try_advisory_lock(hashtext(schema/name), slot)`) on this process's
///   connection, held for the call's length: a process that dies or loses its
///   connection frees them, as the kernel frees a dead process's `flock`.
/// - Time is the database server's: `Instant` readings are the server's
///   `clock_timestamp()` in nanoseconds since the Unix epoch (both fields),
///   so hosts with skewed clocks agree on when a breaker opened.
/// - The `state` column holds the same document as `state.json`, through
///   the same codec (`StateDocumentCodec`): a damaged field is repaired and
///   warned about in the file store's words, naming the breaker and the
///   server, and the repaired state is written back by the next `update`.
///   Its `boot_id` is `clockID`; a row without it, or with a host's boot id
///   (a `state.json` copied in by hand), is rebased onto the server's clock.
/// - Every wait for the server (connecting, each statement) is bounded by
///   `connect_timeout`; past it the connection is closed and the operation
///   throws `PostgresStateStoreError.timedOut`.
/// - The `cached` fallback's output stays in the local state directory.
///
/// No connection is made and no event loop is started until the first
/// operation, so that configurations that do not use PostgreSQL pay nothing.
/// One store is used by one thread at a time (a breaker-run process is
/// single-threaded around its state): `update`'s body may take and release
/// permits on the same connection, inside the transaction.
public final class PostgresStateStore: StateBackend, @unchecked Sendable {
    /// The highest schema version this breaker-run creates and reads.
    public static let schemaVersion = 2
    /// The clock identity stored as `boot_id` in every row's state: the
    /// instants are the server's `clock_timestamp()`, which does not
    /// restart with the server or with any host, so rows of one server
    /// never need rebasing. Rows written before the shared codec carry it too.
    public static let clockID = "postgresql"

    /// The server and options.
    public let settings: PostgreSQLSettings
    /// Called after every change that `update` committed; nil for nothing.
    public var afterWrite: (@Sendable () -> Void)?

    private let local: FileStateStore
    private let environment: [String: String]
    private let host: String
    private var group: MultiThreadedEventLoopGroup?
    private var connection: PostgresConnection?
    private var heldKeys: Set<Int> = []
    /// The keys this process holds leases of (`trackKey`), by `KeyedName.storeName`, with
    /// how many: its own in-use locks do not keep its own transactions from forgetting a key.
    var leasedKeys: [String: Int] = [:]
    private let logger = Logger(label: "breaker-run.postgresql", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Creates a store; nothing is connected until the first operation.
    /// - Parameters:
    ///   - settings: the server, schema, TLS and time limit.
    ///   - local: the local file store, which keeps the `cached` output.
    ///   - environment: where `PGPASSWORD` is read.
    public init(settings: PostgreSQLSettings, local: FileStateStore, environment: [String: String]) {
        self.settings = settings
        self.local = local
        self.environment = environment
        host = CurrentProcess.hostName() ?? "unknown"
    }

    deinit {
        try? connection?.close().wait()
        try? group?.syncShutdownGracefully()
    }

    var schema: String { settings.schema }
    private var timeout: TimeAmount { .nanoseconds(Int64(settings.connectTimeout.components.seconds) * 1_000_000_000 + settings.connectTimeout.components.attoseconds / 1_000_000_000) }
    private var timeoutSeconds: Double { Double(settings.connectTimeout.components.seconds) + Double(settings.connectTimeout.components.attoseconds) / 1e18 }

    // MARK: StateBackend

    /// The read-modify-write of `StateBackend.update(_:_:)` in one
    /// transaction under the row's lock, with the server's clock. A row
    /// that the codec repaired or rebased is written back even when `body`
    /// changes nothing.
    /// - Throws: `PostgresStateStoreError` when the server cannot be reached
    ///   in time or a statement fails (the transaction is then rolled back,
    ///   or dies with the connection); anything `body` throws.
    public func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T {
        let (result, wrote) = try inTransaction { connection in try change(name, on: connection, body) }
        if wrote { afterWrite?() }
        return result
    }

    /// Runs `body` in one transaction on the store's connection: COMMIT
    /// when it returns, ROLLBACK when it throws.
    /// - Returns: what `body` returns.
    /// - Throws: `PostgresStateStoreError` when the server cannot be
    ///   reached or BEGIN or COMMIT fails; anything `body` throws.
    func inTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try connected()
        try execute(connection, "BEGIN", "BEGIN")
        do {
            let result = try body(connection)
            try execute(connection, "COMMIT", "COMMIT")
            return result
        } catch {
            _ = try? execute(connection, "ROLLBACK", "ROLLBACK")
            throw error
        }
    }

    /// The read-modify-write of `update` inside a transaction already
    /// begun on `connection`: the row created if missing and locked, the
    /// server's clock read, the state changed by `body`, written back when
    /// it changed or needed a repair, and its transitions logged.
    /// - Returns: what `body` returns, and whether the row was written.
    /// - Throws: `PostgresStateStoreError`; anything `body` throws.
    func change<T>(_ name: String, on connection: PostgresConnection,
                   _ body: (inout BreakerRecord, Instant) throws -> T) throws -> (T, Bool) {
        try execute(connection, "INSERT INTO \(schema).breakers (name, updated_by) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    "creating the breaker's row", [name, host])
        let rows = try query(connection, "SELECT state::text FROM \(schema).breakers WHERE name = $1 FOR UPDATE", "locking the breaker's row", [name])
        let text = try rows.first.map { try $0.decode(String?.self) } ?? nil
        let now = try serverNow(connection)
        let stored = try decodeState(text, breaker: name, now: now)
        var state = stored.state
        let before = state.generation
        let result = try body(&state, now)
        guard state != stored.state || stored.needsRewrite || text == nil else { return (result, false) }
        let encoded = try encodeState(state, breaker: name)
        try execute(connection, "UPDATE \(schema).breakers SET state = $2::jsonb, updated_at = clock_timestamp(), updated_by = $3 WHERE name = $1",
                    "writing the state", [name, encoded, host])
        for transition in state.transitions(after: before) {
            try execute(connection, """
                INSERT INTO \(schema).events (breaker, at, host, from_state, to_state, reason, actor)
                VALUES ($1, to_timestamp($2::float8 / 1e9), $3, $4, $5, $6, $7)
                """, "logging the transition",
                [name, String(transition.at.wallNanoseconds), host, transition.from.rawValue, transition.to.rawValue,
                 transition.reason, transition.actor ?? ""])
        }
        return (result, true)
    }

    /// Reads the committed state without locking, with the server's clock.
    /// Repaired fields are warned about as `update` does, and left for the
    /// next `update` to write back.
    /// - Throws: `PostgresStateStoreError`.
    public func read(_ name: String) throws -> (BreakerRecord, Instant) {
        let connection = try connected()
        let rows = try query(connection, "SELECT state::text FROM \(schema).breakers WHERE name = $1", "reading the state", [name])
        let text = try rows.first.map { try $0.decode(String?.self) } ?? nil
        let now = try serverNow(connection)
        return (try decodeState(text, breaker: name, now: now).state, now)
    }

    /// Takes trial permit 0...slots-1 as a session-level advisory lock on
    /// this process's connection, without waiting.
    /// - Throws: `PostgresStateStoreError`.
    public func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try takeAdvisoryLock(name, keys: (0..<max(0, slots)).map { $0 })
    }

    /// Takes bulkhead slot 0...slots-1 as a session-level advisory lock.
    /// - Throws: `PostgresStateStoreError`.
    public func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try takeAdvisoryLock(name, keys: (0..<max(0, slots)).map { -1 - $0 })
    }

    /// Keeps the output in the local state directory (`FileStateStore`).
    public func writeCache(_ name: String, key: String, bytes: [UInt8]) throws {
        try local.writeCache(name, key: key, bytes: bytes)
    }

    /// Reads the output kept in the local state directory.
    public func readCache(_ name: String, key: String) throws -> CachedOutput? {
        try local.readCache(name, key: key)
    }

    /// `postgresql URL (schema SCHEMA)`, without any password.
    public func location(of name: String) -> String {
        "postgresql \(settings.url) (schema \(schema))"
    }

    // MARK: Advisory locks

    private func takeAdvisoryLock(_ name: String, keys: [Int]) throws -> (any StatePermit)? {
        let connection = try connected()
        for key in keys {
            // Session-level advisory locks are re-entrant within a session:
            // one process must see its own permit as taken, as flock(2) does.
            if heldKeys.contains(Self.key(name, key)) { continue }
            let rows = try query(connection, "SELECT pg_try_advisory_lock(hashtext($1), $2::int4)", "taking an advisory lock",
                                 ["\(schema)/\(name)", String(key)])
            if try rows.first?.decode(Bool.self) == true {
                heldKeys.insert(Self.key(name, key))
                let identity = ObjectIdentifier(connection)
                return PostgresPermit(store: self) { $0.releaseAdvisoryLock(name, key: key, connection: identity) }
            }
        }
        return nil
    }

    private static func key(_ name: String, _ key: Int) -> Int {
        var hasher = Hasher()
        hasher.combine(name)
        hasher.combine(key)
        return hasher.finalize()
    }

    /// Gives an advisory lock back, if the connection that took it is still
    /// this process's (a lost connection freed it already).
    func releaseAdvisoryLock(_ name: String, key: Int, connection identity: ObjectIdentifier) {
        heldKeys.remove(Self.key(name, key))
        guard let connection, ObjectIdentifier(connection) == identity else { return }
        _ = try? query(connection, "SELECT pg_advisory_unlock(hashtext($1), $2::int4)", "releasing an advisory lock",
                       ["\(schema)/\(name)", String(key)])
    }

    // MARK: Connection

    /// The connection if one is open, without connecting: what a lock taken
    /// on an earlier connection is compared with before it is given back.
    var openConnection: PostgresConnection? {
        guard let connection, !connection.isClosed else { return nil }
        return connection
    }

    /// The open connection, connecting (and creating or migrating the
    /// schema) first when there is none or it was closed.
    func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        heldKeys.removeAll()
        leasedKeys.removeAll()
        let group = eventLoopGroup()
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user,
            password: try password(), database: settings.database, tls: try tls())
        configuration.options.connectTimeout = timeout
        let future = PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger)
        let connection: PostgresConnection
        do {
            connection = try bounded(future, operation: "the connection", closing: nil)
        } catch let error as PostgresStateStoreError {
            throw error
        } catch {
            throw PostgresStateStoreError.cannotConnect(url: settings.url, reason: connectionFailure(error))
        }
        self.connection = connection
        do {
            try migrate(connection)
        } catch {
            _ = try? connection.close().wait()
            self.connection = nil
            throw error
        }
        return connection
    }

    /// The event loop group, started on first use with every signal blocked,
    /// so that its thread never takes the signals the process supervisor
    /// waits for with `sigtimedwait`.
    private func eventLoopGroup() -> MultiThreadedEventLoopGroup {
        if let group { return group }
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let created = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        group = created
        return created
    }

    private func password() throws -> String? {
        if let path = settings.passwordFile {
            let file = fopen(path, "re")
            guard let file else {
                throw PostgresStateStoreError.cannotReadPasswordFile(path: path, reason: String(cString: strerror(errno)))
            }
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>?
            var capacity = 0
            defer { free(line) }
            guard getline(&line, &capacity, file) >= 0, let line else {
                throw PostgresStateStoreError.cannotReadPasswordFile(path: path, reason: "it is empty")
            }
            var text = String(cString: line)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        }
        return environment["PGPASSWORD"]
    }

    /// The certificates of the PEM file `path` (`ca_file`).
    /// - Throws: `PostgresStateStoreError.cannotConnect` naming the file when
    ///   it cannot be read (with errno's text) or holds no PEM certificate.
    func certificates(in path: String) throws -> [NIOSSLCertificate] {
        func failure(_ problem: String) -> PostgresStateStoreError {
            .cannotConnect(url: settings.url, reason: "ca_file \(path) \(problem)")
        }
        guard let file = fopen(path, "re") else { throw failure("cannot be read (\(String(cString: strerror(errno))))") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            bytes.append(contentsOf: buffer[..<count])
            if count < buffer.count { break }
        }
        if ferror(file) != 0 { throw failure("cannot be read (\(String(cString: strerror(errno))))") }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes), !certificates.isEmpty else {
            throw failure("holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)")
        }
        return certificates
    }

    // MARK: Statements

    /// The server's `clock_timestamp()` as an `Instant` (nanoseconds since
    /// the Unix epoch, microsecond resolution, in both fields).
    func serverNow(_ connection: PostgresConnection) throws -> Instant {
        let rows = try query(connection, "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8", "reading the server's clock")
        let microseconds = try rows.first?.decode(Int64.self) ?? 0
        return Instant(monotonicNanoseconds: microseconds * 1000, wallNanoseconds: microseconds * 1000)
    }

    /// The codec of the `state` column, shared with the file store: the same
    /// repairs, warned about in the same words, and the same rebasing.
    private var codec: StateDocumentCodec {
        StateDocumentCodec(clockID: Self.clockID, warn: local.warn)
    }

    /// The stored state of breaker `breaker` (none: a new closed breaker),
    /// decoded by the shared codec as of the server's `now`.
    /// - Throws: `PostgresStateStoreError.badState` when the document is not
    ///   an object or has a newer format.
    func decodeState(_ text: String?, breaker: String, now: Instant) throws -> StateDocumentCodec.Decoded {
        guard let text else {
            return StateDocumentCodec.Decoded(state: BreakerRecord())
        }
        switch codec.decode(Array(text.utf8), at: now, place: "state of breaker \(breaker) at \(settings.url) (schema \(schema))") {
        case .success(let decoded):
            return decoded
        case .failure(.newerFormat(let format)):
            throw PostgresStateStoreError.badState(url: settings.url, breaker: breaker, reason: "format \(format) is newer than this breaker-run reads")
        case .failure(.unreadable(let reason)):
            throw PostgresStateStoreError.badState(url: settings.url, breaker: breaker, reason: reason)
        }
    }

    private func encodeState(_ state: BreakerRecord, breaker: String) throws -> String {
        do {
            return String(decoding: try codec.encode(state), as: UTF8.self)
        } catch {
            throw PostgresStateStoreError.badState(url: settings.url, breaker: breaker, reason: "cannot encode: \(error)")
        }
    }

    func execute(_ connection: PostgresConnection, _ sql: String, _ operation: String, _ binds: [String?] = []) throws {
        _ = try query(connection, sql, operation, binds)
    }

    func query(_ connection: PostgresConnection, _ sql: String, _ operation: String, _ binds: [String?] = []) throws -> [PostgresRow] {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            if let bind { bindings.append(bind) } else { bindings.appendNull() }
        }
        let future = connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        do {
            return Array(try bounded(future, operation: operation, closing: connection).rows)
        } catch let error as PostgresStateStoreError {
            throw error
        } catch {
            if connection.isClosed { self.connection = nil }
            throw PostgresStateStoreError.queryFailed(url: settings.url, operation: operation, reason: Self.reason(error))
        }
    }

    /// Waits for `future` at most `connect_timeout`; past it, closes
    /// `connection` (so that nothing is left half-done on it) and throws
    /// `timedOut`.
    private func bounded<T: Sendable>(_ future: EventLoopFuture<T>, operation: String, closing connection: PostgresConnection?) throws -> T {
        let loop = future.eventLoop
        let promise = loop.makePromise(of: T.self)
        let isDone = NIOLockedValueBox(false)
        let expired = PostgresStateStoreError.timedOut(url: settings.url, operation: operation, seconds: timeoutSeconds)
        let timer = loop.scheduleTask(in: timeout) {
            if isDone.withLockedValue({ done in defer { done = true }; return !done }) {
                promise.fail(expired)
            }
        }
        future.whenComplete { result in
            if isDone.withLockedValue({ done in defer { done = true }; return !done }) {
                timer.cancel()
                promise.completeWith(result)
            }
        }
        do {
            return try promise.futureResult.wait()
        } catch let error as PostgresStateStoreError where error == expired {
            if let connection {
                let closing: EventLoopFuture<Void> = connection.close()
                _ = closing
                self.connection = nil
            }
            throw error
        }
    }

    /// The server's message for a PSQLError (PostgresNIO hides it from
    /// `description` by default), else the error's own text.
    static func reason(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
