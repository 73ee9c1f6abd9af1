/// A keyed breaker (`per_key:`): one definition serves any number of
/// targets (hosts, tenants, endpoints), each selected by `--key KEY` and
/// each an independent breaker with the definition's policy, bounded in
/// number, with an optional roll-up that opens the whole breaker when
/// enough keys are open (DESIGN, "Configuration"; issue 19).
public struct PerKey: Sendable, Equatable {
    /// The most keys tracked at once (`max_keys`, default 10,000). A new
    /// key beyond it makes room by forgetting the least recently used
    /// closed key; when every tracked key is open, held or in use, the new
    /// key's call is rejected like an open breaker's.
    public var maxKeys: Int = PerKey.defaultMaxKeys
    /// How long a closed key may stay unused before it is forgotten
    /// (`expire_after`, default 7 days).
    public var expireAfter: Duration = PerKey.defaultExpireAfter
    /// When the breaker as a whole opens (`open_when:`); nil for never.
    public var openWhen: RollUp?
    /// Whether `max_concurrent` limits each key or the whole breaker
    /// (`bulkhead:`, default `key`).
    public var bulkhead: BulkheadScope = .key

    /// `max_keys`'s default.
    public static let defaultMaxKeys = 10_000
    /// The largest `max_keys` accepted.
    public static let largestMaxKeys = 100_000
    /// `expire_after`'s default: 7 days.
    public static let defaultExpireAfter = Duration.seconds(7 * 86_400)

    /// Creates a keyed breaker's settings; every parameter defaults as
    /// DESIGN says.
    /// - Parameters:
    ///   - maxKeys: the most keys tracked at once.
    ///   - expireAfter: how long a closed key may stay unused.
    ///   - openWhen: the roll-up, if any.
    ///   - bulkhead: what `max_concurrent` limits.
    public init(maxKeys: Int = PerKey.defaultMaxKeys, expireAfter: Duration = PerKey.defaultExpireAfter,
                openWhen: RollUp? = nil, bulkhead: BulkheadScope = .key) {
        self.maxKeys = maxKeys
        self.expireAfter = expireAfter
        self.openWhen = openWhen
        self.bulkhead = bulkhead
    }

    /// The roll-up (`open_when: {keys_open: 50%, minimum_keys: 4}`): the
    /// whole breaker is open, for every key and new ones, while at least
    /// `keysOpen` of the tracked keys are open, once at least `minimumKeys`
    /// keys are tracked (a share of two keys says little: the same rule as
    /// resilience4j's `minimumNumberOfCalls` for a failure rate). Open
    /// counts open, held and half-open keys (not recovered yet).
    public struct RollUp: Sendable, Equatable {
        /// The share of tracked keys that must be open, in `0 < x <= 1`
        /// (`keys_open`, a percentage).
        public var keysOpen: Double
        /// The fewest keys tracked for the roll-up to apply
        /// (`minimum_keys`, default 1).
        public var minimumKeys: Int

        /// Creates a roll-up.
        /// - Parameters:
        ///   - keysOpen: the share of tracked keys, `0 < x <= 1`.
        ///   - minimumKeys: the fewest keys tracked, at least 1.
        public init(keysOpen: Double, minimumKeys: Int = 1) {
            self.keysOpen = keysOpen
            self.minimumKeys = minimumKeys
        }

        /// Whether `open` open keys of `tracked` open the whole breaker.
        /// - Parameters:
        ///   - open: the open (and half-open) keys.
        ///   - tracked: the keys tracked.
        /// - Returns: true when at least `minimumKeys` keys are tracked, one
        ///   at least is open, and the open share is reached.
        public func opens(open: Int, tracked: Int) -> Bool {
            tracked >= minimumKeys && holds(open: open, tracked: tracked)
        }

        /// Whether a roll-up that opened the whole breaker keeps it open:
        /// while the open share is reached, however few keys are left
        /// tracked (healthy keys idle while it holds may be forgotten;
        /// that is no recovery).
        /// - Parameters:
        ///   - open: the open (and half-open) keys.
        ///   - tracked: the keys tracked.
        /// - Returns: true while one key at least is open and the share is reached.
        public func holds(open: Int, tracked: Int) -> Bool {
            guard open > 0 else { return false }
            // Compared in integers of the share's ten-thousandths, so that
            // 50% of 4 is exactly 2.
            let share = Int((keysOpen * 10_000).rounded())
            return open * 10_000 >= share * tracked
        }
    }

    /// What `max_concurrent` limits in a keyed breaker.
    public enum BulkheadScope: String, Sendable, Equatable, CaseIterable {
        /// Each key has its own `max_concurrent` slots.
        case key
        /// All keys share the breaker's `max_concurrent` slots.
        case breaker
    }
}
