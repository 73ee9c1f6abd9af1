/// Formats a wall-clock time as an RFC 3339 timestamp in UTC with whole
/// seconds, such as `2026-11-30T01:15:00Z` (RFC 3339, section 5.6; the
/// fraction is truncated, not rounded, so a time never shows as later than it
/// was).
///
/// Uses `gmtime_r(3)`, which needs no locale or time zone database.
/// - Parameter wallNanoseconds: nanoseconds since the Unix epoch
///   (CLOCK_REALTIME), as in `Instant.wallNanoseconds`; may be negative.
/// - Returns: the timestamp, always ending in `Z`.
public func formatRFC3339(wallNanoseconds: Int64) -> String {
    let t = brokenDownUTC(wallNanoseconds: wallNanoseconds)
    return "\(padded(t.year, 4))-\(padded(t.month, 2))-\(padded(t.day, 2))"
        + "T\(padded(t.hour, 2)):\(padded(t.minute, 2)):\(padded(t.second, 2))Z"
}

/// The compact ISO 8601 basic form used in file names, such as
/// `20261130T011500Z`: no separators that a shell or a file system could mind.
/// - Parameter wallNanoseconds: nanoseconds since the Unix epoch.
/// - Returns: the timestamp in UTC, whole seconds.
func formatCompactUTC(wallNanoseconds: Int64) -> String {
    let t = brokenDownUTC(wallNanoseconds: wallNanoseconds)
    return "\(padded(t.year, 4))\(padded(t.month, 2))\(padded(t.day, 2))"
        + "T\(padded(t.hour, 2))\(padded(t.minute, 2))\(padded(t.second, 2))Z"
}

private struct BrokenDownTime {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
}

private func brokenDownUTC(wallNanoseconds: Int64) -> BrokenDownTime {
    // Floor division, so that a time before the epoch falls in the right second.
    var seconds = wallNanoseconds / 1_000_000_000
    if wallNanoseconds % 1_000_000_000 < 0 { seconds -= 1 }
    var time = time_t(seconds)
    var parts = tm()
    guard gmtime_r(&time, &parts) != nil else {
        // Out of range for the C library (not reachable with an Int64 of
        // nanoseconds, which ends in 2262); show the epoch rather than crash.
        return BrokenDownTime(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0)
    }
    return BrokenDownTime(
        year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
        hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec)
    )
}

private func padded(_ value: Int, _ width: Int) -> String {
    let digits = String(abs(value))
    let sign = value < 0 ? "-" : ""
    return sign + String(repeating: "0", count: max(0, width - digits.count)) + digits
}
