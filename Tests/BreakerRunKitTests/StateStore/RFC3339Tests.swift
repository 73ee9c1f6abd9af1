import BreakerRunKit
import Testing

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (Int64(1_796_001_300) * 1_000_000_000, "2026-11-30T01:15:00Z"),
        (Int64(1_796_001_300) * 1_000_000_000 + 999_999_999, "2026-11-30T01:15:00Z"),
        (Int64(951_868_799) * 1_000_000_000, "2000-02-29T23:59:59Z"),
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
    ])
    func formatsWallTimeInUTCWithWholeSeconds(wallNanoseconds: Int64, expected: String) {
        #expect(formatRFC3339(wallNanoseconds: wallNanoseconds) == expected)
    }
}
