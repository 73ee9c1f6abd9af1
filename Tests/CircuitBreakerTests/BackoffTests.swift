import BreakerRunTestSupport
import CircuitBreaker
import Testing

@Suite("Backoff of the open interval")
struct BackoffTests {
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

    static let growthCases: [(multiplier: Double, max: Int, seconds: [Int])] = [
        (2, 60, [10, 20, 40, 60, 60, 60]),
        (3, 100, [10, 30, 90, 100, 100, 100]),
        (1.5, 1000, [10, 15, 22, 33, 50, 75]),
        (1, 60, [10, 10, 10, 10, 10, 10]),
        (2, 5, [10, 10, 10, 10, 10, 10]), // a cap below reset_timeout counts as reset_timeout
    ]

    @Test(arguments: growthCases)
    func eachFailedTrialMultipliesTheIntervalUpToTheCap(row: (multiplier: Double, max: Int, seconds: [Int])) throws {
        let policy = Self.policy(multiplier: row.multiplier, max: .seconds(row.max))
        var state = BreakerRecord()
        let intervals = try Self.failingTrials(row.seconds.count - 1, policy: policy, from: &state)
        // 1.5 × 15 s is 22.5 s: compare whole seconds.
        #expect(intervals.map { Int($0.components.seconds) } == row.seconds)
    }

    @Test func withoutBackoffEveryReopenWaitsTheResetTimeout() throws {
        var state = BreakerRecord()
        let intervals = try Self.failingTrials(4, policy: Policy(failMax: 1, resetTimeout: .seconds(10)), from: &state)
        #expect(intervals == Array(repeating: .seconds(10), count: 5))
    }

    @Test func aCloseStartsOverFromTheResetTimeout() throws {
        let policy = Self.policy()
        var state = BreakerRecord()
        _ = try Self.failingTrials(2, policy: policy, from: &state)
        #expect(Self.interval(state) == .seconds(40))
        let until = try #require(state.nextTrialAt)
        let trial = try #require(state.admit(at: until, policy: policy).ticket)
        state.record(.success, for: trial, at: until, policy: policy)
        #expect(state.circuitState == .closed)
        #expect(state.backoffInterval == nil)

        state.call(failure, at: until + .seconds(1), policy: policy)
        #expect(Self.interval(state) == .seconds(10))
    }

    @Test func aResetStartsOverFromTheResetTimeout() throws {
        let policy = Self.policy()
        var state = BreakerRecord()
        _ = try Self.failingTrials(3, policy: policy, from: &state)
        state.reset(at: t(1000))
        state.call(failure, at: t(1001), policy: policy)
        #expect(Self.interval(state) == .seconds(10))
        let trial = try #require(state.admit(at: t(1011), policy: policy).ticket)
        state.record(failure, for: trial, at: t(1011), policy: policy)
        #expect(Self.interval(state) == .seconds(20))
    }

    @Test func aFailedForcedCallWhileOpenIsAReopen() throws {
        let policy = Self.policy()
        var state = BreakerRecord()
        state.call(failure, at: t(0), policy: policy)
        let forced = state.admitForced(at: t(1))
        state.record(failure, for: forced, at: t(2), policy: policy)
        #expect(state.circuitState == .open(until: t(22)))
    }

    static let jitterCases: [Double] = [0, 0.1, 0.25, 0.5, 0.75, 0.999_999]

    @Test(arguments: [0.0, 0.999_999])
    func theFirstOpeningIsSpreadToo(random: Double) throws {
        let policy = Self.policy(jitter: 0.5)
        var state = BreakerRecord()
        let ticket = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.record(failure, for: ticket, at: t(0), policy: policy, random: random)
        let seconds = try #require(Self.interval(state)).nanoseconds
        #expect(seconds == (random == 0 ? 5_000_000_000 : 14_999_990_000))
        #expect(state.backoffInterval == .seconds(10))
    }

    @Test func tripForSetsThatOpeningOnlyAndTheNextStepGrowsFromTheBaseBefore() throws {
        let policy = Self.policy(max: .seconds(1000), jitter: 0.5)
        var state = BreakerRecord()
        _ = try Self.failingTrials(2, policy: policy, from: &state)
        #expect(state.backoffInterval == .seconds(40))

        state.trip(at: t(500), for: .seconds(3600), reason: "maintenance", policy: policy, random: 0)
        #expect(state.circuitState == .open(until: t(4100)), "exactly the interval asked for, no jitter")
        #expect(state.backoffInterval == .seconds(40))

        let trial = try #require(state.admit(at: t(4100), policy: policy).ticket)
        state.record(failure, for: trial, at: t(4100), policy: policy)
        #expect(state.circuitState == .open(until: t(4180)), "40 s × 2, not 3600 s × 2")
    }

    @Test func tripForOfAClosedBreakerLeavesNoStepToGrowFrom() throws {
        let policy = Self.policy()
        var state = BreakerRecord()
        state.trip(at: t(0), for: .seconds(300), policy: policy)
        #expect(state.backoffInterval == nil)
        let trial = try #require(state.admit(at: t(300), policy: policy).ticket)
        state.record(failure, for: trial, at: t(300), policy: policy)
        #expect(state.circuitState == .open(until: t(310)), "the first opening by the rules waits reset_timeout")
    }

    @Test func aPlainTripOfAnOpenBreakerKeepsTheCurrentStepWithoutGrowingIt() throws {
        let policy = Self.policy(max: .seconds(1000))
        var state = BreakerRecord()
        _ = try Self.failingTrials(2, policy: policy, from: &state)
        state.trip(at: t(100), policy: policy)
        #expect(state.circuitState == .open(until: t(140)))
        state.reset(at: t(101))
        state.trip(at: t(102), policy: policy)
        #expect(state.circuitState == .open(until: t(112)), "from closed, a trip waits reset_timeout")
    }

    @Test func theLongestOpenIntervalIsTheCapWithJitter() {
        #expect(Policy(resetTimeout: .seconds(10)).longestOpenInterval == .seconds(10))
        #expect(Self.policy(max: .seconds(60), jitter: 0.1).longestOpenInterval == .seconds(66))
        #expect(Self.policy(max: .seconds(5), jitter: 0).longestOpenInterval == .seconds(10))
    }
}
