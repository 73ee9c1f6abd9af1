import CircuitBreaker

// The stored forms of the values inside a state document: part of the
// schema of `StoredDocument`, kept beside it so that the pure core holds
// no schema.

/// An instant as `{"boottime_ns": ..., "unix_ns": ...}`.
extension Instant: Codable {
    private enum CodingKeys: String, CodingKey {
        case monotonicNanoseconds = "boottime_ns"
        case wallNanoseconds = "unix_ns"
    }

    /// Decodes an instant; both readings must be there.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` when a reading is missing or not an integer.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(monotonicNanoseconds: try container.decode(Int64.self, forKey: .monotonicNanoseconds),
                  wallNanoseconds: try container.decode(Int64.self, forKey: .wallNanoseconds))
    }

    /// Encodes both readings, in nanoseconds.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(monotonicNanoseconds, forKey: .monotonicNanoseconds)
        try container.encode(wallNanoseconds, forKey: .wallNanoseconds)
    }
}

/// A state's name as stored and shown: `closed`, `open`, `half-open`.
extension CircuitState.Name: Codable {}

/// A transition as `{"from", "to", "at", "reason", "generation", "by"}`,
/// `by` left out when nil.
extension Transition: Codable {
    private enum CodingKeys: String, CodingKey {
        case from, to, at, reason, generation, actor = "by"
    }

    /// Decodes a transition; an unreadable `by` is left out rather than
    /// losing the whole entry.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` when `from`, `to`, `at`, `reason` or
    ///   `generation` is missing or unreadable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            from: try container.decode(CircuitState.Name.self, forKey: .from),
            to: try container.decode(CircuitState.Name.self, forKey: .to),
            at: try container.decode(Instant.self, forKey: .at),
            reason: try container.decode(String.self, forKey: .reason),
            generation: try container.decode(UInt64.self, forKey: .generation),
            actor: (try? container.decodeIfPresent(String.self, forKey: .actor)) ?? nil
        )
    }

    /// Encodes the transition as a flat object.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(at, forKey: .at)
        try container.encode(reason, forKey: .reason)
        try container.encode(generation, forKey: .generation)
        try container.encodeIfPresent(actor, forKey: .actor)
    }
}

/// The lifetime counts as `{"successes", "failures", "ignored", "rejected",
/// "fallbacks"}` (`StoredDocument.CountsField`).
extension Counts: Codable {
    /// Decodes counts leniently: a missing or malformed total is zero.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: `DecodingError` when the value is not an object.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: StoredDocument.CountsField.self)
        self.init(
            successes: (try? container.decodeIfPresent(UInt64.self, forKey: .successes)) ?? 0,
            failures: (try? container.decodeIfPresent(UInt64.self, forKey: .failures)) ?? 0,
            ignored: (try? container.decodeIfPresent(UInt64.self, forKey: .ignored)) ?? 0,
            rejected: (try? container.decodeIfPresent(UInt64.self, forKey: .rejected)) ?? 0,
            fallbacks: (try? container.decodeIfPresent(UInt64.self, forKey: .fallbacks)) ?? 0
        )
    }

    /// Encodes every total.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: StoredDocument.CountsField.self)
        try container.encode(successes, forKey: .successes)
        try container.encode(failures, forKey: .failures)
        try container.encode(ignored, forKey: .ignored)
        try container.encode(rejected, forKey: .rejected)
        try container.encode(fallbacks, forKey: .fallbacks)
    }
}

/// The window as a small JSON object, decoded leniently: anything odd gives
/// an empty window rather than an error.
///
/// - a count window: `{"calls": 20, "outcomes": "ssfsf"}`, one letter per
///   call, oldest first (`s` success, `f` failure);
/// - a time window: `{"bucket_ns": 10000000000, "buckets": [[start_ns,
///   successes, failures], ...]}`, oldest first, starts on the boot clock.
extension OutcomeWindow: Codable {
    private enum CodingKeys: String, CodingKey {
        case calls, outcomes, bucketWidth = "bucket_ns", buckets
    }

    /// Decodes a window; a malformed one decodes as empty.
    /// - Parameter decoder: the decoder to read from.
    /// - Throws: never; a window that cannot be read is empty.
    public init(from decoder: any Decoder) throws {
        self.init()
        guard let c = try? decoder.container(keyedBy: CodingKeys.self) else { return }
        if let calls = (try? c.decodeIfPresent(Int.self, forKey: .calls)) ?? nil,
           let outcomes = (try? c.decodeIfPresent(String.self, forKey: .outcomes)) ?? nil,
           (1...FailureRate.maximumCalls).contains(calls), outcomes.utf8.count <= calls,
           outcomes.utf8.allSatisfy({ $0 == UInt8(ascii: "s") || $0 == UInt8(ascii: "f") }) {
            var ring = CallRing(capacity: calls)
            for letter in outcomes.utf8 {
                ring.append(isFailure: letter == UInt8(ascii: "f"))
            }
            if ring.count > 0 { storage = .calls(ring) }
        } else if let width = (try? c.decodeIfPresent(Int64.self, forKey: .bucketWidth)) ?? nil,
                  let rows = (try? c.decodeIfPresent([[Int64]].self, forKey: .buckets)) ?? nil,
                  width >= 1_000_000, rows.count <= FailureRate.maximumBuckets,
                  rows.allSatisfy({ $0.count == 3 && $0[1] >= 0 && $0[2] >= 0 && $0[0] % width == 0 }) {
            let buckets = rows
                .map { TimeBuckets.Bucket(start: $0[0], successes: Int($0[1]), failures: Int($0[2])) }
                .sorted { $0.start < $1.start }
            guard zip(buckets, buckets.dropFirst()).allSatisfy({ $0.start < $1.start }) else { return }
            if !buckets.isEmpty { storage = .time(TimeBuckets(width: width, buckets: buckets)) }
        }
    }

    /// Encodes the window as a small object.
    /// - Parameter encoder: the encoder to write to.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch storage {
        case .empty:
            break
        case .calls(let ring):
            try c.encode(ring.capacity, forKey: .calls)
            let letters = (0..<ring.count).map { ring.isFailure(at: $0) ? UInt8(ascii: "f") : UInt8(ascii: "s") }
            try c.encode(String(decoding: letters, as: UTF8.self), forKey: .outcomes)
        case .time(let buckets):
            try c.encode(buckets.width, forKey: .bucketWidth)
            try c.encode(buckets.buckets.map { [$0.start, Int64($0.successes), Int64($0.failures)] }, forKey: .buckets)
        }
    }
}
