import CircuitBreaker

/// Turns the way a call ended into the breaker's outcome, by DESIGN's
/// "Outcomes" rules: exactly one of success, failure or ignored per call.
public enum CallClassifier {
    /// Classifies a finished call.
    ///
    /// A call interrupted because breaker-run itself got a signal is ignored
    /// (an operator's Ctrl-C is no downstream failure), and so is a call
    /// killed by SIGPIPE (whoever read its output stopped reading); a timeout
    /// and any other death by signal are failures; an exit status is a success when it is in
    /// `success_exit_codes` (unless the call took longer than
    /// `slow_call_duration`: then it is a failure for the statistics), ignored when it is in `ignore_exit_codes`, and a
    /// failure otherwise.
    /// - Parameters:
    ///   - result: how the process ended.
    ///   - breaker: the breaker's configuration.
    /// - Returns: the outcome to record.
    public static func classify(_ result: SupervisedResult, for breaker: BreakerConfiguration) -> Outcome {
        if let signal = result.interruption {
            return .ignored(reason: "interrupted by \(SignalName.of(signal))")
        }
        if result.timedOut {
            return .failure(reason: "timeout")
        }
        switch result.termination {
        case .signaled(SIGPIPE):
            // Its output's reader went away (`breaker-run run x -- cmd | head`):
            // the guarded service did nothing wrong.
            return .ignored(reason: "killed by SIGPIPE (the reader of its output went away)")
        case .signaled(let signal):
            return .failure(reason: "killed by \(SignalName.of(signal))")
        case .exited(let code):
            if breaker.successExitCodes.contains(Int(code)) {
                if let slow = breaker.slowCallDuration, result.duration > slow {
                    return .failure(reason: "slow call (\(DurationFormat.string(result.duration)), over slow_call_duration \(DurationFormat.string(slow)))")
                }
                return .success
            }
            if breaker.ignoreExitCodes.contains(Int(code)) { return .ignored(reason: "exit status \(code)") }
            return .failure(reason: "exit status \(code)")
        }
    }
}
