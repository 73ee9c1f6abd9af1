import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Testing

@Suite("Failure-rate window in the state file")
struct FailureWindowEncodingTests {
    static let timePolicy = Policy(
        failMax: 5, resetTimeout: .seconds(30),
        failureRate: FailureRate(threshold: 0.5, window: .duration(.seconds(600)), minimumCalls: 20),
        backoff: Backoff(multiplier: 2, max: .seconds(1800), jitter: 0.1)
    )
    static let countPolicy = Policy(
        failMax: 5, resetTimeout: .seconds(30),
        failureRate: FailureRate(threshold: 0.5, window: .calls(1_000), minimumCalls: 20),
        backoff: Backoff(multiplier: 2, max: .seconds(1800), jitter: 0.1)
    )

    /// Runs 100,000 recorded calls, 36 ms apart (100,000 an hour), through
    /// the breaker: failures in bursts (so it trips, reopens and closes many
    /// times), manual trips with long reasons, then 20,000 successes so the
    /// window ends full.
    static func busyBreaker(_ policy: Policy) throws -> BreakerRecord {
        var rng = SplitMix64(state: 42)
        var state = BreakerRecord()
        var now = t(0)
        var recorded = 0
        let longText = String(repeating: "x", count: 5_000)
        var tripped = -1
        while recorded < 100_000 {
            now = now + .milliseconds(36)
            if recorded < 80_000 && recorded % 7_919 == 0 && tripped != recorded {
                tripped = recorded
                state.trip(at: now, for: .seconds(1), reason: longText, policy: policy, by: longText)
            }
            let admission = state.admit(at: now, policy: policy)
            if case .rejected(.open(let retryAfter)) = admission {
                // Skip the rejections of a long open interval: they store nothing.
                now = now + retryAfter
                continue
            }
            let ticket = try #require(admission.ticket)
            let burst = recorded < 80_000 && (recorded / 500) % 2 == 0
            let fails = burst ? Double.random(in: 0..<1, using: &rng) < 0.6 : false
            state.record(fails ? .failure(reason: longText) : .success, for: ticket, at: now, policy: policy,
                         random: Double.random(in: 0..<1, using: &rng))
            recorded += 1
        }
        return state
    }

    @Test(arguments: [("time window", FailureWindowEncodingTests.timePolicy), ("count window", FailureWindowEncodingTests.countPolicy)])
    func theStateStaysUnder16KiBAfter100000Calls(kind: String, policy: Policy) throws {
        let state = try Self.busyBreaker(policy)
        #expect(state.counts.successes + state.counts.failures == 100_000)
        #expect(state.recentTransitions.count == BreakerRecord.historyLimit, "the history is full")
        let data = try CodableTests.encode(state)
        #expect(data.count < 16 * 1024, "\(kind): \(data.count) bytes")

        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let window = try #require(json["failure_window"] as? [String: Any])
        if let buckets = window["buckets"] as? [Any] {
            #expect(buckets.count == FailureRate.maximumBuckets, "the time window is at its largest")
        } else {
            #expect((window["outcomes"] as? String)?.count == FailureRate.maximumCalls, "the ring is full")
        }
        #expect(try JSONDecoder().decode(BreakerRecord.self, from: data) == state)
    }

    @Test func aCountWindowIsOneLetterPerCallOldestFirst() throws {
        let policy = Policy(failMax: 10, failureRate: FailureRate(threshold: 0.9, window: .calls(3), minimumCalls: 3))
        var state = BreakerRecord()
        for outcome in [failure, .success, failure, .success] { state.call(outcome, at: t(0), policy: policy) }
        let json = try #require(try JSONSerialization.jsonObject(with: CodableTests.encode(state)) as? [String: Any])
        let window = try #require(json["failure_window"] as? [String: Any])
        #expect(window["calls"] as? Int == 3)
        #expect(window["outcomes"] as? String == "sfs")
    }

    @Test func aTimeWindowIsBucketsOfCounts() throws {
        let policy = Policy(failMax: 10, failureRate: FailureRate(threshold: 0.9, window: .duration(.seconds(60)), minimumCalls: 30))
        var state = BreakerRecord()
        state.call(failure, at: t(0), policy: policy)
        state.call(.success, at: t(0.5), policy: policy)
        state.call(.success, at: t(1), policy: policy)
        let json = try #require(try JSONSerialization.jsonObject(with: CodableTests.encode(state)) as? [String: Any])
        let window = try #require(json["failure_window"] as? [String: Any])
        #expect(window["bucket_ns"] as? Int64 == 1_000_000_000)
        #expect(window["buckets"] as? [[Int64]] == [[bootOrigin, 1, 1], [bootOrigin + 1_000_000_000, 1, 0]])
    }

    @Test func aClosedBreakerWithNoRateRuleStoresNoWindow() throws {
        var state = BreakerRecord()
        state.call(failure, at: t(0), policy: Policy())
        let json = try #require(try JSONSerialization.jsonObject(with: CodableTests.encode(state)) as? [String: Any])
        #expect(json["failure_window"] == nil)
    }

    static let badWindows = [
        #""failure_window": 3"#,
        #""failure_window": {"calls": 3, "outcomes": "ssss"}"#,
        #""failure_window": {"calls": 3, "outcomes": "sxs"}"#,
        #""failure_window": {"calls": 0, "outcomes": ""}"#,
        #""failure_window": {"calls": 5000, "outcomes": "s"}"#,
        #""failure_window": {"bucket_ns": 10, "buckets": [[0, 1, 1]]}"#,
        #""failure_window": {"bucket_ns": 1000000000, "buckets": [[0, -1, 1]]}"#,
        #""failure_window": {"bucket_ns": 1000000000, "buckets": [[0, 1]]}"#,
        #""failure_window": {"bucket_ns": 1000000000, "buckets": [[5, 1, 1]]}"#,
        #""failure_window": {"bucket_ns": 1000000000, "buckets": [[0, 1, 1], [0, 2, 2]]}"#,
        #""failure_window": {"bucket_ns": 1000000000, "buckets": "many"}"#,
    ]

    @Test(arguments: badWindows)
    func aBadWindowDecodesAsEmptyAndTheRestIsKept(field: String) throws {
        let state = try CodableTests.decode(#"{"state": "closed", "consecutive_failures": 2, \#(field)}"#)
        #expect(state.failureWindow.isEmpty)
        #expect(state.consecutiveFailures == 2)
    }

    /// A time window of ten minutes (`FailureRateTests.tenMinutes`).
    static let tenMinutes = FailureRate(threshold: 0.5, window: .duration(.seconds(600)), minimumCalls: 4)

    @Test func aBucketFarInTheFutureIsDroppedByClamp() throws {
        let policy = Policy(failMax: 100, resetTimeout: .seconds(60), failureRate: Self.tenMinutes)
        let future = bootOrigin + 1_000_000_000_000_000
        var state = try CodableTests.decode(#"{"failure_window": {"bucket_ns": 10000000000, "buckets": [[\#(future), 0, 9]]}}"#)
        #expect(state.failureRateTotals(at: t(0), policy: policy) == WindowTotals(calls: 9, failures: 9))
        state.clamp(to: t(0), longestInterval: .seconds(60))
        #expect(state.failureRateTotals(at: t(0), policy: policy) == WindowTotals(calls: 0, failures: 0))
    }
}
