import CircuitBreaker
import Logging

/// What an operator did by hand (`trip`, `reset`), for the audit line.
public enum ManualAction: String, Sendable {
    /// `breaker-run trip`.
    case trip
    /// `breaker-run reset`.
    case reset
}

extension Session {
    /// `trip`: opens breaker `name` now, through the same state transaction
    /// as `run`; reports the transition (and runs its hook), or says in one
    /// notice that nothing changed.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: `--key`: one key of a keyed breaker; nil for the breaker
    ///     itself (a keyed breaker's whole breaker: every key rejected).
    ///   - interval: how long to stay open instead of `reset_timeout`; nil
    ///     for the policy's interval.
    ///   - hold: keep it open until `reset`.
    ///   - reason: why, for status and hooks.
    ///   - actor: who did it ("uid 0 (root)").
    /// - Returns: what the transaction changed.
    /// - Throws: `.configuration` for an unknown breaker; `.key` for a
    ///   `--key` refused or not a key; `.state` when the state cannot be
    ///   written, or a new key finds no room (`max_keys`).
    @discardableResult
    public func trip(_ name: String, key: String? = nil, for interval: Duration?, hold: Bool, reason: String,
                     by actor: String = InvokingUser.current()) throws(UseCaseError) -> StateTransaction.Change<Void> {
        let (breaker, keyed) = try keyedTarget(name, key: key, requiresKey: false)
        let jitter = random()
        return try changeKeyOrBreaker(breaker, keyed, .trip, by: actor) { state, now in
            state.trip(at: now, for: interval, hold: hold, reason: reason, policy: breaker.policy, random: jitter, by: actor)
        }
    }

    /// `reset`: closes breaker `name` now and clears its consecutive
    /// failures, any hold and the backoff, as `trip` changes it.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: `--key`: one key of a keyed breaker; nil for the breaker
    ///     itself (a keyed breaker's whole breaker, its keys left as they are).
    ///   - actor: who did it.
    /// - Returns: what the transaction changed.
    /// - Throws: `.configuration` for an unknown breaker; `.key` for a
    ///   `--key` refused or not a key; `.state` when the state cannot be
    ///   written, or a new key finds no room (`max_keys`).
    @discardableResult
    public func reset(_ name: String, key: String? = nil, by actor: String = InvokingUser.current()) throws(UseCaseError) -> StateTransaction.Change<Void> {
        let (breaker, keyed) = try keyedTarget(name, key: key, requiresKey: false)
        return try changeKeyOrBreaker(breaker, keyed, .reset, by: actor) { state, now in
            state.reset(at: now, by: actor)
        }
    }

    /// `change` of the breaker, or of its key: the key tracked (and kept
    /// in use) for the change, and a transition of it recorded in the key
    /// index and given to the roll-up.
    private func changeKeyOrBreaker(_ breaker: BreakerConfiguration, _ keyed: KeyedName?, _ action: ManualAction, by actor: String,
                                    _ body: (inout BreakerRecord, Instant) -> Void) throws(UseCaseError) -> StateTransaction.Change<Void> {
        guard let keyed else { return try change(breaker, action, by: actor, body) }
        if action == .reset, let untouched = try untrackedKey(keyed, by: actor) { return untouched }
        let lease: any StatePermit
        do {
            switch try store.trackKey(keyed, bounds: breaker.perKey ?? PerKey()) {
            case .tracked(let permit): lease = permit
            case .full(let tracked): throw UseCaseError.state(KeysFull(breaker: breaker.name, tracked: tracked))
            }
        } catch let error as UseCaseError {
            throw error
        } catch {
            throw .state(error)
        }
        defer { lease.release() }
        let change = try change(breaker.scoped(to: keyed.key), action, by: actor, body)
        if change.transitions.isEmpty {
            // No transition, but the index record may be stale (a state
            // moved aside as unreadable): an operator's action brings it up to date.
            try? store.recordKeyState(keyed)
        } else {
            afterKeyTransition(keyed, of: breaker)
        }
        return change
    }

    /// A manual change of one breaker's state that reports its transitions
    /// (and runs its hook) once they are stored. An action that made no
    /// transition (a reset of a closed breaker, a trip of an open one) is
    /// recorded as one notice, with who did it, and runs no hook.
    private func change(_ breaker: BreakerConfiguration, _ action: ManualAction, by actor: String,
                        _ body: (inout BreakerRecord, Instant) -> Void) throws(UseCaseError) -> StateTransaction.Change<Void> {
        let change: StateTransaction.Change<Void>
        do {
            change = try StateTransaction(store: store).change(breaker.name, body)
        } catch {
            throw .state(error)
        }
        guard change.transitions.isEmpty else {
            TransitionReporter(logger: logger, environment: environment, supervisor: supervisor)
                .report(change.transitions, of: breaker, state: change.state, at: change.now)
            return change
        }
        logger.notice(
            "\(breaker.name): \(action.rawValue) by \(actor): \(Self.unchanged(breaker.name, from: change.before, to: change.state, at: change.now)); no transition",
            metadata: ["event": "manual", "breaker": .string(breaker.name), "action": .string(action.rawValue), "by": .string(actor)]
        )
        return change
    }

    /// A `reset --key` of a key that has no state (never used, or
    /// forgotten): nothing to reset, and the key is not tracked for it, so
    /// that a mistyped key takes no slot. Said in one notice.
    /// - Returns: the unchanged state, or nil when the key has a state.
    private func untrackedKey(_ keyed: KeyedName, by actor: String) throws(UseCaseError) -> StateTransaction.Change<Void>? {
        let (state, now): (BreakerRecord, Instant)
        do {
            (state, now) = try store.read(keyed.storeName)
        } catch {
            throw .state(error)
        }
        guard state == BreakerRecord() else { return nil }
        logger.notice("\(keyed): reset by \(actor): no such key is tracked; nothing to reset",
                      metadata: ["event": "manual", "breaker": .string(keyed.breaker), "action": "reset", "by": .string(actor)])
        return StateTransaction.Change(value: (), before: state, state: state, transitions: [], now: now)
    }

    /// What a manual action that made no transition did, for its audit line.
    private static func unchanged(_ storeName: String, from before: BreakerRecord, to after: BreakerRecord, at now: Instant) -> String {
        let (breaker, key) = KeyedName.split(storeName)
        let name = key.map { "\(breaker) --key \(ShellQuote.quote($0))" } ?? breaker
        return switch (before.circuitState, after.circuitState) {
        case (.closed, _):
            "already closed (consecutive failures cleared)"
        case (.held, _):
            "held open until 'breaker-run reset \(name)'; left as it is"
        case (_, .held):
            "was open already; now held open until 'breaker-run reset \(name)'"
        case (let old, .open(let until)) where old != after.circuitState:
            "was open already; next trial moved to \(until.duration(since: now).secondsRoundedUp)s from now"
        default:
            "already open (next trial in \((after.retryAfter(at: now) ?? .zero).secondsRoundedUp)s); left as it is"
        }
    }
}

/// A new key of a keyed breaker found no room: every one of its `max_keys`
/// keys tracked is open, held or in use.
public struct KeysFull: Error, CustomStringConvertible {
    /// The keyed breaker.
    public var breaker: String
    /// How many keys it tracks.
    public var tracked: Int

    /// One sentence: what failed and what to do.
    public var description: String {
        "\(breaker): no room for a new key: all \(tracked) keys tracked are open, held or in use; raise per_key.max_keys or reset keys"
    }
}
