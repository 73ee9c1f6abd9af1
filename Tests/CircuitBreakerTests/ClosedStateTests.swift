import BreakerRunTestSupport
import CircuitBreaker
import Testing

@Suite("Closed breaker")
struct ClosedStateTests {
    @Test func newBreakerIsClosedAtGenerationZero() {
        let state = BreakerRecord()
        #expect(state.circuitState == .closed)
        #expect(state.generation == 0)
        #expect(state.consecutiveFailures == 0)
        #expect(state.openedAt == nil)
        #expect(state.counts == Counts())
        #expect(state.recentTransitions.isEmpty)
    }

    @Test func closedAdmitsWithoutAskingForATrialPermit() {
        var state = BreakerRecord()
        var asked = false
        let admission = state.admit(at: t(0), policy: Policy()) {
            asked = true
            return false
        }
        #expect(admission == .admitted(Ticket(generation: 0, isTrial: false)))
        #expect(!asked)
        #expect(state.counts.rejected == 0)
    }

    @Test(arguments: [1, 2, 3, 5, 10])
    func opensAfterFailMaxConsecutiveFailures(failMax: Int) {
        let policy = Policy(failMax: failMax, resetTimeout: .seconds(30))
        var state = BreakerRecord()
        for i in 0..<(failMax - 1) {
            state.call(failure, at: t(Double(i)), policy: policy)
            #expect(state.circuitState == .closed, "opened after only \(i + 1) failures")
        }
        #expect(state.consecutiveFailures == failMax - 1)

        let last = t(Double(failMax))
        state.call(failure, at: last, policy: policy)
        #expect(state.circuitState == .open(until: last + .seconds(30)))
        #expect(state.openedAt == last)
        #expect(state.generation == 1)
        #expect(state.recentTransitions.map(\.from) == [.closed])
        #expect(state.recentTransitions.map(\.to) == [.open])
        let noun = failMax == 1 ? "failure" : "consecutive failures"
        #expect(state.openReason == "\(failMax) \(noun)")
        #expect(state.lastFailure == "exit status 1")
        #expect(state.lastFailureAt == last)
    }

    @Test func aSuccessResetsTheConsecutiveCount() {
        let policy = Policy(failMax: 3)
        var state = BreakerRecord()
        state.call(failure, at: t(0), policy: policy)
        state.call(failure, at: t(1), policy: policy)
        state.call(.success, at: t(2), policy: policy)
        #expect(state.consecutiveFailures == 0)
        state.call(failure, at: t(3), policy: policy)
        state.call(failure, at: t(4), policy: policy)
        #expect(state.circuitState == .closed, "failures on both sides of a success are not consecutive")
        state.call(failure, at: t(5), policy: policy)
        #expect(state.circuitState.name == .open)
    }

    @Test func ignoredOutcomesNeitherCountNorResetTheRun() {
        let policy = Policy(failMax: 3)
        var state = BreakerRecord()
        state.call(failure, at: t(0), policy: policy)
        state.call(failure, at: t(1), policy: policy)
        state.call(ignored, at: t(2), policy: policy)
        #expect(state.consecutiveFailures == 2)
        #expect(state.circuitState == .closed)
        #expect(state.counts.ignored == 1)
        state.call(failure, at: t(3), policy: policy)
        #expect(state.circuitState.name == .open)
    }

    @Test func countsAddUpToTheRecordedCalls() {
        let policy = Policy(failMax: 100)
        var state = BreakerRecord()
        let outcomes: [Outcome] = [.success, failure, ignored, .success, failure, .success, ignored, .success]
        for (i, outcome) in outcomes.enumerated() {
            state.call(outcome, at: t(Double(i)), policy: policy)
        }
        #expect(state.counts == Counts(successes: 4, failures: 2, ignored: 2, rejected: 0, fallbacks: 0))
        let c = state.counts
        #expect(c.successes + c.failures + c.ignored == UInt64(outcomes.count))
    }
}
