import CircuitBreaker

// Keyed breakers (`per_key:`, issue 19): one definition, an independent
// breaker per key, bounded in number, with a roll-up that opens the whole
// breaker when enough keys are open.
//
// A key's run is a plain run of the definition under the key's
// `KeyedName.storeName` (`BreakerConfiguration.scoped(to:)`), so that
// every rule of the state machine, the bulkhead, retries, probes and
// fallbacks are the plain breaker's. Around it: the key is tracked (and
// marked in use) first, the whole breaker's own state (a roll-up or an
// operator's `trip NAME`) may reject the call before the key is asked, and
// a transition of the key is recorded in the key index and may open or
// close the whole breaker (the roll-up).

extension Session {
    /// The breaker a command acts on: `name` itself, or its key `key`.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: `--key`, if given.
    ///   - requiresKey: whether a keyed breaker needs `--key` here (`run`,
    ///     `check`); `trip`, `reset` and `status` act on the whole keyed
    ///     breaker without one.
    /// - Returns: the definition, and the key's name when a key is given.
    /// - Throws: `.configuration` for an unknown breaker; `.key` when
    ///   `--key` is missing, refused or not a key.
    func keyedTarget(_ name: String, key: String?, requiresKey: Bool) throws(UseCaseError) -> (BreakerConfiguration, KeyedName?) {
        let breaker = try definition(name)
        guard let key else {
            if requiresKey, breaker.perKey != nil {
                throw .key("breaker '\(name)' is keyed (per_key): give the target with --key KEY")
            }
            return (breaker, nil)
        }
        guard breaker.perKey != nil else {
            throw .key("breaker '\(name)' is not keyed: --key is only for a breaker with per_key")
        }
        if let problem = KeyedName.problem(with: key) { throw .key(problem) }
        return (breaker, KeyedName(breaker: name, key: key))
    }

    /// `run NAME --key KEY`: runs a call under one key of a keyed breaker.
    /// - Parameters:
    ///   - breaker: the keyed breaker, resolved.
    ///   - key: the key.
    ///   - call: the call.
    ///   - force: run even when the key or the whole breaker is open.
    /// - Returns: how the run ended.
    func runKey(_ breaker: BreakerConfiguration, key: KeyedName, call: CallSpecification, force: Bool) -> RunResult {
        let perKey = breaker.perKey ?? PerKey()
        let scoped = breaker.scoped(to: key.key)
        let watch = KeyedRunBackend(base: store, key: key, sharesBulkhead: perKey.bulkhead == .breaker)
        var runner = runner()
        runner.store = watch

        // The whole breaker first: a key it rejects is not tracked, so that
        // fresh keys rejected by the roll-up do not dilute its share.
        if !force, let rejection = wholeBreakerRejection(breaker, key: key, runner: runner) {
            return rejectByWholeBreaker(rejection, breaker: breaker, key: key, runner: runner, call: call)
        }
        let lease: (any StatePermit)?
        do {
            switch try store.trackKey(key, bounds: perKey) {
            case .tracked(let permit):
                lease = permit
            case .full(let tracked):
                return rejectByWholeBreaker(.keysFull(tracked: tracked), breaker: breaker, key: key, runner: runner, call: call)
            }
        } catch {
            if let refusal = runner.fault(error, breaker: scoped, doing: "key not tracked", otherwise: "running the call unguarded") {
                return refusal
            }
            lease = nil
        }
        defer { lease?.release() }
        let result = runner.run(call, under: scoped, force: force)
        if watch.keyChanged { afterKeyTransition(key, of: breaker) }
        return result
    }

    /// Why the whole keyed breaker rejects a key's call now, if it does
    /// (`wholeBreakerVerdict`). A whole breaker whose `trip --for` interval
    /// has passed is closed here; an unreadable whole state rejects nothing
    /// (the key's own state decides, with `on_state_error`).
    private func wholeBreakerRejection(_ breaker: BreakerConfiguration, key: KeyedName, runner: BreakerRunner) -> Rejection? {
        guard let verdict = try? wholeBreakerVerdict(breaker, key: key) else { return nil }
        if case .halfOpen = verdict.1 {
            changeWholeBreaker(breaker) { state, now in
                if case .halfOpen = state.effectiveCircuitState(at: now) { state.reset(at: now, reason: "open interval passed") }
            }
            return nil
        }
        return verdict.0
    }

    /// What the whole keyed breaker says of a key's call now, read without
    /// writing: nil when it lets the key decide (closed; held by the roll-up
    /// while the key itself is due a trial, so that keys can recover);
    /// otherwise the rejection (held by the roll-up or an operator; open by
    /// `trip NAME`) with the whole breaker's effective state. A whole
    /// breaker whose `trip --for` interval has passed lets the key decide,
    /// and is returned as half-open with no rejection for `run` to close.
    /// - Throws: the backend's error when a state cannot be read.
    func wholeBreakerVerdict(_ breaker: BreakerConfiguration, key: KeyedName) throws -> (Rejection?, CircuitState)? {
        let (whole, now) = try store.read(breaker.name)
        let effective = whole.effectiveCircuitState(at: now)
        switch effective {
        case .closed:
            return nil
        case .open(let until):
            return (.open(retryAfter: until.duration(since: now)), effective)
        case .halfOpen:
            return (nil, effective)
        case .held:
            guard Self.isRollUpHold(whole) else { return (.held, effective) }
            let (own, ownNow) = try store.read(key.storeName)
            if case .halfOpen = own.effectiveCircuitState(at: ownNow) { return nil }
            return (.held, effective)
        }
    }

    /// For `check`: the number of keys tracked when `key` is new and would
    /// find no room (`max_keys` keys tracked, none closed); nil otherwise.
    /// Whether a closed key is in use is not looked at.
    /// - Throws: the backend's error when the state or the keys cannot be read.
    func noRoom(for key: KeyedName, of breaker: BreakerConfiguration) throws -> Int? {
        guard try store.read(key.storeName).0 == BreakerRecord() else { return nil }
        let entries = try store.keyEntries(of: breaker.name)
        guard entries.count >= (breaker.perKey ?? PerKey()).maxKeys, !entries.contains(where: { $0.state == .closed }) else { return nil }
        return entries.count
    }

    /// Counts a rejection by the whole breaker in its own state, and answers
    /// it with the key's fallbacks.
    private func rejectByWholeBreaker(_ rejection: Rejection, breaker: BreakerConfiguration, key: KeyedName,
                                      runner: BreakerRunner, call: CallSpecification) -> RunResult {
        let arguments = call.processArguments ?? []
        let (state, now): (BreakerRecord, Instant)
        if let change = try? StateTransaction(store: store).change(breaker.name, { state, _ in state.counts.rejected += 1 }) {
            (state, now) = (change.state, change.now)
        } else {
            (state, now) = (try? store.read(breaker.name)) ?? (BreakerRecord(), clock.now())
        }
        // The key is not tracked: its fallback's answer is counted by the
        // whole breaker too, so that no directory is made for it.
        var wholeRunner = runner
        wholeRunner.store = KeyedRunBackend(base: store, key: key, sharesBulkhead: false, countsInWholeBreaker: true)
        let result = wholeRunner.reject(rejection, breaker: breaker.scoped(to: key.key), state: state, at: now, call: call, arguments: arguments)
        wholeRunner.narrator.finish()
        return result
    }

    /// After a transition of a key (its run, `trip --key`, `reset --key`):
    /// its state goes to the key index, and the roll-up decides whether the
    /// whole breaker opens or closes. A failure is warned about: the key's
    /// own state is stored already.
    func afterKeyTransition(_ key: KeyedName, of breaker: BreakerConfiguration) {
        do {
            try store.recordKeyState(key)
        } catch {
            logger.warning("\(breaker.name): key index not updated (\(error))")
            return
        }
        guard let rule = breaker.perKey?.openWhen else { return }
        let census: KeyCensus
        do {
            census = KeyCensus(try store.keyEntries(of: breaker.name))
        } catch {
            logger.warning("\(breaker.name): roll-up not evaluated (\(error))")
            return
        }
        let opens = rule.opens(open: census.open, tracked: census.tracked)
        let holds = rule.holds(open: census.open, tracked: census.tracked)
        let reason = "roll-up: \(census.open) of \(census.tracked) keys open"
        changeWholeBreaker(breaker) { state, now in
            if opens, state.effectiveCircuitState(at: now) == .closed {
                state.trip(at: now, hold: true, reason: reason, policy: breaker.policy)
            } else if !holds, Self.isRollUpHold(state) {
                state.reset(at: now, reason: reason)
            }
        }
    }

    /// Whether the whole breaker is held by its roll-up (not by an operator).
    static func isRollUpHold(_ state: BreakerRecord) -> Bool {
        state.circuitState == .held && state.openReason?.hasPrefix("roll-up:") == true
    }

    /// Changes the whole keyed breaker's own state and reports its
    /// transitions, with their hooks, as any breaker's.
    private func changeWholeBreaker(_ breaker: BreakerConfiguration, _ body: (inout BreakerRecord, Instant) -> Void) {
        do {
            let change = try StateTransaction(store: store).change(breaker.name, body)
            guard !change.transitions.isEmpty else { return }
            TransitionReporter(logger: logger, environment: environment, supervisor: supervisor)
                .report(change.transitions, of: breaker, state: change.state, at: change.now)
        } catch {
            logger.warning("\(breaker.name): whole breaker not changed (\(error))")
        }
    }
}

/// The backend of one key's run: every operation goes to the session's
/// backend as it is asked, but for the bulkhead of a breaker whose keys
/// share it (`per_key: {bulkhead: breaker}`), whose slots are the whole
/// breaker's, and, for a call the whole breaker rejected, the key's counts,
/// which go to the whole breaker (the key is not tracked then); it notes
/// whether the key's state made a transition.
final class KeyedRunBackend: StateBackend, @unchecked Sendable {
    let base: any StateBackend
    let key: KeyedName
    let sharesBulkhead: Bool
    let countsInWholeBreaker: Bool
    /// Whether an update of the key's state changed its generation (a transition).
    private(set) var keyChanged = false

    init(base: any StateBackend, key: KeyedName, sharesBulkhead: Bool, countsInWholeBreaker: Bool = false) {
        self.base = base
        self.key = key
        self.sharesBulkhead = sharesBulkhead
        self.countsInWholeBreaker = countsInWholeBreaker
    }

    private func slotName(_ name: String) -> String {
        sharesBulkhead && name == key.storeName ? key.breaker : name
    }

    func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T {
        var changed = false
        let name = countsInWholeBreaker && name == key.storeName ? key.breaker : name
        let result = try base.update(name) { state, now in
            let generation = state.generation
            defer { changed = state.generation != generation }
            return try body(&state, now)
        }
        if changed && name == key.storeName { keyChanged = true }
        return result
    }

    func read(_ name: String) throws -> (BreakerRecord, Instant) { try base.read(name) }
    func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)? { try base.takePermit(name, slots: slots) }
    func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)? { try base.takeSlot(slotName(name), slots: slots) }
    func hasFreePermit(_ name: String, slots: Int) throws -> Bool { try base.hasFreePermit(name, slots: slots) }
    func hasFreeSlot(_ name: String, slots: Int) throws -> Bool { try base.hasFreeSlot(slotName(name), slots: slots) }
    func writeCache(_ name: String, key: String, bytes: [UInt8]) throws { try base.writeCache(name, key: key, bytes: bytes) }
    func readCache(_ name: String, key: String) throws -> CachedOutput? { try base.readCache(name, key: key) }
    func location(of name: String) -> String { base.location(of: name) }
    func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease { try base.trackKey(name, bounds: bounds) }
    func recordKeyState(_ name: KeyedName) throws { try base.recordKeyState(name) }
    func keyEntries(of breaker: String) throws -> [KeyEntry] { try base.keyEntries(of: breaker) }
}
