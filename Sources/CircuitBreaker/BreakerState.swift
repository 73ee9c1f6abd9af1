/// The whole state of one circuit breaker, and the pattern's rules as
/// mutations of it. Pure: time is passed in, nothing is read or written.
///
/// - closed: calls run. Consecutive failures are counted; `failMax` of them
///   trip the breaker.
/// - open: calls are rejected. After the open interval (`resetTimeout`) the
///   breaker becomes half-open.
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

    /// How many transitions `recentTransitions` keeps.
    public static let historyLimit = 20

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

    // MARK: Admission

    /// Decides whether a call may run now, and takes the transition from
    /// open to half-open when the open interval has passed.
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
    /// anew. A held breaker stays held.
    /// - Parameter now: the current time.
    /// - Returns: the ticket to record the outcome with.
    public mutating func admitForced(at now: Instant) -> Ticket {
        settle(at: now)
        return Ticket(generation: generation, isTrial: phase != .closed, isForced: true)
    }

    // MARK: Recording

    /// Records the outcome of an admitted call: updates the lifetime counts,
    /// and, when the ticket is of the current generation, applies the
    /// pattern's rules (which may trip, reopen or close the breaker).
    /// - Parameters:
    ///   - outcome: how the call ended.
    ///   - ticket: the ticket the call was admitted with.
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    public mutating func record(_ outcome: Outcome, for ticket: Ticket, at now: Instant, policy: Policy) {
        switch outcome {
        case .success:
            counts.successes.addOneSaturating()
        case .failure(let reason):
            counts.failures.addOneSaturating()
            lastFailure = reason
            lastFailureAt = now
        case .ignored:
            counts.ignored.addOneSaturating()
        }
        guard ticket.generation == generation else { return }

        switch (phase, outcome) {
        case (_, .ignored):
            return
        case (.closed, .success):
            consecutiveFailures = 0
        case (.closed, .failure):
            consecutiveFailures.addOneSaturating()
            if consecutiveFailures >= policy.failMax {
                let noun = consecutiveFailures == 1 ? "failure" : "consecutive failures"
                open(at: now, for: policy.resetTimeout, reason: "\(consecutiveFailures) \(noun)")
            }
        case (.halfOpen(let successes), .success):
            if ticket.isForced || successes >= policy.successThreshold - 1 {
                close(at: now, reason: ticket.isForced ? "forced call succeeded" : "trial succeeded")
            } else {
                phase = .halfOpen(successes: successes + 1)
            }
        case (.halfOpen, .failure):
            consecutiveFailures.addOneSaturating()
            open(at: now, for: policy.resetTimeout, reason: ticket.isForced ? "forced call failed" : "trial failed")
        case (.open, .success):
            close(at: now, reason: "forced call succeeded")
        case (.open, .failure):
            consecutiveFailures.addOneSaturating()
            open(at: now, for: policy.resetTimeout, reason: "forced call failed")
        case (.held, _):
            return
        }
    }

    // MARK: Manual control

    /// Opens the breaker now (`trip`), whatever its state. A held breaker
    /// stays held: only `reset` releases a hold, so a plain trip of a held
    /// breaker changes nothing.
    /// - Parameters:
    ///   - now: the current time.
    ///   - interval: how long to stay open; nil for the policy's reset timeout.
    ///   - hold: keep it open until `reset`, whatever the time.
    ///   - reason: why, for people; "manual" by default.
    ///   - policy: the breaker's rules.
    public mutating func trip(at now: Instant, for interval: Duration? = nil, hold: Bool = false, reason: String = "manual", policy: Policy) {
        if phase == .held && !hold { return }
        if hold {
            transition(to: .held, at: now, reason: reason)
            openedAt = now
            openReason = reason
        } else {
            open(at: now, for: interval ?? policy.resetTimeout, reason: reason)
        }
    }

    /// Closes the breaker now (`reset`) and clears the consecutive failure
    /// count and any hold. Lifetime counts are kept.
    /// - Parameter now: the current time.
    public mutating func reset(at now: Instant) {
        consecutiveFailures = 0
        close(at: now, reason: "manual reset")
    }

    // MARK: Clocks

    /// Re-expresses the stored instants on a new monotonic clock after a
    /// reboot, using the wall clock to tell how long ago each was. A stored
    /// wall time in the future counts as now, so an open interval is measured
    /// from now at most and never lasts longer than configured.
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
        recentTransitions = recentTransitions.map { transition in
            var copy = transition
            copy.at = moved(transition.at)
            return copy
        }
    }

    /// Brings instants that lie ahead of `now` on the same boot (a damaged or
    /// hand-edited state file) back to `now`, so that no open interval lasts
    /// longer than its configured length.
    /// - Parameters:
    ///   - now: the current time.
    ///   - longestInterval: the longest open interval that the breaker can
    ///     have been given; an interval ending later than this from now is
    ///     cut to end then.
    public mutating func clamp(to now: Instant, longestInterval: Duration) {
        if let opened = openedAt, opened > now { openedAt = now }
        if case .open(let until) = phase, until > now + longestInterval {
            phase = .open(until: now + longestInterval)
        }
        if let failed = lastFailureAt, failed > now { lastFailureAt = now }
    }

    // MARK: Transitions

    /// Takes the lazy transition from open to half-open once the open
    /// interval has passed.
    private mutating func settle(at now: Instant) {
        if case .open(let until) = phase, now >= until {
            transition(to: .halfOpen(successes: 0), at: now, reason: "reset timeout passed")
        }
    }

    private mutating func open(at now: Instant, for interval: Duration, reason: String) {
        transition(to: .open(until: now + interval), at: now, reason: reason)
        openedAt = now
        openReason = reason
    }

    private mutating func close(at now: Instant, reason: String) {
        consecutiveFailures = 0
        transition(to: .closed, at: now, reason: reason)
    }

    private mutating func transition(to next: Phase, at now: Instant, reason: String) {
        let from = phase.name
        phase = next
        // Wraps rather than traps: tickets are compared for equality only.
        generation &+= 1
        recentTransitions.append(Transition(from: from, to: next.name, at: now, reason: reason, generation: generation))
        if recentTransitions.count > Self.historyLimit {
            recentTransitions.removeFirst(recentTransitions.count - Self.historyLimit)
        }
    }
}

/// The breaker state as a flat, `jq`-friendly JSON object. Decoding is
/// lenient: a missing or odd field takes its default, so a state file written
/// by an older or newer version, or edited by hand, never stops a run.
extension BreakerState: Codable {
    private enum CodingKeys: String, CodingKey {
        case state, held, until = "next_trial_at", halfOpenSuccesses = "half_open_successes"
        case generation, consecutiveFailures = "consecutive_failures"
        case openedAt = "opened_at", openReason = "open_reason"
        case lastFailure = "last_failure", lastFailureAt = "last_failure_at"
        case counts, recentTransitions = "transitions"
    }

    /// Decodes a state, taking defaults for missing or malformed fields.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` when the top level is not an object, when
    ///   `state` is not one of `closed`, `open` and `half-open`, or when an
    ///   open state that is not held has no `next_trial_at`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func field<T: Decodable>(_ type: T.Type, _ key: CodingKeys) -> T? {
            (try? c.decodeIfPresent(type, forKey: key)) ?? nil
        }
        self.init()
        // The state itself must make sense: a file that names no known state,
        // or an open state with no end, is damaged, and the store moves it
        // aside rather than silently overwrite it with a closed breaker.
        let name: StateName
        if c.contains(.state) {
            guard let known = field(StateName.self, .state) else {
                throw DecodingError.dataCorruptedError(forKey: .state, in: c, debugDescription: "unknown state")
            }
            name = known
        } else {
            name = .closed
        }
        let until = field(Instant.self, .until)
        switch name {
        case .closed:
            phase = .closed
        case .open:
            if field(Bool.self, .held) == true {
                phase = .held
            } else if let until {
                phase = .open(until: until)
            } else {
                throw DecodingError.dataCorruptedError(forKey: .until, in: c, debugDescription: "an open state needs next_trial_at")
            }
        case .halfOpen:
            phase = .halfOpen(successes: max(0, field(Int.self, .halfOpenSuccesses) ?? 0))
        }
        generation = field(UInt64.self, .generation) ?? 0
        consecutiveFailures = max(0, field(Int.self, .consecutiveFailures) ?? 0)
        openedAt = field(Instant.self, .openedAt)
        openReason = field(String.self, .openReason)
        lastFailure = field(String.self, .lastFailure)
        lastFailureAt = field(Instant.self, .lastFailureAt)
        counts = field(Counts.self, .counts) ?? Counts()
        recentTransitions = Array((field([Transition].self, .recentTransitions) ?? []).suffix(Self.historyLimit))
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
    }
}

extension FixedWidthInteger {
    /// Adds one, or stays at the maximum: a state file can hold any value
    /// (edited by hand, damaged), and counting must never crash a run.
    fileprivate mutating func addOneSaturating() {
        if self < .max { self += 1 }
    }
}
