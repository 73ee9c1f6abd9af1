import CircuitBreaker
import Logging

/// Answers a rejected call with the breaker's fallbacks, tried in order until
/// one answers; each kind answers for itself (`FallbackKind`).
///
/// Command and shell fallbacks run with breaker-run's environment plus the
/// `BREAKER_*` variables, under the breaker's `timeout`. A shell fallback gets
/// the original call's argv as its positional parameters (`$1`, `$2`, ...);
/// every fallback gets it, shell-quoted, in `BREAKER_COMMAND`. A command or
/// shell fallback that cannot be started, exits non-zero, is killed or runs
/// past the timeout (and is killed as a call is) hands the rejection to the
/// next fallback; the last one's result stands. Output that a failed fallback
/// printed before failing has already gone to stdout and stays there.
public struct FallbackRunner {
    /// Starts command and shell fallbacks.
    public var supervisor: ProcessSupervisor
    /// breaker-run's own environment.
    public var environment: [String: String]
    /// Where messages go.
    public var logger: Logger
    /// Reads the breaker's cached output, for a `cached` fallback: its bytes
    /// and when it was written (wall time, nanoseconds since the epoch); nil
    /// when there is none.
    public var cache: (String) -> CachedOutput? = { _ in nil }
    /// Writes a fallback's answer to standard output.
    public var write: ([UInt8]) throws(SystemError) -> Void = { bytes throws(SystemError) in try StandardOutput.write(bytes: bytes) }
    /// Opens a breaker's queue, for a `queue` fallback; nil when queues
    /// are not kept.
    package var queue: (String) -> QueueStore? = { _ in nil }
    /// Whether the rejected call is the breaker's configured call.
    package var isConfiguredCall = false
    /// Reads the invocation's standard input, at most the given number of bytes.
    package var readInput: (Int) throws(SystemError) -> [UInt8] = { limit throws(SystemError) in
        try CurrentProcess.readStandardInput(limit: limit)
    }
    /// The invocation's working directory.
    package var workingDirectory: () -> String? = { CurrentProcess.workingDirectory() }

    /// Creates a fallback runner.
    /// - Parameters:
    ///   - supervisor: starts fallback processes.
    ///   - environment: breaker-run's environment.
    ///   - logger: where messages go.
    public init(supervisor: ProcessSupervisor, environment: [String: String], logger: Logger) {
        self.supervisor = supervisor
        self.environment = environment
        self.logger = logger
    }

    /// The variables that fallbacks (and hooks) get, from DESIGN's
    /// "Environment given to fallbacks and hooks".
    /// - Parameters:
    ///   - breaker: the breaker.
    ///   - state: the breaker's state at the rejection.
    ///   - rejection: why the call was rejected.
    ///   - arguments: the rejected call's argv.
    ///   - now: the time of the rejection.
    /// - Returns: the variables by name.
    public static func variables(for breaker: BreakerConfiguration, state: BreakerRecord, rejection: Rejection, arguments: [String], now: Instant) -> [String: String] {
        var variables = breaker.nameVariables
        variables.merge([
            "BREAKER_STATE": state.effectiveCircuitState(at: now).name.rawValue,
            "BREAKER_REASON": reason(for: rejection, state: state),
            "BREAKER_FAILURES": String(state.consecutiveFailures),
            "BREAKER_COMMAND": arguments.map(ShellQuote.quote).joined(separator: " "),
        ]) { $1 }
        if let opened = state.openedAt {
            variables["BREAKER_OPENED_AT"] = formatRFC3339(wallNanoseconds: opened.wallNanoseconds)
        }
        if case .open(let retryAfter) = rejection {
            variables["BREAKER_RETRY_AFTER"] = String(retryAfter.secondsRoundedUp)
        }
        return variables
    }

    /// Why the call was rejected, for `BREAKER_REASON`: why the breaker
    /// opened when it is open, else the rejection itself.
    private static func reason(for rejection: Rejection, state: BreakerRecord) -> String {
        switch rejection {
        case .open, .held: state.openReason ?? rejection.description
        case .trialsTaken, .concurrencyLimit, .keysFull: rejection.description
        }
    }

    /// Runs the fallbacks in order until one answers.
    /// - Parameters:
    ///   - fallbacks: the breaker's fallbacks.
    ///   - breaker: the breaker.
    ///   - state: the breaker's state at the rejection.
    ///   - rejection: why the call was rejected.
    ///   - arguments: the rejected call's argv.
    ///   - now: the time of the rejection.
    /// - Returns: how the fallback that answered ended, or nil when none did.
    public func run(_ fallbacks: [FallbackSpecification], for breaker: BreakerConfiguration, state: BreakerRecord, rejection: Rejection, arguments: [String], now: Instant) -> FallbackRun? {
        var context = FallbackContext(
            breaker: breaker, arguments: arguments,
            variables: Self.variables(for: breaker, state: state, rejection: rejection, arguments: arguments, now: now),
            now: now, environment: environment, supervisor: supervisor, logger: logger, hasNext: false,
            write: write, readCache: { [cache] in cache(breaker.name) })
        context.queue = queue(breaker.name)
        context.isConfiguredCall = isConfiguredCall
        context.readInput = readInput
        context.workingDirectory = workingDirectory
        var failed: FallbackRun?
        for (index, fallback) in fallbacks.enumerated() {
            context.hasNext = index < fallbacks.count - 1
            switch fallback.kind.answer(context) {
            case .answered(let run): return run
            // The last failure stands when no later fallback answers.
            case .failed(let run): failed = run
            case .declined: continue
            }
        }
        return failed
    }
}
