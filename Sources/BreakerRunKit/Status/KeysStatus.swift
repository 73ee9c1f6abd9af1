/// A keyed breaker's keys in `status NAME`: how many are tracked, open and
/// half-open, the open ones listed first (with their reason and next
/// trial), the rest counted; read from the key index alone, so that it
/// stays fast whatever the keys (issue 19: under 100 ms at 10,000).
///
/// In JSON: `{"tracked": 20, "open": 12, "half_open": 1, "closed": 7,
/// "listed": [{"key": ..., "state": "open", "opened_at": ...,
/// "next_trial_at": ..., "reason": ...}], "not_listed": 0}`.
public struct KeysStatus: Sendable, Equatable, Encodable {
    /// The keys tracked.
    public var tracked: Int
    /// The keys open (held ones included), not yet due a trial.
    public var open: Int
    /// The keys half-open: a trial running or due.
    public var halfOpen: Int
    /// The keys closed.
    public var closed: Int
    /// The keys that are not closed, open first then half-open, each in
    /// the order it opened, at most `listLimit` of them.
    public var listed: [Key]
    /// The keys not closed that are not listed.
    public var notListed: Int

    /// The most keys listed.
    public static let listLimit = 100

    /// One key that is not closed.
    public struct Key: Sendable, Equatable, Encodable {
        /// The key, as given (JSON escapes it; the text escapes control
        /// characters, `KeyedName.escaped(_:)`).
        public var key: String
        /// `open`, `half-open`, or `held`.
        public var state: String
        /// When it opened, RFC 3339; nil when not known.
        public var openedAt: String?
        /// When its next trial is due, RFC 3339; nil for a held key.
        public var nextTrialAt: String?
        /// Why it opened.
        public var reason: String?

        private enum CodingKeys: String, CodingKey {
            case key, state, openedAt = "opened_at", nextTrialAt = "next_trial_at", reason
        }

        /// Encodes every field, with `null` for absent values.
        /// - Parameter encoder: the encoder.
        /// - Throws: what the encoder throws.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(key, forKey: .key)
            try c.encode(state, forKey: .state)
            try c.encode(openedAt, forKey: .openedAt)
            try c.encode(nextTrialAt, forKey: .nextTrialAt)
            try c.encode(reason, forKey: .reason)
        }
    }

    /// The summary of `entries` as of `nowWallNanoseconds`.
    /// - Parameters:
    ///   - entries: every tracked key (`StateBackend.keyEntries(of:)`).
    ///   - nowWallNanoseconds: now, on the wall clock (ns since the epoch).
    public init(_ entries: [KeyEntry], nowWallNanoseconds: Int64) {
        tracked = entries.count
        var open: [(KeyEntry, KeyEntry.State)] = []
        var halfOpen: [(KeyEntry, KeyEntry.State)] = []
        for entry in entries {
            let state = entry.effectiveState(atWall: nowWallNanoseconds)
            switch state {
            case .closed: continue
            case .open, .held: open.append((entry, state))
            case .halfOpen: halfOpen.append((entry, state))
            }
        }
        self.open = open.count
        self.halfOpen = halfOpen.count
        closed = tracked - open.count - halfOpen.count
        let ordered = (open + halfOpen).sorted { lhs, rhs in
            let (left, right) = (lhs.1 == .halfOpen ? 1 : 0, rhs.1 == .halfOpen ? 1 : 0)
            if left != right { return left < right }
            return (lhs.0.openedAtWallNanoseconds ?? 0) < (rhs.0.openedAtWallNanoseconds ?? 0)
        }
        listed = ordered.prefix(Self.listLimit).map { entry, state in
            Key(key: entry.key,
                state: state == .halfOpen ? "half-open" : state == .held ? "held" : "open",
                openedAt: entry.openedAtWallNanoseconds.map { formatRFC3339(wallNanoseconds: $0) },
                nextTrialAt: state == .held ? nil : entry.nextTrialAtWallNanoseconds.map { formatRFC3339(wallNanoseconds: $0) },
                reason: entry.reason)
        }
        notListed = ordered.count - listed.count
    }

    private enum CodingKeys: String, CodingKey {
        case tracked, open, halfOpen = "half_open", closed, listed, notListed = "not_listed"
    }
}
