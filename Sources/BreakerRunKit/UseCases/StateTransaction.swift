import CircuitBreaker

/// The one read-modify-write of a breaker's state that `run` (admission,
/// outcome, counts), `trip` and `reset` share: a locked `update` of the
/// backend whose body changes the state, and whose result says what changed
/// (the state before and after, the transitions made, when), so that the
/// caller reports the transitions once they are stored.
public struct StateTransaction {
    /// Where the breakers' state lives.
    public var store: any StateBackend

    /// Creates a transaction over `store`.
    /// - Parameter store: the state backend.
    public init(store: any StateBackend) {
        self.store = store
    }

    /// What one transaction did.
    public struct Change<Value> {
        /// What the body returned.
        public var value: Value
        /// The state as read, before the body changed it.
        public var before: BreakerRecord
        /// The state as written.
        public var state: BreakerRecord
        /// The transitions the body made, oldest first.
        public var transitions: [Transition]
        /// When it was made, on the backend's clock.
        public var now: Instant
    }

    /// Changes breaker `name`'s state under its lock.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - body: changes the state; gets the backend's current time.
    /// - Returns: what the body returned, with the state before and after
    ///   and the transitions made.
    /// - Throws: the backend's error (`StateStoreError`,
    ///   `PostgresStateStoreError`, `NetworkPluginUnavailable`) when the
    ///   state cannot be read or written; nothing is written then.
    public func change<Value>(_ name: String, _ body: (inout BreakerRecord, Instant) -> Value) throws -> Change<Value> {
        try store.update(name) { state, now in
            let before = state
            let value = body(&state, now)
            return Change(value: value, before: before, state: state, transitions: state.transitions(after: before.generation), now: now)
        }
    }
}
