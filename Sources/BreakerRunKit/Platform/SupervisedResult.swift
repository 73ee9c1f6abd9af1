// pid_t, as the Kit sees it, comes from the C shim's <spawn.h>.
import CPlatform

/// What happened to a supervised child: the result of `ProcessSupervisor.run(_:)`.
public struct SupervisedResult: Sendable, Equatable {
    /// How the child ended.
    public var termination: Termination
    /// Whether the child ran past its `timeout` and was sent SIGTERM (and
    /// SIGKILL after the grace, if it was still alive).
    public var timedOut: Bool
    /// The signal with which an operator interrupted the call, if any: one
    /// that breaker-run received and forwarded to the call's group (SIGINT,
    /// SIGTERM, SIGHUP, SIGQUIT), or SIGINT or SIGQUIT typed at the terminal
    /// while the call held it (which reaches the call's group alone).
    public var interruption: Int32?
    /// The time from spawn to reaping, on a monotonic clock.
    public var duration: Duration
    /// The child's process id, which is also its process group id (the child
    /// leads its own group). The process is reaped: use it only to look for
    /// survivors of the group, such as with `kill(-processID, 0)`.
    public var processID: pid_t

    /// Creates a result.
    /// - Parameters:
    ///   - termination: how the child ended.
    ///   - timedOut: whether the time-out fired.
    ///   - interruption: the signal breaker-run received and forwarded, if any.
    ///   - duration: the child's run time, monotonic.
    ///   - processID: the child's pid and process group id.
    public init(termination: Termination, timedOut: Bool, interruption: Int32?, duration: Duration, processID: pid_t) {
        self.termination = termination
        self.timedOut = timedOut
        self.interruption = interruption
        self.duration = duration
        self.processID = processID
    }
}
