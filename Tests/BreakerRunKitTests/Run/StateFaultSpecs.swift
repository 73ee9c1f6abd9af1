import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// What a run does when the breaker's state cannot be read or written:
/// `on_state_error: fail-open` runs the call unguarded and says so once;
/// `fail-closed` does not run it (exit 74).
@Suite struct StateFaultSpecs {
    struct Unwritable: Error, CustomStringConvertible {
        var description: String { "disk full" }
    }

    @Test func failOpenRunsTheCallUnguardedAndWarnsOnceForAllAttempts() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc:
                scripted: 'failure'
                retry: {attempts: 3, delay: 1s}
            """)
        fixture.store.breakDown(with: Unwritable())

        let result = try fixture.session.run("svc", command: [], force: false)

        guard case .ran(let run) = result else {
            Issue.record("the call did not run: \(result)")
            return
        }
        #expect(run.termination == .exited(1))
        #expect(fixture.script(of: "svc")?.runs.count == 3, "every attempt runs, unguarded")
        #expect(fixture.log.messages(at: .warning) == ["svc: breaker state unavailable (disk full); running the call unguarded"])
        #expect(fixture.log.messages(at: .debug).filter { $0.contains("breaker state unavailable") }.count == 2)
    }

    @Test func failClosedDoesNotRunTheCallAndEndsWithStateUnavailable() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: 'success', on_state_error: fail-closed}
            """)
        fixture.store.breakDown(with: Unwritable())

        let result = try fixture.session.run("svc", command: [], force: false)

        let message = "svc: breaker state unavailable (disk full); not running the call (on_state_error: fail-closed)"
        #expect(result == .stateUnavailable(message))
        #expect(fixture.script(of: "svc")?.runs.isEmpty == true)
        #expect(fixture.log.messages(at: .error) == [message])
    }

    @Test func anOutcomeThatCannotBeRecordedLeavesTheCallsResultAlone() throws {
        let fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: 'success', on_state_error: fail-closed}
            """)
        // The state goes away while the call runs: the call's end stands.
        let store = fixture.store
        fixture.script(of: "svc")?.whileRunning = { _ in store.breakDown(with: Unwritable()) }

        let result = try fixture.session.run("svc", command: [], force: false)

        #expect(result == .ran(CallRun(termination: .exited(0), timedOut: false, interruption: nil, outcome: .success)))
        #expect(fixture.log.messages(at: .warning) == ["svc: outcome not recorded (disk full)"])
    }
}
