import BreakerRunKit
import CircuitBreaker
import Foundation
import Synchronization
import Testing

@Suite struct MetricsTests {
    /// 2026-11-30T01:15:00Z, 1000 s after boot.
    static let start = Instant(monotonicNanoseconds: 1_000 * 1_000_000_000, wallNanoseconds: 1_796_001_300 * 1_000_000_000)
    static let policy = Policy(failMax: 3, resetTimeout: .seconds(30))

    /// The value of the one sample line that starts with `prefix`.
    func sample(_ text: String, _ prefix: String) -> String? {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(prefix + " ") }
        guard lines.count == 1 else { return nil }
        return String(lines[0].dropFirst(prefix.count + 1))
    }

    @Test func escapesBackslashQuoteAndNewlineInLabelValues() {
        #expect(Metrics.escapeLabelValue("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
        #expect(Metrics.escapeLabelValue("payment-gateway.eu_1") == "payment-gateway.eu_1")
    }

    @Test func exportsAnOpenBreakerWithItsStateCountsAndTimeToTheTrial() {
        var state = BreakerRecord()
        state.counts = Counts(successes: 7, failures: 3, ignored: 1, rejected: 2, fallbacks: 2)
        state.trip(at: Self.start, policy: Self.policy)
        let text = Metrics.render([.init(name: "db", state: state, policy: Self.policy)], at: Self.start + .seconds(10))
        #expect(sample(text, #"breaker_run_state{breaker="db",state="open"}"#) == "1")
        #expect(sample(text, #"breaker_run_state{breaker="db",state="closed"}"#) == "0")
        #expect(sample(text, #"breaker_run_state{breaker="db",state="half-open"}"#) == "0")
        #expect(sample(text, #"breaker_run_calls_total{breaker="db",outcome="success"}"#) == "7")
        #expect(sample(text, #"breaker_run_calls_total{breaker="db",outcome="failure"}"#) == "3")
        #expect(sample(text, #"breaker_run_calls_total{breaker="db",outcome="ignored"}"#) == "1")
        #expect(sample(text, #"breaker_run_calls_total{breaker="db",outcome="rejected"}"#) == "2")
        #expect(sample(text, #"breaker_run_fallbacks_total{breaker="db"}"#) == "2")
        #expect(sample(text, #"breaker_run_transitions_total{breaker="db"}"#) == "1")
        #expect(sample(text, #"breaker_run_next_trial_seconds{breaker="db"}"#) == "20")
        #expect(sample(text, #"breaker_run_open_interval_seconds{breaker="db"}"#) == "30")
        #expect(sample(text, #"breaker_run_opened_timestamp_seconds{breaker="db"}"#) == "1796001300")
        #expect(sample(text, #"breaker_run_held{breaker="db"}"#) == "0")
    }

    @Test func exportsAnOpenBreakerPastItsIntervalAsHalfOpen() {
        var state = BreakerRecord()
        state.trip(at: Self.start, policy: Self.policy)
        let text = Metrics.render([.init(name: "db", state: state, policy: Self.policy)], at: Self.start + .seconds(31))
        #expect(sample(text, #"breaker_run_state{breaker="db",state="half-open"}"#) == "1")
        #expect(sample(text, #"breaker_run_state{breaker="db",state="open"}"#) == "0")
        #expect(sample(text, #"breaker_run_next_trial_seconds{breaker="db"}"#) == "0")
    }

    @Test func exportsAHeldBreakerWithNoTrialEver() {
        var state = BreakerRecord()
        state.trip(at: Self.start, hold: true, policy: Self.policy)
        let text = Metrics.render([.init(name: "db", state: state, policy: Self.policy)], at: Self.start + .seconds(3600))
        #expect(sample(text, #"breaker_run_held{breaker="db"}"#) == "1")
        #expect(sample(text, #"breaker_run_state{breaker="db",state="open"}"#) == "1")
        #expect(sample(text, #"breaker_run_next_trial_seconds{breaker="db"}"#) == "+Inf")
    }

    @Test func writesHelpAndTypeOnceBeforeEachFamilyWithEveryBreakerGrouped() {
        let breakers = ["a", "b"].map { Metrics.Breaker(name: $0, state: BreakerRecord(), policy: Self.policy) }
        let lines = Metrics.render(breakers, at: Self.start).split(separator: "\n").map(String.init)
        var seen: [String] = []
        var current: String?
        for line in lines {
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                #expect(!seen.contains(name), "\(name) appears twice")
                #expect(name.hasPrefix("breaker_run_"))
                seen.append(name)
                current = name
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(String(parts[2]) == current)
                #expect(parts[3] != "counter" || parts[2].hasSuffix("_total"))
            } else {
                let name = String(line.prefix { $0 != "{" })
                #expect(name == current, "sample \(line) outside its family")
            }
        }
        #expect(seen.count == 9)
    }

    @Test func rewritesTheMetricsFileWithMode0644AfterEachWrittenUpdateOnly() throws {
        let directory = NSTemporaryDirectory() + "breaker-run-metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let metricsPath = directory + "/breakers.prom"
        let breaker = BreakerConfiguration(name: "db", location: SourceLocation(file: "b.yaml", line: 1, column: 1), policy: Self.policy)
        let clock = FixedClock(instant: Self.start)
        var store = FileStateStore(directory: directory + "/state", clock: clock) { _ in }
        let metrics = MetricsFile(path: metricsPath, breakers: [breaker], store: store)
        let writes = Mutex(0)
        store.afterWrite = {
            writes.withLock { $0 += 1 }
            try? metrics.write()
        }
        try store.update("db") { state, now in state.trip(at: now, policy: Self.policy) }
        #expect(writes.withLock { $0 } == 1)
        let text = try String(contentsOfFile: metricsPath, encoding: .utf8)
        #expect(sample(text, #"breaker_run_state{breaker="db",state="open"}"#) == "1")
        let attributes = try FileManager.default.attributesOfItem(atPath: metricsPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        // An update that changes nothing writes nothing, and so no metrics.
        try store.update("db") { _, _ in }
        #expect(writes.withLock { $0 } == 1)
        try store.update("db") { state, now in state.reset(at: now) }
        #expect(writes.withLock { $0 } == 2)
        let after = try String(contentsOfFile: metricsPath, encoding: .utf8)
        #expect(sample(after, #"breaker_run_state{breaker="db",state="closed"}"#) == "1")
        #expect(sample(after, #"breaker_run_transitions_total{breaker="db"}"#) == "2")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }
}

fileprivate struct FixedClock: BreakerClock {
    var instant: Instant
    var bootID = "boot-a"
    func now() -> Instant { instant }
}

@Suite struct RelativeDurationTests {
    static let cases: [(seconds: Int64, expected: String)] = [
        (0, "0s"), (27, "27s"), (180, "3m"), (190, "3m10s"),
        (7_559, "2h5m"), (273_661, "3d4h"), (86_400, "1d"), (-5, "0s"),
    ]

    @Test(arguments: cases)
    func readsAtAGlanceInItsTwoLargestUnits(seconds: Int64, expected: String) {
        #expect(DurationFormat.relative(.seconds(seconds)) == expected)
    }

    @Test func aFractionOfASecondReadsAsOneSecondNotNow() {
        #expect(DurationFormat.relative(.milliseconds(300)) == "1s")
    }
}
