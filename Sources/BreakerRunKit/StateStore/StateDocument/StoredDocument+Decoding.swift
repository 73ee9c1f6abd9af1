import CircuitBreaker

extension StoredDocument {
    /// Decodes a document field by field, and collects the repairs made. An
    /// unreadable `format` is read as the current one, an unreadable
    /// `boot_id` as none (so the state is rebased as after a reboot), an
    /// unreadable `counts_epoch` as the initial one; each is reported, and
    /// the state's fields are read as `decodeState(_:)` says.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` only when the top level is not an object.
    package init(from decoder: any Decoder) throws {
        var fields = FieldReader(try decoder.container(keyedBy: Field.self))
        format = fields.value(Int.self, .format, else: "read as format \(Self.currentFormat)")
        bootID = fields.value(String.self, .bootID, else: "the state is taken as from another boot")
        countsEpoch = fields.value(UInt64.self, .countsEpoch, else: "read as 0: counts pending in the counts file under another epoch are not added")
        state = Self.decodeState(&fields)
        repairs = fields.repairs
    }

    /// The breaker state of a stored object, read field by field; the
    /// repairs are noted in `fields`.
    ///
    /// A field that is absent takes its default silently (a file of an older
    /// version, or a sparse hand-written one), except where the default
    /// would change an open breaker; a field present with a value of the
    /// wrong type or range takes its default and is reported. The rules:
    ///
    /// - an open state without a readable `next_trial_at` (its end) is
    ///   half-open with no successful trial yet: it gets one trial (as many
    ///   as `half_open_max_calls` permits, like any half-open breaker), never
    ///   a silent close; an open state without `opened_at` stays open until
    ///   `next_trial_at` (which admission clamps to the policy);
    /// - a missing or unknown `state` is read from the rest: `held: true` is
    ///   held, a readable `next_trial_at` is open until then, else the last
    ///   transition's target (open gives one trial); with none of these, a
    ///   missing state is a new closed breaker and an unknown one gets one
    ///   trial;
    /// - each member of `counts` is read on its own: an absent or unreadable
    ///   one is 0, the others are kept;
    /// - an unreadable entry of `transitions` is dropped, the others kept;
    /// - a missing or unreadable `generation` is the highest generation in
    ///   `transitions` (0 with none), so that generations run on without a gap;
    /// - negative `consecutive_failures` or `half_open_successes` are 0; a
    ///   negative `backoff_interval_ns` is none; an unreadable
    ///   `failure_window` is empty; unreadable instants and texts are absent.
    /// - Parameter fields: the reader of the stored object.
    /// - Returns: the state.
    static func decodeState(_ fields: inout FieldReader<Field>) -> BreakerRecord {
        let transitions = fields.read([Salvaged<Transition>].self, .recentTransitions)
        let readableTransitions = transitions.value?.compactMap(\.element) ?? []
        switch transitions {
        case .unreadable:
            fields.note(.unreadable, .recentTransitions, "the history starts empty")
        case .value(let entries) where readableTransitions.count < entries.count:
            let dropped = entries.count - readableTransitions.count
            fields.note(.unreadable, .recentTransitions, "\(dropped) of its \(entries.count) entries dropped, the others kept")
        default:
            break
        }
        let recentTransitions = Array(readableTransitions.suffix(BreakerRecord.historyLimit))

        let circuitState = decodeCircuitState(&fields, lastTarget: readableTransitions.last?.to)
        let generation = fields.value(UInt64.self, .generation, else: "read as the last transition's generation")
            ?? readableTransitions.map(\.generation).max() ?? 0
        let consecutiveFailures = fields.value(Int.self, .consecutiveFailures, else: "read as 0", isValid: { $0 >= 0 }) ?? 0
        let openedAt = fields.read(Instant.self, .openedAt)
        switch (openedAt, circuitState) {
        case (.unreadable, .open):
            fields.note(.unreadable, .openedAt, "the breaker stays open until 'next_trial_at' at most")
        case (.absent, .open) where fields.read(CircuitState.Name.self, .state).value == .open:
            fields.note(.missing, .openedAt, "the breaker stays open until 'next_trial_at' at most")
        case (.unreadable, _):
            fields.note(.unreadable, .openedAt, "left out")
        default:
            break
        }
        let openReason = fields.value(String.self, .openReason, else: "left out")
        let lastFailure = fields.value(String.self, .lastFailure, else: "left out")
        let lastFailureAt = fields.value(Instant.self, .lastFailureAt, else: "left out")
        let counts = decodeCounts(&fields)
        let window = fields.value(OutcomeWindow.self, .failureWindow, else: "the failure-rate window starts empty") ?? OutcomeWindow()
        if fields.has(.failureWindow) && window.isEmpty {
            // Only a window with outcomes is ever written: an empty one is damage.
            fields.note(.unreadable, .failureWindow, "the failure-rate window starts empty")
        }
        let backoffInterval = fields.value(Int64.self, .backoffInterval, else: "the next reopen after a failed trial waits reset_timeout",
                                              isValid: { $0 >= 0 }).map { Duration.nanoseconds($0) }
        return BreakerRecord(
            circuitState: circuitState, generation: generation, consecutiveFailures: consecutiveFailures, openedAt: openedAt.value,
            openReason: openReason, lastFailure: lastFailure, lastFailureAt: lastFailureAt, counts: counts,
            recentTransitions: recentTransitions, failureWindow: window, backoffInterval: backoffInterval)
    }

    /// The circuit state a stored state stands for; see `decodeRepairing(from:)`.
    private static func decodeCircuitState(_ fields: inout FieldReader<Field>, lastTarget: CircuitState.Name?) -> CircuitState {
        let isHeld = fields.value(Bool.self, .held, else: "read as not held") == true
        let until = fields.read(Instant.self, .until)
        func noteNoEnd() {
            fields.note(until.isAbsent ? .missing : .unreadable, .until, "the breaker gets one trial")
        }
        let name = fields.read(CircuitState.Name.self, .state)
        switch name {
        case .value(.closed):
            return .closed
        case .value(.halfOpen):
            return .halfOpen(successes: fields.value(Int.self, .halfOpenSuccesses, else: "read as 0", isValid: { $0 >= 0 }) ?? 0)
        case .value(.open):
            if isHeld { return .held }
            if let end = until.value { return .open(until: end) }
            noteNoEnd()
            return .halfOpen(successes: 0)
        case .absent, .unreadable:
            let problem: StateRepair.Problem = name.isAbsent ? .missing : .unreadable
            if isHeld {
                fields.note(problem, .state, "read as held open, as 'held' says")
                return .held
            }
            if let end = until.value {
                fields.note(problem, .state, "read as open until 'next_trial_at'")
                return .open(until: end)
            }
            switch lastTarget {
            case .open?:
                fields.note(problem, .state, "the breaker gets one trial")
                return .halfOpen(successes: 0)
            case .halfOpen?:
                fields.note(problem, .state, "read as half-open, the last transition's target")
                return .halfOpen(successes: 0)
            case .closed?:
                if problem == .unreadable { fields.note(problem, .state, "read as closed, the last transition's target") }
                return .closed
            case nil where problem == .unreadable:
                fields.note(problem, .state, "the breaker gets one trial")
                return .halfOpen(successes: 0)
            case nil:
                // No state and no history: a new breaker.
                return .closed
            }
        }
    }

    /// The lifetime counts, member by member: an absent or unreadable one is
    /// 0 and the others are kept.
    private static func decodeCounts(_ fields: inout FieldReader<Field>) -> Counts {
        guard fields.has(.counts) else { return Counts() }
        guard let container = try? fields.container.nestedContainer(keyedBy: CountsField.self, forKey: .counts) else {
            fields.note(.unreadable, .counts, "every count starts from 0")
            return Counts()
        }
        var members = FieldReader(container, prefix: "counts.")
        let remedy = "counted from 0, the other counts kept"
        var counts = Counts()
        counts.successes = members.value(UInt64.self, .successes, else: remedy) ?? 0
        counts.failures = members.value(UInt64.self, .failures, else: remedy) ?? 0
        counts.ignored = members.value(UInt64.self, .ignored, else: remedy) ?? 0
        counts.rejected = members.value(UInt64.self, .rejected, else: remedy) ?? 0
        counts.fallbacks = members.value(UInt64.self, .fallbacks, else: remedy) ?? 0
        fields.adopt(members.repairs)
        return counts
    }
}
