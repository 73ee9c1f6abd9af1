// breaker-run-bench-seed: records many calls on one breaker through the
// library, for the history benchmark (bench/run.sh).
//
//     breaker-run-bench-seed CONFIG STATE_DIR NAME COUNT
//
// Loads CONFIG, takes breaker NAME's policy, and records COUNT admitted calls
// (every tenth a failure, the rest successes) in one locked update of
// STATE_DIR/NAME/state.json, through the same `BreakerRecord.admit` and
// `record` that `breaker-run run` uses. The calls are spread evenly over the
// 90% most recent part of a time window (over one second for other
// breakers), ending now, so that the window is as full as real traffic would
// leave it. Prints the lifetime count of successes and failures afterwards.
// Exit status: 0, or 64 for a bad command line, 78 for a bad configuration,
// 74 when the state cannot be written.
import BreakerRunKit
import CircuitBreaker

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[4]), count >= 0 else {
    print("usage: breaker-run-bench-seed CONFIG STATE_DIR NAME COUNT")
    exit(64)
}
let (configPath, stateDirectory, name) = (arguments[1], arguments[2], arguments[3])

let breaker: BreakerConfiguration
do {
    breaker = try ConfigurationLoader.load(files: [configPath], isRoot: false).definition(named: name)
} catch {
    print("breaker-run-bench-seed: \(error)")
    exit(78)
}

var span: Int64 = 1_000_000_000
if case .duration(let window)? = breaker.policy.failureRate?.window {
    let (seconds, attoseconds) = window.components
    span = (seconds * 1_000_000_000 + attoseconds / 1_000_000_000) / 10 * 9
}

let store = FileStateStore(directory: stateDirectory, clock: SystemClock()) { warning in
    print("breaker-run-bench-seed: \(warning)")
}
do {
    let counts = try store.update(name) { state, now in
        for index in 0..<count {
            let back = count == 0 ? 0 : span - span / Int64(count) * Int64(index)
            let at = Instant(monotonicNanoseconds: now.monotonicNanoseconds - back, wallNanoseconds: now.wallNanoseconds - back)
            guard case .admitted(let ticket) = state.admit(at: at, policy: breaker.policy, trialPermit: { false }) else {
                continue
            }
            let outcome: Outcome = index % 10 == 9 ? .failure(reason: "exit status 1") : .success
            state.record(outcome, for: ticket, at: at, policy: breaker.policy)
        }
        return state.counts
    }
    print("successes \(counts.successes) failures \(counts.failures)")
} catch {
    print("breaker-run-bench-seed: \(error)")
    exit(74)
}
