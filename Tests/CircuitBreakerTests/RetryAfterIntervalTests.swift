import BreakerRunTestSupport
import CircuitBreaker
import Testing

@Suite("An outcome that asks for its own open interval (Retry-After)")
struct RetryAfterIntervalTests {
    let policy = Policy(failMax: 1, resetTimeout: .seconds(60), backoff: Backoff(multiplier: 2, max: .seconds(600), jitter: 0))

    @Test func aTrippingFailureOpensForTheIntervalItAsksFor() throws {
        var state = BreakerRecord()
        let ticket = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.record(failure, for: ticket, at: t(0), policy: policy, openFor: .seconds(7))
        #expect(state.circuitState == .open(until: t(7)))
        #expect(state.openedAt == t(0))
    }

    @Test func aFailureThatAsksForAnIntervalOpensAtOnceWhateverTheRulesSay() throws {
        let lenient = Policy(failMax: 3, resetTimeout: .seconds(60))
        var state = BreakerRecord()
        let ticket = try #require(state.admit(at: t(0), policy: lenient).ticket)
        state.record(failure, for: ticket, at: t(0), policy: lenient, openFor: .seconds(7))
        #expect(state.circuitState == .open(until: t(7)))
        #expect(state.openedAt == t(0))
        #expect(state.recentTransitions.last?.reason.hasSuffix(", Retry-After 7s") == true)
    }

    @Test func aSuccessOrAStaleFailureNeverOpensForAnInterval() throws {
        let lenient = Policy(failMax: 3, resetTimeout: .seconds(60))
        var state = BreakerRecord()
        let stale = try #require(state.admit(at: t(0), policy: lenient).ticket)
        let current = try #require(state.admit(at: t(0), policy: lenient).ticket)
        state.record(.success, for: current, at: t(1), policy: lenient, openFor: .seconds(7))
        #expect(state.circuitState == .closed)
        state.reset(at: t(2))
        state.trip(at: t(2), policy: lenient)
        state.reset(at: t(3))
        state.record(failure, for: stale, at: t(4), policy: lenient, openFor: .seconds(7))
        #expect(state.circuitState == .closed, "an outcome admitted before the latest transition changes no state")
    }

    @Test func aFailedTrialReopensForTheIntervalAndKeepsTheBackoffStep() throws {
        var state = BreakerRecord.opened(at: t(0), policy: policy)
        let trial = try #require(state.admit(at: t(60), policy: policy).ticket)
        state.record(failure, for: trial, at: t(60), policy: policy, openFor: .seconds(5))
        #expect(state.circuitState == .open(until: t(65)))
        // The next reopen by the rules grows from the step before, not from 5 s.
        let next = try #require(state.admit(at: t(65), policy: policy).ticket)
        state.record(failure, for: next, at: t(65), policy: policy)
        #expect(state.circuitState == .open(until: t(65 + 240)))
    }
}
