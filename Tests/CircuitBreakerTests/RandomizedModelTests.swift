import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// Drives a breaker with random sequences of admissions, outcomes of calls in
/// flight, time steps, trips and resets, the way many processes sharing one
/// state file would, and checks the pattern's invariants after every step.
@Suite("Randomized model")
struct RandomizedModelTests {
    struct Call {
        var ticket: Ticket
        var holdsPermit: Bool
    }

    /// Runs one random sequence; returns the violations found (empty when
    /// none), and adds to `seen` the kinds of event it reached.
    static func run(seed: UInt64, steps: Int, seen: inout Set<String>) -> [String] {
        var rng = SplitMix64(state: seed)
        let failureRate: FailureRate? = switch Int.random(in: 0..<3, using: &rng) {
        case 0: nil
        case 1: FailureRate(
            threshold: Double.random(in: 0.2...1, using: &rng), window: .calls(Int.random(in: 1...30, using: &rng)),
            minimumCalls: Int.random(in: 1...10, using: &rng))
        default: FailureRate(
            threshold: Double.random(in: 0.2...1, using: &rng), window: .duration(.seconds(Int.random(in: 1...120, using: &rng))),
            minimumCalls: Int.random(in: 1...10, using: &rng))
        }
        let backoff: Backoff? = Bool.random(using: &rng) ? nil : Backoff(
            multiplier: Double.random(in: 1...3, using: &rng), max: .seconds(Int.random(in: 1...300, using: &rng)),
            jitter: Double.random(in: 0...0.5, using: &rng))
        let policy = Policy(
            failMax: Int.random(in: 1...8, using: &rng),
            resetTimeout: .seconds(Int.random(in: 1...30, using: &rng)),
            successThreshold: Int.random(in: 1...3, using: &rng),
            halfOpenMaxCalls: Int.random(in: 1...3, using: &rng),
            failureRate: failureRate,
            backoff: backoff
        )
        var state = BreakerRecord()
        var now = t(0)
        var inFlight: [Call] = []
        var permitsHeld = 0
        var recorded: UInt64 = 0
        var rejections: UInt64 = 0
        var transitions: UInt64 = 0
        // The model of the backoff: the base interval the next reopen grows from.
        var modelBase: Duration?
        // The model of the failure-rate window: the current generation's
        // closed-state outcomes (true for a failure), with their times.
        var modelWindow: [(at: Instant, isFailure: Bool)] = []
        var violations: [String] = []

        func check(_ condition: Bool, _ message: @autoclosure () -> String, step: Int) {
            if !condition { violations.append("seed \(seed) step \(step) \(policy): \(message())") }
        }

        for step in 0..<steps {
            let before = state
            var tripInterval: Duration?
            var expectedBase: Duration?
            var wasTrip = false
            var forcedRecord = false
            var recordedInClosed: Bool?
            let random = Double.random(in: 0..<1, using: &rng)
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
                let effective = before.effectiveCircuitState(at: now)
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
                        check(state.circuitState == .held, "held rejection in \(state.circuitState)", step: step)
                    case .trialsTaken:
                        check(asked && !granted, "trialsTaken with a permit granted", step: step)
                    case .concurrencyLimit, .keysFull:
                        check(false, "the state machine answered for the bulkhead or the key index", step: step)
                    }
                }
            case 35..<38:
                let ticket = state.admitForced(at: now, by: "uid \(step)")
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
                state.record(outcome, for: call.ticket, at: now, policy: policy, random: random)
                recorded += 1
                if call.ticket.generation == before.generation {
                    forcedRecord = call.ticket.isForced
                    switch (before.circuitState, outcome) {
                    case (.closed, .success): recordedInClosed = false
                    case (.closed, .failure): recordedInClosed = true
                    default: break
                    }
                    if case .failure = outcome, before.circuitState != .closed {
                        // A failed trial or forced call reopens: the step grows.
                        if let backoff = policy.backoff, let base = modelBase {
                            let cap = max(backoff.max, policy.resetTimeout)
                            let grown = Duration.nanoseconds(Int64(min(9e18, Double(base.nanoseconds) * backoff.multiplier).rounded()))
                            expectedBase = min(cap, grown)
                        } else {
                            expectedBase = policy.resetTimeout
                        }
                    } else {
                        expectedBase = policy.resetTimeout
                    }
                }
                if call.holdsPermit { permitsHeld -= 1 }
                let isStale = call.ticket.generation != before.generation
                if case .ignored = outcome {} else if !isStale {
                    break
                }
                check(state.circuitState == before.circuitState, "stale or ignored outcome changed \(before.circuitState) to \(state.circuitState)", step: step)
                check(state.generation == before.generation, "stale or ignored outcome made a transition", step: step)
                check(state.consecutiveFailures == before.consecutiveFailures, "stale or ignored outcome changed the failure run", step: step)
            case 75..<93:
                now = now + .milliseconds(Int.random(in: 0...40_000, using: &rng))
            case 93..<97:
                let hold = Int.random(in: 0..<4, using: &rng) == 0
                tripInterval = Bool.random(using: &rng) ? .seconds(Int.random(in: 1...120, using: &rng)) : nil
                state.trip(at: now, for: tripInterval, hold: hold, policy: policy, random: random, by: "uid \(step)")
                wasTrip = true
                if tripInterval == nil {
                    if let backoff = policy.backoff, before.circuitState != .closed, let base = modelBase {
                        expectedBase = min(base, max(backoff.max, policy.resetTimeout))
                    } else {
                        expectedBase = policy.resetTimeout
                    }
                }
            default:
                state.reset(at: now, by: "uid \(step)")
                // A reset clears the window, with or without a transition.
                modelWindow = []
                check(state.circuitState == .closed && state.consecutiveFailures == 0, "reset left \(state.circuitState)", step: step)
                check(state.counts == before.counts, "reset changed the counts", step: step)
            }

            // Transitions: one generation each, never closed straight to half-open.
            let made = state.generation &- before.generation
            transitions += made
            check(state.generation == transitions, "generation \(state.generation) after \(transitions) transitions", step: step)
            let new = state.transitions(after: before.generation)
            check(UInt64(new.count) == min(made, UInt64(BreakerRecord.historyLimit)), "\(made) transitions, \(new.count) recorded", step: step)
            if made > 0, UInt64(new.count) == made {
                // A trip of a lapsed open breaker reopens it from half-open, its effective state.
                let from = wasTrip ? before.effectiveCircuitState(at: now).name : before.circuitState.name
                check(new.first?.from == from, "first transition from \(String(describing: new.first?.from)), was \(before.circuitState.name)", step: step)
                check(new.last?.to == state.circuitState.name, "last transition to \(String(describing: new.last?.to)), is \(state.circuitState.name)", step: step)
                for pair in zip(new, new.dropFirst()) {
                    check(pair.0.to == pair.1.from, "transitions do not chain", step: step)
                }
            }
            for transition in new {
                check(!(transition.from == .closed && transition.to == .halfOpen), "closed went straight to half-open", step: step)
                check(transition.at == now, "transition dated \(transition.at), now \(now)", step: step)
            }
            check(state.recentTransitions.count <= BreakerRecord.historyLimit, "history of \(state.recentTransitions.count)", step: step)

            // Only a transition into open sets opened_at; the interval is the
            // one asked for, or the backoff step spread by the jitter.
            if made == 0 {
                check(state.openedAt == before.openedAt, "opened_at moved without a transition", step: step)
                check(state.backoffInterval == before.backoffInterval, "the backoff moved without a transition", step: step)
            }
            for transition in new {
                let byHand = wasTrip || roll >= 97 || forcedRecord
                check((transition.actor != nil) == byHand, "actor \(String(describing: transition.actor)) on \(transition.reason)", step: step)
            }
            for transition in new {
                if transition.reason.hasPrefix("failure rate") {
                    if case .calls = policy.failureRate?.window { seen.insert("rate trip, count window") } else { seen.insert("rate trip, time window") }
                }
                if transition.actor != nil { seen.insert("\(transition.to) by hand") }
            }
            if let base = state.backoffInterval, base > policy.resetTimeout, made > 0 { seen.insert("backoff grew") }
            if let base = state.backoffInterval, base == max(policy.backoff?.max ?? .zero, policy.resetTimeout), (policy.backoff?.multiplier ?? 1) > 1, made > 0 {
                seen.insert("backoff capped")
            }
            if made > 0, case .open(let until) = state.circuitState {
                check(state.openedAt == now, "opened at \(String(describing: state.openedAt)), now \(now)", step: step)
                let length = until.duration(since: now)
                if let tripInterval {
                    check(length == tripInterval, "tripped for \(tripInterval), open for \(length)", step: step)
                    check(state.backoffInterval == modelBase, "trip --for moved the backoff step", step: step)
                } else if let base = expectedBase {
                    check(state.backoffInterval == base, "step \(String(describing: state.backoffInterval)), expected \(base)", step: step)
                    let jitter = policy.backoff?.jitter ?? 0
                    let lower = Double(base.nanoseconds) * (1 - jitter) - 1
                    let upper = Double(base.nanoseconds) * (1 + jitter) + 1
                    let ns = Double(length.nanoseconds)
                    check(ns >= lower && ns <= upper, "open for \(length), base \(base), jitter \(jitter)", step: step)
                    modelBase = base
                } else {
                    check(false, "opened with no cause the model knows", step: step)
                }
                check(length <= max(policy.longestOpenInterval, tripInterval ?? .zero), "open for \(length), too long", step: step)
            }
            if state.circuitState == .closed {
                modelBase = nil
                check(state.backoffInterval == nil, "closed with a backoff step", step: step)
            }

            // The failure-rate window: emptied by every transition, fed only by
            // current closed-state outcomes, and tripping exactly when the
            // outcomes within it reach the rule.
            if let isFailure = recordedInClosed {
                let model = modelWindow + [(now, isFailure)]
                modelWindow = model
                if let rule = policy.failureRate, case .calls(let n) = rule.window {
                    let last = model.suffix(n)
                    let calls = last.count
                    let failures = last.filter(\.isFailure).count
                    let rateFires = calls >= min(rule.minimumCalls, n) && failures > 0
                        && Double(failures) / Double(calls) >= rule.threshold
                    let failMaxFires = isFailure && before.consecutiveFailures + 1 >= policy.failMax
                    check((made > 0) == (rateFires || failMaxFires), "rate \(failures)/\(calls), fail run \(before.consecutiveFailures + 1): opened \(made > 0) (\(String(describing: state.openReason)))", step: step)
                    if made == 0 {
                        check(state.failureRateTotals(at: now, policy: policy) == WindowTotals(calls: calls, failures: failures), "window totals", step: step)
                    }
                }
            }
            if made > 0 { modelWindow = [] }
            if let rule = policy.failureRate, case .duration(let window) = rule.window, state.circuitState == .closed {
                // Buckets drop an outcome up to one bucket (window / 60) early, never late.
                let totals = state.failureRateTotals(at: now, policy: policy) ?? WindowTotals(calls: -1, failures: -1)
                let young = modelWindow.filter { now.duration(since: $0.at) < window }
                let surely = modelWindow.filter { now.duration(since: $0.at) < window - window / 60 - .milliseconds(1) }
                check(totals.calls <= young.count && totals.calls >= surely.count, "time window \(totals.calls) calls, model \(surely.count)...\(young.count)", step: step)
                check(totals.failures <= young.filter(\.isFailure).count && totals.failures >= surely.filter(\.isFailure).count, "time window failures", step: step)
            }
            if made > 0 || policy.failureRate == nil {
                check(state.failureRateTotals(at: now, policy: policy).map { $0.calls == 0 } ?? true, "window kept across a transition", step: step)
            }

            // Permits and circuit states.
            let trialsInFlight = inFlight.filter { $0.holdsPermit }.count
            check(trialsInFlight == permitsHeld && permitsHeld <= policy.halfOpenMaxCalls, "\(trialsInFlight) trials in flight", step: step)
            if case .halfOpen(let successes) = state.circuitState {
                check(successes >= 0 && successes < policy.successThreshold, "half-open with \(successes) successes", step: step)
            }
            if state.circuitState == .closed {
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
        var seen: Set<String> = []
        for _ in 0..<10_000 {
            violations += Self.run(seed: seed, steps: 80, seen: &seen)
            if violations.count >= 5 { break }
            seed &+= 1
        }
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
        // Guards against a generator that never reaches the rules under test.
        #expect(seen == [
            "rate trip, count window", "rate trip, time window", "backoff grew", "backoff capped",
            "open by hand", "closed by hand",
        ])
    }

    @Test func theSequencesReachEveryPhase() {
        // Guards the test above against a generator that never leaves closed.
        var seen: Set<String> = []
        for seed in UInt64(0)..<50 {
            var rng = SplitMix64(state: seed)
            var state = BreakerRecord()
            let policy = Policy(failMax: 2, resetTimeout: .seconds(5), successThreshold: 2)
            var now = t(0)
            for _ in 0..<200 {
                now = now + .seconds(Int.random(in: 0...3, using: &rng))
                if let ticket = state.admit(at: now, policy: policy).ticket {
                    state.record(Bool.random(using: &rng) ? .success : failure, for: ticket, at: now, policy: policy)
                }
                seen.insert(state.circuitState.name.rawValue)
            }
        }
        #expect(seen == ["closed", "open", "half-open"])
    }
}
