/// What to run and under which limits: the input of `ProcessSupervisor.run(_:)`.
public struct ProcessSpecification: Sendable, Equatable {
    /// The argument vector, `argv[0]` first. An `argv[0]` without a slash is
    /// looked up in breaker-run's own `PATH` by `posix_spawnp` (POSIX); with a
    /// slash it is used as a path.
    public var arguments: [String]
    /// The complete environment of the child: nothing else is inherited.
    public var environment: [String: String]
    /// The child's working directory; `nil` keeps breaker-run's.
    public var workingDirectory: String?
    /// How long the child may run before its process group gets SIGTERM;
    /// `nil` for no limit. Measured on a monotonic clock.
    public var timeout: Duration?
    /// The grace after the time-out's SIGTERM before the group gets SIGKILL
    /// (GNU `timeout --kill-after`). Ignored without a `timeout`.
    public var killAfter: Duration
    /// Whether the child is a background helper (a transition hook) rather
    /// than the call: then its standard input is `/dev/null`, its standard
    /// output goes to breaker-run's standard error (so that it never mixes
    /// with the call's output), and it never gets the terminal.
    public var isBackground: Bool
    /// A descriptor that becomes the child's standard output instead of
    /// breaker-run's (the write end of an output tee); nil for breaker-run's.
    /// Ignored for a background helper.
    public var standardOutput: Int32?

    /// Creates a specification.
    /// - Parameters:
    ///   - arguments: the argument vector, `argv[0]` first; must not be empty.
    ///   - environment: the child's complete environment.
    ///   - workingDirectory: the child's working directory, or `nil` for ours.
    ///   - timeout: the run-time limit, or `nil` for none.
    ///   - killAfter: the grace between SIGTERM and SIGKILL after a time-out;
    ///     5 seconds unless given.
    ///   - isBackground: run it as a background helper: input from
    ///     `/dev/null`, output to standard error, no terminal.
    public init(
        arguments: [String],
        environment: [String: String],
        workingDirectory: String? = nil,
        timeout: Duration? = nil,
        killAfter: Duration = BreakerKeys.killAfter.defaultValue,
        isBackground: Bool = false
    ) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.killAfter = killAfter
        self.isBackground = isBackground
    }
}
