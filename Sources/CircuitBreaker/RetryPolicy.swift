/// Retries inside the breaker (`retry:`): each attempt is admitted and
/// recorded by the breaker like any call, and retrying stops as soon as the
/// breaker opens or an attempt is not a failure. The delays grow
/// exponentially, capped, with a random spread (jitter) so that many hosts do
/// not retry in step.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first one included. At least 1.
    public var attempts: Int
    /// The delay before the second attempt. Default 1 second.
    public var delay: Duration
    /// Each later delay is the one before times this. At least 1. Default 2.
    public var multiplier: Double
    /// No delay is longer than this (before jitter). Default 30 seconds.
    public var maxDelay: Duration
    /// The spread of each delay, as a fraction (0.1 for `10%`): a delay `d`
    /// becomes a random value in `d × (1 ± jitter)`. From 0 to 1. Default 0.
    public var jitter: Double

    /// Creates a retry policy.
    /// - Parameters:
    ///   - attempts: attempts in all (at least 1).
    ///   - delay: the first delay.
    ///   - multiplier: the growth of each later delay (at least 1).
    ///   - maxDelay: the cap on a delay before jitter.
    ///   - jitter: the random spread, as a fraction from 0 to 1.
    public init(attempts: Int, delay: Duration = .seconds(1), multiplier: Double = 2, maxDelay: Duration = .seconds(30), jitter: Double = 0) {
        self.attempts = max(1, attempts)
        self.delay = delay
        self.multiplier = max(1, multiplier)
        self.maxDelay = maxDelay
        self.jitter = min(1, max(0, jitter))
    }

    /// How long to wait after attempt `attempt` failed, before the next one.
    /// - Parameters:
    ///   - attempt: the attempt that failed, from 1.
    ///   - random: a value in `0..<1` from the caller's random source; 0.5
    ///     gives the delay without jitter.
    /// - Returns: `delay × multiplier^(attempt-1)`, capped at `maxDelay`,
    ///   spread by the jitter; never negative.
    public func delay(after attempt: Int, random: Double) -> Duration {
        var nanoseconds = Double(delay.nanoseconds)
        let cap = Double(maxDelay.nanoseconds)
        for _ in 1..<max(1, attempt) where nanoseconds < cap {
            nanoseconds *= multiplier
        }
        nanoseconds = min(nanoseconds, cap)
        nanoseconds *= 1 + jitter * (2 * min(max(random, 0), 1) - 1)
        return .nanoseconds(Int64(max(0, nanoseconds)))
    }
}
