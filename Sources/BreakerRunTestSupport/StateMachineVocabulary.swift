import CircuitBreaker

// The state machine's test vocabulary, shared by the tests of the pure core
// (CircuitBreakerTests) and of the stored document (BreakerRunKitTests).

/// A fixed wall-clock origin (2025-01-01T00:00:00Z) so that wall times look
/// real, in nanoseconds since the epoch.
public let wallOrigin: Int64 = 1_735_689_600_000_000_000
/// A fixed boot-clock origin, in nanoseconds: the machine has been up for an
/// hour at `t(0)`.
public let bootOrigin: Int64 = 3_600_000_000_000

/// The instant `seconds` after the tests' origin, on both clocks.
/// - Parameter seconds: seconds after the origin.
/// - Returns: the instant.
public func t(_ seconds: Double) -> Instant {
    let ns = Int64((seconds * 1_000_000_000).rounded())
    return Instant(monotonicNanoseconds: bootOrigin + ns, wallNanoseconds: wallOrigin + ns)
}

/// An instant with independent boot and wall readings.
/// - Parameters:
///   - boot: seconds after the boot-clock origin.
///   - wall: seconds after the wall-clock origin.
/// - Returns: the instant.
public func instant(boot: Double, wall: Double) -> Instant {
    Instant(
        monotonicNanoseconds: bootOrigin + Int64((boot * 1_000_000_000).rounded()),
        wallNanoseconds: wallOrigin + Int64((wall * 1_000_000_000).rounded())
    )
}

/// A failure, as a call that exited 1 is classified.
public let failure = Outcome.failure(reason: "exit status 1")
/// An ignored outcome, as a call that exited 75 is classified by default.
public let ignored = Outcome.ignored(reason: "exit status 75")

extension Admission {
    /// The ticket, when the call was admitted.
    public var ticket: Ticket? {
        if case .admitted(let ticket) = self { return ticket }
        return nil
    }

    /// The rejection, when the call was rejected.
    public var rejection: Rejection? {
        if case .rejected(let rejection) = self { return rejection }
        return nil
    }
}

extension BreakerRecord {
    /// Admits a call, granting a trial permit when asked (or not, per `permit`).
    /// - Parameters:
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    ///   - permit: whether a trial permit is free.
    /// - Returns: the admission.
    public mutating func admit(at now: Instant, policy: Policy, permit: Bool = true) -> Admission {
        admit(at: now, policy: policy, trialPermit: { permit })
    }

    /// Admits a call and records `outcome` for it at the same instant.
    /// - Parameters:
    ///   - outcome: how the call ended.
    ///   - now: the current time.
    ///   - policy: the breaker's rules.
    /// - Returns: the admission, so a caller can check the call was let through.
    @discardableResult
    public mutating func call(_ outcome: Outcome, at now: Instant, policy: Policy) -> Admission {
        let admission = admit(at: now, policy: policy)
        if let ticket = admission.ticket {
            record(outcome, for: ticket, at: now, policy: policy)
        }
        return admission
    }

    /// A breaker opened by `policy.failMax` consecutive failures at `now`.
    /// - Parameters:
    ///   - now: when it opened.
    ///   - policy: the breaker's rules.
    /// - Returns: the open state.
    public static func opened(at now: Instant, policy: Policy) -> BreakerRecord {
        var state = BreakerRecord()
        for _ in 0..<policy.failMax {
            state.call(failure, at: now, policy: policy)
        }
        return state
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator, so that
/// a failing sequence can be replayed from its seed.
public struct SplitMix64: RandomNumberGenerator {
    /// The generator's state; the seed at first.
    public var state: UInt64

    /// Creates a generator from a seed.
    /// - Parameter state: the seed.
    public init(state: UInt64) {
        self.state = state
    }

    /// The next value.
    /// - Returns: 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
