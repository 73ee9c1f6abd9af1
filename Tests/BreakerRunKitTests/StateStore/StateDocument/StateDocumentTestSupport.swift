import CircuitBreaker

// The state machine's test vocabulary (CircuitBreakerTests/Support.swift),
// for the tests of the stored document that moved here with the codec.

/// A fixed wall-clock origin (2025-01-01T00:00:00Z) so that wall times look real.
let wallOrigin: Int64 = 1_735_689_600_000_000_000
/// A fixed boot-clock origin: the machine has been up for an hour at `t(0)`.
let bootOrigin: Int64 = 3_600_000_000_000

/// The instant `seconds` after the tests' origin, on both clocks.
func t(_ seconds: Double) -> Instant {
    let ns = Int64((seconds * 1_000_000_000).rounded())
    return Instant(monotonicNanoseconds: bootOrigin + ns, wallNanoseconds: wallOrigin + ns)
}

let failure = Outcome.failure(reason: "exit status 1")
let ignored = Outcome.ignored(reason: "exit status 75")

extension Admission {
    /// The ticket, when the call was admitted.
    var ticket: Ticket? {
        if case .admitted(let ticket) = self { return ticket }
        return nil
    }

    /// The rejection, when the call was rejected.
    var rejection: Rejection? {
        if case .rejected(let rejection) = self { return rejection }
        return nil
    }
}

extension BreakerState {
    /// Admits a call, granting a trial permit when asked (or not, per `permit`).
    mutating func admit(at now: Instant, policy: Policy, permit: Bool = true) -> Admission {
        admit(at: now, policy: policy, trialPermit: { permit })
    }

    /// Admits a call and records `outcome` for it at the same instant.
    /// Returns the admission, so a caller can check the call was let through.
    @discardableResult
    mutating func call(_ outcome: Outcome, at now: Instant, policy: Policy) -> Admission {
        let admission = admit(at: now, policy: policy)
        if let ticket = admission.ticket {
            record(outcome, for: ticket, at: now, policy: policy)
        }
        return admission
    }

    /// A breaker opened by `policy.failMax` consecutive failures at `now`.
    static func opened(at now: Instant, policy: Policy) -> BreakerState {
        var state = BreakerState()
        for _ in 0..<policy.failMax {
            state.call(failure, at: now, policy: policy)
        }
        return state
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator, so that
/// a failing sequence can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
