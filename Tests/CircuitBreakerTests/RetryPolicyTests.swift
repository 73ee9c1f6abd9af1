import CircuitBreaker
import Testing

@Suite("Retry delays")
struct RetryPolicyTests {
    @Test(arguments: [(1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000), (5, 10_000), (9, 10_000)])
    func delaysGrowByTheMultiplierUpToTheCap(attempt: Int, milliseconds: Int64) {
        let policy = RetryPolicy(attempts: 10, delay: .seconds(1), multiplier: 2, maxDelay: .seconds(10))
        #expect(policy.delay(after: attempt, random: 0.5) == .milliseconds(milliseconds))
    }

    @Test func aMultiplierOfOneKeepsTheDelayConstant() {
        let policy = RetryPolicy(attempts: 5, delay: .milliseconds(250), multiplier: 1)
        #expect((1...4).map { policy.delay(after: $0, random: 0.5) } == Array(repeating: .milliseconds(250), count: 4))
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.75, 0.999999])
    func jitterStaysWithinItsBound(random: Double) {
        let policy = RetryPolicy(attempts: 3, delay: .seconds(10), jitter: 0.1)
        let delay = policy.delay(after: 1, random: random)
        #expect(delay >= .seconds(9) && delay <= .seconds(11))
    }

    @Test func jitterAtItsExtremesReachesBothEnds() {
        let policy = RetryPolicy(attempts: 3, delay: .seconds(10), jitter: 0.1)
        #expect(policy.delay(after: 1, random: 0) == .seconds(9))
        #expect(policy.delay(after: 1, random: 1) == .seconds(11))
    }

    @Test func outOfRangeSettingsAreBroughtIntoRange() {
        let policy = RetryPolicy(attempts: 0, multiplier: 0.5, jitter: 3)
        #expect(policy.attempts == 1)
        #expect(policy.multiplier == 1)
        #expect(policy.jitter == 1)
    }
}
