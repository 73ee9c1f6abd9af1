import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Testing

/// Tests of the state machine that go through the stored document (moved
/// here from CircuitBreakerTests with the codec, their assertions unchanged).
@Suite("Backoff of the open interval, through the state file")
struct StoredBackoffTests {
    static func policy(multiplier: Double = 2, max: Duration = .seconds(60), jitter: Double = 0) -> Policy {
        Policy(failMax: 1, resetTimeout: .seconds(10), backoff: Backoff(multiplier: multiplier, max: max, jitter: jitter))
    }

    /// The open interval of the current opening.
    static func interval(_ state: BreakerRecord) -> Duration? {
        guard case .open(let until) = state.circuitState, let opened = state.openedAt else { return nil }
        return until.duration(since: opened)
    }

    /// Opens the breaker with a failure at `start`, then fails `reopens` trials
    /// in a row, each at the end of the interval before; returns every interval.
    static func failingTrials(_ reopens: Int, policy: Policy, from start: inout BreakerRecord, random: Double = 0.5) throws -> [Duration] {
        var now = t(0)
        start.call(failure, at: now, policy: policy)
        var intervals = [try #require(interval(start))]
        for _ in 0..<reopens {
            now = try #require(start.nextTrialAt)
            let trial = try #require(start.admit(at: now, policy: policy).ticket)
            #expect(trial.isTrial)
            start.record(failure, for: trial, at: now, policy: policy, random: random)
            intervals.append(try #require(interval(start)))
        }
        return intervals
    }

    static let jitterCases: [Double] = [0, 0.1, 0.25, 0.5, 0.75, 0.999_999]

    @Test(arguments: jitterCases)
    func theJitterStaysWithinItsBoundAndTheStoredEndIsStable(random: Double) throws {
        let policy = Self.policy(max: .seconds(1000), jitter: 0.1)
        var state = BreakerRecord()
        let intervals = try Self.failingTrials(3, policy: policy, from: &state, random: random)
        // The first opening is drawn from the default 0.5, the reopens from `random`.
        #expect(intervals[0] == .seconds(10))
        for (interval, base) in zip(intervals.dropFirst(), [20.0, 40, 80]) {
            let expected = base * (1 + 0.1 * (2 * random - 1))
            let seconds = Double(interval.nanoseconds) / 1e9
            #expect(abs(seconds - expected) < 1e-6, "\(seconds) s for a base of \(base) s")
            #expect(seconds >= base * 0.9 && seconds <= base * 1.1)
        }
        #expect(state.backoffInterval == .seconds(80), "the base is stored before jitter")

        // Two reads (two `status` runs, two processes) agree: nothing is redrawn.
        let now = try #require(state.openedAt) + .seconds(1)
        #expect(state.effectiveCircuitState(at: now) == state.effectiveCircuitState(at: now))
        #expect(state.retryAfter(at: now) == state.retryAfter(at: now))
        let decoded = try JSONDecoder().decode(BreakerRecord.self, from: CodableTests.encode(state))
        #expect(decoded.nextTrialAt == state.nextTrialAt)
        #expect(decoded.retryAfter(at: now) == state.retryAfter(at: now))
        #expect(decoded.backoffInterval == .seconds(80))
    }

    @Test func aHugeStoredStepIsCappedAndNeverTraps() throws {
        let policy = Self.policy(multiplier: 10, max: .seconds(60))
        var state = try CodableTests.decode("""
            {"state": "half-open", "backoff_interval_ns": \(Int64.max)}
            """)
        let trial = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.record(failure, for: trial, at: t(0), policy: policy)
        #expect(state.circuitState == .open(until: t(60)))
        #expect(try CodableTests.decode(#"{"backoff_interval_ns": -5}"#).backoffInterval == nil)
    }
}

@Suite("Clocks: rebase after reboot, from the state file")
struct StoredClockTests {
    /// The first reading after a reboot: the boot clock is back near zero.
    func afterReboot(wall: Double) -> Instant {
        Instant(monotonicNanoseconds: 5_000_000_000, wallNanoseconds: wallOrigin + Int64(wall * 1_000_000_000))
    }

    @Test func anOpenStateWithoutOpenedAtIsRebasedByTheWallClock() throws {
        // A hand-edited file: open, no opened_at, next trial 30 s ahead by the
        // wall clock, at a boot-clock reading of an old boot ten days long.
        let json = """
            {"state": "open", "next_trial_at": {"boottime_ns": 864000000000000, "unix_ns": \(wallOrigin + 30_000_000_000)}}
            """
        var state = try JSONDecoder().decode(BreakerRecord.self, from: Data(json.utf8))
        let now = afterReboot(wall: 0)
        state.rebase(toBootOf: now)
        #expect(state.retryAfter(at: now) == .seconds(30))
        #expect(state.nextTrialAt?.wallNanoseconds == wallOrigin + 30_000_000_000)

        var passed = try JSONDecoder().decode(BreakerRecord.self, from: Data(json.utf8))
        passed.rebase(toBootOf: afterReboot(wall: 100))
        #expect(passed.effectiveCircuitState(at: afterReboot(wall: 100)) == .halfOpen(successes: 0))
    }
}

@Suite("Who made a transition, in the state file")
struct StoredHistoryTests {
    @Test func theActorIsStoredAsByAndLeftOutWhenUnknown() throws {
        var state = BreakerRecord()
        state.trip(at: t(0), policy: Policy(), by: "uid 0 (root)")
        state.reset(at: t(1))
        let json = try #require(try JSONSerialization.jsonObject(with: CodableTests.encode(state)) as? [String: Any])
        let transitions = try #require(json["transitions"] as? [[String: Any]])
        #expect(transitions[0]["by"] as? String == "uid 0 (root)")
        #expect(transitions[1].keys.contains("by") == false)
        #expect(try JSONDecoder().decode(BreakerRecord.self, from: CodableTests.encode(state)) == state)
    }
}
