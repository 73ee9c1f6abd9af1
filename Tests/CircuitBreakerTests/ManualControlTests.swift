import BreakerRunTestSupport
import CircuitBreaker
import Testing

@Suite("Trip, hold, reset and forced calls")
struct ManualControlTests {
    let policy = Policy(failMax: 3, resetTimeout: .seconds(60))

    @Test func tripOpensForTheResetTimeout() throws {
        var state = BreakerRecord()
        state.trip(at: t(5), policy: policy)
        #expect(state.circuitState == .open(until: t(65)))
        #expect(state.openedAt == t(5))
        #expect(state.openReason == "manual")
        #expect(state.recentTransitions == [Transition(from: .closed, to: .open, at: t(5), reason: "manual", generation: 1)])
    }

    @Test(arguments: [1.0, 10, 3600])
    func tripForOverridesTheInterval(seconds: Double) {
        var state = BreakerRecord()
        state.trip(at: t(5), for: .seconds(seconds), reason: "maintenance", policy: policy)
        #expect(state.circuitState == .open(until: t(5 + seconds)))
        #expect(state.openReason == "maintenance")
        #expect(state.effectiveCircuitState(at: t(5 + seconds)) == .halfOpen(successes: 0))
        #expect(state.effectiveCircuitState(at: t(4.999 + seconds)).name == .open)
    }

    @Test func aHeldBreakerRejectsPastAnyTimeUntilReset() {
        var state = BreakerRecord()
        state.trip(at: t(0), hold: true, policy: policy)
        #expect(state.circuitState == .held)
        #expect(state.circuitState.name == .open)
        #expect(state.openedAt == t(0))
        for seconds in [1.0, 60, 61, 86_400, 10_000_000] {
            #expect(state.effectiveCircuitState(at: t(seconds)) == .held)
            #expect(state.admit(at: t(seconds), policy: policy) == .rejected(.held))
        }
        #expect(state.counts.rejected == 5)
        state.reset(at: t(10_000_001))
        #expect(state.circuitState == .closed)
        #expect(state.admit(at: t(10_000_002), policy: policy).ticket != nil)
    }

    @Test(arguments: [Outcome.success, failure, ignored])
    func aForcedCallDoesNotReleaseAHold(outcome: Outcome) {
        var state = BreakerRecord()
        state.trip(at: t(0), hold: true, policy: policy)
        let ticket = state.admitForced(at: t(100))
        #expect(ticket.isForced)
        state.record(outcome, for: ticket, at: t(101), policy: policy)
        #expect(state.circuitState == .held)
        #expect(state.generation == 1)
    }

    @Test func resetClearsConsecutiveFailuresAndKeepsLifetimeCounts() {
        var state = BreakerRecord()
        state.call(.success, at: t(0), policy: policy)
        state.call(failure, at: t(1), policy: policy)
        state.call(failure, at: t(2), policy: policy)
        state.call(ignored, at: t(3), policy: policy)
        let counts = state.counts
        #expect(state.consecutiveFailures == 2)

        state.reset(at: t(4))
        #expect(state.consecutiveFailures == 0)
        #expect(state.counts == counts)
        #expect(state.circuitState == .closed)
        #expect(state.generation == 0, "a reset of a closed breaker is no transition")
        #expect(state.recentTransitions.isEmpty)
    }

    @Test func resetClosesAnOpenBreakerAtOnce() {
        var state = BreakerRecord.opened(at: t(0), policy: policy)
        state.reset(at: t(1))
        #expect(state.circuitState == .closed)
        #expect(state.consecutiveFailures == 0)
        #expect(state.admit(at: t(1), policy: policy).ticket?.isTrial == false)
    }

    @Test func aForcedSuccessOnAnOpenBreakerCloses() {
        var state = BreakerRecord.opened(at: t(0), policy: policy)
        let ticket = state.admitForced(at: t(10))
        #expect(ticket == Ticket(generation: 1, isTrial: true, isForced: true))
        #expect(state.counts.rejected == 0)
        state.record(.success, for: ticket, at: t(11), policy: policy)
        #expect(state.circuitState == .closed)
        #expect(state.consecutiveFailures == 0)
        #expect(state.recentTransitions.last?.reason == "forced call succeeded")
    }

    @Test func aForcedFailureOnAnOpenBreakerReopensAnew() {
        var state = BreakerRecord.opened(at: t(0), policy: policy)
        let ticket = state.admitForced(at: t(10))
        state.record(failure, for: ticket, at: t(11), policy: policy)
        #expect(state.circuitState == .open(until: t(71)))
        #expect(state.openedAt == t(11))
        #expect(state.openReason == "forced call failed")
        #expect(state.generation == 2)
    }

    @Test func aForcedSuccessInHalfOpenClosesWhateverTheThreshold() {
        let policy = Policy(failMax: 1, resetTimeout: .seconds(10), successThreshold: 3)
        var state = BreakerRecord.opened(at: t(0), policy: policy)
        let ticket = state.admitForced(at: t(10))
        #expect(state.circuitState == .halfOpen(successes: 0))
        state.record(.success, for: ticket, at: t(11), policy: policy)
        #expect(state.circuitState == .closed)
    }

    @Test func aForcedCallOnAClosedBreakerIsAnOrdinaryCall() {
        var state = BreakerRecord()
        let ticket = state.admitForced(at: t(0))
        #expect(!ticket.isTrial)
        state.record(.success, for: ticket, at: t(1), policy: policy)
        #expect(state.circuitState == .closed)
        #expect(state.generation == 0)
    }

    @Test func recentTransitionsAreBoundedToTheHistoryLimit() {
        var state = BreakerRecord()
        let count = BreakerRecord.historyLimit * 2 + 3
        for i in 0..<count {
            if i.isMultiple(of: 2) {
                state.trip(at: t(Double(i)), policy: policy)
            } else {
                state.reset(at: t(Double(i)))
            }
        }
        #expect(state.generation == UInt64(count))
        #expect(state.recentTransitions.count == BreakerRecord.historyLimit)
        #expect(state.recentTransitions.last?.generation == UInt64(count))
        #expect(state.recentTransitions.first?.generation == UInt64(count - BreakerRecord.historyLimit + 1))
        #expect(state.recentTransitions.last?.at == t(Double(count - 1)))
    }
}

@Suite("A hold lasts until reset")
struct HoldTests {
    @Test func aPlainTripOfAHeldBreakerKeepsTheHoldAndItsReason() {
        let policy = Policy(failMax: 1, resetTimeout: .seconds(10))
        var state = BreakerRecord()
        state.trip(at: t(0), hold: true, reason: "db upgrade", policy: policy)
        state.trip(at: t(5), for: .seconds(1), policy: policy)
        #expect(state.circuitState == .held)
        #expect(state.openReason == "db upgrade")
        #expect(state.admit(at: t(100), policy: policy) { true } == .rejected(.held))
        state.reset(at: t(101))
        #expect(state.circuitState == .closed)
    }
}
