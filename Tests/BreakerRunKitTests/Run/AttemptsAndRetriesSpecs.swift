import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// How `run` counts attempts and retries them: every attempt admitted and
/// recorded, the retries stopping as soon as the breaker opens.
@Suite struct AttemptsAndRetriesSpecs {
    @Test func aClosedBreakerRunsTheCallOnceAndCountsItsSuccess() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: 'success'}
            """)
        let result = try fixture.session.run("svc", command: [], force: false)

        guard case .ran(let run) = result else {
            Issue.record("the call did not run: \(result)")
            return
        }
        #expect(run.termination == .exited(0))
        #expect(fixture.script(of: "svc")?.runs.count == 1)
        #expect(try fixture.state(of: "svc").state.counts == Counts(successes: 1, failures: 0, ignored: 0, rejected: 0, fallbacks: 0))
        #expect(fixture.log.defaultLevelLines.isEmpty, "a success says nothing at the default level")
    }

    @Test func aFailedAttemptIsRetriedAfterTheDelayUntilOneSucceeds() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure failure success'
                fail_max: 5
                retry: {attempts: 4, delay: 1s, multiplier: 2}
            """)
        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .ran(CallRun(termination: .exited(0), timedOut: false, interruption: nil, outcome: .success)))
        #expect(fixture.script(of: "svc")?.runs.count == 3, "the third attempt succeeded: no fourth")
        #expect(fixture.pauses == [.seconds(1), .seconds(2)], "the delay doubles between attempts, and nothing sleeps")
        let state = try fixture.state(of: "svc").state
        #expect(state.counts.failures == 2)
        #expect(state.counts.successes == 1)
        #expect(state.consecutiveFailures == 0)
    }

    @Test func theLastAttemptsResultIsTheRunsWhenEveryAttemptFails() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                fail_max: 10
                retry: {attempts: 3, delay: 5s}
            """)
        let result = try fixture.session.run("svc", command: [], force: false)

        guard case .ran(let run) = result else {
            Issue.record("the call did not run: \(result)")
            return
        }
        #expect(run.termination == .exited(1))
        #expect(fixture.script(of: "svc")?.runs.count == 3)
        #expect(try fixture.state(of: "svc").state.consecutiveFailures == 3, "each attempt is recorded")
        #expect(fixture.log.messages(at: .info).filter { $0.hasPrefix("svc: attempt ") }
            == ["svc: attempt 1 of 3 failed (scripted failure); next in 5s", "svc: attempt 2 of 3 failed (scripted failure); next in 10s"],
                "the delay doubles by default")
    }

    @Test func retriesStopAtOnceWhenTheBreakerOpens() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                fail_max: 2
                retry: {attempts: 5, delay: 10s}
            """)
        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .rejected(.open(retryAfter: .seconds(60)), exitCode: 75),
                "the attempt after the opening is rejected at once, not after a delay")
        #expect(fixture.script(of: "svc")?.runs.count == 2, "the call is not run once the breaker is open")
        #expect(fixture.pauses == [.seconds(10)], "no delay is waited before the rejected attempt")
        let state = try fixture.state(of: "svc").state
        #expect(state.counts.failures == 2)
        #expect(state.counts.rejected == 1)
    }

    @Test func aForcedRunHasNoRetriesAndItsSuccessClosesAnOpenBreaker() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure success'
                fail_max: 1
                retry: {attempts: 3}
            """)
        _ = try fixture.session.run("svc", command: [], force: false)
        #expect(try fixture.state(of: "svc").circuitState == .open)

        let forced = try fixture.session.run("svc", command: [], force: true)

        #expect(forced == .ran(CallRun(termination: .exited(0), timedOut: false, interruption: nil, outcome: .success)))
        #expect(try fixture.state(of: "svc").circuitState == .closed)
        #expect(fixture.script(of: "svc")?.runs.count == 2)
        #expect(fixture.log.lines.contains { $0.message == "svc: forced past the breaker (open)" })
    }
}
