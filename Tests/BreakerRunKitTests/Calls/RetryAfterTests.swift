import BreakerRunKit
import Testing

/// 2026-11-30T01:00:00Z, a Monday, in seconds since the epoch.
private let now: Int64 = 1_796_000_400
/// 1994-11-06T08:49:37Z, RFC 9110's example date, less 10 seconds.
private let tenSecondsBefore1994Example: Int64 = 784_111_777 - 10

/// `Retry-After` values (RFC 9110, 10.2.3): seconds, or an HTTP date in the
/// three forms of RFC 9110, 5.6.7.
@Suite struct RetryAfterTests {
    @Test(arguments: [
        ("0", 0), ("7", 7), (" 120 ", 120), ("\t3600\t", 3600), ("0007", 7),
    ] as [(String, Int64)])
    func aNumberIsThatManySeconds(value: String, seconds: Int64) {
        #expect(RetryAfter.parse(value, now: now) == .seconds(seconds))
    }

    @Test func aNumberTooLargeForADurationIsTheLargestOneNotAnError() throws {
        let interval = try #require(RetryAfter.parse("99999999999999999999999", now: now))
        #expect(interval > .seconds(Int64(1) << 32))
    }

    @Test(arguments: [
        ("Mon, 30 Nov 2026 01:00:30 GMT", now, 30),
        ("Sun, 06 Nov 1994 08:49:37 GMT", tenSecondsBefore1994Example, 10),
        ("Tue, 29 Feb 2028 00:00:00 GMT", now, 1_795_996_800 - now + 456 * 86_400),
        ("Monday, 30-Nov-26 01:00:30 GMT", now, 30),
        ("Sunday, 06-Nov-94 08:49:37 GMT", tenSecondsBefore1994Example, 10),
        ("Mon Nov 30 01:00:30 2026", now, 30),
        ("Sun Nov  6 08:49:37 1994", tenSecondsBefore1994Example, 10),
        ("Sun Nov 6 08:49:37 1994", tenSecondsBefore1994Example, 10),
    ] as [(String, Int64, Int64)])
    func aDateIsTheTimeUntilIt(value: String, at now: Int64, seconds: Int64) {
        #expect(RetryAfter.parse(value, now: now) == .seconds(seconds))
    }

    @Test(arguments: [
        "Mon, 30 Nov 2026 00:59:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Monday, 30-Nov-26 00:59:59 GMT",
        "Mon Nov 30 00:00:00 2026",
    ])
    func aDateInThePastIsNoWaitAtAll(value: String) {
        #expect(RetryAfter.parse(value, now: now) == .zero)
    }

    @Test func aTwoDigitYearMoreThanFiftyYearsAheadIsTheCenturyBefore() {
        // In 2026, "94" is 1994 (2094 is more than 50 years ahead): past, no
        // wait, not 68 years.
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .zero)
        // "76" is 2076, exactly 50 years ahead: still this century.
        let ahead = RetryAfter.parse("Sunday, 01-Jan-76 00:00:00 GMT", now: now)
        #expect(ahead.map { $0 > .seconds(49 * 365 * 86_400) } == true, "\(String(describing: ahead))")
    }

    @Test(arguments: [
        "", " ", "soon", "-5", "+5", "1.5", "5s", "1e3", "0x10",
        "Mon, 30 Nov 2026 01:00:30 UTC",
        "Mon, 30 Foo 2026 01:00:30 GMT",
        "Xyz, 30 Nov 2026 01:00:30 GMT",
        "Mon 30 Nov 2026 01:00:30 GMT",
        "Mon, 32 Nov 2026 01:00:30 GMT",
        "Mon, 30 Nov 2026 24:00:00 GMT",
        "Mon, 30 Nov 2026 01:60:00 GMT",
        "Mon, 30 Nov 26 01:00:30 GMT",
        "Mon, 30 Nov 2026 1:00:30 GMT",
        "Mon, 30 Nov 1969 01:00:30 GMT",
        "Mon, 30 Nov 2026 01:00:30",
        "Monday, 30-Nov-2026 01:00:30 GMT",
        "Mon, 30-Nov-26 01:00:30 GMT",
        "Mon Nov 30 01:00:30 26",
        "Mon Nov 30 01:00:30 2026 GMT",
        "2026-11-30T01:00:30Z",
    ])
    func anythingElseIsNotARetryAfter(value: String) {
        #expect(RetryAfter.parse(value, now: now) == nil)
    }
}
