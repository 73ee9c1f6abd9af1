import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// What an open breaker lets through once `reset_timeout` has passed: one
/// trial, the real call or the breaker's probe.
@Suite struct TrialSpecs {
    static let opened = """
        version: 1
        breakers:
          svc:
            scripted: 'failure success'
            fail_max: 1
            reset_timeout: 30s
        """

    @Test func anOpenBreakerRejectsWithoutRunningTheCallAndExits75() throws {
        let fixture = try SessionFixture(yaml: Self.opened)
        _ = try fixture.session.run("svc", command: [], force: false)

        fixture.clock.advance(by: .seconds(10))
        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .rejected(.open(retryAfter: .seconds(20)), exitCode: 75))
        #expect(fixture.script(of: "svc")?.runs.count == 1)
        #expect(fixture.log.messages(at: .notice).last == "svc: rejected, breaker is open (next trial in 20s); exiting 75")
    }

    @Test func afterResetTimeoutOneTrialRunsAndItsSuccessCloses() throws {
        let fixture = try SessionFixture(yaml: Self.opened)
        _ = try fixture.session.run("svc", command: [], force: false)

        fixture.clock.advance(by: .seconds(31))
        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .ran(CallRun(termination: .exited(0), timedOut: false, interruption: nil, outcome: .success)))
        let (state, circuitState) = try fixture.state(of: "svc")
        #expect(circuitState == .closed)
        #expect(state.recentTransitions.map { "\($0.from.rawValue)->\($0.to.rawValue)" } == ["closed->open", "open->half-open", "half-open->closed"])
        #expect(fixture.store.heldPermits(of: "svc") == 0, "the trial's permit is given back")
    }

    @Test func aTrialPermitHeldByAnotherProcessRejectsTheCall() throws {
        let fixture = try SessionFixture(yaml: Self.opened)
        _ = try fixture.session.run("svc", command: [], force: false)
        fixture.clock.advance(by: .seconds(31))
        let otherTrial = try #require(try fixture.store.takePermit("svc", slots: 1))
        defer { otherTrial.release() }

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .rejected(.trialsTaken, exitCode: 75))
        #expect(fixture.script(of: "svc")?.runs.count == 1)
    }

    @Test func aPassingProbeIsTheTrialAndThenTheCallRuns() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure success'
                probe: {scripted: 'success'}
                fail_max: 1
                reset_timeout: 30s
            """)
        _ = try fixture.session.run("svc", command: [], force: false)
        fixture.clock.advance(by: .seconds(30))

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .ran(CallRun(termination: .exited(0), timedOut: false, interruption: nil, outcome: .success)))
        #expect(fixture.probeScript(of: "svc")?.runs.map(\.role) == [.probe])
        #expect(fixture.script(of: "svc")?.runs.map(\.role) == [.call, .call])
        #expect(try fixture.state(of: "svc").state.counts.successes == 2, "the probe's success and the call's")
        #expect(fixture.log.messages(at: .info).contains("svc: probe passed; running the call"))
    }

    @Test func aFailingProbeReopensTheBreakerAndTheCallDoesNotRun() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure success'
                probe: {scripted: 'failure'}
                fail_max: 1
                reset_timeout: 30s
            """)
        _ = try fixture.session.run("svc", command: [], force: false)
        fixture.clock.advance(by: .seconds(30))

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .rejected(.open(retryAfter: .seconds(30)), exitCode: 75))
        #expect(fixture.script(of: "svc")?.runs.count == 1, "only the first, failed call ran")
        #expect(try fixture.state(of: "svc").circuitState == .open)
    }

    @Test func anIgnoredProbeLeavesTheTrialToTheCall() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure success'
                probe: {scripted: 'ignored'}
                fail_max: 1
                reset_timeout: 30s
            """)
        _ = try fixture.session.run("svc", command: [], force: false)
        fixture.clock.advance(by: .seconds(30))

        _ = try fixture.session.run("svc", command: [], force: false)

        #expect(fixture.probeScript(of: "svc")?.runs.count == 1, "the probe is not tried twice")
        #expect(fixture.script(of: "svc")?.runs.count == 2)
        #expect(try fixture.state(of: "svc").circuitState == .closed, "the call was the trial, and it succeeded")
    }

    @Test func aLateOutcomeIsCountedButDoesNotMoveTheBreaker() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                fail_max: 1
            """)
        // While the call runs, an operator trips and resets the breaker:
        // the call was admitted before those transitions.
        let operatorSession = fixture.session
        fixture.script(of: "svc")?.whileRunning = { _ in
            _ = try? operatorSession.trip("svc", for: nil, hold: false, reason: "maintenance", by: "test")
            _ = try? operatorSession.reset("svc", by: "test")
        }

        _ = try fixture.session.run("svc", command: [], force: false)

        let (state, circuitState) = try fixture.state(of: "svc")
        #expect(circuitState == .closed, "a failure of an older generation never opens the breaker")
        #expect(state.consecutiveFailures == 0)
        #expect(state.counts.failures == 1, "it still counts in the statistics")
    }
}
