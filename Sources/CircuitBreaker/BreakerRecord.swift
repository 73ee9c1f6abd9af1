/// Everything kept about one circuit breaker (its circuit state, counts,
/// history and failure window), and the pattern's rules as
/// mutations of it. Pure: time is passed in, nothing is read or written.
///
/// - closed: calls run. Consecutive failures are counted; `failMax` of them
///   trip the breaker (pybreaker). With a `failureRate` rule, outcomes also
///   go into a bounded sliding window, and a failure share at or above the
///   threshold trips it too (resilience4j).
/// - open: calls are rejected. After the open interval (`resetTimeout`, or
///   longer with `backoff` while trials keep failing) the breaker becomes
///   half-open.
/// - half-open: up to `halfOpenMaxCalls` trials run at once; `successThreshold`
///   successful trials close the breaker, one failed trial opens it again.
///
/// Every transition starts a new generation. An outcome recorded with a
/// ticket of an older generation (another process's long call finishing
/// late) updates the lifetime counts only: it never causes or delays a
/// transition.
public struct BreakerRecord: Sendable, Equatable {
    /// The state as last stored. An open breaker whose interval has passed is
    /// still `.open` here; ask `effectiveCircuitState(at:)` for the state as of now.
    public internal(set) var circuitState: CircuitState = .closed
    /// Starts at 0 and grows by one with every transition.
    public internal(set) var generation: UInt64 = 0
    /// Failures in a row since the last success, while closed.
    public internal(set) var consecutiveFailures: Int = 0
    /// When the breaker last entered open. Only a transition into open sets it.
    public internal(set) var openedAt: Instant?
    /// Why the breaker last opened ("3 consecutive failures", "manual").
    public internal(set) var openReason: String?
    /// The reason of the last failure, for people.
    public internal(set) var lastFailure: String?
    /// When the last failure was recorded.
    public internal(set) var lastFailureAt: Instant?
    /// Lifetime totals.
    public var counts = Counts()
    /// The latest transitions, oldest first, at most `historyLimit` of them.
    public internal(set) var recentTransitions: [Transition] = []
    /// The recent outcomes the failure-rate rule looks at, while closed.
    /// Cleared on every transition.
    public internal(set) var failureWindow = OutcomeWindow()
    /// The base length (before jitter) of the latest opening the rules made,
    /// which the next reopen after a failed trial multiplies under `backoff`;
    /// nil once closed or reset. A `trip --for` leaves it as it was.
    public internal(set) var backoffInterval: Duration?

    /// How many transitions `recentTransitions` keeps.
    public static let historyLimit = 50
    /// The longest reason, failure or actor text kept, in characters; longer
    /// ones are cut, so that the state stays small whatever it is given.
    public static let textLimit = 200

    /// Creates a new closed breaker with zero counts.
    public init() {}

    /// Recreates a state from stored values, taken as they are: the way back
    /// from a stored document (the state-document codec in BreakerRunKit,
    /// which has repaired what it could not read). No rule is applied.
    /// - Parameters:
    ///   - circuitState: the stored circuit state.
    ///   - generation: the stored generation.
    ///   - consecutiveFailures: failures in a row, 0 or more.
    ///   - openedAt: when the breaker last entered open, or nil.
    ///   - openReason: why it last opened, or nil.
    ///   - lastFailure: the last failure's reason, or nil.
    ///   - lastFailureAt: when it was recorded, or nil.
    ///   - counts: the lifetime totals.
    ///   - recentTransitions: the latest transitions, oldest first, at most
    ///     `historyLimit` of them.
    ///   - failureWindow: the failure-rate window.
    ///   - backoffInterval: the base length of the latest opening by the
    ///     rules (nanosecond resolution), or nil.
    package init(
        circuitState: CircuitState, generation: UInt64, consecutiveFailures: Int, openedAt: Instant?, openReason: String?,
        lastFailure: String?, lastFailureAt: Instant?, counts: Counts, recentTransitions: [Transition],
        failureWindow: OutcomeWindow, backoffInterval: Duration?
    ) {
        self.circuitState = circuitState
        self.generation = generation
        self.consecutiveFailures = consecutiveFailures
        self.openedAt = openedAt
        self.openReason = openReason
        self.lastFailure = lastFailure
        self.lastFailureAt = lastFailureAt
        self.counts = counts
        self.recentTransitions = recentTransitions
        self.failureWindow = failureWindow
        self.backoffInterval = backoffInterval
    }

    // MARK: Reading

    /// The state as of `now`: an open breaker whose open interval has passed
    /// is half-open (a trial is allowed), even before anyone stored that.
    /// - Parameter now: the current time.
    /// - Returns: the effective circuit state.
    public func effectiveCircuitState(at now: Instant) -> CircuitState {
        if case .open(let until) = circuitState, now >= until {
            return .halfOpen(successes: 0)
        }
        return circuitState
    }

    /// When the next trial is allowed: the end of the open interval, or nil
    /// when the breaker is not open or is held.
    public var nextTrialAt: Instant? {
        if case .open(let until) = circuitState { return until }
        return nil
    }

    /// How long a caller should wait before a trial is allowed, as of `now`;
    /// nil when the breaker is not open or is held.
    /// - Parameter now: the current time.
    /// - Returns: the remaining open time, never negative.
    public func retryAfter(at now: Instant) -> Duration? {
        guard let until = nextTrialAt, now < until else { return nil }
        return until.duration(since: now)
    }

    /// The transitions of generations after `generation`: those that a
    /// mutation made when `generation` was the generation before it.
    /// - Parameter generation: the generation before the mutation.
    /// - Returns: the new transitions, oldest first.
    public func transitions(after generation: UInt64) -> [Transition] {
        recentTransitions.filter { $0.generation > generation }
    }

    /// The calls and failures in the failure-rate window as of `now`.
    /// - Parameters:
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    /// - Returns: the totals, or nil when the policy has no failure-rate rule.
    public func failureRateTotals(at now: Instant, policy: Policy) -> WindowTotals? {
        policy.failureRate.map { failureWindow.totals(at: now, over: $0.window) }
    }

    // MARK: Admission

    /// Decides whether a call may run now, and takes the transition from
    /// open to half-open when the open interval has passed. Instants stored
    /// ahead of `now` (a damaged or hand-edited file) are clamped first, so
    /// that no opening lasts longer than the policy or its own length allows.
    ///
    /// In half-open the call is a trial only if `trialPermit` grants it one;
    /// the permits themselves (locks held for the call's duration, across
    /// processes) are the caller's, and it must grant at most
    /// `policy.halfOpenMaxCalls` at once. A rejection is counted.
    /// - Parameters:
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    ///   - trialPermit: called only in half-open; returns true when a trial
    ///     permit was acquired for this call.
    /// - Returns: a ticket to record the outcome with, or the rejection.
    public mutating func admit(at now: Instant, policy: Policy, trialPermit: () -> Bool) -> Admission {
        clamp(to: now, policy: policy)
        settle(at: now)
        switch circuitState {
        case .closed:
            return .admitted(Ticket(generation: generation, isTrial: false))
        case .open(let until):
            counts.rejected.addOneSaturating()
            return .rejected(.open(retryAfter: until.duration(since: now)))
        case .held:
            counts.rejected.addOneSaturating()
            return .rejected(.held)
        case .halfOpen:
            guard trialPermit() else {
                counts.rejected.addOneSaturating()
                return .rejected(.trialsTaken)
            }
            return .admitted(Ticket(generation: generation, isTrial: true))
        }
    }

    /// Admits a call whatever the state (`run --force`). Its outcome counts
    /// as a trial outcome: a success closes the breaker, a failure opens it
    /// anew (a reopen, which backoff lengthens). A held breaker stays held.
    /// - Parameters:
    ///   - now: the current time.
    ///   - actor: who forced the call ("uid 0 (root)"), recorded on the
    ///     transitions its outcome makes; nil when not known.
    /// - Returns: the ticket to record the outcome with.
    public mutating func admitForced(at now: Instant, by actor: String? = nil) -> Ticket {
        settle(at: now)
        return Ticket(generation: generation, isTrial: circuitState != .closed, isForced: true, actor: actor.map(Self.bounded))
    }

    // MARK: Recording

    /// Records the outcome of an admitted call: updates the lifetime counts,
    /// and, when the ticket is of the current generation, applies the
    /// pattern's rules (which may trip, reopen or close the breaker).
    ///
    /// A stale outcome (of an older generation) and an ignored one enter
    /// neither the consecutive count nor the failure-rate window.
    /// - Parameters:
    ///   - outcome: how the call ended.
    ///   - ticket: the ticket the call was admitted with.
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    ///   - random: a value in `0..<1` from the caller's random source, for
    ///     the jitter of an opening this outcome makes; 0.5 for none.
    ///   - interval: the open interval the service asked for with a
    ///     failure (its `Retry-After`): the breaker opens for that long at
    ///     once, whatever the rules say, or for that long instead of the
    ///     rules' interval when the rules open it; nil for the rules alone.
    ///     The opening's reason ends with `, Retry-After Ns`, so that
    ///     `status` says where the interval came from. The backoff step is
    ///     not changed by it.
    public mutating func record(_ outcome: Outcome, for ticket: Ticket, at now: Instant, policy: Policy, random: Double = 0.5,
                                openFor interval: Duration? = nil) {
        let before = generation
        recordByRules(outcome, for: ticket, at: now, policy: policy, random: random)
        guard let interval, case .failure(let reason) = outcome else { return }
        let until = now + max(.zero, interval)
        let source = ", Retry-After \(max(.zero, interval).secondsRoundedUp)s"
        if generation != before, case .open = circuitState {
            circuitState = .open(until: until)
            openReason = Self.bounded((openReason ?? "") + source)
            if let last = recentTransitions.indices.last {
                recentTransitions[last].reason = Self.bounded(recentTransitions[last].reason + source)
            }
        } else if ticket.generation == before, circuitState == .closed {
            open(at: now, until: until, reason: reason + source, actor: nil)
        }
    }

    private mutating func recordByRules(_ outcome: Outcome, for ticket: Ticket, at now: Instant, policy: Policy, random: Double) {
        switch outcome {
        case .success:
            counts.successes.addOneSaturating()
        case .failure(let reason):
            counts.failures.addOneSaturating()
            lastFailure = Self.bounded(reason)
            lastFailureAt = now
        case .ignored:
            counts.ignored.addOneSaturating()
        }
        guard ticket.generation == generation else { return }
        let actor = ticket.isForced ? ticket.actor.map(Self.bounded) : nil

        switch (circuitState, outcome) {
        case (_, .ignored):
            return
        case (.closed, .success):
            consecutiveFailures = 0
            if let reason = noteInWindow(isFailure: false, at: now, policy: policy) {
                openFromClosed(at: now, reason: reason, actor: actor, policy: policy, random: random)
            }
        case (.closed, .failure):
            consecutiveFailures.addOneSaturating()
            let rateReason = noteInWindow(isFailure: true, at: now, policy: policy)
            if consecutiveFailures >= policy.failMax {
                let noun = consecutiveFailures == 1 ? "failure" : "consecutive failures"
                openFromClosed(at: now, reason: "\(consecutiveFailures) \(noun)", actor: actor, policy: policy, random: random)
            } else if let rateReason {
                openFromClosed(at: now, reason: rateReason, actor: actor, policy: policy, random: random)
            }
        case (.halfOpen(let successes), .success):
            if ticket.isForced || successes >= policy.successThreshold - 1 {
                close(at: now, reason: ticket.isForced ? "forced call succeeded" : "trial succeeded", actor: actor)
            } else {
                circuitState = .halfOpen(successes: successes + 1)
            }
        case (.halfOpen, .failure):
            consecutiveFailures.addOneSaturating()
            reopen(at: now, reason: ticket.isForced ? "forced call failed" : "trial failed", actor: actor, policy: policy, random: random)
        case (.open, .success):
            close(at: now, reason: "forced call succeeded", actor: actor)
        case (.open, .failure):
            consecutiveFailures.addOneSaturating()
            reopen(at: now, reason: "forced call failed", actor: actor, policy: policy, random: random)
        case (.held, _):
            return
        }
    }

    /// Adds a closed breaker's outcome to the failure-rate window.
    /// - Returns: the reason to trip when the failure-rate rule fires now.
    private mutating func noteInWindow(isFailure: Bool, at now: Instant, policy: Policy) -> String? {
        guard let rule = policy.failureRate else {
            failureWindow.clear()
            return nil
        }
        failureWindow.add(isFailure: isFailure, at: now, over: rule.window)
        let totals = failureWindow.totals(at: now, over: rule.window)
        guard rule.trips(calls: totals.calls, failures: totals.failures) else { return nil }
        let percent = Int((Double(totals.failures) * 100 / Double(totals.calls)).rounded())
        switch rule.window.normalized {
        case .calls:
            let calls = totals.calls == 1 ? "call" : "\(totals.calls) calls"
            return "failure rate \(percent)% over the last \(calls)"
        case .duration:
            return "failure rate \(percent)% of \(totals.calls) calls over \(rule.window.phrase)"
        }
    }

    // MARK: Transitions

    /// Takes the lazy transition from open to half-open once the open
    /// interval has passed.
    private mutating func settle(at now: Instant) {
        if case .open(let until) = circuitState, now >= until {
            transition(to: .halfOpen(successes: 0), at: now, reason: "reset timeout passed")
        }
    }

    /// Opens a closed breaker by a rule (`failMax`, `failureRate`): the
    /// first opening waits `resetTimeout`, spread by the jitter.
    private mutating func openFromClosed(at now: Instant, reason: String, actor: String?, policy: Policy, random: Double) {
        open(at: now, base: policy.resetTimeout, reason: reason, actor: actor, policy: policy, random: random)
    }

    /// Opens again after a failed trial or forced call: the previous base
    /// interval times the backoff multiplier, capped; `resetTimeout` when
    /// there is no backoff, or no opening by the rules to grow from.
    private mutating func reopen(at now: Instant, reason: String, actor: String?, policy: Policy, random: Double) {
        var base = policy.resetTimeout
        if let backoff = policy.backoff, let previous = backoffInterval {
            base = backoff.base(after: previous, resetTimeout: policy.resetTimeout)
        }
        open(at: now, base: base, reason: reason, actor: actor, policy: policy, random: random)
    }

    /// Opens for `base` spread by the backoff's jitter, and keeps `base` as
    /// the step the next reopen grows from.
    mutating func open(at now: Instant, base: Duration, reason: String, actor: String?, policy: Policy, random: Double) {
        let interval = policy.backoff?.interval(base: base, random: random) ?? base
        open(at: now, until: now + interval, reason: reason, actor: actor)
        backoffInterval = base
    }

    mutating func open(at now: Instant, until: Instant, reason: String, actor: String?) {
        transition(to: .open(until: until), at: now, reason: reason, actor: actor)
        openedAt = now
        openReason = Self.bounded(reason)
    }

    mutating func close(at now: Instant, reason: String, actor: String?) {
        consecutiveFailures = 0
        backoffInterval = nil
        transition(to: .closed, at: now, reason: reason, actor: actor)
    }

    mutating func transition(to next: CircuitState, at now: Instant, reason: String, actor: String? = nil) {
        let from = circuitState.name
        circuitState = next
        failureWindow.clear()
        // Wraps rather than traps: tickets are compared for equality only.
        generation &+= 1
        recentTransitions.append(Transition(from: from, to: next.name, at: now, reason: Self.bounded(reason), generation: generation, actor: actor))
        if recentTransitions.count > Self.historyLimit {
            recentTransitions.removeFirst(recentTransitions.count - Self.historyLimit)
        }
    }

    /// `text` cut to `textLimit` characters.
    static func bounded(_ text: String) -> String {
        text.count <= textLimit ? text : String(text.prefix(textLimit - 1)) + "…"
    }
}

extension FixedWidthInteger {
    /// Adds one, or stays at the maximum: a state file can hold any value
    /// (edited by hand, damaged), and counting must never crash a run.
    fileprivate mutating func addOneSaturating() {
        if self < .max { self += 1 }
    }
}
