import CircuitBreaker
import Logging

/// Runs one call under its breaker, in stages: the bulkhead and the retry
/// loop (here), one attempt (admission, the call, its outcome recorded:
/// `BreakerRunner+Attempt.swift`), the probe trial (`+Probe`), the answer to
/// a rejection (`+Rejection`) and the state-fault policy (`+StateFault`);
/// every line goes through one `RunNarrator`.
///
/// The state lock is held only for the read-modify-writes
/// (`StateTransaction`), never while the call runs (DESIGN, "State"). A
/// runner is made for one invocation: its narrator keeps that invocation's
/// one line.
public struct BreakerRunner {
    /// Where breaker state lives.
    public var store: any StateBackend
    /// Where notices, warnings and errors go.
    public var logger: Logger
    /// breaker-run's own environment, which the call inherits.
    public var environment: [String: String]
    /// Starts and supervises the call and command fallbacks.
    public var supervisor: ProcessSupervisor
    /// A source of random values in `0..<1`, for retry and backoff jitter.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    /// Waits between attempts and while a bulkhead is full; a test passes
    /// one that does not sleep.
    public var pause: (Duration) -> Void = { Pause.sleep(for: $0) }
    /// The kinds and plugins of this binary, which make the calls.
    public var registry: KindRegistry
    /// Writes a fallback's answer to standard output.
    public var write: ([UInt8]) throws(SystemError) -> Void = { bytes throws(SystemError) in try StandardOutput.write(bytes: bytes) }
    /// Opens a breaker's queue, for a `queue` fallback; nil when queues
    /// are not kept (the default).
    package var queue: (String) -> QueueStore? = { _ in nil }
    /// Reads the invocation's standard input, at most the given number of
    /// bytes, for a `queue` fallback.
    package var readInput: (Int) throws(SystemError) -> [UInt8] = { limit throws(SystemError) in
        try CurrentProcess.readStandardInput(limit: limit)
    }
    /// The invocation's working directory, for a `queue` fallback.
    package var workingDirectory: () -> String? = { CurrentProcess.workingDirectory() }
    /// Called once an outcome this invocation recorded closed the breaker
    /// (a trial, a probe or a forced call that succeeded): starts a drain
    /// of its queue (`drain: on_close`). Nothing by default.
    package var afterClose: (BreakerConfiguration) -> Void = { _ in }
    /// This invocation's lines.
    let narrator: RunNarrator

    /// Reports transitions and runs `on_transition` hooks.
    var reporter: TransitionReporter { narrator.reporter }
    /// The shared read-modify-write of a breaker's state.
    var transaction: StateTransaction { StateTransaction(store: store) }

    /// Creates the runner of one invocation.
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
        narrator = RunNarrator(logger: logger, reporter: TransitionReporter(logger: logger, environment: environment, supervisor: supervisor))
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

    /// Runs `call` under `breaker`: through the bulkhead when the breaker
    /// has one, then attempt after attempt while the retry policy allows and
    /// the breaker admits them, whatever the call's kind.
    ///
    /// A bulkhead slot is held for the whole invocation; no lock is held
    /// while waiting between attempts. Only the last attempt's result is
    /// returned; an attempt the breaker rejects ends the retries with that
    /// rejection (its fallback, or `open_exit_code`).
    /// - Parameters:
    ///   - call: the call (see `call(for:command:)`).
    ///   - breaker: the breaker's configuration.
    ///   - force: run even when the breaker is open (`run --force`); the
    ///     outcome counts as a trial outcome, and there are no retries.
    /// - Returns: how the run ended. State that cannot be read or written is
    ///   warned about once and the call runs unguarded
    ///   (`on_state_error: fail-open`), or the call does not run and the
    ///   result is `.stateUnavailable` (`fail-closed`).
    public func run(_ call: CallSpecification, under breaker: BreakerConfiguration, force: Bool = false) -> RunResult {
        let arguments = call.processArguments ?? []
        let slot: (any StatePermit)?
        switch takeSlot(breaker) {
        case .taken(let taken): slot = taken
        case .full(let bulkhead): return rejectByBulkhead(bulkhead, breaker: breaker, call: call, arguments: arguments)
        case .refused(let result): return result
        }
        defer { slot?.release() }

        let attempts = force ? 1 : (breaker.retry?.attempts ?? 1)
        var attempt = 1
        while true {
            let ended = self.attempt(call, arguments: arguments, under: breaker, force: force)
            guard let retry = breaker.retry, case .failure(let reason)? = ended.outcome, attempt < attempts else {
                narrator.finish()
                return ended.result
            }
            attempt += 1
            // An attempt that opened the breaker ends the retries: the next
            // attempt is rejected at once (fallback or `open_exit_code`, with
            // its notice) instead of after a delay that cannot change that.
            if isRejecting(breaker) { continue }
            let delay = retry.delay(after: attempt - 1, random: random())
            narrator.tell(.attemptFailed(breaker.name, attempt: attempt - 1, of: attempts, reason: reason, delay: delay))
            pause(delay)
        }
    }

    /// Whether the breaker now rejects calls (open, or held open); false
    /// when its state cannot be read, so that retries go on as configured.
    private func isRejecting(_ breaker: BreakerConfiguration) -> Bool {
        guard let (state, now) = try? store.read(breaker.name) else { return false }
        switch state.effectiveCircuitState(at: now) {
        case .open, .held: return true
        case .closed, .halfOpen: return false
        }
    }

    /// What the bulkhead stage decided.
    private enum SlotDecision {
        /// Go on, holding this slot (nil: the breaker has no bulkhead, or
        /// the slots could not be examined and the run goes on without).
        case taken((any StatePermit)?)
        /// No slot came free in time: the call is rejected.
        case full(Bulkhead)
        /// The slots could not be examined and the run ends (fail-closed).
        case refused(RunResult)
    }

    /// A bulkhead slot for the whole invocation, waiting for one up to
    /// `max_wait`, when the breaker has a bulkhead.
    private func takeSlot(_ breaker: BreakerConfiguration) -> SlotDecision {
        guard let bulkhead = breaker.bulkhead else { return .taken(nil) }
        do {
            guard let slot = try waitForSlot(of: breaker.name, in: bulkhead) else { return .full(bulkhead) }
            return .taken(slot)
        } catch {
            if let refusal = fault(error, breaker: breaker, doing: "concurrency slot unavailable", otherwise: "running the call without the limit") {
                return .refused(refusal)
            }
            return .taken(nil)
        }
    }

    /// A free bulkhead slot, waiting for one up to `max_wait`.
    /// - Returns: the slot, or nil when none came free in time.
    private func waitForSlot(of name: String, in bulkhead: Bulkhead) throws -> (any StatePermit)? {
        let clock = ContinuousClock()
        let deadline = clock.now + bulkhead.maxWait
        while true {
            if let slot = try store.takeSlot(name, slots: bulkhead.maxConcurrent) { return slot }
            if clock.now >= deadline { return nil }
            pause(min(.milliseconds(20), deadline - clock.now))
        }
    }

    /// Counts a rejection by the bulkhead and answers it as any rejection.
    private func rejectByBulkhead(_ bulkhead: Bulkhead, breaker: BreakerConfiguration, call: CallSpecification, arguments: [String]) -> RunResult {
        let rejection = Rejection.concurrencyLimit(maxConcurrent: bulkhead.maxConcurrent)
        do {
            let change = try transaction.change(breaker.name) { state, _ in state.counts.rejected += 1 }
            return reject(rejection, breaker: breaker, state: change.state, at: change.now, call: call, arguments: arguments)
        } catch {
            narrator.tell(.stateFault("\(breaker.name): rejection not recorded (\(error))"))
            let (state, now) = (try? store.read(breaker.name)) ?? (BreakerRecord(), Instant(monotonicNanoseconds: 0, wallNanoseconds: 0))
            return reject(rejection, breaker: breaker, state: state, at: now, call: call, arguments: arguments)
        }
    }
}
