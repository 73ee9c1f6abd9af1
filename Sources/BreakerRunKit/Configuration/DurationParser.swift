/// Durations as operators write them, on the command line as in the
/// configuration: `500ms`, `30s`, `1m30s`, `2h`, `1d`, or a bare whole number
/// of seconds (pybreaker's `reset_timeout=10`).
public enum DurationParser {
    /// Reads a duration.
    /// - Parameter text: the text, such as `1m30s`; units from largest to
    ///   smallest (d, h, m, s, ms), each at most once.
    /// - Returns: the duration, with millisecond resolution.
    /// - Throws: `DurationParser.Invalid` when the text is not a duration.
    public static func parse(_ text: String) throws(Invalid) -> Duration {
        switch ScalarLexer.duration(text) {
        case .success(let milliseconds): return .milliseconds(milliseconds)
        case .failure: throw Invalid(text: text)
        }
    }

    /// Text that is not a duration.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        /// The text as given.
        public var text: String
        /// "'soon' is not a duration such as 30s, 10m or 1h30m".
        public var description: String { "'\(text)' is not a duration such as 30s, 10m or 1h30m" }
    }
}
