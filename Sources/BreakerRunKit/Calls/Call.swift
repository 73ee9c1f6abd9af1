import CircuitBreaker
import Logging

/// A call kind: one way of calling the guarded service (`command`, `shell`,
/// `http`, `tcp`), made from its configuration by its `CallKind`
/// (`CallSpecification.makeCall(arguments:registry:)`).
public protocol Call: Sendable {
    /// Runs the call once, to its end or its time limit.
    /// - Parameter context: the breaker, the environment and the limits.
    /// - Returns: how it ended and how the breaker classifies it.
    func run(_ context: CallContext) -> CallResult
}

/// What a call runs with.
public struct CallContext: Sendable {
    /// The breaker (its `timeout`, status and exit-code rules, environment).
    public var breaker: BreakerConfiguration
    /// breaker-run's environment, which `${VAR}` reads and the call inherits.
    public var environment: [String: String]
    /// Whether this is the call itself or its probe, for messages.
    public var role: CallRole
    /// Whether this is a background helper (a probe): a process call's output
    /// then goes to stderr, and a network call's body is not printed.
    public var isBackground: Bool
    /// Whether the call must hand back what it wrote to stdout, for the
    /// `cached` fallback: up to this many bytes; nil to capture nothing.
    public var captureLimit: Int?
    /// Where messages go.
    public var logger: Logger

    /// Creates a context.
    /// - Parameters:
    ///   - breaker: the breaker.
    ///   - environment: breaker-run's environment.
    ///   - role: the call itself, or its probe.
    ///   - isBackground: whether it is a background helper.
    ///   - captureLimit: the most stdout bytes to hand back, or nil for none.
    ///   - logger: where messages go.
    public init(breaker: BreakerConfiguration, environment: [String: String], role: CallRole = .call,
                isBackground: Bool = false, captureLimit: Int? = nil, logger: Logger) {
        self.breaker = breaker
        self.environment = environment
        self.role = role
        self.isBackground = isBackground
        self.captureLimit = captureLimit
        self.logger = logger
    }
}

/// What a call is to the run, for messages: the call itself, or the probe
/// that stands in for it as a half-open trial.
public enum CallRole: String, Sendable, CustomStringConvertible {
    /// The call the breaker guards.
    case call
    /// The breaker's probe, run as the trial before the call.
    case probe

    /// `call` or `probe`, as messages name it.
    public var description: String { rawValue }
}

/// How one call ended: it ran to its end (whatever its status), or it could
/// not be started. A single call is never rejected nor answered by a
/// fallback: those are endings of a whole run (`RunResult`).
public enum CallEnding: Sendable, Equatable {
    /// The call ran and ended so.
    case ran(CallRun)
    /// The call could not be started: not found (127) or not executable (126).
    case launchFailed(LaunchError)
}

extension RunResult {
    /// The run that ended as its one call did.
    /// - Parameter ending: how the call ended.
    public init(_ ending: CallEnding) {
        switch ending {
        case .ran(let run): self = .ran(run)
        case .launchFailed(let error): self = .launchFailed(error)
        }
    }
}

/// How one call ended.
public struct CallResult: Sendable {
    /// How the call ended, for the exit status.
    public var ending: CallEnding
    /// How the breaker classifies it.
    public var outcome: Outcome
    /// The open interval the service asked for (`Retry-After` of a 429 or
    /// 503), already bounded by `max_retry_after`; nil when it asked for none.
    public var retryAfter: Duration?
    /// What the call wrote to stdout, when the context asked for it and it
    /// fitted in the limit; nil otherwise.
    public var output: [UInt8]?

    /// Creates a result.
    /// - Parameters:
    ///   - ending: how the call ended.
    ///   - outcome: its classification.
    ///   - retryAfter: the open interval the service asked for, if any.
    ///   - output: the captured stdout, if any.
    public init(ending: CallEnding, outcome: Outcome, retryAfter: Duration? = nil, output: [UInt8]? = nil) {
        self.ending = ending
        self.outcome = outcome
        self.retryAfter = retryAfter
        self.output = output
    }
}

/// The call of a kind whose plugin this binary lacks: it runs nothing and
/// is neither a success nor a failure of the service, so the breaker's
/// counts do not move; the run exits 69 (EX_UNAVAILABLE, sysexits.h).
struct UnavailableCall: Call {
    var plugin: NetworkPlugin

    func run(_ context: CallContext) -> CallResult {
        let error = NetworkPluginUnavailable(plugin: plugin, breaker: context.breaker.name)
        context.logger.error("\(error)")
        let outcome = Outcome.ignored(reason: "the \(plugin) plugin is missing")
        return CallResult(ending: .ran(.network(exitStatus: ExitStatus.unavailable.rawValue, outcome: outcome)), outcome: outcome)
    }
}

extension CallRun {
    /// The record of a network call that ended with `status`.
    package static func network(exitStatus: Int32, timedOut: Bool = false, outcome: Outcome) -> CallRun {
        CallRun(termination: .exited(exitStatus), timedOut: timedOut, interruption: nil, outcome: outcome)
    }
}
