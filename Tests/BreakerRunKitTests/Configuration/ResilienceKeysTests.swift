import BreakerRunKit
import CircuitBreaker
import Testing

/// `retry`, `max_concurrent`, `max_wait` and `slow_call_duration`: typed
/// values in, or precise errors out.
@Suite("Resilience keys")
struct ResilienceKeysTests {
    @Test func aFullRetryPolicyIsRead() throws {
        let x = try oneBreaker("retry: {attempts: 4, delay: 500ms, multiplier: 1.5, max_delay: 1m, jitter: 10%}")
        #expect(x.retry == RetryPolicy(attempts: 4, delay: .milliseconds(500), multiplier: 1.5, maxDelay: .seconds(60), jitter: 0.1))
    }

    @Test func onlyAttemptsIsRequiredAndTheRestTakeDefaults() throws {
        let x = try oneBreaker("retry: {attempts: 2}")
        #expect(x.retry == RetryPolicy(attempts: 2, delay: .seconds(1), multiplier: 2, maxDelay: .seconds(30), jitter: 0))
        #expect(try oneBreaker("fail_max: 2").retry == nil)
    }

    @Test(arguments: [
        ("retry: {delay: 1s}", "b.yaml:4:12: 'retry' needs 'attempts', the number of attempts in all, such as {attempts: 3}"),
        ("retry: {attempts: 0}", "b.yaml:4:23: 'retry.attempts' must be"),
        ("retry: {attempts: 3, jitter: 10}", "b.yaml:4:34: 'retry.jitter' must be a percentage such as 10%"),
        ("retry: {attempts: 3, jitter: 150%}", "b.yaml:4:34: 'retry.jitter' must be a percentage from 0% to 100%"),
        ("retry: {attempts: 3, multiplier: 0.5}", "b.yaml:4:38: 'retry.multiplier' must be from 1 to 10000, with at most 6 decimals, not 0.5"),
        ("retry: {attempts: 3, multiplier: fast}", "b.yaml:4:38: 'retry.multiplier' must be a number such as 2"),
        ("retry: {attempts: 3, delays: 1s}", "b.yaml:4:26: unknown key 'delays' in 'retry'; did you mean 'delay'?"),
        ("max_concurrent: 0", "b.yaml:4:21: 'max_concurrent' must be"),
        ("max_wait: 5s", "b.yaml:4:5: 'max_wait' applies only with 'max_concurrent' (breaker 'x'); add max_concurrent: 1, or remove max_wait"),
        ("slow_call_duration: 0s", "b.yaml:4:25: 'slow_call_duration' must be longer than 0, such as 30s"),
    ])
    func badValuesAreReportedWithTheirPlace(body: String, expected: String) {
        let message = loadError(body)
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
    }

    @Test func aBulkheadTakesItsWaitAndDefaultsApply() throws {
        let yaml = """
            version: 1
            defaults:
              max_concurrent: 2
              slow_call_duration: 3s
            breakers:
              a: {max_wait: 10s}
              b: {max_concurrent: 1}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml")
        #expect(configuration.breakers["a"]?.bulkhead == Bulkhead(maxConcurrent: 2, maxWait: .seconds(10)))
        #expect(configuration.breakers["b"]?.bulkhead == Bulkhead(maxConcurrent: 1, maxWait: .zero))
        #expect(configuration.breakers["b"]?.slowCallDuration == .seconds(3))
    }
}
