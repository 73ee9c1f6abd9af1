import CircuitBreaker
import Logging

/// Answers a rejected call with the breaker's fallbacks, tried in order until
/// one applies.
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
    public static func variables(for breaker: BreakerConfiguration, state: BreakerState, rejection: Rejection, arguments: [String], now: Instant) -> [String: String] {
        var variables = [
            "BREAKER_NAME": breaker.name,
            "BREAKER_STATE": state.effectivePhase(at: now).name.rawValue,
            "BREAKER_REASON": reason(for: rejection, state: state),
            "BREAKER_FAILURES": String(state.consecutiveFailures),
            "BREAKER_COMMAND": arguments.map(ShellQuote.quote).joined(separator: " "),
        ]
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
    private static func reason(for rejection: Rejection, state: BreakerState) -> String {
        switch rejection {
        case .open, .held: state.openReason ?? rejection.description
        case .trialsTaken, .concurrencyLimit: rejection.description
        }
    }

    /// Runs the fallbacks in order until one applies.
    /// - Parameters:
    ///   - fallbacks: the breaker's fallbacks.
    ///   - breaker: the breaker.
    ///   - state: the breaker's state at the rejection.
    ///   - rejection: why the call was rejected.
    ///   - arguments: the rejected call's argv.
    ///   - now: the time of the rejection.
    /// - Returns: how the fallback that answered ended, or nil when none did.
    public func run(_ fallbacks: [FallbackSpecification], for breaker: BreakerConfiguration, state: BreakerState, rejection: Rejection, arguments: [String], now: Instant) -> FallbackRun? {
        let variables = Self.variables(for: breaker, state: state, rejection: rejection, arguments: arguments, now: now)
        var failed: FallbackRun?
        for (index, fallback) in fallbacks.enumerated() {
            let argv: [String]
            switch fallback {
            case .fixed(let output, let exitCode):
                do {
                    try StandardOutput.write(output)
                } catch {
                    logger.error("\(breaker.name): the fallback's output was lost: \(error)")
                    return .outputLost(error)
                }
                return .fixed(exitCode: exitCode)
            case .cached(let maxAge, _, let exitCode):
                guard let cached = cache(breaker.name) else {
                    logger.info("\(breaker.name): no cached output; trying the next fallback")
                    continue
                }
                let age = Duration.nanoseconds(max(0, now.wallNanoseconds - cached.writtenAtWallNanoseconds))
                if let maxAge, age > maxAge {
                    logger.info("\(breaker.name): cached output is \(DurationFormat.string(age)) old, over max_age \(DurationFormat.string(maxAge)); trying the next fallback")
                    continue
                }
                do {
                    try StandardOutput.write(bytes: cached.bytes)
                } catch {
                    logger.error("\(breaker.name): the cached output was lost: \(error)")
                    return .outputLost(error)
                }
                return .cached(age: age, exitCode: exitCode)
            case .command(let command):
                argv = command
            case .shell(let script):
                argv = ["/bin/sh", "-c", script, breaker.name] + arguments
            }
            let specification = ProcessSpecification(
                arguments: argv,
                environment: environment.merging(breaker.environment) { $1 }.merging(variables) { $1 },
                workingDirectory: breaker.workingDirectory,
                timeout: breaker.timeout,
                killAfter: breaker.killAfter
            )
            do {
                let result = try supervisor.run(specification)
                if result.timedOut, let timeout = breaker.timeout {
                    logger.error("\(breaker.name): the fallback timed out after \(DurationFormat.string(timeout)); killed")
                }
                let answer = FallbackRun.process(result.termination, timedOut: result.timedOut)
                if result.termination == .exited(0) && !result.timedOut { return answer }
                // A failed fallback hands over to the next; the last one's
                // result stands. What it printed has already reached stdout.
                failed = answer
                if index < fallbacks.count - 1 {
                    logger.info("\(breaker.name): fallback \(Self.describe(result.termination, timedOut: result.timedOut)); trying the next fallback")
                }
            } catch {
                logger.error("\(breaker.name): fallback could not start: \(error)")
            }
        }
        return failed
    }

    /// How a failed fallback process ended, for the line that hands over.
    private static func describe(_ termination: Termination, timedOut: Bool) -> String {
        if timedOut { return "timed out" }
        switch termination {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "was killed by \(SignalName.of(signal))"
        }
    }
}
