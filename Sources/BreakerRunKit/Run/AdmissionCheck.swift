import CircuitBreaker

/// Whether a call of a breaker would be admitted now (`breaker-run check`),
/// found without changing anything: the state is read, not updated; the
/// bulkhead slots and half-open permits are looked at, not taken; nothing is
/// counted and no transition is made.
public struct AdmissionCheck {
    /// What a call would meet now.
    public enum Answer: Sendable, Equatable {
        /// The call would run: as a half-open trial when `isTrial`.
        case admitted(isTrial: Bool)
        /// The call would be rejected, for this reason.
        case rejected(Rejection)
    }

    /// What a call would meet, and the breaker's effective circuit state as of now.
    public typealias Result = (answer: Answer, circuitState: CircuitState)

    /// Where breaker state lives.
    public var store: any StateBackend

    /// Creates a check over `store`.
    /// - Parameter store: the state store.
    public init(store: any StateBackend) {
        self.store = store
    }

    /// What a call of `breaker` would meet now, as `run` would decide it:
    /// the bulkhead first, then the breaker's state (an open breaker whose
    /// interval has passed is half-open, and admits a trial while a permit
    /// is free).
    /// - Parameter breaker: the breaker's configuration.
    /// - Returns: the answer, and the state's effective circuit state as of now.
    /// - Throws: the backend's error when the state, the slots or the
    ///   permits cannot be read.
    public func answer(for breaker: BreakerConfiguration) throws -> Result {
        let name = breaker.name
        let (stored, now) = try store.read(name)
        var state = stored
        // `admit` on a copy: its settling and counting stay in this copy.
        var permitError: (any Error)?
        let admission = state.admit(at: now, policy: breaker.policy) {
            do {
                return try store.hasFreePermit(name, slots: breaker.policy.halfOpenMaxCalls)
            } catch {
                permitError = error
                return false
            }
        }
        if let permitError { throw permitError }
        let circuitState = state.circuitState
        if let bulkhead = breaker.bulkhead, case .admitted = admission,
           try !store.hasFreeSlot(name, slots: bulkhead.maxConcurrent) {
            return (.rejected(.concurrencyLimit(maxConcurrent: bulkhead.maxConcurrent)), circuitState)
        }
        switch admission {
        case .admitted(let ticket): return (.admitted(isTrial: ticket.isTrial), circuitState)
        case .rejected(let rejection): return (.rejected(rejection), circuitState)
        }
    }

    /// The line `check` prints: the breaker, its state and what a call
    /// would meet, such as `ledger: open, a call would be rejected (next
    /// trial in 27s)`.
    /// - Parameters:
    ///   - answer: what a call would meet.
    ///   - circuitState: the breaker's effective circuit state.
    ///   - name: the breaker's name.
    /// - Returns: the line, without a newline.
    public static func line(_ answer: Answer, circuitState: CircuitState, name: String) -> String {
        let verdict = switch answer {
        case .admitted(isTrial: false): "a call would run"
        case .admitted(isTrial: true): "a call would run as the trial"
        case .rejected(.open(let retryAfter)): "a call would be rejected (next trial in \(DurationFormat.remaining(retryAfter)))"
        case .rejected(.held): "a call would be rejected (held until reset)"
        case .rejected(.trialsTaken): "a call would be rejected (its trial is running)"
        case .rejected(let rejection): "a call would be rejected (\(rejection.description))"
        }
        return "\(name): \(circuitState.name.rawValue), \(verdict)"
    }
}
