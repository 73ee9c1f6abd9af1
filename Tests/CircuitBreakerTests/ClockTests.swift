import BreakerRunTestSupport
import CircuitBreaker
import Testing

@Suite("Clocks: rebase after reboot, clamp")
struct ClockTests {
    let policy = Policy(failMax: 1, resetTimeout: .seconds(60))

    /// The first reading after a reboot: the boot clock is back near zero.
    func afterReboot(wall: Double) -> Instant {
        Instant(monotonicNanoseconds: 5_000_000_000, wallNanoseconds: wallOrigin + Int64(wall * 1_000_000_000))
    }

    @Test func anOpenIntervalKeepsWhatIsLeftOfItOnTheNewBootClock() {
        var state = BreakerRecord()
        state.call(failure, at: t(1000), policy: policy)
        #expect(state.circuitState == .open(until: t(1060)))

        let now = afterReboot(wall: 1010)
        state.rebase(toBootOf: now)

        #expect(state.retryAfter(at: now) == .seconds(50))
        #expect(state.nextTrialAt == now + .seconds(50))
        #expect(state.nextTrialAt?.wallNanoseconds == wallOrigin + 1_060_000_000_000)
        #expect(state.openedAt == now + .seconds(-10))
        #expect(state.lastFailureAt == now + .seconds(-10))
        #expect(state.recentTransitions.last?.at == now + .seconds(-10))
        #expect(state.effectiveCircuitState(at: now + .seconds(49.9)).name == .open)
        #expect(state.effectiveCircuitState(at: now + .seconds(50)) == .halfOpen(successes: 0))
    }

    @Test func anIntervalThatEndedBeforeTheRebootAllowsATrialAtOnce() {
        var state = BreakerRecord()
        state.call(failure, at: t(1000), policy: policy)
        let now = afterReboot(wall: 5000)
        state.rebase(toBootOf: now)
        #expect(state.effectiveCircuitState(at: now) == .halfOpen(successes: 0))
    }

    @Test func aStoredWallTimeInTheFutureIsMeasuredFromNowAtMost() {
        var state = BreakerRecord()
        state.call(failure, at: t(1000), policy: policy)
        let now = afterReboot(wall: 400) // the wall clock was 600 s fast before
        state.rebase(toBootOf: now)

        #expect(state.openedAt == now)
        #expect(state.openedAt?.wallNanoseconds == now.wallNanoseconds)
        #expect(state.nextTrialAt == now + .seconds(60))
        #expect(state.retryAfter(at: now) == .seconds(60))
    }

    @Test func aHeldBreakerStaysHeldAcrossAReboot() {
        var state = BreakerRecord()
        state.trip(at: t(1000), hold: true, policy: policy)
        let now = afterReboot(wall: 2000)
        state.rebase(toBootOf: now)
        #expect(state.circuitState == .held)
        #expect(state.openedAt == now + .seconds(-1000))
    }

    @Test func clampCutsAnUntilTooFarAhead() {
        var state = BreakerRecord()
        state.trip(at: t(0), for: .seconds(86_400), policy: policy)
        state.clamp(to: t(10), longestInterval: .seconds(300))
        #expect(state.circuitState == .open(until: t(310)))
        #expect(state.openedAt == t(0))
    }

    @Test func clampLeavesAnIntervalWithinTheLongest() {
        var state = BreakerRecord()
        state.trip(at: t(0), for: .seconds(200), policy: policy)
        let before = state
        state.clamp(to: t(10), longestInterval: .seconds(300))
        #expect(state == before)
    }

    @Test func clampBringsInstantsAheadOfNowBackToNow() {
        var state = BreakerRecord()
        state.call(failure, at: t(500), policy: policy)
        state.clamp(to: t(100), longestInterval: .seconds(60))
        #expect(state.openedAt == t(100))
        #expect(state.lastFailureAt == t(100))
        #expect(state.circuitState == .open(until: t(160)))
    }
}
