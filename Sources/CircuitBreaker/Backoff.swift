/// Backoff of the open interval (`backoff:`): while the downstream stays
/// down, each reopen after a failed trial waits longer, up to a cap, with a
/// random spread so that the trials of many hosts and cron jobs do not come
/// in step. The exponential growth, the cap and the jitter are those of
/// Polly's and AWS's "exponential backoff and jitter"; the open interval as
/// the quantity that grows is resilience4j's `IntervalBiFunction` for the
/// wait in open state.
///
/// The rules, as `BreakerRecord` applies them:
/// - an opening from closed waits `resetTimeout`;
/// - each reopen after a failed trial (or a failed forced call while open or
///   half-open) waits the previous base interval times `multiplier`, at most
///   `max` (never less than `resetTimeout`);
/// - a close, and `reset`, start over from `resetTimeout`;
/// - the jitter is drawn once per opening and the resulting end of the
///   interval is stored, so every process and every `status` agree on it.
public struct Backoff: Sendable, Equatable {
    /// Each reopen waits the previous base interval times this. At least 1.
    public var multiplier: Double
    /// The cap on the base interval (before jitter). A cap below
    /// `resetTimeout` counts as `resetTimeout`.
    public var max: Duration
    /// The spread of each open interval, as a fraction from 0 to 1 (0.1 for
    /// `10%`): a base interval `b` becomes a value in `b × (1 ± jitter)`.
    public var jitter: Double

    /// Creates a backoff rule.
    /// - Parameters:
    ///   - multiplier: the growth of each reopen's interval (at least 1).
    ///   - max: the cap on the base interval, before jitter.
    ///   - jitter: the random spread, as a fraction from 0 to 1.
    public init(multiplier: Double = 2, max: Duration, jitter: Double = 0) {
        self.multiplier = multiplier.isNaN ? 1 : Swift.max(1, multiplier)
        self.max = max
        self.jitter = jitter.isNaN ? 0 : Swift.min(1, Swift.max(0, jitter))
    }

    /// The cap on a base interval under a policy with `resetTimeout`.
    func cap(resetTimeout: Duration) -> Duration {
        Swift.max(max, resetTimeout)
    }

    /// The base interval of the reopen after one of `previous`.
    /// - Parameters:
    ///   - previous: the base interval of the opening that just ended.
    ///   - resetTimeout: the policy's reset timeout (the floor of the cap).
    /// - Returns: `previous × multiplier`, at most the cap.
    func base(after previous: Duration, resetTimeout: Duration) -> Duration {
        let cap = Double(cap(resetTimeout: resetTimeout).nanoseconds)
        let grown = Swift.min(cap, Double(Swift.max(.zero, previous).nanoseconds) * multiplier)
        return .saturating(nanoseconds: grown)
    }

    /// The open interval for a base interval, spread by the jitter.
    /// - Parameters:
    ///   - base: the base interval.
    ///   - random: a value in `0..<1` from the caller's random source; 0.5
    ///     gives the base interval itself.
    /// - Returns: `base × (1 + jitter × (2 × random − 1))`, never negative.
    func interval(base: Duration, random: Double) -> Duration {
        let r = random.isNaN ? 0.5 : Swift.min(Swift.max(random, 0), 1)
        let spread = Double(base.nanoseconds) * (1 + jitter * (2 * r - 1))
        return .saturating(nanoseconds: spread)
    }
}

extension Duration {
    /// A duration of `nanoseconds`, rounded to the nearest, taken into
    /// 0 ... `Int64.max` nanoseconds: converting a larger `Double` to `Int64`
    /// would trap. Rounding is monotonic, so a product that is at most
    /// another stays at most it.
    static func saturating(nanoseconds: Double) -> Duration {
        let rounded = nanoseconds.rounded()
        guard rounded > 0 else { return .zero }
        // 2^63 is the first Double past Int64.max.
        guard rounded < 9_223_372_036_854_775_808.0 else { return .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(rounded))
    }
}
