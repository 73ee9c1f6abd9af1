extension Session {
    /// `run`: runs a call under breaker `name` (`BreakerRunner`).
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: `--key`: the key of a keyed breaker (`per_key`), which
    ///     needs one; nil for a plain breaker.
    ///   - command: the command given after `--`; empty for the breaker's
    ///     configured call.
    ///   - force: run even when the breaker is open (`run --force`).
    /// - Returns: how the run ended, for the exit status (`RunResult`).
    /// - Throws: `.configuration` for an unknown breaker or a `${VAR}` of it
    ///   unset; `.noConfiguredCall` when neither a command nor a configured
    ///   call is there; `.key` when `--key` is missing for a keyed breaker,
    ///   given for a plain one, or not a key. State faults are results, not
    ///   errors (`on_state_error`).
    public func run(_ name: String, key: String? = nil, command: [String], force: Bool) throws(UseCaseError) -> RunResult {
        let target = try keyedTarget(name, key: key, requiresKey: true)
        let breaker: BreakerConfiguration
        do throws(ConfigurationError) {
            breaker = try configuration.breaker(named: name)
        } catch {
            throw .configuration(error)
        }
        guard let call = BreakerRunner.call(for: breaker, command: command) else {
            throw .noConfiguredCall(breaker: name)
        }
        if let key = target.1 { return runKey(breaker, key: key, call: call, force: force) }
        return runner().run(call, under: breaker, force: force)
    }

    /// `check`: would a call to breaker `name` (or its key `key`) be
    /// admitted now? Writes nothing.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: `--key`: the key of a keyed breaker, which needs one.
    /// - Returns: what a call would meet, and the breaker's (or the key's)
    ///   effective circuit state; a key whose whole breaker is open is
    ///   rejected as the whole breaker is.
    /// - Throws: `.configuration` for an unknown breaker; `.key` as `run`;
    ///   `.state` when the state, permits or slots cannot be read.
    public func check(_ name: String, key: String? = nil) throws(UseCaseError) -> AdmissionCheck.Result {
        let (breaker, keyed) = try keyedTarget(name, key: key, requiresKey: true)
        do {
            guard let keyed else { return try AdmissionCheck(store: store).answer(for: breaker) }
            if let verdict = try wholeBreakerVerdict(breaker, key: keyed), let rejection = verdict.0 {
                return (.rejected(rejection), verdict.1)
            }
            if let full = try noRoom(for: keyed, of: breaker) { return (.rejected(.keysFull(tracked: full)), .closed) }
            let backend = KeyedRunBackend(base: store, key: keyed, sharesBulkhead: breaker.perKey?.bulkhead == .breaker)
            return try AdmissionCheck(store: backend).answer(for: breaker.scoped(to: keyed.key))
        } catch {
            throw .state(error)
        }
    }

    /// `metrics`: every breaker in the Prometheus text format.
    /// - Returns: the text of the readable breakers, and the breakers left
    ///   out with why (the exit status is then 74).
    public func metrics() -> (text: String, unreadable: [(name: String, error: any Error)]) {
        MetricsFile.render(configuration.sortedBreakers, from: store, queues: { breaker in
            guard let summary = queueSummary(of: breaker), let totals = try? queue(of: breaker.name).totals() else { return nil }
            return (summary, totals)
        })
    }
}
