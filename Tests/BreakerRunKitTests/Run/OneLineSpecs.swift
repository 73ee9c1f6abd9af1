import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// An invocation says at most one line at the default level (notice), so
/// that cron mails stay quiet; the rest is at info (`-v`).
@Suite struct OneLineSpecs {
    @Test func theOpeningIsTheOneLineOfTheCallThatOpens() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: 'timeout', fail_max: 1, timeout: 2s}
            """)
        _ = try fixture.session.run("svc", command: [], force: false)

        #expect(fixture.log.defaultLevelLines.map(\.message) == ["svc: closed -> open (1 failure; last: timeout)"])
        #expect(fixture.log.messages(at: .info).contains("svc: call timed out after 2s"),
                "the timeout is said too, below the opening (a network call is abandoned, not killed)")
    }

    @Test func aFailedProbeAndTheRejectionAfterItSayOneLine() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                probe: {scripted: 'failure'}
                fail_max: 1
                reset_timeout: 30s
                fallback: {output: "busy\\n"}
            """)
        _ = try fixture.session.run("svc", command: [], force: false)
        fixture.clock.advance(by: .seconds(30))
        let before = fixture.log.lines.count

        _ = try fixture.session.run("svc", command: [], force: false)

        let lines = fixture.log.lines.dropFirst(before)
        #expect(lines.filter { $0.level >= .notice }.map(\.message) == ["svc: half-open -> open (trial failed)"],
                "the reopening, recorded first, is the line")
        #expect(lines.contains { $0.level == .info && $0.message == "svc: probe failed (scripted failure)" })
        #expect(lines.contains { $0.level == .info && $0.message.hasPrefix("svc: rejected, breaker is open") })
    }

    @Test func aRetriedFailureSaysNothingUntilTheRunEnds() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure success'
                retry: {attempts: 2, delay: 1s}
            """)
        _ = try fixture.session.run("svc", command: [], force: false)

        #expect(fixture.log.defaultLevelLines.isEmpty, "the retry succeeded: nothing to say by default")
        #expect(fixture.log.messages(at: .info).contains("svc: attempt 1 of 2 failed (scripted failure); next in 1s"))
    }
}
