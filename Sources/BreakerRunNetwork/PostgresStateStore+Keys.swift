import BreakerRunKit
import CircuitBreaker
import PostgresNIO

// A keyed breaker's keys in PostgreSQL (issue 19), with the file store's
// rules (`FileStateStore+Keys.swift`), one row per breaker and key:
//
//     breakers(name = 'NAME/KEY')   the key's state document, as any breaker's
//     keys(breaker, key, state, opened_at, next_trial_at, reason, last_used)
//                                   the key index: its recorded circuit state
//                                   and its last use, the LRU order
//                                   (index on breaker, last_used, key)
//     keyed_breakers(breaker, tracked)
//                                   how many keys NAME tracks; its row lock
//                                   serializes the registration of new keys
//                                   and every forgetting of NAME's keys
//
// In use: an invocation holds a shared session-level advisory lock on
// `hashtextextended('SCHEMA/NAME/KEY', 0)` (the one-bigint key space, apart
// from the permits' two-int4 one) on its connection for as long as its
// lease, so that a process that dies frees it. Forgetting takes the same
// lock exclusive with `pg_try_advisory_xact_lock` and skips a key it cannot
// get, so it never waits for a running call. A hash collision of two keys
// only keeps one from being forgotten while the other is in use.
//
// Costs: a known key is one statement to take its lock and one to update
// its `last_used`. A new key takes one transaction: idle closed keys are
// forgotten (at most 32, oldest first), then at `max_keys` the least
// recently used closed key not in use, read in pages of 16 by `last_used`
// with `FOR UPDATE SKIP LOCKED`; only when every closed key is in use or
// locked are all pages read. One known key's use in 16 also forgets idle
// keys, unless a registration holds the breaker's row.

extension PostgresStateStore {
    /// How many idle keys one expiry sweep forgets at most.
    static let keySweepLength = 32
    /// How many keys one page of the least-recently-used search reads.
    static let keyPageLength = 16

    /// Tracks `name.key` of its keyed breaker: the key is marked in use (a
    /// shared advisory lock held on this process's connection until the
    /// lease is released) and its `last_used` set to the server's clock; a
    /// new key is registered first, in one transaction under its breaker's
    /// `keyed_breakers` row lock, after forgetting idle closed keys
    /// (`expire_after`) and, at `max_keys`, the least recently used closed
    /// key not in use. A forgotten key's lifetime counts are added to the
    /// breaker's own state in the same transaction, so totals stay exact.
    /// - Parameters:
    ///   - name: the key.
    ///   - bounds: the breaker's `per_key` settings.
    /// - Returns: the lease, or `.full` when the key is new and every
    ///   tracked key is open, held or in use.
    /// - Throws: `PostgresStateStoreError` when the server cannot be
    ///   reached in time or a statement fails.
    public func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease {
        let connection = try connected()
        let lease = try takeKeyLease(name, on: connection)
        do {
            if try touchKey(name, on: connection) {
                if UInt8.random(in: 0..<16) == 0 { try? sweepIdleKeys(of: name.breaker, bounds: bounds) }
                return .tracked(lease)
            }
            let (full, wroteBreaker) = try inTransaction { connection in
                try registerKey(name, bounds: bounds, on: connection)
            }
            if wroteBreaker { afterWrite?() }
            if let full {
                lease.release()
                return .full(tracked: full)
            }
            return .tracked(lease)
        } catch {
            lease.release()
            throw error
        }
    }

    /// Copies the key's stored circuit state into its `keys` row, under
    /// that row's lock (so that of two recordings the later reads the later
    /// state): called after each of its transitions. A key no longer
    /// tracked is left alone.
    /// - Parameter name: the key.
    /// - Throws: `PostgresStateStoreError` when the server cannot be
    ///   reached in time, a statement fails or the key's state is unusable.
    public func recordKeyState(_ name: KeyedName) throws {
        try inTransaction { connection in
            let tracked = try query(connection, "SELECT 1 FROM \(schema).keys WHERE breaker = $1 AND key = $2 FOR UPDATE",
                                    "locking the key's row", [name.breaker, name.key])
            guard !tracked.isEmpty else { return }
            let rows = try query(connection, "SELECT state::text FROM \(schema).breakers WHERE name = $1", "reading the key's state", [name.storeName])
            let text = try rows.first.map { try $0.decode(String?.self) } ?? nil
            let now = try serverNow(connection)
            let state = try decodeState(text, breaker: name.storeName, now: now).state
            try writeKeyEntry(KeyEntry(key: name.key, record: state, at: now), of: name.breaker, on: connection)
        }
    }

    /// Every key the breaker tracks, as their `keys` rows record them.
    /// - Parameter breaker: the keyed breaker's name.
    /// - Returns: the entries, ordered by key; none when it has no key.
    /// - Throws: `PostgresStateStoreError` when the server cannot be
    ///   reached in time or the statement fails.
    public func keyEntries(of breaker: String) throws -> [KeyEntry] {
        let connection = try connected()
        let rows = try query(connection, """
            SELECT key, state::int4, (extract(epoch FROM opened_at) * 1000000)::int8,
                   (extract(epoch FROM next_trial_at) * 1000000)::int8, reason
            FROM \(schema).keys WHERE breaker = $1 ORDER BY key
            """, "reading the keys", [breaker])
        return try rows.map { row in
            let (key, state, opened, nextTrial, reason) = try row.decode((String, Int32, Int64?, Int64?, String?).self)
            // A state this breaker-run does not know counts as open: it is
            // never taken for a closed key.
            return KeyEntry(key: key, state: KeyEntry.State(rawValue: UInt8(clamping: state)) ?? .open,
                            openedAtWallNanoseconds: opened.map { $0 * 1000 }, nextTrialAtWallNanoseconds: nextTrial.map { $0 * 1000 },
                            reason: reason)
        }
    }

    /// Gives a key's lease back, if the connection that took it is still
    /// this process's (a lost connection freed it already).
    /// - Parameters:
    ///   - storeName: the key's `KeyedName.storeName`.
    ///   - identity: the connection the lease was taken on.
    func releaseKeyLease(_ storeName: String, connection identity: ObjectIdentifier) {
        // A new connection has forgotten the old one's leases already.
        guard let connection = openConnection, ObjectIdentifier(connection) == identity else { return }
        if let count = leasedKeys[storeName] { leasedKeys[storeName] = count > 1 ? count - 1 : nil }
        _ = try? query(connection, "SELECT pg_advisory_unlock_shared(hashtextextended($1, 0))", "releasing a key's lease",
                       [inUseLockName(storeName)])
    }

    // MARK: Tracking

    /// The name hashed for a key's in-use lock.
    private func inUseLockName(_ storeName: String) -> String {
        "\(schema)/\(storeName)"
    }

    /// Takes the key's in-use lock, shared, on `connection`: it waits only
    /// while a transaction is forgetting the key (a short one).
    private func takeKeyLease(_ name: KeyedName, on connection: PostgresConnection) throws -> PostgresPermit {
        let storeName = name.storeName
        try execute(connection, "SELECT pg_advisory_lock_shared(hashtextextended($1, 0))", "marking the key in use",
                    [inUseLockName(storeName)])
        leasedKeys[storeName, default: 0] += 1
        let identity = ObjectIdentifier(connection)
        return PostgresPermit(store: self) { $0.releaseKeyLease(storeName, connection: identity) }
    }

    /// Sets a tracked key's `last_used` to the server's clock.
    /// - Returns: whether the key is tracked.
    private func touchKey(_ name: KeyedName, on connection: PostgresConnection) throws -> Bool {
        let rows = try query(connection, "UPDATE \(schema).keys SET last_used = clock_timestamp() WHERE breaker = $1 AND key = $2 RETURNING 1",
                             "marking the key used", [name.breaker, name.key])
        return !rows.isEmpty
    }

    /// Registers a new key inside a transaction, under the breaker's
    /// `keyed_breakers` row lock.
    /// - Returns: nil when registered (or registered meanwhile by another
    ///   invocation), else how many keys are tracked; and whether the
    ///   breaker's own state was written (a forgotten key's counts).
    private func registerKey(_ name: KeyedName, bounds: PerKey, on connection: PostgresConnection) throws -> (Int?, Bool) {
        try execute(connection, "INSERT INTO \(schema).keyed_breakers (breaker) VALUES ($1) ON CONFLICT (breaker) DO NOTHING",
                    "creating the keyed breaker's row", [name.breaker])
        let rows = try query(connection, "SELECT tracked FROM \(schema).keyed_breakers WHERE breaker = $1 FOR UPDATE",
                             "locking the keyed breaker's row", [name.breaker])
        var tracked = Int(try rows.first?.decode(Int32.self) ?? 0)
        if try touchKey(name, on: connection) { return (nil, false) }
        var forgetting = try forgetIdleKeys(of: name.breaker, bounds: bounds, on: connection)
        tracked -= forgetting.forgotten
        if tracked >= bounds.maxKeys {
            let oldest = try forgetLeastRecentlyUsedKey(of: name.breaker, on: connection)
            forgetting.wroteBreaker = forgetting.wroteBreaker || oldest.wroteBreaker
            if oldest.forgotten == 0 {
                // Every closed key was read: the count is made exact here,
                // whatever a hand edit of the table did to it.
                let counted = try query(connection, "SELECT count(*)::int4 FROM \(schema).keys WHERE breaker = $1", "counting the keys", [name.breaker])
                tracked = Int(try counted.first?.decode(Int32.self) ?? 0)
                try setTracked(tracked, of: name.breaker, on: connection)
                if tracked >= bounds.maxKeys { return (tracked, forgetting.wroteBreaker) }
            }
            tracked -= oldest.forgotten
        }
        try execute(connection, """
            INSERT INTO \(schema).keys (breaker, key, last_used) VALUES ($1, $2, clock_timestamp())
            ON CONFLICT (breaker, key) DO UPDATE SET last_used = excluded.last_used
            """, "registering the key", [name.breaker, name.key])
        try setTracked(max(0, tracked) + 1, of: name.breaker, on: connection)
        return (nil, forgetting.wroteBreaker)
    }

    private func setTracked(_ tracked: Int, of breaker: String, on connection: PostgresConnection) throws {
        try execute(connection, "UPDATE \(schema).keyed_breakers SET tracked = $2::int4 WHERE breaker = $1", "counting the keys",
                    [breaker, String(max(0, tracked))])
    }

    /// The expiry sweep of a known key's use (one in 16): forgets idle
    /// keys unless a registration of the breaker holds its row now.
    private func sweepIdleKeys(of breaker: String, bounds: PerKey) throws {
        let wrote = try inTransaction { connection -> Bool in
            let rows = try query(connection, "SELECT tracked FROM \(schema).keyed_breakers WHERE breaker = $1 FOR UPDATE SKIP LOCKED",
                                 "locking the keyed breaker's row", [breaker])
            guard let tracked = try rows.first?.decode(Int32.self) else { return false }
            let forgetting = try forgetIdleKeys(of: breaker, bounds: bounds, on: connection)
            if forgetting.forgotten > 0 { try setTracked(Int(tracked) - forgetting.forgotten, of: breaker, on: connection) }
            return forgetting.wroteBreaker
        }
        if wrote { afterWrite?() }
    }

    // MARK: Forgetting

    /// What a forgetting did.
    private struct Forgetting {
        /// How many keys were forgotten.
        var forgotten = 0
        /// Whether the breaker's own state was written.
        var wroteBreaker = false
    }

    /// Forgets the closed keys idle longer than `expire_after`, oldest
    /// first, at most `keySweepLength`.
    private func forgetIdleKeys(of breaker: String, bounds: PerKey, on connection: PostgresConnection) throws -> Forgetting {
        let idle = Double(bounds.expireAfter.components.seconds) + Double(bounds.expireAfter.components.attoseconds) / 1e18
        let rows = try query(connection, """
            SELECT key FROM \(schema).keys
            WHERE breaker = $1 AND state = 0 AND last_used < clock_timestamp() - make_interval(secs => $2::float8)
            ORDER BY last_used, key LIMIT \(Self.keySweepLength) FOR UPDATE SKIP LOCKED
            """, "finding idle keys", [breaker, String(idle)])
        var forgetting = Forgetting()
        for row in rows {
            try forgetKey(try row.decode(String.self), of: breaker, on: connection, adding: &forgetting)
        }
        return forgetting
    }

    /// Forgets the least recently used closed key that is not in use,
    /// reading the closed keys by `last_used` a page at a time until one
    /// is forgotten (rows locked by another transaction are skipped).
    private func forgetLeastRecentlyUsedKey(of breaker: String, on connection: PostgresConnection) throws -> Forgetting {
        var forgetting = Forgetting()
        var after: (lastUsed: String, key: String)?
        while forgetting.forgotten == 0 {
            let page: [PostgresRow]
            if let after {
                page = try query(connection, """
                    SELECT key, last_used::text FROM \(schema).keys
                    WHERE breaker = $1 AND state = 0 AND (last_used, key) > ($2::timestamptz, $3::text)
                    ORDER BY last_used, key LIMIT \(Self.keyPageLength) FOR UPDATE SKIP LOCKED
                    """, "finding the least recently used key", [breaker, after.lastUsed, after.key])
            } else {
                page = try query(connection, """
                    SELECT key, last_used::text FROM \(schema).keys
                    WHERE breaker = $1 AND state = 0
                    ORDER BY last_used, key LIMIT \(Self.keyPageLength) FOR UPDATE SKIP LOCKED
                    """, "finding the least recently used key", [breaker])
            }
            for row in page {
                let (key, lastUsed) = try row.decode((String, String).self)
                after = (lastUsed, key)
                try forgetKey(key, of: breaker, on: connection, adding: &forgetting)
                if forgetting.forgotten > 0 { break }
            }
            if page.count < Self.keyPageLength { break }
        }
        return forgetting
    }

    /// Forgets a key, inside the transaction holding its breaker's
    /// `keyed_breakers` row, when no invocation uses it (its in-use lock is
    /// free, taken exclusive until COMMIT) and it is closed in effect: its
    /// state row and its `keys` row are deleted and its lifetime counts
    /// added to the breaker's own state. A key found open (or whose state
    /// cannot be read) is kept, its `keys` row brought up to date.
    private func forgetKey(_ key: String, of breaker: String, on connection: PostgresConnection, adding forgetting: inout Forgetting) throws {
        let name = KeyedName(breaker: breaker, key: key)
        // This process's own lease does not conflict with its own lock.
        guard leasedKeys[name.storeName] == nil else { return }
        let free = try query(connection, "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", "locking an unused key",
                             [inUseLockName(name.storeName)])
        guard try free.first?.decode(Bool.self) == true else { return }
        let rows = try query(connection, "SELECT state::text FROM \(schema).breakers WHERE name = $1 FOR UPDATE", "locking the key's state",
                             [name.storeName])
        let text = try rows.first.map { try $0.decode(String?.self) } ?? nil
        let now = try serverNow(connection)
        guard let state = try? decodeState(text, breaker: name.storeName, now: now).state else { return }
        guard state.effectiveCircuitState(at: now) == .closed else {
            try writeKeyEntry(KeyEntry(key: key, record: state, at: now), of: breaker, on: connection)
            return
        }
        try execute(connection, "DELETE FROM \(schema).breakers WHERE name = $1", "forgetting the key's state", [name.storeName])
        try execute(connection, "DELETE FROM \(schema).keys WHERE breaker = $1 AND key = $2", "forgetting the key", [breaker, key])
        if state.counts != Counts() {
            let (_, wrote) = try change(breaker, on: connection) { whole, _ in
                whole.counts = PendingCounts.adding(state.counts, to: whole.counts)
            }
            forgetting.wroteBreaker = forgetting.wroteBreaker || wrote
        }
        forgetting.forgotten += 1
    }

    /// Writes a key's entry into its `keys` row (times to the microsecond).
    private func writeKeyEntry(_ entry: KeyEntry, of breaker: String, on connection: PostgresConnection) throws {
        try execute(connection, """
            UPDATE \(schema).keys SET state = $3::int2,
                opened_at = 'epoch'::timestamptz + ($4::int8 / 1000) * interval '1 microsecond',
                next_trial_at = 'epoch'::timestamptz + ($5::int8 / 1000) * interval '1 microsecond',
                reason = $6
            WHERE breaker = $1 AND key = $2
            """, "recording the key's state",
            [breaker, entry.key, String(entry.state.rawValue), entry.openedAtWallNanoseconds.map { String($0) },
             entry.nextTrialAtWallNanoseconds.map { String($0) }, entry.reason])
    }
}
