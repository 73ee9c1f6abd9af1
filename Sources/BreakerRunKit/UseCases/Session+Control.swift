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
    ///   - interval: how long to stay open instead of `reset_timeout`; nil
    ///     for the policy's interval.
    ///   - hold: keep it open until `reset`.
    ///   - reason: why, for status and hooks.
    ///   - actor: who did it ("uid 0 (root)").
    /// - Returns: what the transaction changed.
    /// - Throws: `.configuration` for an unknown breaker; `.state` when the
    ///   state cannot be written.
    @discardableResult
    public func trip(_ name: String, for interval: Duration?, hold: Bool, reason: String,
                     by actor: String = InvokingUser.current()) throws(UseCaseError) -> StateTransaction.Change<Void> {
        let breaker = try definition(name)
        let jitter = random()
        return try change(breaker, .trip, by: actor) { state, now in
            state.trip(at: now, for: interval, hold: hold, reason: reason, policy: breaker.policy, random: jitter, by: actor)
        }
    }

    /// `reset`: closes breaker `name` now and clears its consecutive
    /// failures, any hold and the backoff, as `trip` changes it.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - actor: who did it.
    /// - Returns: what the transaction changed.
    /// - Throws: `.configuration` for an unknown breaker; `.state` when the
    ///   state cannot be written.
    @discardableResult
    public func reset(_ name: String, by actor: String = InvokingUser.current()) throws(UseCaseError) -> StateTransaction.Change<Void> {
        let breaker = try definition(name)
        return try change(breaker, .reset, by: actor) { state, now in
            state.reset(at: now, by: actor)
        }
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

    /// What a manual action that made no transition did, for its audit line.
    private static func unchanged(_ name: String, from before: BreakerRecord, to after: BreakerRecord, at now: Instant) -> String {
        switch (before.circuitState, after.circuitState) {
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
