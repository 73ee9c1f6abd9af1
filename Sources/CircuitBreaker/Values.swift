/// Where a breaker stands, with the data that each state needs: the
/// pattern's closed, open and half-open states (`Name`), with an open
/// breaker's end of interval, the operator's hold, and a half-open
/// breaker's successful trials.
public enum CircuitState: Sendable, Equatable {
    /// Calls run.
    case closed
    /// Calls are rejected until `until`, when a trial is allowed.
    case open(until: Instant)
    /// Forced open by an operator (`trip --hold`): calls are rejected until a
    /// `reset`, whatever the time.
    case held
    /// Trials run; `successes` of them have succeeded since the breaker
    /// entered half-open.
    case halfOpen(successes: Int)

    /// The three states of the pattern, as names: what `status` prints and
    /// what transitions are made of.
    public enum Name: String, Sendable, CaseIterable {
        /// Calls run; failures are counted.
        case closed
        /// Calls are rejected without running.
        case open
        /// A limited number of trial calls run.
        case halfOpen = "half-open"
    }

    /// The name of this state: a held breaker is open.
    public var name: Name {
        switch self {
        case .closed: .closed
        case .open, .held: .open
        case .halfOpen: .halfOpen
        }
    }
}

/// How one finished call is classified. Each call is recorded exactly once.
public enum Outcome: Sendable, Equatable {
    /// The call succeeded: it resets the consecutive failure count and counts
    /// towards closing a half-open breaker.
    case success
    /// The call failed, for the reason given (a short phrase such as
    /// "exit status 1" or "timeout").
    case failure(reason: String)
    /// Neither success nor failure (an ignored exit status, an interrupted
    /// call, a call that could not start): only the ignored count grows.
    case ignored(reason: String)
}

/// Proof that a call was admitted, carried from admission to recording.
public struct Ticket: Sendable, Equatable {
    /// The breaker's generation when the call was admitted. An outcome whose
    /// generation is no longer current is stale: it updates statistics only.
    public var generation: UInt64
    /// Whether the call is a trial of a half-open breaker (or a forced call).
    public var isTrial: Bool
    /// Whether the call was forced past an open breaker (`run --force`).
    public var isForced: Bool
    /// Who forced the call ("uid 0 (root)"), for the transitions its outcome
    /// makes; nil when not forced or not known.
    public var actor: String?

    /// Creates a ticket.
    /// - Parameters:
    ///   - generation: the generation at admission.
    ///   - isTrial: whether the call is a trial.
    ///   - isForced: whether the call was forced past an open breaker.
    ///   - actor: who forced it, or nil.
    public init(generation: UInt64, isTrial: Bool, isForced: Bool = false, actor: String? = nil) {
        self.generation = generation
        self.isTrial = isTrial
        self.isForced = isForced
        self.actor = actor
    }
}

/// Why a call was not admitted.
public enum Rejection: Sendable, Equatable {
    /// The breaker is open; a trial is allowed after `retryAfter`.
    case open(retryAfter: Duration)
    /// The breaker is held open by an operator until a reset.
    case held
    /// The breaker is half-open and every trial permit is taken.
    case trialsTaken
    /// The bulkhead beside the breaker is full: `maxConcurrent` calls already
    /// run. The state machine never answers this; the bulkhead does.
    case concurrencyLimit(maxConcurrent: Int)
    /// A keyed breaker tracks `tracked` keys, its `max_keys`, and none can
    /// be forgotten for a new one: all are open, held or in use.
    case keysFull(tracked: Int)

    /// A short phrase for messages: "breaker is open", and so on.
    public var description: String {
        switch self {
        case .open: "breaker is open"
        case .held: "breaker is held open"
        case .trialsTaken: "breaker is half-open and its trial is running"
        case .concurrencyLimit(let limit): "concurrency limit reached (max_concurrent: \(limit))"
        case .keysFull(let tracked): "no room for a new key (all \(tracked) keys tracked are open or in use; max_keys)"
        }
    }
}

/// The decision on one call.
public enum Admission: Sendable, Equatable {
    /// The call may run; record its outcome with this ticket.
    case admitted(Ticket)
    /// The call must not run.
    case rejected(Rejection)
}

/// One change of state, kept in the breaker's recent history.
public struct Transition: Sendable, Equatable {
    /// The state left.
    public var from: CircuitState.Name
    /// The state entered.
    public var to: CircuitState.Name
    /// When it happened.
    public var at: Instant
    /// Why, in a few words ("3 consecutive failures", "manual", "trial succeeded").
    public var reason: String
    /// The generation the transition started.
    public var generation: UInt64
    /// Who made it by hand (`trip`, `reset`, a forced call), such as
    /// "uid 0 (root)"; nil for a transition the rules made.
    public var actor: String?

    /// Creates a transition record.
    /// - Parameters:
    ///   - from: the state left.
    ///   - to: the state entered.
    ///   - at: when it happened.
    ///   - reason: why, in a few words.
    ///   - generation: the generation it started.
    ///   - actor: who made it by hand, or nil.
    public init(from: CircuitState.Name, to: CircuitState.Name, at: Instant, reason: String, generation: UInt64, actor: String? = nil) {
        self.from = from
        self.to = to
        self.at = at
        self.reason = reason
        self.generation = generation
        self.actor = actor
    }
}

/// Lifetime totals of a breaker, exact under any concurrency: what `status`
/// shows and `metrics` exports. A reset does not clear them.
public struct Counts: Sendable, Equatable {
    /// Calls that ran and succeeded.
    public var successes: UInt64 = 0
    /// Calls that ran and failed.
    public var failures: UInt64 = 0
    /// Calls that ran and were ignored.
    public var ignored: UInt64 = 0
    /// Calls rejected without running.
    public var rejected: UInt64 = 0
    /// Rejected calls answered by a fallback.
    public var fallbacks: UInt64 = 0

    /// Creates zero counts.
    public init() {}

    /// Creates counts with the given totals.
    /// - Parameters:
    ///   - successes: calls that succeeded.
    ///   - failures: calls that failed.
    ///   - ignored: calls that were ignored.
    ///   - rejected: calls rejected without running.
    ///   - fallbacks: rejected calls answered by a fallback.
    public init(successes: UInt64, failures: UInt64, ignored: UInt64, rejected: UInt64, fallbacks: UInt64) {
        self.successes = successes
        self.failures = failures
        self.ignored = ignored
        self.rejected = rejected
        self.fallbacks = fallbacks
    }
}
