import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Testing

/// A state file with a field missing or unreadable is read field by field:
/// every readable field is kept, each repair is reported, and an open
/// breaker is never closed by a repair (issue 7, item 4).
@Suite("Repairing a stored state field by field")
struct StateRepairTests {
    static let policy = Policy(failMax: 2, resetTimeout: .seconds(60), backoff: Backoff(multiplier: 2, max: .seconds(600), jitter: 0))

    /// Decodes through `decodeRepairing(from:)`, as the store does.
    struct Repaired: Decodable {
        var state: BreakerRecord
        var repairs: [StateRepair]

        init(from decoder: any Decoder) throws {
            (state, repairs) = try BreakerRecord.decodeRepairing(from: decoder)
        }
    }

    static func decode(_ object: [String: Any]) throws -> Repaired {
        try JSONDecoder().decode(Repaired.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func decode(_ json: String) throws -> Repaired {
        try JSONDecoder().decode(Repaired.self, from: Data(json.utf8))
    }

    /// An open breaker with every field an open state has: counts of every
    /// kind, a reason, history, a backoff step.
    static let open: BreakerRecord = {
        var state = BreakerRecord()
        state.call(.success, at: t(1), policy: policy)
        state.call(ignored, at: t(2), policy: policy)
        state.call(failure, at: t(3), policy: policy)
        state.call(failure, at: t(4), policy: policy)
        _ = state.admit(at: t(5), policy: policy)
        state.counts.fallbacks = 1
        return state
    }()

    static func openObject() throws -> [String: Any] {
        let data = try JSONEncoder().encode(open)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every field an open state stores, with a value of the wrong type or
    /// range (as JSON).
    static let fields: [(String, String)] = [
        ("state", #""ajar""#), ("held", #""no""#), ("next_trial_at", #""soon""#), ("generation", "-3"),
        ("consecutive_failures", "-1"), ("opened_at", #"{"unix_ns": 5}"#), ("open_reason", "12"),
        ("last_failure", #"["x"]"#), ("last_failure_at", "true"), ("counts", #""lots""#),
        ("transitions", #"{"a": 1}"#), ("backoff_interval_ns", "-5"),
    ]

    @Test func theOpenSampleHasEveryFieldTheTableNames() throws {
        #expect(Self.open.circuitState == .open(until: t(64)))
        #expect(Set(try Self.openObject().keys) == Set(Self.fields.map(\.0)))
    }

    @Test(arguments: fields.map(\.0))
    func anOpenStateMissingAFieldIsNeverClosedAndKeepsEverythingElse(field: String) throws {
        var object = try Self.openObject()
        object.removeValue(forKey: field)
        let decoded = try Self.decode(object)
        Self.expectKept(decoded, except: field)
        switch field {
        case "next_trial_at":
            #expect(decoded.state.circuitState == .halfOpen(successes: 0), "an open state without its end gets one trial")
            #expect(decoded.repairs == [StateRepair(field: "next_trial_at", problem: .missing, remedy: "the breaker gets one trial")])
            #expect(decoded.repairs.map(\.description) == ["lacked 'next_trial_at'; the breaker gets one trial"])
        case "state":
            #expect(decoded.state.circuitState == Self.open.circuitState, "read from next_trial_at")
            #expect(decoded.repairs.map(\.field) == ["state"])
        case "opened_at":
            #expect(decoded.state.circuitState == Self.open.circuitState, "open until next_trial_at, which admission clamps")
            #expect(decoded.repairs.map(\.field) == ["opened_at"])
        case "generation":
            #expect(decoded.state.generation == Self.open.generation, "the last transition's generation")
            #expect(decoded.repairs.isEmpty)
        default:
            #expect(decoded.state.circuitState == Self.open.circuitState)
        }
    }

    @Test(arguments: fields.map(\.0))
    func anOpenStateWithAnUnreadableFieldIsNeverClosedAndSaysWhich(field: String) throws {
        var object = try Self.openObject()
        let odd = Self.fields.first { $0.0 == field }!.1
        object[field] = try JSONSerialization.jsonObject(with: Data(odd.utf8), options: .fragmentsAllowed)
        let decoded = try Self.decode(object)
        Self.expectKept(decoded, except: field)
        #expect(decoded.repairs.map(\.field) == [field])
        #expect(decoded.repairs.allSatisfy { $0.problem == .unreadable })
        #expect(decoded.repairs.first?.description.hasPrefix("had an unreadable '\(field)'; ") == true)
        if field == "next_trial_at" {
            #expect(decoded.state.circuitState == .halfOpen(successes: 0))
        } else {
            #expect(decoded.state.circuitState == Self.open.circuitState)
        }
    }

    /// The decoded state equals the sample in every field but `field` (and
    /// the circuit state, which the callers check).
    static func expectKept(_ decoded: Repaired, except field: String) {
        let state = decoded.state
        #expect(state.circuitState != .closed, "a repair never closes an open breaker")
        if field != "counts" { #expect(state.counts == open.counts) }
        if field != "transitions" { #expect(state.recentTransitions == open.recentTransitions) }
        if field != "generation" { #expect(state.generation == open.generation) }
        if field != "consecutive_failures" { #expect(state.consecutiveFailures == open.consecutiveFailures) }
        if field != "opened_at" { #expect(state.openedAt == open.openedAt) }
        if field != "open_reason" { #expect(state.openReason == open.openReason) }
        if field != "last_failure" { #expect(state.lastFailure == open.lastFailure) }
        if field != "last_failure_at" { #expect(state.lastFailureAt == open.lastFailureAt) }
        if field != "backoff_interval_ns" { #expect(state.backoffInterval == open.backoffInterval) }
    }

    @Test func anOpenStateWithoutItsEndGetsExactlyOneTrialAndAFailedOneReopens() throws {
        var object = try Self.openObject()
        object.removeValue(forKey: "next_trial_at")
        object.removeValue(forKey: "opened_at")
        var state = try Self.decode(object).state
        #expect(state.effectiveCircuitState(at: t(6)) == .halfOpen(successes: 0))

        var permits = 1
        let take = { () -> Bool in
            defer { permits -= 1 }
            return permits > 0
        }
        let trial = try #require(state.admit(at: t(6), policy: Self.policy, trialPermit: take).ticket)
        #expect(trial.isTrial)
        #expect(state.admit(at: t(6), policy: Self.policy, trialPermit: take).rejection == .trialsTaken, "one trial, not two")
        state.record(failure, for: trial, at: t(7), policy: Self.policy)
        #expect(state.circuitState == .open(until: t(7 + 120)), "a failed trial reopens, with the backoff step that was kept")
        #expect(state.counts.failures == Self.open.counts.failures + 1)
        #expect(state.counts.successes == Self.open.counts.successes)
    }

    @Test func aMissingCountsMemberIsZeroForThatMemberOnly() throws {
        let decoded = try Self.decode(#"{"state": "closed", "counts": {"successes": 7, "ignored": 2, "rejected": 3, "fallbacks": 1}}"#)
        #expect(decoded.state.counts == Counts(successes: 7, failures: 0, ignored: 2, rejected: 3, fallbacks: 1))
        #expect(decoded.repairs.isEmpty, "an absent member is a sparse file, not damage")
    }

    @Test func anUnreadableCountsMemberIsZeroAndTheOthersAreKept() throws {
        let decoded = try Self.decode(#"{"state": "closed", "counts": {"successes": 7, "failures": -2, "ignored": "x", "rejected": 3, "fallbacks": 1.5}}"#)
        #expect(decoded.state.counts == Counts(successes: 7, failures: 0, ignored: 0, rejected: 3, fallbacks: 0))
        #expect(decoded.repairs.map(\.field) == ["counts.failures", "counts.ignored", "counts.fallbacks"])
        #expect(decoded.repairs.first?.description == "had an unreadable 'counts.failures'; counted from 0, the other counts kept")
    }

    @Test func anUnreadableHistoryEntryIsDroppedAndTheOthersAreKept() throws {
        let decoded = try Self.decode("""
            {"state": "closed", "transitions": [
              {"from": "closed", "to": "open", "at": {"boottime_ns": 1, "unix_ns": 1}, "reason": "2 consecutive failures", "generation": 1},
              {"from": "open", "to": "ajar", "at": {"boottime_ns": 2, "unix_ns": 2}, "reason": "?", "generation": 2},
              {"from": "open", "to": "closed", "at": {"boottime_ns": 3, "unix_ns": 3}, "reason": "manual reset", "generation": 3, "by": 0}
            ]}
            """)
        #expect(decoded.state.recentTransitions.map(\.generation) == [1, 3])
        #expect(decoded.state.recentTransitions.last?.actor == nil, "an unreadable 'by' is left out, the entry kept")
        #expect(decoded.state.generation == 3, "no generation stored: the last transition's")
        #expect(decoded.repairs.map(\.description) == ["had an unreadable 'transitions'; 1 of its 3 entries dropped, the others kept"])
    }

    static let history = #"[{"from": "closed", "to": "open", "at": {"boottime_ns": 1, "unix_ns": 1}, "reason": "manual", "generation": 7}]"#

    @Test(arguments: [
        (#"{"state": "ajar", "held": true}"#, CircuitState.held, "read as held open, as 'held' says"),
        (#"{"state": "ajar", "transitions": \#(history)}"#, CircuitState.halfOpen(successes: 0), "the breaker gets one trial"),
        (#"{"transitions": \#(history)}"#, CircuitState.halfOpen(successes: 0), "the breaker gets one trial"),
        (#"{"state": 3}"#, CircuitState.halfOpen(successes: 0), "the breaker gets one trial"),
        (#"{"state": "ajar", "transitions": \#(history.replacingOccurrences(of: "\"to\": \"open\"", with: "\"to\": \"closed\""))}"#,
         CircuitState.closed, "read as closed, the last transition's target"),
    ])
    func aStateThatIsMissingOrUnknownIsReadFromTheRestOfTheFile(json: String, circuitState: CircuitState, remedy: String) throws {
        let decoded = try Self.decode(json)
        #expect(decoded.state.circuitState == circuitState)
        #expect(decoded.repairs.map(\.remedy) == [remedy])
        #expect(decoded.repairs.map(\.field) == ["state"])
    }

    @Test func aFileWithNeitherStateNorHistoryIsANewClosedBreakerWithoutAWord() throws {
        let decoded = try Self.decode(#"{"generation": 4, "counts": {"successes": 2}}"#)
        #expect(decoded.state.circuitState == .closed)
        #expect(decoded.state.counts.successes == 2)
        #expect(decoded.repairs.isEmpty)
    }

    @Test func aHalfOpenStateWithANegativeSuccessCountStartsItsTrialsAgain() throws {
        let decoded = try Self.decode(#"{"state": "half-open", "half_open_successes": -1}"#)
        #expect(decoded.state.circuitState == .halfOpen(successes: 0))
        #expect(decoded.repairs.map(\.field) == ["half_open_successes"])
    }

    @Test func anEmptyFailureWindowIsDamageAndStartsEmpty() throws {
        let decoded = try Self.decode(#"{"state": "closed", "failure_window": {"calls": 0, "outcomes": "x"}}"#)
        #expect(decoded.state.failureWindow.isEmpty)
        #expect(decoded.repairs.map(\.field) == ["failure_window"])
    }

    @Test func aRepairedStateWrittenBackReadsBackWithoutRepairs() throws {
        var object = try Self.openObject()
        object.removeValue(forKey: "next_trial_at")
        object["generation"] = "x"
        let repaired = try Self.decode(object)
        #expect(repaired.repairs.count == 2)
        let again = try JSONDecoder().decode(Repaired.self, from: JSONEncoder().encode(repaired.state))
        #expect(again.state == repaired.state)
        #expect(again.repairs.isEmpty)
    }
}
