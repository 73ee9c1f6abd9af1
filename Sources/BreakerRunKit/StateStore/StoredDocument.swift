import CircuitBreaker

/// The contents of `state.json`: the breaker state's flat object with three
/// more fields, `"format"` (the version of this layout), `"boot_id"` (the
/// boot whose CLOCK_BOOTTIME the stored monotonic readings are on) and
/// `"counts_epoch"` (which `NAME/counts` belongs to it; `PendingCounts`).
package struct StoredDocument: Codable {
    /// The format this version writes, and the highest it reads.
    package static let currentFormat = 1

    /// The format found in the file; nil when it had none (or an odd value),
    /// which is read as the current format.
    package var format: Int?
    /// The boot id found in the file; nil when it had none.
    package var bootID: String?
    /// The epoch of the pending counts that belong to this state; nil when
    /// it had none (or an odd value), which is `PendingCounts.initialEpoch`.
    package var countsEpoch: UInt64?
    /// The breaker state.
    package var state: BreakerState
    /// The fields that decoding found missing where they mattered, or
    /// unreadable, and repaired (`BreakerState.decodeRepairing(from:)`);
    /// empty for a document made in memory.
    package var repairs: [StateRepair] = []

    package init(format: Int? = StoredDocument.currentFormat, bootID: String?, countsEpoch: UInt64? = nil, state: BreakerState) {
        self.format = format
        self.bootID = bootID
        self.countsEpoch = countsEpoch
        self.state = state
    }

    private enum CodingKeys: String, CodingKey {
        case format
        case bootID = "boot_id"
        case countsEpoch = "counts_epoch"
    }

    /// Decodes field by field, like `BreakerState` itself, and collects the
    /// repairs made. An unreadable `format` is read as the current one, an
    /// unreadable `boot_id` as none (so the state is rebased as after a
    /// reboot); both are reported.
    /// - Throws: only when the top level is not an object.
    package init(from decoder: any Decoder) throws {
        var fields = FieldReader(try decoder.container(keyedBy: CodingKeys.self))
        format = fields.value(Int.self, .format, else: "read as format \(Self.currentFormat)")
        bootID = fields.value(String.self, .bootID, else: "the state is taken as from another boot")
        countsEpoch = fields.value(UInt64.self, .countsEpoch, else: "read as 0: counts pending in the counts file under another epoch are not added")
        let decoded = try BreakerState.decodeRepairing(from: decoder)
        state = decoded.state
        repairs = fields.repairs + decoded.repairs
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(format ?? Self.currentFormat, forKey: .format)
        try container.encodeIfPresent(bootID, forKey: .bootID)
        try container.encodeIfPresent(countsEpoch, forKey: .countsEpoch)
        // The same encoder: the state's fields join this object.
        try state.encode(to: encoder)
    }
}
