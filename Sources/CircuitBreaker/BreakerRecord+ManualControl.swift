/// An operator's hand on the breaker: `trip` and `reset`, recorded as
/// transitions with who made them.
extension BreakerRecord {
    /// Opens the breaker now (`trip`). A held breaker stays held: only
    /// `reset` releases a hold, so a trip of a held breaker changes nothing.
    /// A breaker that is open already (its interval not yet passed) makes no
    /// transition: a plain trip leaves it as it is, `interval` moves its next
    /// trial to `now + interval` and `hold` holds it, each without a
    /// transition (no hook, no transition count), since it stays open. One
    /// whose interval has passed is half-open in effect, and reopens.
    ///
    /// Without `interval`, the breaker opens for the current backoff step,
    /// not lengthened (a trip is no failed trial): `resetTimeout` from
    /// closed, else the base interval of the latest opening, spread by the
    /// jitter. With `interval` (`trip --for`), it opens for exactly that
    /// long, that once: the backoff is left as it was, so a failed trial
    /// afterwards reopens for the next step as if the trip had not happened
    /// (`resetTimeout` when the breaker was closed before).
    /// - Parameters:
    ///   - now: the current time.
    ///   - interval: how long to stay open; nil for the current backoff step.
    ///   - hold: keep it open until `reset`, whatever the time.
    ///   - reason: why, for people; "manual" by default.
    ///   - policy: the breaker's rules.
    ///   - random: a value in `0..<1` from the caller's random source, for
    ///     the jitter; 0.5 for none.
    ///   - actor: who tripped it ("uid 0 (root)"), or nil.
    public mutating func trip(
        at now: Instant, for interval: Duration? = nil, hold: Bool = false, reason: String = "manual",
        policy: Policy, random: Double = 0.5, by actor: String? = nil
    ) {
        if circuitState == .held { return }
        let actor = actor.map(Self.bounded)
        if case .open(let until) = circuitState, now >= until {
            // Half-open in effect: the trip reopens it, a transition from
            // half-open (the lazy step into it is not stored separately).
            circuitState = .halfOpen(successes: 0)
        }
        if case .open = circuitState {
            // Already open: a change of interval or a hold is no transition
            // (the breaker stays open), and a plain trip changes nothing.
            if hold {
                circuitState = .held
            } else if let interval {
                circuitState = .open(until: now + max(.zero, interval))
            } else {
                return
            }
            openReason = Self.bounded(reason)
            return
        }
        if hold {
            transition(to: .held, at: now, reason: reason, actor: actor)
            openedAt = now
            openReason = Self.bounded(reason)
        } else if let interval {
            open(at: now, until: now + max(.zero, interval), reason: reason, actor: actor)
        } else {
            var base = policy.resetTimeout
            if let backoff = policy.backoff, circuitState != .closed, let current = backoffInterval {
                base = min(current, backoff.cap(resetTimeout: policy.resetTimeout))
            }
            open(at: now, base: base, reason: reason, actor: actor, policy: policy, random: random)
        }
    }

    /// Closes the breaker now (`reset`) and clears the consecutive failure
    /// count, the failure-rate window, the backoff and any hold. Lifetime
    /// counts are kept. A closed breaker makes no transition: only its
    /// failures, window and backoff are cleared.
    /// - Parameters:
    ///   - now: the current time.
    ///   - reason: why, for people: "manual reset" by default; a keyed
    ///     breaker's roll-up closes it with its own.
    ///   - actor: who reset it ("uid 0 (root)"), or nil.
    public mutating func reset(at now: Instant, reason: String = "manual reset", by actor: String? = nil) {
        guard circuitState == .closed else {
            close(at: now, reason: reason, actor: actor.map(Self.bounded))
            return
        }
        // Already closed: the counts are cleared, but nothing transitions.
        consecutiveFailures = 0
        backoffInterval = nil
        failureWindow.clear()
    }
}
