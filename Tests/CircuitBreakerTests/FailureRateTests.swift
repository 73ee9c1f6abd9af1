import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// One row of a failure-rate table: outcomes (`s` success, `f` failure, `i`
/// ignored) at the given seconds, and the state expected after the last.
struct RateCase: Sendable, CustomTestStringConvertible {
    var name: String
    var rule: FailureRate
    var outcomes: String
    var times: [Double]
    var opens: Bool
    var reason: String? = nil

    var testDescription: String { name }

    /// Outcomes one second apart.
    init(_ name: String, _ rule: FailureRate, _ outcomes: String, opens: Bool, reason: String? = nil) {
        self.init(name, rule, outcomes, at: (0..<outcomes.count).map(Double.init), opens: opens, reason: reason)
    }

    init(_ name: String, _ rule: FailureRate, _ outcomes: String, at times: [Double], opens: Bool, reason: String? = nil) {
        self.name = name
        self.rule = rule
        self.outcomes = outcomes
        self.times = times
        self.opens = opens
        self.reason = reason
    }
}

@Suite("Failure-rate rule")
struct FailureRateTests {
    static let tenMinutes = FailureRate(threshold: 0.5, window: .duration(.seconds(600)), minimumCalls: 4)
    static let lastFour = FailureRate(threshold: 0.5, window: .calls(4), minimumCalls: 4)
    static let lastTwenty = FailureRate(threshold: 0.5, window: .calls(20), minimumCalls: 20)

    static func policy(_ rule: FailureRate) -> Policy {
        Policy(failMax: 100, resetTimeout: .seconds(60), failureRate: rule)
    }

    static func outcome(_ letter: Character) -> Outcome {
        switch letter {
        case "s": .success
        case "f": failure
        default: ignored
        }
    }

    static let cases: [RateCase] = [
        RateCase("fail, fail, ok, ok opens on the fourth call, a success", tenMinutes, "ffss", opens: true,
                 reason: "failure rate 50% of 4 calls over the last 10m"),
        RateCase("the same four spread over 12 minutes do not open", tenMinutes, "ffss", at: [0, 240, 480, 720], opens: false),
        RateCase("the four within 599 s open", tenMinutes, "ffss", at: [0, 1, 2, 599], opens: true),
        RateCase("a failure exactly 600 s old no longer counts", tenMinutes, "ffss", at: [0, 1, 2, 600], opens: false),
        RateCase("minimum_calls not reached does not open, even at 100%", tenMinutes, "fff", opens: false),
        RateCase("ignored outcomes are no calls", tenMinutes, "ffiis", opens: false),
        RateCase("ignored outcomes are no calls, one more success opens", tenMinutes, "ffiiss", opens: true),
        RateCase("below the threshold does not open", tenMinutes, "fsss", opens: false),
        RateCase("a count window of four opens", lastFour, "ffss", opens: true, reason: "failure rate 50% over the last 4 calls"),
        RateCase("a count window forgets the fifth call back", lastFour, "fsssf", opens: false),
        RateCase("a count window of 20: 9 failures in 20 calls do not open", lastTwenty,
                 String(repeating: "s", count: 11) + String(repeating: "f", count: 9), opens: false),
        RateCase("a count window of 20: 10 failures in 20 calls open", lastTwenty,
                 String(repeating: "s", count: 10) + String(repeating: "f", count: 10), opens: true,
                 reason: "failure rate 50% over the last 20 calls"),
        RateCase("a count window of 20 takes the last 20 calls, not all", lastTwenty,
                 String(repeating: "s", count: 20) + String(repeating: "f", count: 10), opens: true),
        RateCase("a count window of 20 with 19 calls does not open", lastTwenty, String(repeating: "f", count: 19), opens: false),
        RateCase("minimum_calls above a count window's size counts as its size (resilience4j)",
                 FailureRate(threshold: 0.5, window: .calls(4), minimumCalls: 10), "ffss", opens: true),
        RateCase("a threshold of 0 never opens without a failure",
                 FailureRate(threshold: 0, window: .calls(4), minimumCalls: 1), "ssss", opens: false),
        RateCase("a threshold of 1 opens only at 100%",
                 FailureRate(threshold: 1, window: .calls(3), minimumCalls: 3), "fsf", opens: false),
        RateCase("30% is compared exactly: 3 failures in 10 calls open",
                 FailureRate(threshold: 0.3, window: .calls(10), minimumCalls: 10), "sssssssfff", opens: true),
    ]

    @Test(arguments: cases)
    func theRateOpensTheBreakerExactlyWhenItShould(_ row: RateCase) throws {
        let policy = Self.policy(row.rule)
        var state = BreakerRecord()
        for (letter, seconds) in zip(row.outcomes, row.times) {
            #expect(state.circuitState == .closed, "opened before the last outcome")
            let ticket = try #require(state.admit(at: t(seconds), policy: policy).ticket)
            state.record(Self.outcome(letter), for: ticket, at: t(seconds), policy: policy)
        }
        let last = try #require(row.times.last)
        #expect(state.circuitState == (row.opens ? .open(until: t(last + 60)) : .closed))
        if row.opens {
            #expect(state.openedAt == t(last))
            #expect(state.consecutiveFailures < policy.failMax, "the rate opened it, not fail_max")
        }
        if let reason = row.reason {
            #expect(state.openReason == reason)
            #expect(state.recentTransitions.last?.reason == reason)
        }
    }

    @Test func eitherRuleOpensAndFailMaxNamesItselfFirst() {
        let policy = Policy(failMax: 2, resetTimeout: .seconds(60), failureRate: Self.lastFour)
        var state = BreakerRecord()
        state.call(.success, at: t(0), policy: policy)
        state.call(failure, at: t(1), policy: policy)
        state.call(failure, at: t(2), policy: policy)
        #expect(state.openReason == "2 consecutive failures", "fail_max trips with only 3 calls in the window")
    }

    @Test func theWindowIsClearedOnEveryTransition() throws {
        let policy = Self.policy(Self.lastFour)
        var state = BreakerRecord()
        for letter in "ffss" { state.call(Self.outcome(letter), at: t(0), policy: policy) }
        #expect(state.circuitState.name == .open)
        #expect(state.failureRateTotals(at: t(0), policy: policy) == WindowTotals(calls: 0, failures: 0))

        let trial = try #require(state.admit(at: t(60), policy: policy).ticket)
        state.record(.success, for: trial, at: t(60), policy: policy)
        #expect(state.circuitState == .closed)
        #expect(state.failureRateTotals(at: t(60), policy: policy) == WindowTotals(calls: 0, failures: 0))
        // Three more calls do not reach the minimum: the four before the trip are gone.
        for letter in "ffs" { state.call(Self.outcome(letter), at: t(61), policy: policy) }
        #expect(state.circuitState == .closed)
        #expect(state.failureRateTotals(at: t(61), policy: policy) == WindowTotals(calls: 3, failures: 2))
    }

    @Test(arguments: [FailureRateTests.lastFour, FailureRateTests.tenMinutes])
    func aStaleOutcomeDoesNotEnterTheWindow(rule: FailureRate) throws {
        let policy = Self.policy(rule)
        var state = BreakerRecord()
        let late = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.trip(at: t(1), policy: policy)
        state.reset(at: t(2))
        state.call(failure, at: t(3), policy: policy)
        state.record(failure, for: late, at: t(4), policy: policy)
        #expect(state.failureRateTotals(at: t(4), policy: policy) == WindowTotals(calls: 1, failures: 1))
        #expect(state.counts.failures == 2, "the stale failure still counts in the lifetime totals")
    }

    @Test func theTotalsAgeOutOfATimeWindowWithoutNewCalls() {
        let policy = Self.policy(Self.tenMinutes)
        var state = BreakerRecord()
        state.call(failure, at: t(0), policy: policy)
        state.call(.success, at: t(300), policy: policy)
        #expect(state.failureRateTotals(at: t(300), policy: policy) == WindowTotals(calls: 2, failures: 1))
        #expect(state.failureRateTotals(at: t(600), policy: policy) == WindowTotals(calls: 1, failures: 0))
        #expect(state.failureRateTotals(at: t(900), policy: policy) == WindowTotals(calls: 0, failures: 0))
        #expect(state.failureRateTotals(at: t(900), policy: Policy()) == nil)
    }

    @Test func aCountWindowMadeSmallerKeepsItsLatestOutcomes() {
        var state = BreakerRecord()
        let wide = Self.policy(FailureRate(threshold: 0.9, window: .calls(10), minimumCalls: 10))
        for letter in "ffssss" { state.call(Self.outcome(letter), at: t(0), policy: wide) }
        let narrow = Self.policy(FailureRate(threshold: 0.5, window: .calls(4), minimumCalls: 4))
        #expect(state.failureRateTotals(at: t(1), policy: narrow) == WindowTotals(calls: 4, failures: 0))
        state.call(failure, at: t(1), policy: narrow)
        state.call(failure, at: t(1), policy: narrow)
        #expect(state.circuitState.name == .open, "s, s, f, f over the last 4 calls")
    }

    @Test func aRebootEmptiesATimeWindowButKeepsACountWindow() {
        let reboot = Instant(monotonicNanoseconds: 5_000_000_000, wallNanoseconds: wallOrigin + 2_000_000_000_000)
        for (rule, kept) in [(Self.tenMinutes, 0), (Self.lastFour, 3)] {
            let policy = Self.policy(rule)
            var state = BreakerRecord()
            for letter in "ffs" { state.call(Self.outcome(letter), at: t(1000), policy: policy) }
            state.rebase(toBootOf: reboot)
            #expect(state.failureRateTotals(at: reboot, policy: policy)?.calls == kept)
        }
    }
}
