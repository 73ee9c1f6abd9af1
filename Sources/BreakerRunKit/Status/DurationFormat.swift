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
}
