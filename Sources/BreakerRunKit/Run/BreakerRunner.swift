#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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
    public var store: any StateBackend
    /// Where notices, warnings and errors go.
    public var logger: Logger
    /// breaker-run's own environment, which the call inherits.
    public var environment: [String: String]
    /// Starts and supervises the call and command fallbacks.
    public var supervisor: ProcessSupervisor
    /// This invocation's one line at the default level.
    private let budget = LineBudget()
    /// This invocation's one warning about unusable state.
    private let faults = StateFaultLatch()
    /// Reports transitions and runs `on_transition` hooks.
    public var reporter: TransitionReporter {
        TransitionReporter(logger: logger, environment: environment, supervisor: supervisor)
    }
    /// A source of random values in `0..<1`, for retry and backoff jitter.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    /// The kinds and plugins of this binary, which make the calls.
    public var registry: KindRegistry
    /// Writes a fallback's answer to standard output.
    public var write: ([UInt8]) throws(SystemError) -> Void = { bytes throws(SystemError) in try StandardOutput.write(bytes: bytes) }

    /// Creates a runner.
    /// - Parameters:
    ///   - store: the state store.
    ///   - logger: where messages go.
    ///   - environment: the environment the call inherits.
    ///   - supervisor: the process supervisor.
    ///   - registry: the kinds and plugins of this binary.
    public init(store: any StateBackend, logger: Logger, environment: [String: String], supervisor: ProcessSupervisor = ProcessSupervisor(),
                registry: KindRegistry) {
        self.store = store
        self.logger = logger
        self.environment = environment
        self.supervisor = supervisor
        self.registry = registry
    }

    /// The argv of the call: `command` when given (from after `--`), else the
    /// breaker's configured command or shell call; nil when there is
    /// neither, or the configured call is a network call.
    /// - Parameters:
    ///   - breaker: the breaker's configuration.
    ///   - command: the command from the command line, if any.
    /// - Returns: the argv to execute.
    public static func arguments(for breaker: BreakerConfiguration, command: [String]) -> [String]? {
        if !command.isEmpty { return command }
        return breaker.call?.processArguments
    }

    /// The call to run: `command` when given (from after `--`), else the
    /// breaker's configured call; nil when there is neither.
    /// - Parameters:
    ///   - breaker: the breaker's configuration.
    ///   - command: the command from the command line, if any.
    /// - Returns: the call.
    public static func call(for breaker: BreakerConfiguration, command: [String]) -> CallSpecification? {
        if !command.isEmpty { return .command(command) }
        return breaker.call
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
    ///   warned about once and the call runs unguarded
    ///   (`on_state_error: fail-open`), or the call does not run and the
    ///   result is `.stateUnavailable` (`fail-closed`).
    public func run(_ arguments: [String], under breaker: BreakerConfiguration, force: Bool = false) -> RunResult {
        run(.command(arguments), under: breaker, force: force)
    }

    /// Runs `call` under `breaker`, as `run(_:under:force:)` runs an argv:
    /// the same admission, retries, bulkhead and probe, whatever the call's
    /// kind.
    /// - Parameters:
    ///   - call: the call (see `call(for:command:)`).
    ///   - breaker: the breaker's configuration.
    ///   - force: run even when the breaker is open (`run --force`).
    /// - Returns: how the run ended.
    public func run(_ call: CallSpecification, under breaker: BreakerConfiguration, force: Bool = false) -> RunResult {
        let arguments = call.processArguments ?? []
        var slot: (any StatePermit)?
        if let bulkhead = breaker.bulkhead {
            do {
                slot = try waitForSlot(of: breaker.name, in: bulkhead)
                if slot == nil {
                    return rejectByBulkhead(bulkhead, breaker: breaker, call: call, arguments: arguments)
                }
            } catch {
                if let refusal = fault(error, breaker: breaker, doing: "concurrency slot unavailable", otherwise: "running the call without the limit") {
                    return refusal
                }
            }
        }
        defer { slot?.release() }

        let attempts = force ? 1 : (breaker.retry?.attempts ?? 1)
        var attempt = 1
        while true {
            let (result, outcome) = runOnce(call, arguments: arguments, under: breaker, force: force)
            guard let retry = breaker.retry, case .failure(let reason)? = outcome, attempt < attempts else {
                budget.flush(to: logger)
                return result
            }
            attempt += 1
            // An attempt that opened the breaker ends the retries: the next
            // attempt is rejected at once (fallback or `open_exit_code`, with
            // its notice) instead of after a delay that cannot change that.
            if isRejecting(breaker) { continue }
            budget.dropHeld()
            let delay = retry.delay(after: attempt - 1, random: random())
            logger.info("\(breaker.name): attempt \(attempt - 1) of \(attempts) failed (\(reason)); next in \(DurationFormat.string(delay))")
            Pause.sleep(for: delay)
        }
    }

    /// Whether the breaker now rejects calls (open, or held open); false
    /// when its state cannot be read, so that retries go on as configured.
    private func isRejecting(_ breaker: BreakerConfiguration) -> Bool {
        guard let (state, now) = try? store.read(breaker.name) else { return false }
        switch state.effectivePhase(at: now) {
        case .open, .held: return true
        case .closed, .halfOpen: return false
        }
    }

    /// One attempt: admission, the call, its outcome recorded.
    /// - Returns: the result, and the outcome when the call ran.
    /// - Parameter allowsProbe: false after a probe in this attempt, so that
    ///   an inconclusive (ignored) probe lets the real call be the trial
    ///   rather than probing again.
    private func runOnce(_ callSpecification: CallSpecification, arguments: [String], under breaker: BreakerConfiguration, force: Bool, allowsProbe: Bool = true) -> (RunResult, Outcome?) {
        let name = breaker.name
        var permit: (any StatePermit)?
        var snapshot = BreakerState()
        var decidedAt: Instant?
        var transitions: [Transition] = []
        var stored: [Transition] = []
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
                            permit = try store.takePermit(name, slots: breaker.policy.halfOpenMaxCalls)
                        } catch {
                            permitError = error
                        }
                        return permit != nil
                    }
                }
                transitions = state.transitions(after: before)
                snapshot = state
                decidedAt = now
                return decision
            }
            if let permitError {
                faults.warn(logger, "\(name): trial permit unavailable (\(permitError)); the call is not let through as a trial")
            }
            // Reported once stored: a transition that was not written did not
            // happen. Its hooks run once the call (or the rejection's
            // fallback) has ended: a slow hook must not delay the call.
            reporter.report(transitions, of: breaker, state: snapshot, at: decidedAt!, budget: budget, runsHooks: false)
            stored = transitions
        } catch {
            if let refusal = fault(error, breaker: breaker, doing: "breaker state unavailable", otherwise: "running the call unguarded") {
                return (refusal, nil)
            }
            admission = nil
        }

        // Runs the admission's hooks once: before those of the outcome's
        // transitions, so that hooks run in the order of the transitions,
        // or when the run ends.
        func runAdmissionHooks() {
            if let decidedAt, !stored.isEmpty {
                reporter.runHooks(for: stored, of: breaker, state: snapshot, at: decidedAt)
            }
            stored = []
        }
        defer { runAdmissionHooks() }
        switch admission {
        case .rejected(let rejection)?:
            return (reject(rejection, breaker: breaker, state: snapshot, at: decidedAt!, call: callSpecification, arguments: arguments), nil)
        case .admitted(let ticket)? where ticket.isTrial && !ticket.isForced && allowsProbe && breaker.probe != nil:
            return runProbe(breaker.probe!, as: ticket, call: callSpecification, arguments: arguments, breaker: breaker, releasing: &permit,
                            hooksFirst: runAdmissionHooks)
        case .admitted(let ticket)?:
            let result = call(callSpecification, arguments: arguments, breaker: breaker)
            // A network call's failure has no program of its own to say why:
            // its reason goes into the opening's line, or is the line.
            let isNetwork = callSpecification.processArguments == nil
            let cause: String? = if isNetwork, case .failure(let reason) = result.outcome { reason } else { nil }
            // A transition the outcome causes is the line that matters; these
            // notes follow it at info level, or stand in for it.
            record(result.outcome, ticket: ticket, breaker: breaker, openFor: result.retryAfter, releasing: &permit, cause: cause,
                   hooksFirst: runAdmissionHooks)
            if case .ran(let run) = result.ending, let lost = run.outputLost {
                // A reader that went away is said by SIGPIPE, as without the copy.
                if lost.errno != EPIPE { logger.error("\(name): the call's output was lost (\(lost)); exiting 74") }
            } else {
                keep(result, of: callSpecification, under: breaker)
            }
            if force { logger.log(level: budget.takeLevel(), "\(name): forced past the breaker (\(snapshot.phase.name.rawValue))") }
            if case .ran(let run) = result.ending, run.timedOut, let timeout = breaker.timeout {
                // Only a process is killed; a network call is abandoned.
                logger.log(level: budget.takeLevel(), "\(name): call timed out after \(DurationFormat.string(timeout))\(isNetwork ? "" : "; killed")")
            } else if let cause, case .ran(let run) = result.ending, run.termination != .exited(0) {
                // Said at the end of the invocation, unless a retry follows
                // or a more notable line (an opening) was said meanwhile.
                budget.hold("\(name): call failed: \(cause)")
            }
            return (RunResult(result.ending), result.outcome)
        case nil:
            let result = call(callSpecification, arguments: arguments, breaker: breaker)
            return (RunResult(result.ending), result.outcome)
        }
    }

    /// Runs the probe as the half-open trial, classified by the breaker's own
    /// `success_exit_codes` and `ignore_exit_codes` (so that a monitoring
    /// plugin's 0/1/2/3 can be mapped), records its outcome, and then
    /// makes the real attempt: a passing probe has closed the breaker, so the
    /// call runs; a failing one has reopened it, so the attempt is rejected
    /// (fallback or `open_exit_code`); after an ignored one the breaker is
    /// still half-open and the real call is the trial.
    private func runProbe(_ probe: Probe, as ticket: Ticket, call callSpecification: CallSpecification, arguments: [String], breaker: BreakerConfiguration,
                          releasing permit: inout (any StatePermit)?, hooksFirst: () -> Void) -> (RunResult, Outcome?) {
        var checker = breaker
        checker.timeout = probe.timeout ?? breaker.timeout
        checker.slowCallDuration = nil
        let result = call(probe.call, arguments: nil, breaker: checker, role: .probe, isBackground: true)
        record(result.outcome, ticket: ticket, breaker: breaker, openFor: result.retryAfter, releasing: &permit, hooksFirst: hooksFirst)
        switch (result.ending, result.outcome) {
        case (.ran(let run), _) where run.interruption != nil:
            return (RunResult(result.ending), result.outcome)
        case (.launchFailed, _):
            return (RunResult(result.ending), result.outcome)
        case (_, .success):
            logger.info("\(breaker.name): probe passed; running the call")
        case (_, .failure(let reason)):
            logger.log(level: budget.takeLevel(), "\(breaker.name): probe failed (\(reason))")
        case (_, .ignored(let reason)):
            logger.log(level: budget.takeLevel(), "\(breaker.name): probe ignored (\(reason))")
        }
        return runOnce(callSpecification, arguments: arguments, under: breaker, force: false, allowsProbe: false)
    }

    /// A free bulkhead slot, waiting for one up to `max_wait`.
    /// - Returns: the slot, or nil when none came free in time.
    private func waitForSlot(of name: String, in bulkhead: Bulkhead) throws -> (any StatePermit)? {
        let clock = ContinuousClock()
        let deadline = clock.now + bulkhead.maxWait
        while true {
            if let slot = try store.takeSlot(name, slots: bulkhead.maxConcurrent) { return slot }
            if clock.now >= deadline { return nil }
            Pause.sleep(for: min(.milliseconds(20), deadline - clock.now))
        }
    }

    /// Counts a rejection by the bulkhead and answers it as any rejection.
    private func rejectByBulkhead(_ bulkhead: Bulkhead, breaker: BreakerConfiguration, call: CallSpecification, arguments: [String]) -> RunResult {
        let rejection = Rejection.concurrencyLimit(maxConcurrent: bulkhead.maxConcurrent)
        do {
            let (state, now) = try store.update(breaker.name) { state, now in
                state.counts.rejected += 1
                return (state, now)
            }
            return reject(rejection, breaker: breaker, state: state, at: now, call: call, arguments: arguments)
        } catch {
            faults.warn(logger, "\(breaker.name): rejection not recorded (\(error))")
            let (state, now) = (try? store.read(breaker.name)) ?? (BreakerState(), Instant(monotonicNanoseconds: 0, wallNanoseconds: 0))
            return reject(rejection, breaker: breaker, state: state, at: now, call: call, arguments: arguments)
        }
    }

    private func call(_ specification: CallSpecification, arguments: [String]?, breaker: BreakerConfiguration, role: CallRole = .call, isBackground: Bool = false) -> CallResult {
        var call = specification.makeCall(arguments: arguments, registry: registry)
        if var process = call as? ProcessCall {
            process.supervisor = supervisor
            call = process
        }
        let context = CallContext(breaker: breaker, environment: environment, role: role, isBackground: isBackground,
                                  captureLimit: isBackground ? nil : breaker.cacheLimit, logger: logger)
        return call.run(context)
    }

    /// The key under which the output of `call` is cached: empty for the
    /// breaker's configured call (`NAME/cache`), else a digest of the argv
    /// (`NAME/cache.KEY`), so that a one-off command never replaces, nor is
    /// served for, another call's answer.
    /// - Parameters:
    ///   - call: the call that ran, or that was rejected.
    ///   - breaker: the breaker.
    /// - Returns: the key.
    public static func cacheKey(for call: CallSpecification, of breaker: BreakerConfiguration) -> String {
        if call == breaker.call { return "" }
        // NUL cannot occur in an argument, so the joined argv names one argv.
        let identity = (call.processArguments ?? []).joined(separator: "\0")
        let digest = String(fnv1a64(identity.utf8), radix: 16)
        return String(repeating: "0", count: 16 - digest.count) + digest
    }

    /// Keeps a successful call's stdout for the `cached` fallback, for that call.
    private func keep(_ result: CallResult, of call: CallSpecification, under breaker: BreakerConfiguration) {
        guard let limit = breaker.cacheLimit, result.outcome == .success else { return }
        guard let output = result.output else {
            logger.notice("\(breaker.name): output not cached: larger than max_size (\(limit) bytes)")
            return
        }
        do {
            try store.writeCache(breaker.name, key: Self.cacheKey(for: call, of: breaker), bytes: output)
        } catch {
            logger.warning("\(breaker.name): output not cached (\(error))")
        }
    }

    /// Records an outcome and reports its transitions; `hooksFirst` runs
    /// the hooks of earlier transitions (the admission's) before theirs.
    private func record(_ outcome: Outcome, ticket: Ticket, breaker: BreakerConfiguration, openFor retryAfter: Duration? = nil,
                        releasing permit: inout (any StatePermit)?, cause: String? = nil, hooksFirst: () -> Void = {}) {
        let jitter = random()
        do {
            let (transitions, state, now) = try store.update(breaker.name) { state, now in
                let before = state.generation
                state.record(outcome, for: ticket, at: now, policy: breaker.policy, random: jitter, openFor: retryAfter)
                // Released under the state lock, once the outcome is decided, so
                // that the next trial sees this one's result.
                permit?.release()
                permit = nil
                return (state.transitions(after: before), state, now)
            }
            reporter.report(transitions, of: breaker, state: state, at: now, budget: budget, cause: cause, runsHooks: false)
            hooksFirst()
            reporter.runHooks(for: transitions, of: breaker, state: state, at: now)
        } catch {
            faults.warn(logger, "\(breaker.name): outcome not recorded (\(error))")
        }
        permit?.release()
    }

    private func reject(_ rejection: Rejection, breaker: BreakerConfiguration, state: BreakerState, at now: Instant,
                        call: CallSpecification, arguments: [String]) -> RunResult {
        let key = Self.cacheKey(for: call, of: breaker)
        var runner = FallbackRunner(supervisor: supervisor, environment: environment, logger: logger)
        runner.write = write
        runner.cache = { name in
            do {
                return try store.readCache(name, key: key)
            } catch {
                // Said, not swallowed: a planted link or an unreadable file
                // would otherwise look like an empty cache.
                logger.warning("\(name): cached output not used (\(error)); trying the next fallback")
                return nil
            }
        }
        if let answer = runner.run(breaker.fallbacks, for: breaker, state: state, rejection: rejection, arguments: arguments, now: now) {
            // Answered: it gave its output and exited, whatever its status.
            // Timed out, killed or unable to write: it did not answer.
            let (how, answered): (String, Bool)
            switch answer {
            case .process(.exited(0), timedOut: false):
                (how, answered) = ("fallback answered", true)
            case .answered(_, let answer):
                (how, answered) = (answer, true)
            case .process(.exited(let code), timedOut: false):
                (how, answered) = ("fallback answered with exit status \(code)", true)
            case .process(.signaled(let signal), timedOut: false):
                (how, answered) = ("fallback was killed by \(SignalName.of(signal))", false)
            case .process(_, timedOut: true), .outputLost:
                (how, answered) = ("fallback failed", false)
            }
            if answered { countFallback(of: breaker) }
            logger.log(level: budget.takeLevel(), "\(breaker.name): rejected, \(describe(rejection, now: now)); \(how)")
            return .fellBack(rejection, answer)
        }
        logger.log(level: budget.takeLevel(), "\(breaker.name): rejected, \(describe(rejection, now: now)); exiting \(breaker.openExitCode)")
        return .rejected(rejection, exitCode: breaker.openExitCode)
    }

    /// Counts a rejected call that a fallback answered (`counts.fallbacks`),
    /// once it has: a rejection whose fallbacks all declined (no fresh
    /// cache), or whose fallback timed out, was killed or could not write
    /// its output, is not counted as answered.
    private func countFallback(of breaker: BreakerConfiguration) {
        do {
            try store.update(breaker.name) { state, _ in
                if state.counts.fallbacks < .max { state.counts.fallbacks += 1 }
            }
        } catch {
            faults.warn(logger, "\(breaker.name): fallback not counted (\(error))")
        }
    }

    /// Applies `on_state_error` to a state fault: nil to go on (after one
    /// warning per invocation, fail-open), or the result that ends the run
    /// without the call (fail-closed, exit 74).
    private func fault(_ error: any Error, breaker: BreakerConfiguration, doing what: String, otherwise fallback: String) -> RunResult? {
        switch breaker.onStateError {
        case .failOpen:
            faults.warn(logger, "\(breaker.name): \(what) (\(error)); \(fallback)")
            return nil
        case .failClosed:
            let message = "\(breaker.name): \(what) (\(error)); not running the call (on_state_error: fail-closed)"
            logger.error("\(message)")
            return .stateUnavailable(message)
        }
    }

    private func describe(_ rejection: Rejection, now: Instant) -> String {
        switch rejection {
        case .open(let retryAfter): "breaker is open (next trial in \(retryAfter.secondsRoundedUp)s)"
        default: rejection.description
        }
    }
}
