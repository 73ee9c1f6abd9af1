import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// Outcomes of calls admitted before the latest transition update the
/// lifetime counts only: they never cause or delay a transition.
@Suite("Stale outcomes")
struct StaleOutcomeTests {
    let policy = Policy(failMax: 2, resetTimeout: .seconds(60))

    @Test func aSuccessAdmittedInClosedDoesNotCloseTheOpenedBreaker() throws {
        var state = BreakerRecord()
        let slow = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.call(failure, at: t(1), policy: policy)
        state.call(failure, at: t(2), policy: policy)
        let opened = state
        #expect(opened.circuitState == .open(until: t(62)))

        state.record(.success, for: slow, at: t(3), policy: policy)
        #expect(state.circuitState == opened.circuitState)
        #expect(state.generation == opened.generation)
        #expect(state.recentTransitions == opened.recentTransitions)
        #expect(state.counts.successes == 1)
    }

    @Test func aSuccessAdmittedInClosedDoesNotCloseAHalfOpenBreaker() throws {
        let policy = Policy(failMax: 1, resetTimeout: .seconds(10))
        var state = BreakerRecord()
        let slow = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.call(failure, at: t(1), policy: policy)
        _ = try #require(state.admit(at: t(11), policy: policy).ticket)
        #expect(state.circuitState == .halfOpen(successes: 0))

        state.record(.success, for: slow, at: t(12), policy: policy)
        #expect(state.circuitState == .halfOpen(successes: 0))
    }

    @Test func aFailureAdmittedBeforeAResetDoesNotCountTowardTheNewRun() throws {
        var state = BreakerRecord()
        let old = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.trip(at: t(1), policy: policy)
        state.reset(at: t(2))

        state.record(failure, for: old, at: t(3), policy: policy)
        #expect(state.consecutiveFailures == 0)
        #expect(state.counts.failures == 1)
        #expect(state.lastFailure == "exit status 1", "statistics still see it")
        state.call(failure, at: t(4), policy: policy)
        #expect(state.circuitState == .closed, "one fresh failure is not fail_max = 2")
    }

    @Test func aFailureAdmittedInClosedDoesNotReopenOrExtendAnOpenBreaker() throws {
        var state = BreakerRecord()
        let slow = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.call(failure, at: t(1), policy: policy)
        state.call(failure, at: t(2), policy: policy)
        state.record(failure, for: slow, at: t(30), policy: policy)
        #expect(state.circuitState == .open(until: t(62)), "the open interval is not delayed")
        #expect(state.openedAt == t(2))
        #expect(state.generation == 1)
    }

    @Test func aFailedTrialOfAnEarlierHalfOpenDoesNotReopenTheClosedBreaker() throws {
        let policy = Policy(failMax: 1, resetTimeout: .seconds(10), halfOpenMaxCalls: 2)
        var state = BreakerRecord.opened(at: t(0), policy: policy)
        let a = try #require(state.admit(at: t(10), policy: policy).ticket)
        let b = try #require(state.admit(at: t(10), policy: policy).ticket)
        state.record(.success, for: a, at: t(11), policy: policy)
        #expect(state.circuitState == .closed)
        state.record(failure, for: b, at: t(12), policy: policy)
        #expect(state.circuitState == .closed)
        #expect(state.consecutiveFailures == 0)
    }
}
