import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// What answers a rejected call: the breaker's fallbacks in order, each
/// handing over to the next when it fails or has nothing to give, or the
/// breaker's `open_exit_code`.
@Suite struct RejectionSpecs {
    @Test func aRejectionWithoutFallbackExitsWithTheBreakersOpenExitCode() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: 'failure', fail_max: 1, open_exit_code: 99}
            """)
        _ = try fixture.session.run("svc", command: [], force: false)

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .rejected(.open(retryAfter: .seconds(60)), exitCode: 99))
        #expect(fixture.streams.standardOutput.isEmpty)
        #expect(try fixture.state(of: "svc").state.counts.fallbacks == 0)
    }

    @Test func aFallbackThatFailsHandsTheRejectionToTheNext() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                fail_max: 1
                fallback: [{command: [/bin/false]}, {output: "from the second\\n", exit_code: 4}]
            """)
        _ = try fixture.session.run("svc", command: [], force: false)

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .fellBack(.open(retryAfter: .seconds(60)), .answered(exitCode: 4, how: "fallback answered")))
        #expect(fixture.streams.standardOutput == "from the second\n")
        #expect(try fixture.state(of: "svc").state.counts.fallbacks == 1, "one answer, counted once")
        #expect(fixture.script(of: "svc")?.runs.count == 1)
    }

    @Test func theLastSuccessfulOutputAnswersARejectionOfTheSameCall() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'success failure'
                fail_max: 1
                fallback: [{cached: {max_age: 1h}}, {output: "static\\n"}]
            """)
        _ = try fixture.session.run("svc", command: [], force: false)
        _ = try fixture.session.run("svc", command: [], force: false)
        fixture.clock.advance(by: .seconds(5))

        let result = try fixture.session.run("svc", command: [], force: false)

        guard case .fellBack(.open, .answered(exitCode: 0, _)) = result else {
            Issue.record("not answered from the cache: \(result)")
            return
        }
        #expect(fixture.streams.standardOutput == "scripted output 0\n", "the first run's output, kept; not the static answer")
    }

    @Test func withNoFreshCacheTheCachedFallbackDeclinesToTheNext() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                fail_max: 1
                fallback: [{cached: {max_age: 1h}}, {output: "static\\n"}]
            """)
        _ = try fixture.session.run("svc", command: [], force: false)

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .fellBack(.open(retryAfter: .seconds(60)), .answered(exitCode: 0, how: "fallback answered")))
        #expect(fixture.streams.standardOutput == "static\n")
    }

    @Test func aFullBulkheadRejectsTheCallAndCountsTheRejection() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: 'success', max_concurrent: 1, max_wait: 0s}
            """)
        let otherCall = try #require(try fixture.store.takeSlot("svc", slots: 1))
        defer { otherCall.release() }

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .rejected(.concurrencyLimit(maxConcurrent: 1), exitCode: 75))
        #expect(fixture.script(of: "svc")?.runs.isEmpty == true)
        #expect(try fixture.state(of: "svc").state.counts.rejected == 1)
    }
}
