import CircuitBreaker
import Logging

/// Runs one call under its breaker: admission under the state lock, the call
/// with the lock released (holding a trial permit when it is a trial), the
/// outcome recorded under the lock again, and a fallback for a rejected call.
///
/// The state lock is held only for the two read-modify-writes, never while
/// the call runs (DESIGN, "State").
public struct BreakerRunner {
    /// Where breaker state lives.
    public var store: FileStateStore
    /// Where notices, warnings and errors go.
    public var logger: Logger
    /// breaker-run's own environment, which the call inherits.
    public var environment: [String: String]
    /// Starts and supervises the call and command fallbacks.
    public var supervisor: ProcessSupervisor
    /// This invocation's one line at the default level.
    private let budget = LineBudget()
    /// Reports transitions and runs `on_transition` hooks.
    public var reporter: TransitionReporter {
        TransitionReporter(logger: logger, environment: environment, supervisor: supervisor)
    }
    /// A source of random values in `0..<1`, for retry and backoff jitter.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    /// Creates a runner.
    /// - Parameters:
    ///   - store: the state store.
    ///   - logger: where messages go.
    ///   - environment: the environment the call inherits.
    ///   - supervisor: the process supervisor.
    public init(store: FileStateStore, logger: Logger, environment: [String: String], supervisor: ProcessSupervisor = ProcessSupervisor()) {
        self.store = store
        self.logger = logger
        self.environment = environment
        self.supervisor = supervisor
    }

    /// The argv of the call: `command` when given (from after `--`), else the
    /// breaker's configured call; nil when there is neither.
    /// - Parameters:
    ///   - breaker: the breaker's configuration.
    ///   - command: the command from the command line, if any.
    /// - Returns: the argv to execute.
    public static func arguments(for breaker: BreakerConfiguration, command: [String]) -> [String]? {
        if !command.isEmpty { return command }
        switch breaker.call {
        case .command(let argv): return argv
        case .shell(let script): return ["/bin/sh", "-c", script]
        case nil: return nil
        }
    }

    /// Runs `arguments` under `breaker`: through the bulkhead when the
    /// breaker has one, then attempt after attempt while the retry policy
    /// allows and the breaker admits them.
    ///
    /// A bulkhead slot is held for the whole invocation; no lock is held
    /// while waiting between attempts. Only the last attempt's result is
    /// returned; an attempt the breaker rejects ends the retries with that
    /// rejection (its fallback, or `open_exit_code`).
    /// - Parameters:
    ///   - arguments: the call's argv (see `arguments(for:command:)`).
    ///   - breaker: the breaker's configuration.
    ///   - force: run even when the breaker is open (`run --force`); the
    ///     outcome counts as a trial outcome, and there are no retries.
    /// - Returns: how the run ended. State that cannot be read or written is
    ///   warned about and the call runs unguarded (`on_state_error: fail-open`).
    public func run(_ arguments: [String], under breaker: BreakerConfiguration, force: Bool = false) -> RunResult {
        var slot: HeldLock?
        if let bulkhead = breaker.bulkhead {
            do {
                slot = try waitForSlot(of: breaker.name, in: bulkhead)
                if slot == nil {
                    return rejectByBulkhead(bulkhead, breaker: breaker, arguments: arguments)
                }
            } catch {
                logger.warning("\(breaker.name): concurrency slot unavailable (\(error)); running the call without the limit")
            }
        }
        defer { slot?.release() }

        let attempts = force ? 1 : (breaker.retry?.attempts ?? 1)
        var attempt = 1
        while true {
            let (result, outcome) = runOnce(arguments, under: breaker, force: force)
            guard let retry = breaker.retry, case .failure(let reason)? = outcome, attempt < attempts else {
                return result
            }
            let delay = retry.delay(after: attempt, random: random())
            logger.info("\(breaker.name): attempt \(attempt) of \(attempts) failed (\(reason)); next in \(DurationFormat.string(delay))")
            Pause.sleep(for: delay)
            attempt += 1
        }
    }

    /// One attempt: admission, the call, its outcome recorded.
    /// - Returns: the result, and the outcome when the call ran.
    /// - Parameter allowsProbe: false after a probe in this attempt, so that
    ///   an inconclusive (ignored) probe lets the real call be the trial
    ///   rather than probing again.
    private func runOnce(_ arguments: [String], under breaker: BreakerConfiguration, force: Bool, allowsProbe: Bool = true) -> (RunResult, Outcome?) {
        let name = breaker.name
        var permit: HeldLock?
        var snapshot = BreakerState()
        var decidedAt: Instant?
        var transitions: [Transition] = []
        let actor = force ? Actor.current() : nil
        let admission: Admission?
        var permitError: (any Error)?
        do {
            admission = try store.update(name) { state, now in
                let before = state.generation
                let decision: Admission
                if force {
                    decision = .admitted(state.admitForced(at: now, by: actor))
                } else {
                    decision = state.admit(at: now, policy: breaker.policy) {
                        do {
                            permit = try store.acquirePermit(name, slots: breaker.policy.halfOpenMaxCalls)
                        } catch {
                            permitError = error
                        }
                        return permit != nil
                    }
                }
                if case .rejected = decision, !breaker.fallbacks.isEmpty {
                    state.counts.fallbacks += 1
                }
                transitions = state.transitions(after: before)
                snapshot = state
                decidedAt = now
                return decision
            }
            if let permitError {
                logger.warning("\(name): trial permit unavailable (\(permitError)); the call is not let through as a trial")
            }
            // Reported once stored: a transition that was not written did not happen.
            reporter.report(transitions, of: breaker, state: snapshot, at: decidedAt!, budget: budget)
        } catch {
            logger.warning("\(name): breaker state unavailable (\(error)); running the call unguarded")
            admission = nil
        }

        switch admission {
        case .rejected(let rejection)?:
            return (reject(rejection, breaker: breaker, state: snapshot, at: decidedAt!, arguments: arguments), nil)
        case .admitted(let ticket)? where ticket.isTrial && !ticket.isForced && allowsProbe && breaker.probe != nil:
            return runProbe(breaker.probe!, as: ticket, arguments: arguments, breaker: breaker, releasing: &permit)
        case .admitted(let ticket)?:
            let result = call(arguments, breaker: breaker)
            // A transition the outcome causes is the line that matters; these
            // notes follow it at info level, or stand in for it.
            record(result.outcome, ticket: ticket, breaker: breaker, releasing: &permit)
            if force { logger.log(level: budget.take(), "\(name): forced past the breaker (\(snapshot.phase.name.rawValue))") }
            if case .ran(let run) = result.run, run.timedOut, let timeout = breaker.timeout {
                logger.log(level: budget.take(), "\(name): call timed out after \(DurationFormat.string(timeout)); killed")
            }
            return (result.run, result.outcome)
        case nil:
            let result = call(arguments, breaker: breaker)
            return (result.run, result.outcome)
        }
    }

    /// Runs the probe as the half-open trial, classified by the breaker's own
    /// `success_exit_codes` and `ignore_exit_codes` (so that a monitoring
    /// plugin's 0/1/2/3 can be mapped), records its outcome, and then
    /// makes the real attempt: a passing probe has closed the breaker, so the
    /// call runs; a failing one has reopened it, so the attempt is rejected
    /// (fallback or `open_exit_code`); after an ignored one the breaker is
    /// still half-open and the real call is the trial.
    private func runProbe(_ probe: Probe, as ticket: Ticket, arguments: [String], breaker: BreakerConfiguration, releasing permit: inout HeldLock?) -> (RunResult, Outcome?) {
        var checker = breaker
        checker.timeout = probe.timeout ?? breaker.timeout
        checker.slowCallDuration = nil
        let argv: [String]
        switch probe.call {
        case .command(let command): argv = command
        case .shell(let script): argv = ["/bin/sh", "-c", script]
        }
        let result = call(argv, breaker: checker, label: "probe", isBackground: true)
        record(result.outcome, ticket: ticket, breaker: breaker, releasing: &permit)
        switch (result.run, result.outcome) {
        case (.ran(let run), _) where run.interruption != nil:
            return (result.run, result.outcome)
        case (.launchFailed, _):
            return (result.run, result.outcome)
        case (_, .success):
            logger.info("\(breaker.name): probe passed; running the call")
        case (_, .failure(let reason)):
            logger.log(level: budget.take(), "\(breaker.name): probe failed (\(reason))")
        case (_, .ignored(let reason)):
            logger.log(level: budget.take(), "\(breaker.name): probe ignored (\(reason))")
        }
        return runOnce(arguments, under: breaker, force: false, allowsProbe: false)
    }

    /// A free bulkhead slot, waiting for one up to `max_wait`.
    /// - Returns: the slot, or nil when none came free in time.
    private func waitForSlot(of name: String, in bulkhead: Bulkhead) throws -> HeldLock? {
        let clock = ContinuousClock()
        let deadline = clock.now + bulkhead.maxWait
        while true {
            if let slot = try store.acquireSlot(name, slots: bulkhead.maxConcurrent) { return slot }
            if clock.now >= deadline { return nil }
            Pause.sleep(for: min(.milliseconds(20), deadline - clock.now))
        }
    }

    /// Counts a rejection by the bulkhead and answers it as any rejection.
    private func rejectByBulkhead(_ bulkhead: Bulkhead, breaker: BreakerConfiguration, arguments: [String]) -> RunResult {
        let rejection = Rejection.concurrencyLimit(maxConcurrent: bulkhead.maxConcurrent)
        do {
            let (state, now) = try store.update(breaker.name) { state, now in
                state.counts.rejected += 1
                if !breaker.fallbacks.isEmpty { state.counts.fallbacks += 1 }
                return (state, now)
            }
            return reject(rejection, breaker: breaker, state: state, at: now, arguments: arguments)
        } catch {
            logger.warning("\(breaker.name): rejection not recorded (\(error))")
            let (state, now) = (try? store.read(breaker.name)) ?? (BreakerState(), Instant(monotonicNanoseconds: 0, wallNanoseconds: 0))
            return reject(rejection, breaker: breaker, state: state, at: now, arguments: arguments)
        }
    }

    private func call(_ arguments: [String], breaker: BreakerConfiguration, label: String = "call", isBackground: Bool = false) -> (run: RunResult, outcome: Outcome) {
        var callEnvironment = environment.merging(breaker.environment) { $1 }
        callEnvironment["BREAKER_NAME"] = breaker.name
        let specification = ProcessSpecification(
            arguments: arguments,
            environment: callEnvironment,
            workingDirectory: breaker.workingDirectory,
            timeout: breaker.timeout,
            killAfter: breaker.killAfter,
            isBackground: isBackground
        )
        do {
            let result = try supervisor.run(specification)
            let outcome = CallClassifier.classify(result, for: breaker)
            if result.timedOut, let timeout = breaker.timeout, label != "call" {
                logger.log(level: budget.take(), "\(breaker.name): \(label) timed out after \(DurationFormat.string(timeout)); killed")
            }
            logger.info("\(breaker.name): \(label): \(Self.describe(outcome)) after \(DurationFormat.string(result.duration))")
            let run = CallRun(termination: result.termination, timedOut: result.timedOut, interruption: result.interruption, outcome: outcome)
            return (.ran(run), outcome)
        } catch {
            logger.error("\(breaker.name): \(label == "call" ? "" : "\(label): ")\(error)")
            return (.launchFailed(error), .ignored(reason: "could not start: \(error)"))
        }
    }

    private func record(_ outcome: Outcome, ticket: Ticket, breaker: BreakerConfiguration, releasing permit: inout HeldLock?) {
        let jitter = random()
        do {
            let (transitions, state, now) = try store.update(breaker.name) { state, now in
                let before = state.generation
                state.record(outcome, for: ticket, at: now, policy: breaker.policy, random: jitter)
                // Released under the state lock, once the outcome is decided, so
                // that the next trial sees this one's result.
                permit?.release()
                permit = nil
                return (state.transitions(after: before), state, now)
            }
            reporter.report(transitions, of: breaker, state: state, at: now, budget: budget)
        } catch {
            logger.warning("\(breaker.name): outcome not recorded (\(error))")
        }
        permit?.release()
    }

    private func reject(_ rejection: Rejection, breaker: BreakerConfiguration, state: BreakerState, at now: Instant, arguments: [String]) -> RunResult {
        let runner = FallbackRunner(supervisor: supervisor, environment: environment, logger: logger)
        if let answer = runner.run(breaker.fallbacks, for: breaker, state: state, rejection: rejection, arguments: arguments, now: now) {
            let how: String
            switch answer {
            case .process(.exited(0), timedOut: false), .fixed:
                how = "fallback answered"
            case .process(.exited(let code), timedOut: false):
                how = "fallback answered with exit status \(code)"
            case .process(.signaled(let signal), timedOut: false):
                how = "fallback was killed by \(SignalName.of(signal))"
            case .process(_, timedOut: true), .outputLost:
                how = "fallback failed"
            }
            logger.log(level: budget.take(), "\(breaker.name): rejected, \(describe(rejection, now: now)); \(how)")
            return .fellBack(rejection, answer)
        }
        logger.log(level: budget.take(), "\(breaker.name): rejected, \(describe(rejection, now: now)); exiting \(breaker.openExitCode)")
        return .rejected(rejection, exitCode: breaker.openExitCode)
    }

    private func describe(_ rejection: Rejection, now: Instant) -> String {
        switch rejection {
        case .open(let retryAfter): "breaker is open (next trial in \(retryAfter.secondsRoundedUp)s)"
        default: rejection.description
        }
    }

    private static func describe(_ outcome: Outcome) -> String {
        switch outcome {
        case .success: "success"
        case .failure(let reason): "failure (\(reason))"
        case .ignored(let reason): "ignored (\(reason))"
        }
    }

}
