import CircuitBreaker

extension BreakerRunner {
    /// The probe trial: runs the probe as the half-open trial, classified by
    /// the breaker's own `success_exit_codes` and `ignore_exit_codes` (so
    /// that a monitoring plugin's 0/1/2/3 can be mapped), records its
    /// outcome, and then makes the real attempt: a passing probe has closed
    /// the breaker, so the call runs; a failing one has reopened it, so the
    /// attempt is rejected (fallback or `open_exit_code`); after an ignored
    /// one the breaker is still half-open and the real call is the trial.
    /// - Parameters:
    ///   - probe: the breaker's probe.
    ///   - ticket: the trial's ticket.
    ///   - call: the real call, run after the probe.
    ///   - arguments: its argv.
    ///   - breaker: the breaker.
    ///   - permit: the trial permit, released when the probe's outcome is recorded.
    ///   - hooks: the admission's hooks, run before the probe's.
    /// - Returns: how the attempt ended: the probe's end when it was
    ///   interrupted or could not start, else the real attempt's.
    func probeTrial(_ probe: Probe, as ticket: Ticket, call: CallSpecification, arguments: [String], breaker: BreakerConfiguration,
                    permit: (any StatePermit)?, hooks: inout PendingHooks) -> AttemptResult {
        var checker = breaker
        checker.timeout = probe.timeout ?? breaker.timeout
        checker.slowCallDuration = nil
        let result = perform(probe.call, arguments: nil, breaker: checker, role: .probe, isBackground: true)
        record(result.outcome, ticket: ticket, breaker: breaker, openFor: result.retryAfter, permit: permit, hooks: &hooks)
        switch (result.ending, result.outcome) {
        case (.ran(let run), _) where run.interruption != nil:
            return AttemptResult(result: RunResult(result.ending), outcome: result.outcome)
        case (.launchFailed, _):
            return AttemptResult(result: RunResult(result.ending), outcome: result.outcome)
        case (_, .success):
            narrator.tell(.probePassed(breaker.name))
        case (_, .failure(let reason)):
            narrator.tell(.probeFailed(breaker.name, reason: reason))
        case (_, .ignored(let reason)):
            narrator.tell(.probeIgnored(breaker.name, reason: reason))
        }
        return attempt(call, arguments: arguments, under: breaker, force: false, allowsProbe: false)
    }
}
