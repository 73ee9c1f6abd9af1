import CircuitBreaker

/// What `status` shows of one breaker, as of one moment: the effective state
/// (an open breaker whose reset timeout has passed shows as half-open),
/// failure counts, when it opened, when the next trial is allowed, and recent
/// transitions. Encodes to DESIGN's "Status as JSON" shape.
public struct BreakerStatus: Sendable, Equatable, Encodable {
    /// The breaker's name.
    public var name: String
    /// `closed`, `open` or `half-open`, effective as of `now`.
    public var state: CircuitState.Name
    /// Whether an operator holds it open until a reset (`trip --hold`).
    public var held: Bool
    /// Failures in a row since the last success.
    public var consecutiveFailures: Int
    /// When it last opened, RFC 3339, or nil if it never did.
    public var openedAt: String?
    /// How long ago it last opened, measured on the clock that does not
    /// jump; nil if it never did. Not in the JSON (`opened_at` is).
    public var openedAgo: Duration?
    /// How long until the next trial is allowed; nil unless open and not
    /// held. Not in the JSON (`retry_after_seconds` is).
    public var nextTrialIn: Duration?
    /// Why it last opened.
    public var openReason: String?
    /// When the next trial is allowed, RFC 3339; nil unless open and not held.
    public var nextTrialAt: String?
    /// Whole seconds until the next trial (rounded up); nil unless open and
    /// not held.
    public var retryAfterSeconds: Int64?
    /// The reason of the last failure, or nil if none was recorded.
    public var lastFailure: String?
    /// Lifetime totals.
    public var counts: Counts
    /// Recent transitions, oldest first.
    public var transitions: [TransitionStatus]

    /// One transition as `status` shows it.
    public struct TransitionStatus: Sendable, Equatable, Encodable {
        /// The state left.
        public var from: CircuitState.Name
        /// The state entered.
        public var to: CircuitState.Name
        /// When, RFC 3339.
        public var at: String
        /// Why.
        public var reason: String
        /// Who, for manual transitions (`uid 0 (root)`); nil otherwise.
        public var by: String?
        /// How long ago, on the clock that does not jump. Not in the JSON.
        public var age: Duration?

        private enum CodingKeys: String, CodingKey {
            case from, to, at, reason, by
        }

        /// Encodes every field; `by` is left out when nil.
        /// - Parameter encoder: the encoder.
        /// - Throws: what the encoder throws.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(at, forKey: .at)
            try c.encode(reason, forKey: .reason)
            try c.encodeIfPresent(by, forKey: .by)
        }
    }

    /// The failure-rate window as of now, when the breaker has a
    /// `failure_rate`: calls and failures in it.
    public var failureRate: FailureRateStatus?

    /// The failure-rate window's totals.
    public struct FailureRateStatus: Sendable, Equatable, Encodable {
        /// Calls (successes and failures) in the window.
        public var calls: Int
        /// Failures in the window.
        public var failures: Int
    }

    /// The breaker's queue (`queue` fallback); nil when it has none.
    public var queue: QueueStatus?
    /// The key shown (`status NAME --key KEY`), as given; nil for a
    /// breaker itself.
    public var key: String?
    /// A keyed breaker's keys, summarised; nil for a plain breaker and
    /// for one key.
    public var keys: KeysStatus?

    /// A queue's figures in `status`: `{"items": 3, "oldest_age_seconds":
    /// 7200, "dead_items": 1}` in JSON.
    public struct QueueStatus: Sendable, Equatable, Encodable {
        /// Items waiting, those a drain is running included.
        public var items: Int
        /// How long ago the oldest readable item was queued; nil when none is.
        public var oldestAge: Duration?
        /// Items in `queue/dead/`.
        public var deadItems: Int

        /// Creates a queue's figures.
        /// - Parameters:
        ///   - items: the items waiting.
        ///   - oldestAge: the oldest item's age, or nil.
        ///   - deadItems: the dead items.
        public init(items: Int, oldestAge: Duration?, deadItems: Int) {
            self.items = items
            self.oldestAge = oldestAge
            self.deadItems = deadItems
        }

        private enum CodingKeys: String, CodingKey {
            case items, oldestAgeSeconds = "oldest_age_seconds", deadItems = "dead_items"
        }

        /// Encodes the figures, the age in whole seconds or `null`.
        /// - Parameter encoder: the encoder.
        /// - Throws: what the encoder throws.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(items, forKey: .items)
            try c.encode(oldestAge.map { $0.components.seconds }, forKey: .oldestAgeSeconds)
            try c.encode(deadItems, forKey: .deadItems)
        }
    }

    /// The status of a breaker as of `now`.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - state: its stored state.
    ///   - now: the current time.
    ///   - policy: the breaker's rules, for its failure-rate window; nil to
    ///     leave the window out.
    public init(name: String, state: BreakerRecord, now: Instant, policy: Policy? = nil) {
        self.name = name
        var state = state
        if let policy { state.clamp(to: now, policy: policy) }
        let circuitState = state.effectiveCircuitState(at: now)
        self.state = circuitState.name
        held = circuitState == .held
        consecutiveFailures = state.consecutiveFailures
        openedAt = state.openedAt.map { formatRFC3339(wallNanoseconds: $0.wallNanoseconds) }
        openedAgo = state.openedAt.map { now.duration(since: $0) }
        openReason = state.openReason
        if case .open(let until) = circuitState {
            // The wall time of the next trial, derived from the monotonic
            // remainder, so that it is right even if the wall clock was set.
            let remaining = until.duration(since: now)
            nextTrialAt = formatRFC3339(wallNanoseconds: (now + remaining).wallNanoseconds)
            retryAfterSeconds = remaining.secondsRoundedUp
            nextTrialIn = remaining
        }
        lastFailure = state.lastFailure
        counts = state.counts
        transitions = state.recentTransitions.map {
            TransitionStatus(from: $0.from, to: $0.to, at: formatRFC3339(wallNanoseconds: $0.at.wallNanoseconds), reason: $0.reason, by: $0.actor, age: now.duration(since: $0.at))
        }
        if let policy, let totals = state.failureRateTotals(at: now, policy: policy) {
            failureRate = FailureRateStatus(calls: totals.calls, failures: totals.failures)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case name, state, held
        case consecutiveFailures = "consecutive_failures"
        case openedAt = "opened_at", openReason = "open_reason"
        case nextTrialAt = "next_trial_at", retryAfterSeconds = "retry_after_seconds"
        case lastFailure = "last_failure", counts, transitions, failureRate = "failure_rate", queue, key, keys
    }

    /// Encodes every field, with `null` for absent values, as DESIGN asks.
    /// - Parameter encoder: the encoder.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(state, forKey: .state)
        try c.encode(held, forKey: .held)
        try c.encode(consecutiveFailures, forKey: .consecutiveFailures)
        try c.encode(openedAt, forKey: .openedAt)
        try c.encode(openReason, forKey: .openReason)
        try c.encode(nextTrialAt, forKey: .nextTrialAt)
        try c.encode(retryAfterSeconds, forKey: .retryAfterSeconds)
        try c.encode(lastFailure, forKey: .lastFailure)
        try c.encode(counts, forKey: .counts)
        try c.encode(transitions, forKey: .transitions)
        try c.encodeIfPresent(failureRate, forKey: .failureRate)
        try c.encodeIfPresent(queue, forKey: .queue)
        try c.encodeIfPresent(key, forKey: .key)
        try c.encodeIfPresent(keys, forKey: .keys)
    }
}
