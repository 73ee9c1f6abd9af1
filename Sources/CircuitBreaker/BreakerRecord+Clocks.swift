/// The breaker's instants across clocks: re-expressing them after a reboot,
/// and bringing back those stored ahead of now. Pure: time is passed in.
extension BreakerRecord {
    /// Re-expresses the stored instants on a new monotonic clock after a
    /// reboot, using the wall clock to tell how long ago each was. A stored
    /// wall time in the future counts as now, so an open interval is measured
    /// from now at most and never lasts longer than configured. A time
    /// window of the failure-rate rule is emptied: its boot-clock stamps
    /// mean nothing on the new boot.
    /// - Parameter now: the current time, read after the reboot.
    public mutating func rebase(toBootOf now: Instant) {
        func moved(_ instant: Instant) -> Instant {
            let ago = max(0, now.wallNanoseconds.subtractingSaturating(instant.wallNanoseconds))
            return Instant(
                monotonicNanoseconds: now.monotonicNanoseconds.subtractingSaturating(ago),
                wallNanoseconds: instant.wallNanoseconds > now.wallNanoseconds ? now.wallNanoseconds : instant.wallNanoseconds
            )
        }
        if case .open(let until) = circuitState, let opened = openedAt {
            let interval = until.duration(since: opened)
            let newOpened = moved(opened)
            openedAt = newOpened
            circuitState = .open(until: newOpened + interval)
        } else if case .open(let until) = circuitState {
            // No opened_at to measure from (a hand-edited file): keep what the
            // wall clock says is left, rather than a reading of the old boot clock.
            let left = max(0, until.wallNanoseconds.subtractingSaturating(now.wallNanoseconds))
            circuitState = .open(until: Instant(
                monotonicNanoseconds: now.monotonicNanoseconds.addingSaturating(left),
                wallNanoseconds: until.wallNanoseconds
            ))
        } else {
            openedAt = openedAt.map(moved)
        }
        lastFailureAt = lastFailureAt.map(moved)
        failureWindow.forgetTimes()
        recentTransitions = recentTransitions.map { transition in
            var copy = transition
            copy.at = moved(transition.at)
            return copy
        }
    }

    /// `clamp(to:longestInterval:)` with the longest interval this state can
    /// have been given: the policy's, or the stored opening's own length when
    /// it began by `now` (a longer `trip --for`).
    /// - Parameters:
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    public mutating func clamp(to now: Instant, policy: Policy) {
        var longest = policy.longestOpenInterval
        if case .open(let until) = circuitState, let opened = openedAt, opened <= now {
            longest = max(longest, until.duration(since: opened))
        }
        clamp(to: now, longestInterval: longest)
    }

    /// Brings instants that lie ahead of `now` on the same boot (a damaged or
    /// hand-edited state file) back to `now`, so that no open interval lasts
    /// longer than its configured length.
    /// - Parameters:
    ///   - now: the current time.
    ///   - longestInterval: the longest open interval that the breaker can
    ///     have been given (`Policy.longestOpenInterval`, or a longer
    ///     `trip --for`); an interval ending later than this from now is
    ///     cut to end then, and failure-rate buckets starting later are
    ///     dropped.
    public mutating func clamp(to now: Instant, longestInterval: Duration) {
        if let opened = openedAt, opened > now { openedAt = now }
        if case .open(let until) = circuitState, until > now + longestInterval {
            circuitState = .open(until: now + longestInterval)
        }
        if let failed = lastFailureAt, failed > now { lastFailureAt = now }
        failureWindow.dropBuckets(after: now, slack: longestInterval)
    }
}
