import CircuitBreaker
import Logging

/// Tells the world about a breaker's transitions once they are stored: one
/// notice per transition, and the breaker's `on_transition` hook run once for
/// each, by the process that made it, outside the state lock.
public struct TransitionReporter {
    /// Where notices and hook warnings go.
    public var logger: Logger
    /// breaker-run's own environment, which hooks inherit.
    public var environment: [String: String]
    /// Starts hooks.
    public var supervisor: ProcessSupervisor

    /// Creates a reporter.
    /// - Parameters:
    ///   - logger: where messages go.
    ///   - environment: the environment hooks inherit.
    ///   - supervisor: starts hooks.
    public init(logger: Logger, environment: [String: String], supervisor: ProcessSupervisor = ProcessSupervisor()) {
        self.logger = logger
        self.environment = environment
        self.supervisor = supervisor
    }

    /// The variables a hook gets for one transition, from DESIGN's
    /// "Environment given to fallbacks and hooks".
    /// - Parameters:
    ///   - transition: the transition.
    ///   - breaker: the breaker.
    ///   - state: the breaker's state after the transition was stored.
    ///   - now: when it was stored.
    /// - Returns: the variables by name.
    public static func variables(for transition: Transition, of breaker: BreakerConfiguration, state: BreakerRecord, at now: Instant) -> [String: String] {
        var variables = breaker.nameVariables
        variables.merge([
            "BREAKER_FROM": transition.from.rawValue,
            "BREAKER_TO": transition.to.rawValue,
            "BREAKER_STATE": transition.to.rawValue,
            "BREAKER_REASON": transition.reason,
            "BREAKER_FAILURES": String(state.consecutiveFailures),
        ]) { $1 }
        if let opened = state.openedAt {
            variables["BREAKER_OPENED_AT"] = formatRFC3339(wallNanoseconds: opened.wallNanoseconds)
        }
        if let retryAfter = state.retryAfter(at: now) {
            variables["BREAKER_RETRY_AFTER"] = String(retryAfter.secondsRoundedUp)
        }
        return variables
    }

    /// Reports stored transitions: a notice for each, then the hook for each.
    /// A hook that fails, times out or cannot start is a warning; it never
    /// changes the call's result.
    /// - Parameters:
    ///   - transitions: the transitions, oldest first.
    ///   - breaker: the breaker.
    ///   - state: the breaker's state after they were stored.
    ///   - now: when they were stored.
    ///   - budget: the invocation's one line at the default level, when the
    ///     caller keeps to that rule; nil to report each transition as a notice.
    ///   - cause: the failure that caused an opening, when nothing else says
    ///     it (the reason of an `http` or `tcp` call's failure): added to the
    ///     notice of a transition into open as `; last: CAUSE`, so that the
    ///     invocation's one line says both what happened and why.
    ///   - runsHooks: false to leave the hooks to a later
    ///     `runHooks(for:of:state:at:)`, for transitions made on admission,
    ///     whose hooks must not delay the call.
    public func report(_ transitions: [Transition], of breaker: BreakerConfiguration, state: BreakerRecord, at now: Instant,
                       budget: LineBudget? = nil, cause: String? = nil, runsHooks: Bool = true) {
        for transition in transitions {
            // Entering half-open is a step on the way: the trial's outcome
            // (closed, or open again) is the line that matters, so that a
            // trial prints one line at the default level, not two.
            let level: Logger.Level = transition.to == .halfOpen ? .info : (budget?.takeLevel() ?? .notice)
            let last = transition.to == .open ? cause.map { "; last: \($0)" } ?? "" : ""
            logger.log(
                level: level,
                "\(breaker.name): \(transition.from.rawValue) -> \(transition.to.rawValue) (\(transition.reason)\(last))",
                metadata: Self.metadata(for: transition, of: breaker.name)
            )
        }
        if runsHooks { runHooks(for: transitions, of: breaker, state: state, at: now) }
    }

    /// Runs the breaker's `on_transition` hook once for each transition, one
    /// after the other. A hook that fails, times out or cannot start is a
    /// warning.
    /// - Parameters:
    ///   - transitions: the stored transitions, oldest first.
    ///   - breaker: the breaker.
    ///   - state: the breaker's state after they were stored.
    ///   - now: when they were stored.
    public func runHooks(for transitions: [Transition], of breaker: BreakerConfiguration, state: BreakerRecord, at now: Instant) {
        guard let hook = breaker.onTransition else { return }
        for transition in transitions {
            // The configuration allows only command and shell hooks.
            guard let argv = hook.call.processArguments(scriptName: breaker.name) else { return }
            let specification = ProcessSpecification(
                arguments: argv,
                environment: environment.merging(breaker.environment) { $1 }.merging(Self.variables(for: transition, of: breaker, state: state, at: now)) { $1 },
                workingDirectory: breaker.workingDirectory,
                timeout: hook.timeout,
                killAfter: .seconds(1),
                isBackground: true
            )
            do {
                let result = try supervisor.run(specification)
                if result.timedOut {
                    logger.warning("\(breaker.name): on_transition hook timed out after \(DurationFormat.string(hook.timeout)); killed")
                } else if result.termination != .exited(0) {
                    logger.warning("\(breaker.name): on_transition hook \(Self.describe(result.termination))")
                }
            } catch {
                logger.warning("\(breaker.name): on_transition hook could not start: \(error)")
            }
        }
    }

    /// The metadata of a transition's log message, by which log handlers
    /// (syslog) recognise transitions: `event: transition`, `breaker`,
    /// `from`, `to`, `reason`.
    /// - Parameters:
    ///   - transition: the transition.
    ///   - name: the breaker's name.
    /// - Returns: the metadata.
    public static func metadata(for transition: Transition, of name: String) -> Logger.Metadata {
        [
            "event": "transition",
            "breaker": .string(name),
            "from": .string(transition.from.rawValue),
            "to": .string(transition.to.rawValue),
            "reason": .string(transition.reason),
        ]
    }

    private static func describe(_ termination: Termination) -> String {
        switch termination {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "was killed by \(SignalName.of(signal))"
        }
    }
}

/// The rule that an invocation prints at most one line at the default level
/// (notice), so that cron mails stay quiet: the first notable event of the
/// invocation is a notice, every later one is logged at info level (`-v`).
///
/// A line that matters only if nothing more notable happens (why the last
/// attempt of an `http` call failed) can be held until the invocation ends.
public final class LineBudget: @unchecked Sendable {
    private var isSpent = false
    private var held: String?

    /// Creates an unspent budget.
    public init() {}

    /// Spends the budget and says at which level to log the next notable
    /// line: notice the first time, info after.
    /// - Returns: the level to log at.
    public func takeLevel() -> Logger.Level {
        defer { isSpent = true }
        return isSpent ? .info : .notice
    }

    /// Holds `line` for `flush(to:)`, in place of any line held before.
    /// - Parameter line: the message, without the `breaker-run: ` prefix.
    public func hold(_ line: String) {
        held = line
    }

    /// Forgets the held line (an attempt that is retried is reported as such).
    public func dropHeld() {
        held = nil
    }

    /// Logs the held line, if any: at notice when nothing else took the
    /// budget, else at info (`-v`).
    /// - Parameter logger: where it goes.
    public func flush(to logger: Logger) {
        guard let line = held else { return }
        held = nil
        logger.log(level: takeLevel(), "\(line)")
    }
}
