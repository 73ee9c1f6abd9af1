import Foundation
import Testing

/// A 429 or 503 with `Retry-After` that trips the breaker sets how long it
/// stays open, at most `max_retry_after`: read from `status --json`, no sleeps.
@Suite("Retry-After end to end")
struct RetryAfterEndToEndTests {
    /// `date` as an IMF-fixdate (RFC 9110, 5.6.7), as a server writes it.
    static func imfFixdate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    /// A breaker that trips on the first failure and would stay open 10
    /// minutes by `reset_timeout`, against a server answering `/api` with
    /// `status` and `Retry-After: retryAfter`.
    func trip(status: Int, retryAfter: String, extraHTTPKeys: String = "", failMax: Int = 1) throws -> (sandbox: Sandbox, server: HTTPServer, result: Invocation) {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/api": ["status": status, "headers": ["Retry-After": retryAfter]]])
        try sandbox.write(config: """
            version: 1
            breakers:
              vendor:
                http: {url: '\(server.url("/api"))'\(extraHTTPKeys)}
                timeout: 5s
                fail_max: \(failMax)
                reset_timeout: 10m
            """)
        let result = try sandbox.run(["run", "vendor"])
        return (sandbox, server, result)
    }

    @Test func a503WithAnHTTPDateOpensTheBreakerUntilThatDate() throws {
        // Whole seconds: the header has no finer unit.
        let until = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 150).rounded(.down))
        let (sandbox, _, result) = try trip(status: 503, retryAfter: Self.imfFixdate(until))
        #expect(result.status == 22, "\(result.stderr)")
        let status = try sandbox.status("vendor")
        #expect(status["state"] as? String == "open")
        let retryAfter = try #require(status["retry_after_seconds"] as? Int)
        #expect((140...150).contains(retryAfter), "about 150 s, not reset_timeout's 600: \(retryAfter)")
        let nextTrial = try #require((status["next_trial_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(abs(nextTrial.timeIntervalSince(until)) <= 2, "next trial at \(nextTrial), Retry-After said \(until)")
    }

    @Test func maxRetryAfterCapsAnIntervalInSeconds() throws {
        let (sandbox, _, result) = try trip(status: 429, retryAfter: "7200", extraHTTPKeys: ", max_retry_after: 90s")
        #expect(result.status == 22, "\(result.stderr)")
        let status = try sandbox.status("vendor")
        #expect(status["state"] as? String == "open")
        let retryAfter = try #require(status["retry_after_seconds"] as? Int)
        #expect((80...90).contains(retryAfter), "capped at 90 s, not 7200 s nor reset_timeout's 600: \(retryAfter)")
    }

    @Test func maxRetryAfterCapsAnHTTPDate() throws {
        let until = Date().addingTimeInterval(3 * 3600)
        let (sandbox, _, result) = try trip(status: 503, retryAfter: Self.imfFixdate(until), extraHTTPKeys: ", max_retry_after: 2m")
        #expect(result.status == 22, "\(result.stderr)")
        let retryAfter = try #require(try sandbox.status("vendor")["retry_after_seconds"] as? Int)
        #expect((110...120).contains(retryAfter), "capped at 2 minutes: \(retryAfter)")
    }

    @Test func anUnreadableRetryAfterLeavesTheResetTimeout() throws {
        let (sandbox, _, result) = try trip(status: 503, retryAfter: "in a while")
        #expect(result.status == 22, "\(result.stderr)")
        let retryAfter = try #require(try sandbox.status("vendor")["retry_after_seconds"] as? Int)
        #expect((590...600).contains(retryAfter), "reset_timeout's 10 minutes: \(retryAfter)")
    }

    @Test func a429WithRetryAfterOpensTheBreakerAtOnceWhateverFailMaxSays() throws {
        let (sandbox, _, result) = try trip(status: 429, retryAfter: "120", failMax: 5)
        #expect(result.status == 22, "\(result.stderr)")
        #expect(result.stderr.contains("vendor: closed -> open ("), "\(result.stderr)")
        let status = try sandbox.status("vendor")
        #expect(status["state"] as? String == "open", "one answer, not fail_max's five")
        let retryAfter = try #require(status["retry_after_seconds"] as? Int)
        #expect((110...120).contains(retryAfter), "\(retryAfter)")
        let reason = try #require(status["open_reason"] as? String)
        #expect(reason.hasSuffix(", Retry-After 120s"), "status --json says where the interval came from: \(reason)")
        let text = try sandbox.run(["status", "vendor"]).stdout
        #expect(text.contains("Retry-After 120s"), "\(text)")
    }

    @Test func honorRetryAfterFalseMakesItAnOrdinaryFailure() throws {
        // The server is kept alive for the second call.
        let (sandbox, server, result) = try trip(status: 503, retryAfter: "120", extraHTTPKeys: ", honor_retry_after: false", failMax: 2)
        defer { withExtendedLifetime(server) {} }
        #expect(result.status == 22, "\(result.stderr)")
        let status = try sandbox.status("vendor")
        #expect(status["state"] as? String == "closed", "one failure of fail_max's two")
        #expect(status["consecutive_failures"] as? Int == 1)
        let second = try sandbox.run(["run", "vendor"])
        #expect(second.status == 22, "\(second.stderr)")
        let opened = try sandbox.status("vendor")
        let retryAfter = try #require(opened["retry_after_seconds"] as? Int)
        #expect((590...600).contains(retryAfter), "reset_timeout's 10 minutes, not Retry-After's 2: \(retryAfter)")
        let printed = try sandbox.run(["validate", "--print"])
        #expect(printed.stdout.contains("honor_retry_after: false"), "\(printed.stdout)")
    }
}
