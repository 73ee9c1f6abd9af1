/// The failure-rate rule (`failure_rate:`): trip when, over a sliding window
/// of recent calls, enough calls finished and the share of failures reached a
/// threshold. The rule is resilience4j's `failureRateThreshold` with its
/// count-based and time-based sliding windows and `minimumNumberOfCalls`.
///
/// Only successes and failures count as calls; ignored outcomes do not, and
/// neither do stale ones (of calls admitted before the latest transition).
/// A breaker with no failure in its window never trips by this rule, whatever
/// the threshold.
public struct FailureRate: Sendable, Equatable {
    /// Which recent calls the rule looks at.
    public enum Window: Sendable, Equatable {
        /// The last `n` calls (resilience4j's count-based window). `n` is
        /// taken between 1 and `FailureRate.maximumCalls`.
        case calls(Int)
        /// The calls that finished within the last `d` of time on the
        /// monotonic clock (resilience4j's time-based window), at least
        /// 1 millisecond. Kept as `FailureRate.maximumBuckets` buckets, so a
        /// call is dropped up to one bucket (`d`/60) before it is `d` old:
        /// an outcome older than `d` never counts.
        case duration(Duration)
    }

    /// The largest count window: the ring of outcomes holds at most this
    /// many calls (one bit each).
    public static let maximumCalls = 1_000
    /// The most time buckets a time window keeps, whatever its length and
    /// the call rate. Each bucket spans the window / 60, at least 1 ms.
    public static let maximumBuckets = 60

    /// The failure share that trips the breaker, as a fraction from 0 to 1
    /// (0.5 for `50%`). The breaker trips when failures / calls is at or
    /// above it.
    public var threshold: Double
    /// The calls the share is taken over.
    public var window: Window
    /// Calls that must have finished within the window before the rule can
    /// trip. At least 1. For a count window of `n` calls, at most `n` count
    /// (resilience4j caps `minimumNumberOfCalls` at the window size too).
    public var minimumCalls: Int

    /// Creates a failure-rate rule.
    /// - Parameters:
    ///   - threshold: the failure share that trips, from 0 to 1 (taken
    ///     into that range).
    ///   - window: the last N calls, or the last stretch of time.
    ///   - minimumCalls: calls needed in the window before it can trip (at
    ///     least 1).
    public init(threshold: Double, window: Window, minimumCalls: Int) {
        self.threshold = threshold.isNaN ? 1 : min(1, max(0, threshold))
        self.window = window.normalized
        self.minimumCalls = max(1, minimumCalls)
    }

    /// The calls needed in the window before the rule can trip: at least 1,
    /// and for a count window at most its size.
    var effectiveMinimumCalls: Int {
        switch window.normalized {
        case .calls(let n): min(max(1, minimumCalls), n)
        case .duration: max(1, minimumCalls)
        }
    }

    /// Whether `failures` out of `calls` trip the breaker under this rule.
    func trips(calls: Int, failures: Int) -> Bool {
        guard calls >= effectiveMinimumCalls, failures > 0 else { return false }
        // Division is correctly rounded, so 3 / 10 equals the literal 0.3.
        return Double(failures) / Double(calls) >= threshold
    }
}

extension FailureRate.Window {
    /// The window with its length taken into the supported range: 1 to
    /// `maximumCalls` calls, or at least 1 millisecond.
    var normalized: Self {
        switch self {
        case .calls(let n): .calls(min(FailureRate.maximumCalls, max(1, n)))
        case .duration(let d): .duration(max(.milliseconds(1), d))
        }
    }

    /// The width of one time bucket in nanoseconds: the window / 60 rounded
    /// up, at least 1 ms, so that the buckets that can lie within the window
    /// number at most `FailureRate.maximumBuckets`.
    static func bucketWidth(for duration: Duration) -> Int64 {
        let window = max(Duration.milliseconds(1), duration).nanoseconds
        let buckets = Int64(FailureRate.maximumBuckets)
        let width = window / buckets + (window % buckets == 0 ? 0 : 1)
        return max(1_000_000, width)
    }

    /// The window for people: "the last 20 calls", "the last 10m".
    var phrase: String {
        switch normalized {
        case .calls(let n): n == 1 ? "the last call" : "the last \(n) calls"
        case .duration(let d): "the last \(d.compactDescription)"
        }
    }
}

extension Duration {
    /// This duration as the configuration writes it: "10m", "1h30m", "500ms",
    /// "1m2s250ms". Whole milliseconds; negative durations as "0s".
    var compactDescription: String {
        var ms = max(0, nanoseconds) / 1_000_000
        guard ms > 0 else { return "0s" }
        var parts = ""
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1_000), ("ms", 1)] where ms >= size {
            parts += "\(ms / size)\(unit)"
            ms %= size
        }
        return parts
    }
}
