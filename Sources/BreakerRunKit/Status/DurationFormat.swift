/// Durations written as the configuration writes them: `1h30m`, `45s`,
/// `500ms`.
public enum DurationFormat {
    /// The duration in the largest units that keep it exact, down to
    /// milliseconds, as the configuration reads it back: `1d`, `1h30m`,
    /// `2s`; `1m0.5s` is written `1m500ms`.
    /// - Parameter duration: the duration; a negative one is written as 0s.
    /// - Returns: the text.
    public static func string(_ duration: Duration) -> String {
        var milliseconds = max(0, duration.nanoseconds / 1_000_000)
        if milliseconds == 0 { return "0s" }
        var text = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] where milliseconds >= size {
            text += "\(milliseconds / size)\(unit)"
            milliseconds %= size
        }
        return text
    }

    /// A duration as people read it at a glance, in its two largest units
    /// and whole seconds at most: `27s`, `3m`, `3m10s`, `2h5m`, `3d4h`.
    /// Rounded down, except that a duration under one second reads `0s`
    /// only when it is zero; otherwise `1s` (a trial "in 0s" would read as
    /// now).
    /// - Parameter duration: the duration; a negative one reads `0s`.
    /// - Returns: the text.
    public static func relative(_ duration: Duration) -> String {
        let nanoseconds = max(0, duration.nanoseconds)
        let total = nanoseconds / 1_000_000_000
        if total == 0 { return nanoseconds == 0 ? "0s" : "1s" }
        let days = total / 86_400, hours = total % 86_400 / 3_600, minutes = total % 3_600 / 60, seconds = total % 60
        if days > 0 { return hours > 0 ? "\(days)d\(hours)h" : "\(days)d" }
        if hours > 0 { return minutes > 0 ? "\(hours)h\(minutes)m" : "\(hours)h" }
        if minutes > 0 { return seconds > 0 ? "\(minutes)m\(seconds)s" : "\(minutes)m" }
        return "\(seconds)s"
    }

    /// A time still to wait, as `relative(_:)` writes durations but rounded
    /// up in its last unit, so that it never promises less than is left and
    /// agrees with `retry_after_seconds` (whole seconds, rounded up):
    /// 2d2h59m59.9s reads `2d3h`, 26.2s reads `27s`.
    /// - Parameter duration: the time left; a negative one reads `0s`.
    /// - Returns: the text.
    public static func remaining(_ duration: Duration) -> String {
        let seconds = max(0, duration.secondsRoundedUp)
        // The last unit shown is the second largest of the two shown.
        let unit: Int64 = seconds >= 86_400 ? 3_600 : seconds >= 3_600 ? 60 : 1
        let rounded = (seconds + unit - 1) / unit * unit
        return relative(.seconds(rounded))
    }
}
