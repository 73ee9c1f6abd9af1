/// The whole state of one circuit breaker, and the pattern's rules as
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
public struct BreakerState: Sendable, Equatable {
    /// The state as last stored. An open breaker whose interval has passed is
    /// still `.open` here; ask `effectivePhase(at:)` for the state as of now.
    public private(set) var phase: Phase = .closed
    /// Starts at 0 and grows by one with every transition.
    public private(set) var generation: UInt64 = 0
    /// Failures in a row since the last success, while closed.
    public private(set) var consecutiveFailures: Int = 0
    /// When the breaker last entered open. Only a transition into open sets it.
    public private(set) var openedAt: Instant?
    /// Why the breaker last opened ("3 consecutive failures", "manual").
    public private(set) var openReason: String?
    /// The reason of the last failure, for people.
    public private(set) var lastFailure: String?
    /// When the last failure was recorded.
    public private(set) var lastFailureAt: Instant?
    /// Lifetime totals.
    public var counts = Counts()
    /// The latest transitions, oldest first, at most `historyLimit` of them.
    public private(set) var recentTransitions: [Transition] = []
    /// The recent outcomes the failure-rate rule looks at, while closed.
    /// Cleared on every transition.
    public private(set) var failureWindow = OutcomeWindow()
    /// The base length (before jitter) of the latest opening the rules made,
    /// which the next reopen after a failed trial multiplies under `backoff`;
    /// nil once closed or reset. A `trip --for` leaves it as it was.
    public private(set) var backoffInterval: Duration?

    /// How many transitions `recentTransitions` keeps.
    public static let historyLimit = 50
    /// The longest reason, failure or actor text kept, in characters; longer
    /// ones are cut, so that the state stays small whatever it is given.
    public static let textLimit = 200

    /// Creates a new closed breaker with zero counts.
    public init() {}

    // MARK: Reading

    /// The state as of `now`: an open breaker whose open interval has passed
    /// is half-open (a trial is allowed), even before anyone stored that.
    /// - Parameter now: the current time.
    /// - Returns: the effective phase.
    public func effectivePhase(at now: Instant) -> Phase {
        if case .open(let until) = phase, now >= until {
            return .halfOpen(successes: 0)
        }
        return phase
    }

    /// When the next trial is allowed: the end of the open interval, or nil
    /// when the breaker is not open or is held.
    public var nextTrialAt: Instant? {
        if case .open(let until) = phase { return until }
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
        switch phase {
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
        return Ticket(generation: generation, isTrial: phase != .closed, isForced: true, actor: actor.map(Self.bounded))
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
        if generation != before, case .open = phase {
            phase = .open(until: until)
            openReason = Self.bounded((openReason ?? "") + source)
            if let last = recentTransitions.indices.last {
                recentTransitions[last].reason = Self.bounded(recentTransitions[last].reason + source)
            }
        } else if ticket.generation == before, phase == .closed {
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

        switch (phase, outcome) {
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
                phase = .halfOpen(successes: successes + 1)
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

    // MARK: Manual control

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
        if phase == .held { return }
        let actor = actor.map(Self.bounded)
        if case .open(let until) = phase, now >= until {
            // Half-open in effect: the trip reopens it, a transition from
            // half-open (the lazy step into it is not stored separately).
            phase = .halfOpen(successes: 0)
        }
        if case .open = phase {
            // Already open: a change of interval or a hold is no transition
            // (the breaker stays open), and a plain trip changes nothing.
            if hold {
                phase = .held
            } else if let interval {
                phase = .open(until: now + max(.zero, interval))
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
            if let backoff = policy.backoff, phase != .closed, let current = backoffInterval {
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
    ///   - actor: who reset it ("uid 0 (root)"), or nil.
    public mutating func reset(at now: Instant, by actor: String? = nil) {
        guard phase == .closed else {
            close(at: now, reason: "manual reset", actor: actor.map(Self.bounded))
            return
        }
        // Already closed: the counts are cleared, but nothing transitions.
        consecutiveFailures = 0
        backoffInterval = nil
        failureWindow.clear()
    }

    // MARK: Clocks

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
        if case .open(let until) = phase, let opened = openedAt {
            let interval = until.duration(since: opened)
            let newOpened = moved(opened)
            openedAt = newOpened
            phase = .open(until: newOpened + interval)
        } else if case .open(let until) = phase {
            // No opened_at to measure from (a hand-edited file): keep what the
            // wall clock says is left, rather than a reading of the old boot clock.
            let left = max(0, until.wallNanoseconds.subtractingSaturating(now.wallNanoseconds))
            phase = .open(until: Instant(
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
        if case .open(let until) = phase, let opened = openedAt, opened <= now {
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
        if case .open(let until) = phase, until > now + longestInterval {
            phase = .open(until: now + longestInterval)
        }
        if let failed = lastFailureAt, failed > now { lastFailureAt = now }
        failureWindow.dropBuckets(after: now, slack: longestInterval)
    }

    // MARK: Transitions

    /// Takes the lazy transition from open to half-open once the open
    /// interval has passed.
    private mutating func settle(at now: Instant) {
        if case .open(let until) = phase, now >= until {
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
    private mutating func open(at now: Instant, base: Duration, reason: String, actor: String?, policy: Policy, random: Double) {
        let interval = policy.backoff?.interval(base: base, random: random) ?? base
        open(at: now, until: now + interval, reason: reason, actor: actor)
        backoffInterval = base
    }

    private mutating func open(at now: Instant, until: Instant, reason: String, actor: String?) {
        transition(to: .open(until: until), at: now, reason: reason, actor: actor)
        openedAt = now
        openReason = Self.bounded(reason)
    }

    private mutating func close(at now: Instant, reason: String, actor: String?) {
        consecutiveFailures = 0
        backoffInterval = nil
        transition(to: .closed, at: now, reason: reason, actor: actor)
    }

    private mutating func transition(to next: Phase, at now: Instant, reason: String, actor: String? = nil) {
        let from = phase.name
        phase = next
        failureWindow.clear()
        // Wraps rather than traps: tickets are compared for equality only.
        generation &+= 1
        recentTransitions.append(Transition(from: from, to: next.name, at: now, reason: Self.bounded(reason), generation: generation, actor: actor))
        if recentTransitions.count > Self.historyLimit {
            recentTransitions.removeFirst(recentTransitions.count - Self.historyLimit)
        }
    }

    /// `text` cut to `textLimit` characters.
    private static func bounded(_ text: String) -> String {
        text.count <= textLimit ? text : String(text.prefix(textLimit - 1)) + "…"
    }
}

/// The breaker state as a flat, `jq`-friendly JSON object. Decoding is
/// lenient and field by field: a missing or unreadable field takes a safe
/// default and every readable one is kept, so a state file written by an
/// older or newer version, edited by hand or damaged never stops a run, never
/// loses a readable count, and never silently closes an open breaker.
extension BreakerState: Codable {
    private enum CodingKeys: String, CodingKey {
        case state, held, until = "next_trial_at", halfOpenSuccesses = "half_open_successes"
        case generation, consecutiveFailures = "consecutive_failures"
        case openedAt = "opened_at", openReason = "open_reason"
        case lastFailure = "last_failure", lastFailureAt = "last_failure_at"
        case counts, recentTransitions = "transitions"
        case failureWindow = "failure_window", backoffInterval = "backoff_interval_ns"
    }

    /// Decodes a state as `decodeRepairing(from:)` does, dropping the list
    /// of repairs.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` only when the top level is not an object.
    public init(from decoder: any Decoder) throws {
        self = try Self.decodeRepairing(from: decoder).state
    }

    /// Decodes a state field by field, and says which fields it repaired.
    ///
    /// A field that is absent takes its default silently (a file of an older
    /// version, or a sparse hand-written one), except where the default
    /// would change an open breaker; a field present with a value of the
    /// wrong type or range takes its default and is reported. The rules:
    ///
    /// - an open state without a readable `next_trial_at` (its end) is
    ///   half-open with no successful trial yet: it gets one trial (as many
    ///   as `half_open_max_calls` permits, like any half-open breaker), never
    ///   a silent close; an open state without `opened_at` stays open until
    ///   `next_trial_at` (which admission clamps to the policy);
    /// - a missing or unknown `state` is read from the rest: `held: true` is
    ///   held, a readable `next_trial_at` is open until then, else the last
    ///   transition's target (open gives one trial); with none of these, a
    ///   missing state is a new closed breaker and an unknown one gets one
    ///   trial;
    /// - each member of `counts` is read on its own: an absent or unreadable
    ///   one is 0, the others are kept;
    /// - an unreadable entry of `transitions` is dropped, the others kept;
    /// - a missing or unreadable `generation` is the highest generation in
    ///   `transitions` (0 with none), so that generations run on without a gap;
    /// - negative `consecutive_failures` or `half_open_successes` are 0; a
    ///   negative `backoff_interval_ns` is none; an unreadable
    ///   `failure_window` is empty; unreadable instants and texts are absent.
    /// - Parameter decoder: the decoder to read from.
    /// - Returns: the state, and the repairs made, in the order found.
    /// - Throws: `DecodingError` only when the top level is not an object.
    public static func decodeRepairing(from decoder: any Decoder) throws -> (state: BreakerState, repairs: [StateRepair]) {
        var fields = FieldReader(try decoder.container(keyedBy: CodingKeys.self))
        var state = BreakerState()

        let transitions = fields.read([Salvaged<Transition>].self, .recentTransitions)
        let readableTransitions = transitions.value?.compactMap(\.element) ?? []
        switch transitions {
        case .unreadable:
            fields.note(.unreadable, .recentTransitions, "the history starts empty")
        case .value(let entries) where readableTransitions.count < entries.count:
            let dropped = entries.count - readableTransitions.count
            fields.note(.unreadable, .recentTransitions, "\(dropped) of its \(entries.count) entries dropped, the others kept")
        default:
            break
        }
        state.recentTransitions = Array(readableTransitions.suffix(historyLimit))

        state.phase = decodePhase(&fields, lastTarget: readableTransitions.last?.to)
        state.generation = fields.value(UInt64.self, .generation, else: "read as the last transition's generation")
            ?? readableTransitions.map(\.generation).max() ?? 0
        state.consecutiveFailures = fields.value(Int.self, .consecutiveFailures, else: "read as 0", isValid: { $0 >= 0 }) ?? 0
        let openedAt = fields.read(Instant.self, .openedAt)
        switch (openedAt, state.phase) {
        case (.unreadable, .open):
            fields.note(.unreadable, .openedAt, "the breaker stays open until 'next_trial_at' at most")
        case (.absent, .open) where fields.read(StateName.self, .state).value == .open:
            fields.note(.missing, .openedAt, "the breaker stays open until 'next_trial_at' at most")
        case (.unreadable, _):
            fields.note(.unreadable, .openedAt, "left out")
        default:
            break
        }
        state.openedAt = openedAt.value
        state.openReason = fields.value(String.self, .openReason, else: "left out")
        state.lastFailure = fields.value(String.self, .lastFailure, else: "left out")
        state.lastFailureAt = fields.value(Instant.self, .lastFailureAt, else: "left out")
        state.counts = decodeCounts(&fields)
        let window = fields.value(OutcomeWindow.self, .failureWindow, else: "the failure-rate window starts empty") ?? OutcomeWindow()
        if fields.has(.failureWindow) && window.isEmpty {
            // Only a window with outcomes is ever written: an empty one is damage.
            fields.note(.unreadable, .failureWindow, "the failure-rate window starts empty")
        }
        state.failureWindow = window
        state.backoffInterval = fields.value(Int64.self, .backoffInterval, else: "the next reopen after a failed trial waits reset_timeout",
                                             isValid: { $0 >= 0 }).map { .nanoseconds($0) }
        return (state, fields.repairs)
    }

    /// The phase a stored state stands for; see `decodeRepairing(from:)`.
    private static func decodePhase(_ fields: inout FieldReader<CodingKeys>, lastTarget: StateName?) -> Phase {
        let isHeld = fields.value(Bool.self, .held, else: "read as not held") == true
        let until = fields.read(Instant.self, .until)
        func noteNoEnd() {
            fields.note(until.isAbsent ? .missing : .unreadable, .until, "the breaker gets one trial")
        }
        let name = fields.read(StateName.self, .state)
        switch name {
        case .value(.closed):
            return .closed
        case .value(.halfOpen):
            return .halfOpen(successes: fields.value(Int.self, .halfOpenSuccesses, else: "read as 0", isValid: { $0 >= 0 }) ?? 0)
        case .value(.open):
            if isHeld { return .held }
            if let end = until.value { return .open(until: end) }
            noteNoEnd()
            return .halfOpen(successes: 0)
        case .absent, .unreadable:
            let problem: StateRepair.Problem = name.isAbsent ? .missing : .unreadable
            if isHeld {
                fields.note(problem, .state, "read as held open, as 'held' says")
                return .held
            }
            if let end = until.value {
                fields.note(problem, .state, "read as open until 'next_trial_at'")
                return .open(until: end)
            }
            switch lastTarget {
            case .open?:
                fields.note(problem, .state, "the breaker gets one trial")
                return .halfOpen(successes: 0)
            case .halfOpen?:
                fields.note(problem, .state, "read as half-open, the last transition's target")
                return .halfOpen(successes: 0)
            case .closed?:
                if problem == .unreadable { fields.note(problem, .state, "read as closed, the last transition's target") }
                return .closed
            case nil where problem == .unreadable:
                fields.note(problem, .state, "the breaker gets one trial")
                return .halfOpen(successes: 0)
            case nil:
                // No state and no history: a new breaker.
                return .closed
            }
        }
    }

    /// The lifetime counts, member by member: an absent or unreadable one is
    /// 0 and the others are kept.
    private static func decodeCounts(_ fields: inout FieldReader<CodingKeys>) -> Counts {
        guard fields.has(.counts) else { return Counts() }
        guard let container = try? fields.container.nestedContainer(keyedBy: Counts.CodingKeys.self, forKey: .counts) else {
            fields.note(.unreadable, .counts, "every count starts from 0")
            return Counts()
        }
        var members = FieldReader(container, prefix: "counts.")
        let remedy = "counted from 0, the other counts kept"
        var counts = Counts()
        counts.successes = members.value(UInt64.self, .successes, else: remedy) ?? 0
        counts.failures = members.value(UInt64.self, .failures, else: remedy) ?? 0
        counts.ignored = members.value(UInt64.self, .ignored, else: remedy) ?? 0
        counts.rejected = members.value(UInt64.self, .rejected, else: remedy) ?? 0
        counts.fallbacks = members.value(UInt64.self, .fallbacks, else: remedy) ?? 0
        fields.adopt(members.repairs)
        return counts
    }

    /// Encodes the state as a flat object.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(phase.name, forKey: .state)
        try c.encode(phase == .held, forKey: .held)
        try c.encodeIfPresent(nextTrialAt, forKey: .until)
        if case .halfOpen(let successes) = phase {
            try c.encode(successes, forKey: .halfOpenSuccesses)
        }
        try c.encode(generation, forKey: .generation)
        try c.encode(consecutiveFailures, forKey: .consecutiveFailures)
        try c.encodeIfPresent(openedAt, forKey: .openedAt)
        try c.encodeIfPresent(openReason, forKey: .openReason)
        try c.encodeIfPresent(lastFailure, forKey: .lastFailure)
        try c.encodeIfPresent(lastFailureAt, forKey: .lastFailureAt)
        try c.encode(counts, forKey: .counts)
        try c.encode(recentTransitions, forKey: .recentTransitions)
        if !failureWindow.isEmpty {
            try c.encode(failureWindow, forKey: .failureWindow)
        }
        try c.encodeIfPresent(backoffInterval?.nanoseconds, forKey: .backoffInterval)
    }
}

extension FixedWidthInteger {
    /// Adds one, or stays at the maximum: a state file can hold any value
    /// (edited by hand, damaged), and counting must never crash a run.
    fileprivate mutating func addOneSaturating() {
        if self < .max { self += 1 }
    }
}
