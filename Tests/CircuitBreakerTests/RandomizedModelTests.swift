import CircuitBreaker
import Testing

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

/// Drives a breaker with random sequences of admissions, outcomes of calls in
/// flight, time steps, trips and resets, the way many processes sharing one
/// state file would, and checks the pattern's invariants after every step.
@Suite("Randomized model")
struct RandomizedModelTests {
    struct Call {
        var ticket: Ticket
        var holdsPermit: Bool
    }

    /// Runs one random sequence; returns the violations found (empty when none).
    static func run(seed: UInt64, steps: Int) -> [String] {
        var rng = SplitMix64(state: seed)
        let policy = Policy(
            failMax: Int.random(in: 1...4, using: &rng),
            resetTimeout: .seconds(Int.random(in: 1...30, using: &rng)),
            successThreshold: Int.random(in: 1...3, using: &rng),
            halfOpenMaxCalls: Int.random(in: 1...3, using: &rng)
        )
        var state = BreakerState()
        var now = t(0)
        var inFlight: [Call] = []
        var permitsHeld = 0
        var recorded: UInt64 = 0
        var rejections: UInt64 = 0
        var transitions: UInt64 = 0
        var openInterval = policy.resetTimeout
        var violations: [String] = []

        func check(_ condition: Bool, _ message: @autoclosure () -> String, step: Int) {
            if !condition { violations.append("seed \(seed) step \(step) \(policy): \(message())") }
        }

        for step in 0..<steps {
            let before = state
            var tripInterval: Duration?
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<35:
                var asked = false
                var granted = false
                let admission = state.admit(at: now, policy: policy) {
                    asked = true
                    guard permitsHeld < policy.halfOpenMaxCalls else { return false }
                    permitsHeld += 1
                    granted = true
                    return true
                }
                let effective = before.effectivePhase(at: now)
                check(asked == (effective.name == .halfOpen), "asked for a permit in \(effective)", step: step)
                switch admission {
                case .admitted(let ticket):
                    check(ticket.isTrial == granted, "trial \(ticket.isTrial) but permit granted \(granted)", step: step)
                    check(ticket.generation == state.generation, "ticket of another generation", step: step)
                    check(effective == .closed || effective.name == .halfOpen, "admitted in \(effective)", step: step)
                    inFlight.append(Call(ticket: ticket, holdsPermit: granted))
                case .rejected(let rejection):
                    rejections += 1
                    switch rejection {
                    case .open(let retryAfter):
                        check(retryAfter > .zero && retryAfter == state.retryAfter(at: now), "retryAfter \(retryAfter)", step: step)
                    case .held:
                        check(state.phase == .held, "held rejection in \(state.phase)", step: step)
                    case .trialsTaken:
                        check(asked && !granted, "trialsTaken with a permit granted", step: step)
                    case .concurrencyLimit:
                        check(false, "the state machine answered for the bulkhead", step: step)
                    }
                }
            case 35..<38:
                let ticket = state.admitForced(at: now)
                check(ticket.isForced && ticket.generation == state.generation, "forced ticket \(ticket)", step: step)
                inFlight.append(Call(ticket: ticket, holdsPermit: false))
            case 38..<75:
                guard !inFlight.isEmpty else { break }
                let call = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &rng))
                let outcome: Outcome = switch Int.random(in: 0..<10, using: &rng) {
                case 0..<4: .success
                case 4..<9: .failure(reason: "exit status 1")
                default: .ignored(reason: "interrupted")
                }
                state.record(outcome, for: call.ticket, at: now, policy: policy)
                recorded += 1
                if call.holdsPermit { permitsHeld -= 1 }
                let isStale = call.ticket.generation != before.generation
                if case .ignored = outcome {} else if !isStale {
                    break
                }
                check(state.phase == before.phase, "stale or ignored outcome changed \(before.phase) to \(state.phase)", step: step)
                check(state.generation == before.generation, "stale or ignored outcome made a transition", step: step)
                check(state.consecutiveFailures == before.consecutiveFailures, "stale or ignored outcome changed the failure run", step: step)
            case 75..<93:
                now = now + .milliseconds(Int.random(in: 0...40_000, using: &rng))
            case 93..<97:
                let hold = Int.random(in: 0..<4, using: &rng) == 0
                tripInterval = Bool.random(using: &rng) ? .seconds(Int.random(in: 1...120, using: &rng)) : nil
                state.trip(at: now, for: tripInterval, hold: hold, policy: policy)
                tripInterval = tripInterval ?? policy.resetTimeout
            default:
                state.reset(at: now)
                check(state.phase == .closed && state.consecutiveFailures == 0, "reset left \(state.phase)", step: step)
                check(state.counts == before.counts, "reset changed the counts", step: step)
            }

            // Transitions: one generation each, never closed straight to half-open.
            let made = state.generation &- before.generation
            transitions += made
            check(state.generation == transitions, "generation \(state.generation) after \(transitions) transitions", step: step)
            let new = state.transitions(after: before.generation)
            check(UInt64(new.count) == min(made, UInt64(BreakerState.historyLimit)), "\(made) transitions, \(new.count) recorded", step: step)
            if made > 0, UInt64(new.count) == made {
                check(new.first?.from == before.phase.name, "first transition from \(String(describing: new.first?.from)), was \(before.phase.name)", step: step)
                check(new.last?.to == state.phase.name, "last transition to \(String(describing: new.last?.to)), is \(state.phase.name)", step: step)
                for pair in zip(new, new.dropFirst()) {
                    check(pair.0.to == pair.1.from, "transitions do not chain", step: step)
                }
            }
            for transition in new {
                check(!(transition.from == .closed && transition.to == .halfOpen), "closed went straight to half-open", step: step)
                check(transition.at == now, "transition dated \(transition.at), now \(now)", step: step)
            }
            check(state.recentTransitions.count <= BreakerState.historyLimit, "history of \(state.recentTransitions.count)", step: step)

            // Only a transition into open sets opened_at; the interval is the one asked for.
            if made == 0 {
                check(state.openedAt == before.openedAt, "opened_at moved without a transition", step: step)
            }
            if made > 0, state.phase.name == .open {
                openInterval = tripInterval ?? policy.resetTimeout
                check(state.openedAt == now, "opened at \(String(describing: state.openedAt)), now \(now)", step: step)
            }
            if case .open(let until) = state.phase {
                let length = state.openedAt.map { until.duration(since: $0) }
                check(length == openInterval, "open for \(String(describing: length)), expected \(openInterval)", step: step)
                check(length.map { $0 <= max(policy.resetTimeout, tripInterval ?? .zero, openInterval) } ?? false, "open too long", step: step)
            }

            // Permits and phases.
            let trialsInFlight = inFlight.filter { $0.holdsPermit }.count
            check(trialsInFlight == permitsHeld && permitsHeld <= policy.halfOpenMaxCalls, "\(trialsInFlight) trials in flight", step: step)
            if case .halfOpen(let successes) = state.phase {
                check(successes >= 0 && successes < policy.successThreshold, "half-open with \(successes) successes", step: step)
            }
            if state.phase == .closed {
                check(state.consecutiveFailures < policy.failMax, "closed with \(state.consecutiveFailures) failures", step: step)
            }

            // Counts add up.
            let c = state.counts
            check(c.successes + c.failures + c.ignored == recorded, "counts \(c) after \(recorded) outcomes", step: step)
            check(c.rejected == rejections, "rejected \(c.rejected), saw \(rejections)", step: step)

            if !violations.isEmpty { return violations }
        }
        return violations
    }

    @Test func invariantsHoldOverThousandsOfRandomSequences() {
        var violations: [String] = []
        var seed: UInt64 = 0x5EED
        for _ in 0..<2_000 {
            violations += Self.run(seed: seed, steps: 300)
            if violations.count >= 5 { break }
            seed &+= 1
        }
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    @Test func theSequencesReachEveryPhase() {
        // Guards the test above against a generator that never leaves closed.
        var seen: Set<String> = []
        for seed in UInt64(0)..<50 {
            var rng = SplitMix64(state: seed)
            var state = BreakerState()
            let policy = Policy(failMax: 2, resetTimeout: .seconds(5), successThreshold: 2)
            var now = t(0)
            for _ in 0..<200 {
                now = now + .seconds(Int.random(in: 0...3, using: &rng))
                if let ticket = state.admit(at: now, policy: policy).ticket {
                    state.record(Bool.random(using: &rng) ? .success : failure, for: ticket, at: now, policy: policy)
                }
                seen.insert(state.phase.name.rawValue)
            }
        }
        #expect(seen == ["closed", "open", "half-open"])
    }
}
