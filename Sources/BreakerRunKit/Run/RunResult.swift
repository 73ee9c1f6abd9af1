import CircuitBreaker

/// How one `run` ended, for the executable to turn into an exit status.
public enum RunResult: Sendable, Equatable {
    /// The call ran (under the breaker, or unguarded when the state could not
    /// be used and `on_state_error` is fail-open) and ended so.
    case ran(CallRun)
    /// The call could not be started: not found (127) or not executable (126).
    case launchFailed(LaunchError)
    /// The breaker rejected the call and a fallback answered it.
    case fellBack(Rejection, FallbackRun)
    /// The breaker rejected the call and no fallback answered it: the exit
    /// status is the breaker's `open_exit_code` (75, EX_TEMPFAIL, by default).
    case rejected(Rejection, exitCode: Int32)
    /// The state could not be read or written and the breaker's
    /// `on_state_error` is `fail-closed`: the call did not run. The exit
    /// status is 74 (EX_IOERR, sysexits.h); the text is the error line
    /// already logged.
    case stateUnavailable(String)
}

/// A call that ran to its end.
public struct CallRun: Sendable, Equatable {
    /// How the process ended.
    public var termination: Termination
    /// Whether it was killed for running past its `timeout`.
    public var timedOut: Bool
    /// The signal breaker-run received and forwarded to the call, if any.
    public var interruption: Int32?
    /// How the breaker classified it.
    public var outcome: Outcome
    /// Why part of the call's stdout, copied through breaker-run for a
    /// `cached` fallback, could not be delivered (`EPIPE`: the reader went
    /// away; `ENOSPC`, `EIO`, ...); nil when all of it was, or when the call
    /// wrote to breaker-run's stdout itself.
    public var outputLost: SystemError?

    /// Creates a record of a finished call.
    /// - Parameters:
    ///   - termination: how the process ended.
    ///   - timedOut: whether it ran past its timeout.
    ///   - interruption: the signal forwarded to it, if any.
    ///   - outcome: its classification.
    ///   - outputLost: why its copied stdout could not all be delivered, if so.
    public init(termination: Termination, timedOut: Bool, interruption: Int32?, outcome: Outcome, outputLost: SystemError? = nil) {
        self.termination = termination
        self.timedOut = timedOut
        self.interruption = interruption
        self.outcome = outcome
        self.outputLost = outputLost
    }
}

/// A fallback that answered a rejected call.
public enum FallbackRun: Sendable, Equatable {
    /// A command or shell fallback ran and ended so; `timedOut` when it ran
    /// past the breaker's `timeout` and was killed.
    case process(Termination, timedOut: Bool)
    /// A fallback that is not a process (`output`, the kept output of the
    /// last successful call) wrote its answer; the exit status is its
    /// `exit_code` (0 unless set), and `how` says how it answered, for the
    /// rejection's line.
    case answered(exitCode: Int32, how: String)
    /// An answer could not be written to standard output.
    case outputLost(SystemError)
}
