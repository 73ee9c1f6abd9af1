import CircuitBreaker

/// A breaker's stored state, as every backend keeps it (`state.json`, the
/// PostgreSQL `state` column): the schema of one flat, `jq`-friendly JSON
/// object. Three fields belong to the store, `"format"` (the version of this
/// layout), `"boot_id"` (the clock the stored monotonic readings are on) and
/// `"counts_epoch"` (which `NAME/counts` belongs to it; `PendingCounts`); the
/// others are the breaker state's (`Field`).
///
/// Decoding is lenient and field by field (`StoredDocument+Decoding.swift`):
/// a missing or unreadable field takes a safe default and every readable one
/// is kept, so a document written by an older or newer version, edited by
/// hand or damaged never stops a run, never loses a readable count, and
/// never silently closes an open breaker. `StateDocumentCodec` turns bytes
/// into documents and back, for every backend.
package struct StoredDocument: Codable {
    /// The format this version writes, and the highest it reads.
    package static let currentFormat = 1

    /// The format found in the document; nil when it had none (or an odd
    /// value), which is read as the current format.
    package var format: Int?
    /// The clock identity found in the document (`boot_id`); nil when it
    /// had none.
    package var bootID: String?
    /// The epoch of the pending counts that belong to this state; nil when
    /// it had none (or an odd value), which is `PendingCounts.initialEpoch`.
    package var countsEpoch: UInt64?
    /// The breaker state.
    package var state: BreakerRecord
    /// The fields that decoding found missing where they mattered, or
    /// unreadable, and repaired; empty for a document made in memory.
    package var repairs: [StateRepair] = []

    /// Creates a document to store.
    /// - Parameters:
    ///   - format: the layout's version.
    ///   - bootID: the clock identity of the state's instants.
    ///   - countsEpoch: the epoch of the pending counts, or nil for none.
    ///   - state: the breaker state.
    package init(format: Int? = StoredDocument.currentFormat, bootID: String?, countsEpoch: UInt64? = nil, state: BreakerRecord) {
        self.format = format
        self.bootID = bootID
        self.countsEpoch = countsEpoch
        self.state = state
    }

    /// Every field of the stored object, by its stored name.
    enum Field: String, CodingKey {
        case format, bootID = "boot_id", countsEpoch = "counts_epoch"
        case state, held, until = "next_trial_at", halfOpenSuccesses = "half_open_successes"
        case generation, consecutiveFailures = "consecutive_failures"
        case openedAt = "opened_at", openReason = "open_reason"
        case lastFailure = "last_failure", lastFailureAt = "last_failure_at"
        case counts, recentTransitions = "transitions"
        case failureWindow = "failure_window", backoffInterval = "backoff_interval_ns"
    }

    /// The members of `counts`, by their stored names.
    enum CountsField: String, CodingKey {
        case successes, failures, ignored, rejected, fallbacks
    }

    /// Encodes the document as one flat object.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(format ?? Self.currentFormat, forKey: .format)
        try container.encodeIfPresent(bootID, forKey: .bootID)
        try container.encodeIfPresent(countsEpoch, forKey: .countsEpoch)
        try Self.encodeFields(of: state, into: &container)
    }

    /// Writes the breaker state's fields into the document's object.
    static func encodeFields(of state: BreakerRecord, into c: inout KeyedEncodingContainer<Field>) throws {
        try c.encode(state.circuitState.name, forKey: .state)
        try c.encode(state.circuitState == .held, forKey: .held)
        try c.encodeIfPresent(state.nextTrialAt, forKey: .until)
        if case .halfOpen(let successes) = state.circuitState {
            try c.encode(successes, forKey: .halfOpenSuccesses)
        }
        try c.encode(state.generation, forKey: .generation)
        try c.encode(state.consecutiveFailures, forKey: .consecutiveFailures)
        try c.encodeIfPresent(state.openedAt, forKey: .openedAt)
        try c.encodeIfPresent(state.openReason, forKey: .openReason)
        try c.encodeIfPresent(state.lastFailure, forKey: .lastFailure)
        try c.encodeIfPresent(state.lastFailureAt, forKey: .lastFailureAt)
        try c.encode(state.counts, forKey: .counts)
        try c.encode(state.recentTransitions, forKey: .recentTransitions)
        if !state.failureWindow.isEmpty {
            try c.encode(state.failureWindow, forKey: .failureWindow)
        }
        try c.encodeIfPresent(state.backoffInterval?.nanoseconds, forKey: .backoffInterval)
    }
}

/// The breaker state alone as the stored object's fields (no `format`,
/// `boot_id` or `counts_epoch`), decoded leniently as `StoredDocument` is.
extension BreakerRecord: Codable {
    /// Decodes a state as `decodeRepairing(from:)` does, dropping the list
    /// of repairs.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` only when the top level is not an object.
    public init(from decoder: any Decoder) throws {
        self = try Self.decodeRepairing(from: decoder).state
    }

    /// Decodes a state field by field, and says which fields it repaired
    /// (the rules: `StoredDocument.decodeState(_:)`).
    /// - Parameter decoder: the decoder to read from.
    /// - Returns: the state, and the repairs made, in the order found.
    /// - Throws: `DecodingError` only when the top level is not an object.
    public static func decodeRepairing(from decoder: any Decoder) throws -> (state: BreakerRecord, repairs: [StateRepair]) {
        var fields = FieldReader(try decoder.container(keyedBy: StoredDocument.Field.self))
        let state = StoredDocument.decodeState(&fields)
        return (state, fields.repairs)
    }

    /// Encodes the state as a flat object.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: StoredDocument.Field.self)
        try StoredDocument.encodeFields(of: self, into: &container)
    }
}
