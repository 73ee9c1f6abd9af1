extension BreakerRunner {
    /// The state-fault policy: applies the breaker's `on_state_error` to
    /// state that could not be read or written.
    /// - Parameters:
    ///   - error: the backend's error.
    ///   - breaker: the breaker.
    ///   - what: what could not be had, for the line ("breaker state unavailable").
    ///   - fallback: what the run does instead under fail-open ("running the call unguarded").
    /// - Returns: nil to go on (after one warning per invocation,
    ///   fail-open), or the result that ends the run without the call
    ///   (fail-closed, exit 74).
    func fault(_ error: any Error, breaker: BreakerConfiguration, doing what: String, otherwise fallback: String) -> RunResult? {
        switch breaker.onStateError {
        case .failOpen:
            narrator.tell(.stateFault("\(breaker.name): \(what) (\(error)); \(fallback)"))
            return nil
        case .failClosed:
            let message = "\(breaker.name): \(what) (\(error)); not running the call (on_state_error: fail-closed)"
            narrator.tell(.stateRefusal(message))
            return .stateUnavailable(message)
        }
    }
}
