import CircuitBreaker

/// The effective configuration: every breaker after defaults and merge keys,
/// from the files it was loaded from.
public struct Configuration: Sendable, Equatable {
    /// The files read, in the order they were read.
    public var files: [String]
    /// The state directory named by `state_dir`, made absolute (a relative
    /// one is relative to the directory of the file that names it); nil when
    /// no file names one.
    public var stateDirectory: String?
    /// Every breaker, by name, as defined: `${VAR}` values are not resolved
    /// yet (see `breaker(named:)`).
    public var breakers: [String: BreakerConfiguration]
    /// The environment that `${VAR}` reads, as given to the loader.
    public var environment: [String: String]
    /// The Prometheus textfile rewritten after every change of state
    /// (`metrics_file`), made absolute like `state_dir`; nil for none.
    public var metricsFile: String?
    /// Where transitions are logged besides standard error (`log`).
    /// Default `.stderr`.
    public var log: LogDestination = .stderr
    /// What is allowed but probably not meant (a `${` in a `command`
    /// element, which no shell expands), by position: `validate` prints
    /// them as warnings; other commands say nothing.
    public var warnings: [Diagnostic] = []
    /// The breakers left out because their definition, or the drop-in that
    /// holds them, has an error (a broken file stops only itself), by name,
    /// with those errors. Empty when loaded strictly (`validate`).
    public var brokenBreakers: [String: [Diagnostic]] = [:]
    /// Every error left out of this configuration, in file order: those of
    /// `brokenBreakers` and of drop-ins that could not be read at all.
    /// Reported as one warning per invocation.
    public var ignoredProblems: [Diagnostic] = []
    /// The drop-ins that could not be parsed, so may hold a breaker asked
    /// for and not found.
    public var unparsedFiles: [String] = []

    /// Creates a configuration.
    /// - Parameters:
    ///   - files: the files read.
    ///   - stateDirectory: the absolute state directory, if configured.
    ///   - breakers: the breakers by name.
    ///   - environment: the environment that `${VAR}` reads.
    public init(files: [String], stateDirectory: String?, breakers: [String: BreakerConfiguration], environment: [String: String] = [:]) {
        self.files = files
        self.stateDirectory = stateDirectory
        self.breakers = breakers
        self.environment = environment
    }

    /// The breakers in alphabetical order of their names.
    public var sortedBreakers: [BreakerConfiguration] { breakerNames.compactMap { breakers[$0] } }

    /// The breaker names in alphabetical order.
    public var breakerNames: [String] { breakers.keys.sorted() }
}

/// Where breaker-run's messages go (`log:`).
public enum LogDestination: String, Sendable, Equatable, CaseIterable {
    /// Standard error only: one line per notable event.
    case stderr
    /// Standard error, and every transition to syslog too (ident
    /// `breaker-run`, facility `LOG_USER`), which journald collects.
    case syslog
}

/// A place in a configuration file, for messages: `FILE:LINE:COLUMN`.
public struct SourceLocation: Sendable, Equatable, Comparable, CustomStringConvertible {
    /// The file's path as given.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// Creates a location.
    /// - Parameters:
    ///   - file: the file's path.
    ///   - line: the 1-based line.
    ///   - column: the 1-based column.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COLUMN`, as compilers print it.
    public var description: String { "\(file):\(line):\(column)" }

    /// Orders by file, then line, then column.
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One named breaker, fully resolved: defaults applied, values typed.
public struct BreakerConfiguration: Sendable, Equatable {
    /// The breaker's name: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, a safe file name.
    public var name: String
    /// Where the breaker is defined.
    public var location: SourceLocation
    /// What the breaker guards, for people.
    public var description: String?
    /// The configured call; nil when the command must come after `--`.
    public var call: CallSpecification?
    /// The trip and recovery rules (`fail_max`, `reset_timeout`,
    /// `success_threshold`, `half_open_max_calls`).
    public var policy: Policy
    /// How long the call may run before its process group gets SIGTERM;
    /// nil for no limit.
    public var timeout: Duration?
    /// Grace between SIGTERM and SIGKILL after a timeout (`kill_after`).
    /// Default 5 seconds, as GNU timeout's `--kill-after` is commonly set.
    public var killAfter: Duration
    /// Exit statuses that count as success (`success_exit_codes`). Default `[0]`.
    public var successExitCodes: ExitCodeSet
    /// Exit statuses that count as neither success nor failure
    /// (`ignore_exit_codes`). Default empty.
    public var ignoreExitCodes: ExitCodeSet
    /// The exit status of a rejected call with no fallback (`open_exit_code`).
    /// Default 75, EX_TEMPFAIL from sysexits.h.
    public var openExitCode: Int32
    /// Extra environment for the call (`env`), on top of breaker-run's own:
    /// the values ready to use. Values that read a variable (`${VAR}`) are
    /// in `interpolatedEnvironment` until the breaker is resolved.
    public var environment: [String: String]
    /// `env` values that read variables, not resolved yet; empty once
    /// `resolved(in:)` has moved them into `environment`.
    public var interpolatedEnvironment: [String: InterpolatedString]
    /// The call's working directory (`working_dir`); nil for breaker-run's own.
    public var workingDirectory: String?
    /// What answers a rejected call, tried in order until one applies; empty
    /// for none (then breaker-run exits with `openExitCode`).
    public var fallbacks: [FallbackSpecification]
    /// A success slower than this counts as a failure in the breaker's
    /// statistics (`slow_call_duration`); its output and status still pass
    /// through. Nil for no limit.
    public var slowCallDuration: Duration?
    /// Retries inside the breaker (`retry`); nil for a single attempt.
    public var retry: RetryPolicy?
    /// The concurrency limit across processes (`max_concurrent`, `max_wait`);
    /// nil for none.
    public var bulkhead: Bulkhead?
    /// A cheap call run as the half-open trial instead of the real call
    /// (`probe`); nil to let the real call be the trial.
    public var probe: Probe?
    /// A command run once per transition, by the process that made it
    /// (`on_transition`); nil for none.
    public var onTransition: TransitionHook?
    /// What happens when the state cannot be read or written
    /// (`on_state_error`). Default `.failOpen`.
    public var onStateError: StateErrorPolicy
    /// Where the state lives (`state:`, per breaker, in `defaults` or at the
    /// top of the file). Default `.file`.
    public var state: StateBackendConfiguration = BreakerKeys.state.defaultValue
    /// Whether the breaker is keyed, and how (`per_key:`); nil for a plain
    /// breaker, whose `--key` is refused.
    public var perKey: PerKey?

    /// Creates a breaker configuration; every parameter but the name and
    /// location defaults to DESIGN's default.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - location: where it is defined.
    ///   - description: what it guards.
    ///   - call: the configured call, if any.
    ///   - policy: the trip and recovery rules.
    ///   - timeout: the call's time limit, if any.
    ///   - killAfter: the grace between SIGTERM and SIGKILL.
    ///   - successExitCodes: statuses that count as success.
    ///   - ignoreExitCodes: statuses that are ignored.
    ///   - openExitCode: the status of a rejection with no fallback.
    ///   - environment: extra environment for the call, ready to use.
    ///   - interpolatedEnvironment: extra environment that reads variables.
    ///   - workingDirectory: the call's working directory.
    ///   - fallbacks: the fallbacks, in order.
    ///   - slowCallDuration: the duration past which a success counts as a
    ///     failure, if any.
    ///   - retry: the retry policy, if any.
    ///   - bulkhead: the concurrency limit, if any.
    ///   - probe: the probe run as the trial, if any.
    ///   - onTransition: the transition hook, if any.
    ///   - onStateError: what a state fault does.
    public init(
        name: String,
        location: SourceLocation,
        description: String? = nil,
        call: CallSpecification? = nil,
        policy: Policy = BreakerKeys.defaultPolicy,
        timeout: Duration? = nil,
        killAfter: Duration = BreakerKeys.killAfter.defaultValue,
        successExitCodes: ExitCodeSet = BreakerKeys.successExitCodes.defaultValue,
        ignoreExitCodes: ExitCodeSet = BreakerKeys.ignoreExitCodes.defaultValue,
        openExitCode: Int32 = BreakerKeys.openExitCode.defaultValue,
        environment: [String: String] = [:],
        interpolatedEnvironment: [String: InterpolatedString] = [:],
        workingDirectory: String? = nil,
        fallbacks: [FallbackSpecification] = [],
        slowCallDuration: Duration? = nil,
        retry: RetryPolicy? = nil,
        bulkhead: Bulkhead? = nil,
        probe: Probe? = nil,
        onTransition: TransitionHook? = nil,
        onStateError: StateErrorPolicy = BreakerKeys.onStateError.defaultValue
    ) {
        self.name = name
        self.location = location
        self.description = description
        self.call = call
        self.policy = policy
        self.timeout = timeout
        self.killAfter = killAfter
        self.successExitCodes = successExitCodes
        self.ignoreExitCodes = ignoreExitCodes
        self.openExitCode = openExitCode
        self.environment = environment
        self.interpolatedEnvironment = interpolatedEnvironment
        self.workingDirectory = workingDirectory
        self.fallbacks = fallbacks
        self.slowCallDuration = slowCallDuration
        self.retry = retry
        self.bulkhead = bulkhead
        self.probe = probe
        self.onTransition = onTransition
        self.onStateError = onStateError
    }
}

/// A probe (`probe:`): a cheap call, such as a health check, used as the
/// half-open trial instead of the real call. A passing probe closes the
/// breaker and the real call then runs; a failing one reopens it.
public struct Probe: Sendable, Equatable {
    /// What to run: a call of any registered kind.
    public var call: CallSpecification
    /// The probe's own time limit; nil for the breaker's `timeout`.
    public var timeout: Duration?

    /// Creates a probe.
    /// - Parameters:
    ///   - call: what to run.
    ///   - timeout: its time limit, or nil for the breaker's.
    public init(call: CallSpecification, timeout: Duration? = nil) {
        self.call = call
        self.timeout = timeout
    }
}

/// A transition hook (`on_transition:`): run exactly once per transition, by
/// the process that made it, after the state is saved and outside the lock.
public struct TransitionHook: Sendable, Equatable {
    /// What to run: `command` or `shell`.
    public var call: CallSpecification
    /// Its time limit. Default 10 seconds.
    public var timeout: Duration

    /// Creates a hook.
    /// - Parameters:
    ///   - call: what to run.
    ///   - timeout: its time limit.
    public init(call: CallSpecification, timeout: Duration = BreakerKeys.hookTimeout) {
        self.call = call
        self.timeout = timeout
    }
}

/// A bulkhead beside the breaker: at most `maxConcurrent` calls of one breaker
/// run at once, across all processes.
public struct Bulkhead: Sendable, Equatable {
    /// Calls allowed at once (`max_concurrent`). At least 1.
    public var maxConcurrent: Int
    /// How long a call may wait for a free slot before it is rejected
    /// (`max_wait`). Default 0: reject at once.
    public var maxWait: Duration

    /// Creates a bulkhead.
    /// - Parameters:
    ///   - maxConcurrent: calls allowed at once (at least 1).
    ///   - maxWait: how long to wait for a slot.
    public init(maxConcurrent: Int, maxWait: Duration = .zero) {
        self.maxConcurrent = max(1, maxConcurrent)
        self.maxWait = maxWait
    }
}

/// A set of exit statuses (or HTTP statuses) given as a list of numbers and
/// inclusive ranges, such as `[0, 2-4]`.
public struct ExitCodeSet: Sendable, Equatable, CustomStringConvertible {
    /// The inclusive ranges, in the order given.
    public var ranges: [ClosedRange<Int>]

    /// Creates a set from inclusive ranges.
    /// - Parameter ranges: the ranges; a single status is `n...n`.
    public init(_ ranges: [ClosedRange<Int>]) {
        self.ranges = ranges
    }

    /// Whether `code` is in the set.
    /// - Parameter code: an exit status.
    /// - Returns: true when a range holds it.
    public func contains(_ code: Int) -> Bool {
        ranges.contains { $0.contains(code) }
    }

    /// The set as written in YAML: `[0, 2-4]`.
    public var description: String {
        "[" + ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ", ") + "]"
    }
}
