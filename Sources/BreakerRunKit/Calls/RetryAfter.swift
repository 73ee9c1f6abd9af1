/// The `Retry-After` header of a response (RFC 9110, section 10.2.3): a whole
/// number of seconds, or an HTTP date in any of the three forms a recipient
/// must accept (RFC 9110, section 5.6.7): IMF-fixdate, and the obsolete RFC 850
/// and asctime forms.
public enum RetryAfter {
    /// The interval a `Retry-After` value asks for.
    /// - Parameters:
    ///   - value: the header's value, such as `120`,
    ///     `Wed, 21 Oct 2026 07:28:00 GMT` (IMF-fixdate),
    ///     `Wednesday, 21-Oct-26 07:28:00 GMT` (RFC 850) or
    ///     `Wed Oct 21 07:28:00 2026` (asctime); spaces and tabs around it are
    ///     ignored.
    ///   - now: the current wall time, in seconds since the Unix epoch.
    /// - Returns: the interval, in whole seconds (zero for a date in the
    ///   past; a number of seconds too large for `Duration` gives the largest
    ///   whole number of seconds it holds), or nil when the value is none of
    ///   these forms (a negative number, a fraction, a malformed date).
    public static func parse(_ value: String, now: Int64) -> Duration? {
        let text = value.trimmingASCIISpaces()
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            return Int64(text).map { .seconds($0) } ?? .seconds(Int64.max / 1_000_000_000)
        }
        guard let date = imfFixdate(text) ?? rfc850Date(text, now: now) ?? asctimeDate(text) else { return nil }
        return .seconds(max(0, date - now))
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// Seconds since the epoch of `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func imfFixdate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[5] == "GMT", parts[0].hasSuffix(","), days.contains(String(parts[0].dropLast())),
              parts[1].utf8.count == 2, let day = Int64(parts[1]),
              parts[3].utf8.count == 4, let year = Int64(parts[3]) else { return nil }
        return seconds(year: year, month: parts[2], day: day, time: parts[4])
    }

    /// Seconds since the epoch of `Sunday, 06-Nov-94 08:49:37 GMT`; the
    /// two-digit year is the one within 50 years of `now`, a later one
    /// being the most recent past year with those digits (RFC 9110, 5.6.7).
    static func rfc850Date(_ text: String, now: Int64) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3] == "GMT", parts[0].hasSuffix(","), longDays.contains(String(parts[0].dropLast())) else { return nil }
        let date = parts[1].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, date[0].utf8.count == 2, let day = Int64(date[0]),
              date[2].utf8.count == 2, let shortYear = Int64(date[2]) else { return nil }
        let currentYear = civilYear(ofDay: now >= 0 ? now / 86_400 : (now - 86_399) / 86_400)
        var year = currentYear - currentYear % 100 + shortYear
        if year > currentYear + 50 { year -= 100 }
        return seconds(year: year, month: date[1], day: day, time: parts[2])
    }

    /// Seconds since the epoch of `Sun Nov  6 08:49:37 1994` (C's asctime,
    /// always GMT; a one-digit day is padded with a space, and a sender that
    /// writes one space only is understood too).
    static func asctimeDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5, days.contains(String(parts[0])), (1...2).contains(parts[2].utf8.count), let day = Int64(parts[2]),
              parts[4].utf8.count == 4, let year = Int64(parts[4]) else { return nil }
        return seconds(year: year, month: parts[1], day: day, time: parts[3])
    }

    /// Seconds since the epoch of a date and an `HH:MM:SS` time, or nil when
    /// a field is out of range.
    private static func seconds(year: Int64, month: Substring, day: Int64, time: Substring) -> Int64? {
        guard year >= 1970, let monthIndex = months.firstIndex(of: String(month)), (1...31).contains(day) else { return nil }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.utf8.count == 2 }),
              let hour = Int64(clock[0]), let minute = Int64(clock[1]), let second = Int64(clock[2]),
              (0..<24).contains(hour), (0..<60).contains(minute), (0..<61).contains(second) else { return nil }
        return daysFromCivil(year: year, month: Int64(monthIndex) + 1, day: day) * 86_400 + hour * 3_600 + minute * 60 + second
    }

    /// The proleptic Gregorian year of a day counted from 1970-01-01 (Howard
    /// Hinnant's `civil_from_days`, year only).
    static func civilYear(ofDay days: Int64) -> Int64 {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        return yearOfEra + era * 400 + (monthPrime >= 10 ? 1 : 0)
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
