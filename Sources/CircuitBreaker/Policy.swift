/// The rules one breaker follows: when it trips, how long it stays open, and
/// how it recovers. The names and defaults are pybreaker's (`fail_max`,
/// `reset_timeout`, `success_threshold`) with resilience4j's half-open permits.
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

    /// Creates a policy; every parameter defaults to pybreaker's value.
    /// - Parameters:
    ///   - failMax: consecutive failures that trip the breaker (at least 1).
    ///   - resetTimeout: how long the breaker stays open before a trial.
    ///   - successThreshold: successful trials that close it (at least 1).
    ///   - halfOpenMaxCalls: trials allowed at once (at least 1).
    public init(
        failMax: Int = 5,
        resetTimeout: Duration = .seconds(60),
        successThreshold: Int = 1,
        halfOpenMaxCalls: Int = 1
    ) {
        self.failMax = max(1, failMax)
        self.resetTimeout = resetTimeout
        self.successThreshold = max(1, successThreshold)
        self.halfOpenMaxCalls = max(1, halfOpenMaxCalls)
    }
}
