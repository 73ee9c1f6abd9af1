import CircuitBreaker

/// How one attempt ended: the run's result, and the call's outcome when it ran.
struct AttemptResult {
    /// How the run would end if this attempt is the last.
    var result: RunResult
    /// How the breaker classified the call; nil when it did not run.
    var outcome: Outcome?
}

/// A half-open trial permit asked for during admission.
enum PermitGrant {
    /// None was asked for (not half-open, or a forced call).
    case notAsked
    /// Granted; held until the trial's outcome is recorded.
    case granted(any StatePermit)
    /// All permits are held by other trials.
    case taken
    /// The permits could not be examined.
    case failed(any Error)

    /// Asks `store` for one of the breaker's permits.
    init(from store: any StateBackend, of breaker: BreakerConfiguration) {
        do {
            if let permit = try store.takePermit(breaker.name, slots: breaker.policy.halfOpenMaxCalls) {
                self = .granted(permit)
            } else {
                self = .taken
            }
        } catch {
            self = .failed(error)
        }
    }

    /// The permit, when granted.
    var permit: (any StatePermit)? {
        if case .granted(let permit) = self { return permit }
        return nil
    }
}

/// The hooks of transitions already reported but whose hooks wait: an
/// admission's, run before those of the outcome's transitions (so that hooks
/// run in the order of the transitions) or when the attempt ends.
struct PendingHooks {
    private var change: StateTransaction.Change<Admission>?

    /// Hooks to run for the transitions of `change`.
    init(_ change: StateTransaction.Change<Admission>?) {
        self.change = change?.transitions.isEmpty == false ? change : nil
    }

    /// Runs them, once.
    mutating func run(_ reporter: TransitionReporter, of breaker: BreakerConfiguration) {
        guard let change else { return }
        self.change = nil
        reporter.runHooks(for: change.transitions, of: breaker, state: change.state, at: change.now)
    }
}

extension BreakerRunner {
    /// What the admission stage decided.
    enum AdmissionStep {
        /// The breaker decided (admitted or rejected), with the permit of a
        /// trial and what the decision changed.
        case decided(StateTransaction.Change<Admission>, permit: (any StatePermit)?)
        /// The state could not be used; the call runs unguarded (fail-open).
        case unguarded
        /// The state could not be used; the run ends so (fail-closed).
        case refused(RunResult)
    }

    /// One attempt: admission, the call, its outcome recorded.
    /// - Parameter allowsProbe: false after a probe in this attempt, so that
    ///   an inconclusive (ignored) probe lets the real call be the trial
    ///   rather than probing again.
    /// - Returns: the result, and the outcome when the call ran.
    func attempt(_ call: CallSpecification, arguments: [String], under breaker: BreakerConfiguration, force: Bool,
                 allowsProbe: Bool = true) -> AttemptResult {
        let change: StateTransaction.Change<Admission>
        let permit: (any StatePermit)?
        switch admit(breaker, force: force) {
        case .refused(let result):
            return AttemptResult(result: result, outcome: nil)
        case .unguarded:
            let result = perform(call, arguments: arguments, breaker: breaker)
            return AttemptResult(result: RunResult(result.ending), outcome: result.outcome)
        case .decided(let decided, let granted):
            change = decided
            permit = granted
        }
        var hooks = PendingHooks(change)
        defer { hooks.run(reporter, of: breaker) }
        switch change.value {
        case .rejected(let rejection):
            return AttemptResult(result: reject(rejection, breaker: breaker, state: change.state, at: change.now, call: call, arguments: arguments),
                                 outcome: nil)
        case .admitted(let ticket):
            if ticket.isTrial, !ticket.isForced, allowsProbe, let probe = breaker.probe {
                return probeTrial(probe, as: ticket, call: call, arguments: arguments, breaker: breaker, permit: permit, hooks: &hooks)
            }
            return callAdmitted(call, arguments: arguments, ticket: ticket, breaker: breaker, force: force, circuitState: change.state.circuitState.name,
                                permit: permit, hooks: &hooks)
        }
    }

    /// Admission under the state lock: the breaker's decision, with a trial
    /// permit taken when it lets a trial through; its transitions reported
    /// once stored (their hooks wait for the call's end: a slow hook must
    /// not delay the call).
    func admit(_ breaker: BreakerConfiguration, force: Bool) -> AdmissionStep {
        let actor = force ? InvokingUser.current() : nil
        let decided: StateTransaction.Change<(Admission, PermitGrant)>
        do {
            decided = try transaction.change(breaker.name) { (state: inout BreakerRecord, now: Instant) -> (Admission, PermitGrant) in
                if force { return (.admitted(state.admitForced(at: now, by: actor)), .notAsked) }
                var grant = PermitGrant.notAsked
                let admission = state.admit(at: now, policy: breaker.policy) {
                    grant = PermitGrant(from: store, of: breaker)
                    return grant.permit != nil
                }
                return (admission, grant)
            }
        } catch {
            if let refusal = fault(error, breaker: breaker, doing: "breaker state unavailable", otherwise: "running the call unguarded") {
                return .refused(refusal)
            }
            return .unguarded
        }
        let (admission, grant) = decided.value
        if case .failed(let error) = grant {
            narrator.tell(.stateFault("\(breaker.name): trial permit unavailable (\(error)); the call is not let through as a trial"))
        }
        // Reported once stored: a transition that was not written did not happen.
        narrator.tell(.transitions(decided.transitions, of: breaker, state: decided.state, at: decided.now, cause: nil))
        let change = StateTransaction.Change(value: admission, before: decided.before, state: decided.state, transitions: decided.transitions,
                                             now: decided.now)
        return .decided(change, permit: grant.permit)
    }

    /// Runs an admitted call and records its outcome.
    private func callAdmitted(_ call: CallSpecification, arguments: [String], ticket: Ticket, breaker: BreakerConfiguration, force: Bool,
                              circuitState: CircuitState.Name, permit: (any StatePermit)?, hooks: inout PendingHooks) -> AttemptResult {
        let name = breaker.name
        let result = perform(call, arguments: arguments, breaker: breaker)
        // A network call's failure has no program of its own to say why:
        // its reason goes into the opening's line, or is the line.
        let isNetwork = call.processArguments == nil
        let cause: String? = if isNetwork, case .failure(let reason) = result.outcome { reason } else { nil }
        record(result.outcome, ticket: ticket, breaker: breaker, openFor: result.retryAfter, permit: permit, cause: cause, hooks: &hooks)
        if case .ran(let run) = result.ending, let lost = run.outputLost {
            // A reader that went away is said by SIGPIPE, as without the copy.
            if lost.errno != EPIPE { narrator.tell(.outputLost(name, lost)) }
        } else {
            keep(result, of: call, under: breaker)
        }
        if force { narrator.tell(.forced(name, circuitState: circuitState)) }
        if case .ran(let run) = result.ending, run.timedOut, let timeout = breaker.timeout {
            narrator.tell(.callTimedOut(name, after: timeout, isNetwork: isNetwork))
        } else if let cause, case .ran(let run) = result.ending, run.termination != .exited(0) {
            narrator.tell(.callFailed(name, cause: cause))
        }
        return AttemptResult(result: RunResult(result.ending), outcome: result.outcome)
    }

    /// Makes and runs one call (or probe) of any kind.
    func perform(_ specification: CallSpecification, arguments: [String]?, breaker: BreakerConfiguration, role: CallRole = .call,
                 isBackground: Bool = false) -> CallResult {
        var call = specification.makeCall(arguments: arguments, registry: registry)
        if var process = call as? ProcessCall {
            process.supervisor = supervisor
            call = process
        }
        let context = CallContext(breaker: breaker, environment: environment, role: role, isBackground: isBackground,
                                  captureLimit: isBackground ? nil : breaker.cacheLimit, logger: logger)
        return call.run(context)
    }

    /// Records an outcome under the state lock, releasing the trial permit
    /// there once the outcome is decided (so that the next trial sees this
    /// one's result), and reports its transitions; the admission's pending
    /// hooks run before theirs.
    func record(_ outcome: Outcome, ticket: Ticket, breaker: BreakerConfiguration, openFor retryAfter: Duration? = nil,
                permit: (any StatePermit)?, cause: String? = nil, hooks: inout PendingHooks) {
        let jitter = random()
        do {
            let change = try transaction.change(breaker.name) { state, now in
                state.record(outcome, for: ticket, at: now, policy: breaker.policy, random: jitter, openFor: retryAfter)
                permit?.release()
            }
            narrator.tell(.transitions(change.transitions, of: breaker, state: change.state, at: change.now, cause: cause))
            hooks.run(reporter, of: breaker)
            reporter.runHooks(for: change.transitions, of: breaker, state: change.state, at: change.now)
            if change.transitions.contains(where: { $0.to == .closed }) { afterClose(breaker) }
        } catch {
            narrator.tell(.stateFault("\(breaker.name): outcome not recorded (\(error))"))
        }
        permit?.release()
    }

    /// Keeps a successful call's stdout for the `cached` fallback, for that call.
    private func keep(_ result: CallResult, of call: CallSpecification, under breaker: BreakerConfiguration) {
        guard let limit = breaker.cacheLimit, result.outcome == .success else { return }
        guard let output = result.output else {
            narrator.tell(.outputNotCached(breaker.name, limit: limit))
            return
        }
        do {
            try store.writeCache(breaker.name, key: Self.cacheKey(for: call, of: breaker), bytes: output)
        } catch {
            narrator.tell(.cacheNotWritten(breaker.name, error))
        }
    }
}
