import CircuitBreaker

/// A key's place in its keyed breaker's index, as `status` and the roll-up
/// see it: its circuit state as last recorded (on its creation and after
/// each of its transitions, `StateBackend.recordKeyState`), not read from
/// its own state.
public struct KeyEntry: Sendable, Equatable {
    /// A key's circuit state as the index keeps it.
    public enum State: UInt8, Sendable, Equatable {
        /// Closed: calls run.
        case closed = 0
        /// Open until `nextTrialAt`; half-open in effect after it.
        case open = 1
        /// Half-open: trials running or due.
        case halfOpen = 2
        /// Held open by `trip --key K --hold` until `reset --key K`.
        case held = 3
    }

    /// The key, as given.
    public var key: String
    /// Its state as last recorded.
    public var state: State
    /// When it last opened (wall clock, nanoseconds since the Unix epoch);
    /// nil when closed.
    public var openedAtWallNanoseconds: Int64?
    /// When its next trial is due (wall clock, nanoseconds since the Unix
    /// epoch); nil when closed or held.
    public var nextTrialAtWallNanoseconds: Int64?
    /// Why it last opened, cut to `KeyEntry.reasonLimit` bytes; nil when closed.
    public var reason: String?

    /// The longest reason kept, in bytes.
    public static let reasonLimit = 32

    /// Creates an entry.
    /// - Parameters:
    ///   - key: the key.
    ///   - state: its recorded state.
    ///   - openedAtWallNanoseconds: when it opened, or nil.
    ///   - nextTrialAtWallNanoseconds: when its next trial is due, or nil.
    ///   - reason: why it opened, or nil.
    public init(key: String, state: State = .closed, openedAtWallNanoseconds: Int64? = nil, nextTrialAtWallNanoseconds: Int64? = nil,
                reason: String? = nil) {
        self.key = key
        self.state = state
        self.openedAtWallNanoseconds = openedAtWallNanoseconds
        self.nextTrialAtWallNanoseconds = nextTrialAtWallNanoseconds
        self.reason = reason
    }

    /// The entry of `key` whose state is `record`, read at `now`.
    /// - Parameters:
    ///   - key: the key.
    ///   - record: its state.
    ///   - now: when it was read.
    public init(key: String, record: BreakerRecord, at now: Instant) {
        self.key = key
        switch record.circuitState {
        case .closed: state = .closed
        case .open: state = .open
        case .held: state = .held
        case .halfOpen: state = .halfOpen
        }
        guard state != .closed else { return }
        openedAtWallNanoseconds = record.openedAt.map { wall(of: $0, at: now) }
        nextTrialAtWallNanoseconds = record.nextTrialAt.map { wall(of: $0, at: now) }
        reason = record.openReason.map { String(decoding: Array($0.utf8.prefix(Self.reasonLimit)), as: UTF8.self) }
    }

    /// Whether the key counts as open for the roll-up: open, held or
    /// half-open (not recovered yet).
    public var isOpen: Bool { state != .closed }

    /// Its state as of `nowWallNanoseconds`: an open key whose next trial
    /// is due is half-open.
    /// - Parameter nowWallNanoseconds: now, on the wall clock.
    /// - Returns: its effective state.
    public func effectiveState(atWall nowWallNanoseconds: Int64) -> State {
        if state == .open, let next = nextTrialAtWallNanoseconds, next <= nowWallNanoseconds { return .halfOpen }
        return state
    }
}

/// The wall-clock reading of `instant`, by its distance from `now` on the
/// monotonic clock (a stored instant of this boot may carry a wall reading
/// of a clock that was set since).
private func wall(of instant: Instant, at now: Instant) -> Int64 {
    now.wallNanoseconds &+ (instant.monotonicNanoseconds &- now.monotonicNanoseconds)
}

/// How many keys a keyed breaker tracks, and how many are open.
public struct KeyCensus: Sendable, Equatable {
    /// The keys tracked.
    public var tracked: Int
    /// The keys open, held or half-open (`KeyEntry.isOpen`).
    public var open: Int

    /// Creates a census.
    /// - Parameters:
    ///   - tracked: the keys tracked.
    ///   - open: the keys open.
    public init(tracked: Int, open: Int) {
        self.tracked = tracked
        self.open = open
    }

    /// The census of `entries`.
    /// - Parameter entries: every tracked key.
    public init(_ entries: [KeyEntry]) {
        self.init(tracked: entries.count, open: entries.count { $0.isOpen })
    }
}

/// What `StateBackend.trackKey(_:bounds:)` gave.
public enum KeyLease {
    /// The key is tracked and marked in use until the permit is released:
    /// it cannot be forgotten meanwhile.
    case tracked(any StatePermit)
    /// The key is new and no key could be forgotten to make room: all
    /// `tracked` keys are open, held or in use.
    case full(tracked: Int)
}
