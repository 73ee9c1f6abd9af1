import CircuitBreaker

/// A `command` or `shell` call: a process started and supervised by
/// `ProcessSupervisor`, its stdout and stderr passed through.
public struct ProcessCall: Call {
    /// The argv, `argv[0]` first.
    public var arguments: [String]
    /// Starts and supervises the process.
    public var supervisor: ProcessSupervisor

    /// Creates a process call.
    /// - Parameters:
    ///   - arguments: the argv.
    ///   - supervisor: the process supervisor.
    public init(arguments: [String], supervisor: ProcessSupervisor = ProcessSupervisor()) {
        self.arguments = arguments
        self.supervisor = supervisor
    }

    /// Runs the process under the breaker's `timeout` and `kill_after`, with
    /// breaker-run's environment, the breaker's `env` and `BREAKER_NAME`.
    /// - Parameter context: the breaker and the environment.
    /// - Returns: how it ended; `launchFailed` (ignored) when it could not start.
    public func run(_ context: CallContext) -> CallResult {
        let breaker = context.breaker
        let logger = context.logger
        var callEnvironment = context.environment.merging(breaker.environment) { $1 }
        callEnvironment.merge(breaker.nameVariables) { $1 }
        var specification = ProcessSpecification(
            arguments: arguments,
            environment: callEnvironment,
            workingDirectory: breaker.workingDirectory,
            timeout: breaker.timeout,
            killAfter: breaker.killAfter,
            isBackground: context.isBackground
        )
        let tee = context.isBackground ? nil : context.captureLimit.flatMap { OutputTee(limit: $0) }
        specification.standardOutput = tee?.writeEnd
        do throws(LaunchError) {
            let result: SupervisedResult
            do throws(LaunchError) {
                result = try supervisor.run(specification)
            } catch {
                _ = tee?.finish()
                throw error
            }
            let output = tee?.finish()
            let outcome = CallClassifier.classify(result, for: breaker)
            // The runner reports a call's timeout itself, within the
            // invocation's one line at the default level; a probe's is detail.
            if result.timedOut, let timeout = breaker.timeout, context.role != .call {
                logger.info("\(breaker.name): \(context.role) timed out after \(DurationFormat.string(timeout)); killed")
            }
            logger.info("\(breaker.name): \(context.role): \(outcome.summary) after \(DurationFormat.string(result.duration))")
            let run = CallRun(termination: result.termination, timedOut: result.timedOut, interruption: result.interruption,
                              outcome: outcome, outputLost: tee?.lostBecause)
            return CallResult(ending: .ran(run), outcome: outcome, output: output)
        } catch {
            logger.error("\(breaker.name): \(context.role == .call ? "" : "\(context.role): ")\(error)")
            return CallResult(ending: .launchFailed(error), outcome: .ignored(reason: "could not start: \(error)"))
        }
    }
}

extension Outcome {
    /// `success`, `failure (REASON)` or `ignored (REASON)`, for messages.
    package var summary: String {
        switch self {
        case .success: "success"
        case .failure(let reason): "failure (\(reason))"
        case .ignored(let reason): "ignored (\(reason))"
        }
    }
}
