/// The rules one breaker follows: when it trips, how long it stays open, and
/// how it recovers. The names and defaults are pybreaker's (`fail_max`,
/// `reset_timeout`, `success_threshold`) with resilience4j's half-open permits
/// and failure-rate windows, and Polly's and AWS's backoff with jitter.
public struct Policy: Sendable, Equatable {
    /// Consecutive failures that trip a closed breaker. At least 1. Default 5.
    public var failMax: Int
    /// How long the breaker stays open before it lets a trial through.
    /// Default 60 seconds.
    public var resetTimeout: Duration
    /// Successful trials needed in half-open to close the breaker. At least 1.
    /// Default 1.
    public var successThreshold: Int
    /// Trial calls allowed at once in half-open, across all processes.
    /// At least 1. Default 1.
    public var halfOpenMaxCalls: Int
    /// The failure-rate rule, tripping beside `failMax`; nil for none.
    /// Either rule tripping opens the breaker.
    public var failureRate: FailureRate?
    /// The growth of the open interval while trials keep failing; nil to
    /// wait `resetTimeout` after every opening.
    public var backoff: Backoff?

    /// Creates a policy; every parameter defaults to pybreaker's value.
    /// - Parameters:
    ///   - failMax: consecutive failures that trip the breaker (at least 1).
    ///   - resetTimeout: how long the breaker stays open before a trial.
    ///   - successThreshold: successful trials that close it (at least 1).
    ///   - halfOpenMaxCalls: trials allowed at once (at least 1).
    ///   - failureRate: the failure-rate rule, or nil for none.
    ///   - backoff: the backoff of the open interval, or nil for none.
    public init(
        failMax: Int = 5,
        resetTimeout: Duration = .seconds(60),
        successThreshold: Int = 1,
        halfOpenMaxCalls: Int = 1,
        failureRate: FailureRate? = nil,
        backoff: Backoff? = nil
    ) {
        self.failMax = max(1, failMax)
        self.resetTimeout = resetTimeout
        self.successThreshold = max(1, successThreshold)
        self.halfOpenMaxCalls = max(1, halfOpenMaxCalls)
        self.failureRate = failureRate
        self.backoff = backoff
    }

    /// The longest open interval the rules can give: `resetTimeout`, or with
    /// backoff its cap times (1 + jitter). A `trip --for` may give longer;
    /// pass the larger of the two to `BreakerRecord.clamp(to:longestInterval:)`.
    public var longestOpenInterval: Duration {
        guard let backoff else { return resetTimeout }
        let cap = Double(backoff.cap(resetTimeout: resetTimeout).nanoseconds)
        // Every jittered interval is a smaller or equal product, rounded alike.
        return .saturating(nanoseconds: cap * (1 + backoff.jitter))
    }
}
