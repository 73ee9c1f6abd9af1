/// The `Retry-After` header of a response (RFC 9110, 10.2.3): a whole number
/// of seconds, or an HTTP date.
public enum RetryAfter {
    /// The interval a `Retry-After` value asks for.
    /// - Parameters:
    ///   - value: the header's value, such as `120` or
    ///     `Wed, 21 Oct 2026 07:28:00 GMT` (IMF-fixdate).
    ///   - now: the current wall time, in seconds since the Unix epoch.
    /// - Returns: the interval (zero for a date in the past), or nil when the
    ///   value is neither form.
    public static func parse(_ value: String, now: Int64) -> Duration? {
        let text = value.trimmingASCIISpaces()
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            return Int64(text).map { .seconds($0) } ?? .seconds(Int64.max / 1_000_000_000)
        }
        guard let date = imfFixdate(text) else { return nil }
        return .seconds(max(0, date - now))
    }

    /// Seconds since the epoch of `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func imfFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", parts[0].hasSuffix(","),
              let day = Int64(parts[1]), (1...31).contains(day),
              let monthIndex = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].firstIndex(of: String(parts[2])),
              let year = Int64(parts[3]), year >= 1970 else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int64(clock[0]), let minute = Int64(clock[1]), let second = Int64(clock[2]),
              hour < 24, minute < 60, second < 61 else { return nil }
        return daysFromCivil(year: year, month: Int64(monthIndex) + 1, day: day) * 86_400 + hour * 3_600 + minute * 60 + second
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension String {
    fileprivate func trimmingASCIISpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
