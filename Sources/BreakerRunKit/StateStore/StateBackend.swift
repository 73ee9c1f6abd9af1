import CircuitBreaker

/// A half-open trial permit or a bulkhead slot, held from acquisition until
/// `release()` (or deinitialization, or the holder's death).
///
/// The file store's permits are `flock(2)` locks (`HeldLock`); the
/// PostgreSQL store's are session-level advisory locks on a connection kept
/// open for the call's length.
public protocol StatePermit: AnyObject {
    /// Whether the permit is still held.
    var isHeld: Bool { get }
    /// Gives the permit back. Calling it again does nothing.
    func release()
}

extension HeldLock: StatePermit {}

/// Where the breakers' state lives: the operations every command needs, with
/// the semantics of the file store (DESIGN, "State") whatever the backend.
///
/// - `update` is a read-modify-write that excludes every other update of the
///   same breaker, on this host and any other sharing the backend, and is
///   never held while a call runs.
/// - Permits and slots are held for a call's length and are freed when the
///   holder dies or loses its connection.
/// - The `Instant` handed to `update`'s body and returned by `read` is the
///   backend's clock: the host's for files, the database server's for
///   PostgreSQL, so that hosts with skewed clocks agree.
/// - The state is stored as one document, decoded and encoded by the shared
///   `StateDocumentCodec` with the backend's clock identity: a damaged
///   field is repaired and warned about in the same words, and a state of
///   another clock rebased, whatever the backend.
public protocol StateBackend: Sendable {
    /// Changes breaker `name`'s state exclusively (see
    /// `FileStateStore.update(_:_:)`).
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - body: changes the state; gets the current time. If it throws,
    ///     nothing is written.
    /// - Returns: what `body` returns.
    /// - Throws: the backend's error (`StateStoreError`,
    ///   `PostgresStateStoreError`) when the state cannot be read or written;
    ///   anything `body` throws.
    func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T

    /// Reads breaker `name`'s state without changing it.
    /// - Parameter name: the breaker's name.
    /// - Returns: the state and the time it was read at.
    /// - Throws: the backend's error when the state cannot be read.
    func read(_ name: String) throws -> (BreakerRecord, Instant)

    /// Takes one of `slots` half-open trial permits without waiting.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - slots: how many permits exist (`half_open_max_calls`).
    /// - Returns: the permit, or nil when all are held.
    /// - Throws: the backend's error when the permits cannot be examined.
    func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)?

    /// Takes one of `slots` bulkhead slots (`max_concurrent`) without waiting.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - slots: how many slots exist.
    /// - Returns: the slot, or nil when all are held.
    /// - Throws: the backend's error when the slots cannot be examined.
    func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)?

    /// Whether a half-open trial permit is free now, found without taking
    /// one for longer than the look (`breaker-run check`).
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - slots: how many permits exist (`half_open_max_calls`).
    /// - Returns: true when `takePermit` would grant one now.
    /// - Throws: the backend's error when the permits cannot be examined.
    func hasFreePermit(_ name: String, slots: Int) throws -> Bool

    /// Whether a bulkhead slot is free now, found as `hasFreePermit` finds
    /// a permit.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - slots: how many slots exist (`max_concurrent`).
    /// - Returns: true when `takeSlot` would grant one now.
    /// - Throws: the backend's error when the slots cannot be examined.
    func hasFreeSlot(_ name: String, slots: Int) throws -> Bool

    /// Keeps a successful call's stdout for the `cached` fallback, for that
    /// call only.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: which call it is the output of (`BreakerRunner.cacheKey`):
    ///     empty for the breaker's configured call.
    ///   - bytes: the output.
    /// - Throws: the backend's error when it cannot be written.
    func writeCache(_ name: String, key: String, bytes: [UInt8]) throws

    /// The output kept by `writeCache` for the call `key`, if any.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: which call's output.
    /// - Returns: the output and when it was written, or nil.
    /// - Throws: the backend's error when it cannot be read.
    func readCache(_ name: String, key: String) throws -> CachedOutput?

    /// Which backend keeps breaker `name`'s state, and where, for `status`:
    /// such as `file /var/lib/breaker-run` or
    /// `postgresql postgresql://breaker@db:5432/ops (schema breaker_run)`.
    /// Never contains a password.
    /// - Parameter name: the breaker's name.
    /// - Returns: the description.
    func location(of name: String) -> String

    /// Tracks a key of a keyed breaker (`per_key`) for one invocation: a
    /// new key is registered within the breaker's bounds (`max_keys`,
    /// `expire_after`: idle and least recently used closed keys are
    /// forgotten, in bounded time), and the key is marked in use until the
    /// lease is released, so that it is not forgotten meanwhile. Every other
    /// operation of the key takes its `KeyedName.storeName` as its name.
    /// - Parameters:
    ///   - name: the key.
    ///   - bounds: the breaker's `per_key` settings.
    /// - Returns: the lease, or `.full` when the key is new and no tracked
    ///   key could be forgotten (all open, held or in use).
    /// - Throws: the backend's error when the keys cannot be examined.
    func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease

    /// Copies a key's stored circuit state into what `keyEntries(of:)`
    /// returns: called after each of the key's transitions.
    /// - Parameter name: the key.
    /// - Throws: the backend's error when it cannot be written.
    func recordKeyState(_ name: KeyedName) throws

    /// Every key a keyed breaker tracks, with its state as last recorded.
    /// - Parameter breaker: the keyed breaker's name.
    /// - Returns: the entries; none when it has no key.
    /// - Throws: the backend's error when they cannot be read.
    func keyEntries(of breaker: String) throws -> [KeyEntry]
}

/// A backend that keeps no keyed breaker: `per_key` on a breaker of it is
/// refused when the breaker's key is first used.
public struct KeyedBreakerUnsupported: Error, CustomStringConvertible {
    /// The backend, as `StateBackend.location(of:)` names it.
    public var backend: String

    /// One sentence: what failed and what to do.
    public var description: String {
        "keyed breakers (per_key) are not kept by the backend \(backend) yet; use the file backend for this breaker"
    }
}

extension StateBackend {
    /// Refuses: this backend keeps no keyed breaker.
    public func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease {
        throw KeyedBreakerUnsupported(backend: location(of: name.breaker))
    }

    /// Refuses: this backend keeps no keyed breaker.
    public func recordKeyState(_ name: KeyedName) throws {
        throw KeyedBreakerUnsupported(backend: location(of: name.breaker))
    }

    /// Refuses: this backend keeps no keyed breaker.
    public func keyEntries(of breaker: String) throws -> [KeyEntry] {
        throw KeyedBreakerUnsupported(backend: location(of: breaker))
    }

    /// Takes a permit and gives it back at once: a backend whose permits
    /// are leases or advisory locks has nothing to leave behind.
    public func hasFreePermit(_ name: String, slots: Int) throws -> Bool {
        guard let permit = try takePermit(name, slots: slots) else { return false }
        permit.release()
        return true
    }

    /// Takes a slot and gives it back at once, as `hasFreePermit` does.
    public func hasFreeSlot(_ name: String, slots: Int) throws -> Bool {
        guard let slot = try takeSlot(name, slots: slots) else { return false }
        slot.release()
        return true
    }
}

extension FileStateStore: StateBackend {
    /// Looks at `NAME/permit.K` without creating a directory or a file.
    public func hasFreePermit(_ name: String, slots: Int) throws -> Bool {
        try hasFreeLock("permit", of: name, slots: slots)
    }

    /// Looks at `NAME/slot.K` without creating a directory or a file.
    public func hasFreeSlot(_ name: String, slots: Int) throws -> Bool {
        try hasFreeLock("slot", of: name, slots: slots)
    }

    /// `acquirePermit(_:slots:)` as a `StateBackend`.
    public func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try acquirePermit(name, slots: slots)
    }

    /// `acquireSlot(_:slots:)` as a `StateBackend`.
    public func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try acquireSlot(name, slots: slots)
    }

    /// `file DIRECTORY`.
    public func location(of name: String) -> String {
        "file \(directory)"
    }
}
