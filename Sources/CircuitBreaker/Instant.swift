/// A point in time as a breaker sees it: a reading of a clock that never
/// jumps, used for every decision, paired with the wall-clock time of the same
/// moment, kept only so that people can read when things happened.
///
/// The monotonic reading is CLOCK_BOOTTIME on Linux: it keeps counting while
/// the machine is suspended and never steps back when the wall clock is set.
/// Two instants are ordered by their monotonic readings alone.
public struct Instant: Sendable, Hashable, Comparable {
    /// Nanoseconds since boot on the monotonic clock (CLOCK_BOOTTIME).
    public var monotonicNanoseconds: Int64
    /// Nanoseconds since the Unix epoch on the wall clock (CLOCK_REALTIME).
    public var wallNanoseconds: Int64

    /// Creates an instant from two readings taken at the same moment.
    /// - Parameters:
    ///   - monotonicNanoseconds: nanoseconds since boot (CLOCK_BOOTTIME).
    ///   - wallNanoseconds: nanoseconds since the Unix epoch (CLOCK_REALTIME).
    public init(monotonicNanoseconds: Int64, wallNanoseconds: Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.wallNanoseconds = wallNanoseconds
    }

    /// Orders instants by the monotonic clock alone.
    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.monotonicNanoseconds < rhs.monotonicNanoseconds
    }

    /// Instants are the same moment when their monotonic readings agree.
    public static func == (lhs: Instant, rhs: Instant) -> Bool {
        lhs.monotonicNanoseconds == rhs.monotonicNanoseconds
    }

    /// Hashes the monotonic reading, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(monotonicNanoseconds)
    }

    /// The instant `duration` later (or earlier, for a negative duration),
    /// on both clocks. Saturates instead of overflowing.
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let delta = rhs.nanoseconds
        return Instant(
            monotonicNanoseconds: lhs.monotonicNanoseconds.addingSaturating(delta),
            wallNanoseconds: lhs.wallNanoseconds.addingSaturating(delta)
        )
    }

    /// The monotonic time elapsed from `earlier` to this instant; negative
    /// when `earlier` is in fact later.
    /// - Parameter earlier: the instant to measure from.
    /// - Returns: the elapsed time, with nanosecond resolution.
    public func duration(since earlier: Instant) -> Duration {
        .nanoseconds(monotonicNanoseconds.subtractingSaturating(earlier.monotonicNanoseconds))
    }
}

extension Duration {
    /// This duration in whole nanoseconds, saturating at the bounds of `Int64`
    /// (about 292 years either way).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingSaturating(attoseconds / 1_000_000_000)
    }

    /// This duration in whole seconds, rounded up: the value of a
    /// `Retry-After`-style "come back in N seconds" hint (RFC 9110, 10.2.3).
    public var secondsRoundedUp: Int64 {
        let ns = nanoseconds
        guard ns > 0 else { return 0 }
        return (ns - 1) / 1_000_000_000 + 1
    }
}

extension Int64 {
    func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        if !overflow { return sum }
        return other > 0 ? .max : .min
    }

    func subtractingSaturating(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        if !overflow { return difference }
        return other < 0 ? .max : .min
    }
}
