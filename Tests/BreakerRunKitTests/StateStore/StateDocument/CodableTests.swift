import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Testing

@Suite("State file encoding")
struct CodableTests {
    static let policy = Policy(failMax: 2, resetTimeout: .seconds(60), successThreshold: 3)

    static func encode(_ state: BreakerRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(state)
    }

    static func decode(_ json: String) throws -> BreakerRecord {
        try JSONDecoder().decode(BreakerRecord.self, from: Data(json.utf8))
    }

    /// Breakers in every circuit state, with counts, reasons and history.
    static let samples: [(String, BreakerRecord)] = {
        var closed = BreakerRecord()
        closed.call(.success, at: t(1), policy: policy)
        closed.call(failure, at: t(2), policy: policy)
        closed.call(ignored, at: t(3), policy: policy)

        var open = BreakerRecord.opened(at: t(10), policy: policy)
        _ = open.admit(at: t(11), policy: policy)

        var halfOpen = open
        let trial = halfOpen.admit(at: t(70), policy: policy).ticket!
        halfOpen.record(.success, for: trial, at: t(71), policy: policy)

        var held = closed
        held.trip(at: t(5), hold: true, reason: "vendor maintenance", policy: policy)

        return [("closed", closed), ("open", open), ("half-open", halfOpen), ("held", held)]
    }()

    @Test(arguments: samples)
    func aRoundTripPreservesTheState(name: String, state: BreakerRecord) throws {
        let data = try Self.encode(state)
        let decoded = try JSONDecoder().decode(BreakerRecord.self, from: data)
        #expect(decoded == state)
        // Instants compare by the boot clock alone; the bytes show the wall times survived too.
        #expect(try Self.encode(decoded) == data)
    }

    @Test func theHalfOpenSampleKeepsItsTrialSuccesses() throws {
        let state = Self.samples[2].1
        #expect(state.circuitState == .halfOpen(successes: 1))
        let decoded = try JSONDecoder().decode(BreakerRecord.self, from: Self.encode(state))
        #expect(decoded.circuitState == .halfOpen(successes: 1))
    }

    @Test func theEncodingIsFlatAndReadable() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Self.encode(Self.samples[1].1)) as? [String: Any])
        #expect(json["state"] as? String == "open")
        #expect(json["held"] as? Bool == false)
        #expect(json["generation"] as? Int == 1)
        #expect((json["next_trial_at"] as? [String: Any])?["unix_ns"] as? Int64 == wallOrigin + 70_000_000_000)
        #expect((json["counts"] as? [String: Any])?["rejected"] as? Int == 1)
    }

    @Test func anEmptyObjectDecodesToAFreshClosedState() throws {
        #expect(try Self.decode("{}") == BreakerRecord())
    }

    @Test func aFieldOfTheWrongTypeTakesItsDefault() throws {
        let state = try Self.decode("""
            {"state": "half-open", "half_open_successes": 1, "generation": "x",
             "consecutive_failures": -4, "counts": {"successes": 7, "failures": "many"},
             "transitions": 3, "open_reason": 12}
            """)
        #expect(state.generation == 0)
        #expect(state.circuitState == .halfOpen(successes: 1), "the good fields are kept")
        #expect(state.consecutiveFailures == 0)
        #expect(state.counts == Counts(successes: 7, failures: 0, ignored: 0, rejected: 0, fallbacks: 0))
        #expect(state.recentTransitions.isEmpty)
        #expect(state.openReason == nil)
    }

    @Test(arguments: [#"{"state": "ajar", "generation": 4}"#, #"{"state": 3}"#, #"{"state": "open"}"#, #"{"state": "open", "held": false}"#])
    func aStateThatMakesNoSenseGetsOneTrialNeverACloseNorAnError(json: String) throws {
        // Field by field: an unknown state, or an open one without its end,
        // is half-open with no successful trial (StateRepairTests has more).
        #expect(try Self.decode(json).circuitState == .halfOpen(successes: 0))
    }

    @Test func noStateAtAllIsANewClosedBreaker() throws {
        let state = try Self.decode(#"{"generation": 4}"#)
        #expect(state.circuitState == .closed)
        #expect(state.generation == 4)
    }

    @Test func openWithHeldDecodesToHeld() throws {
        let state = try Self.decode(#"{"state": "open", "held": true, "generation": 2}"#)
        #expect(state.circuitState == .held)
        #expect(state.effectiveCircuitState(at: t(1_000_000)) == .held)
    }

    @Test func openWithUntilDecodesToOpen() throws {
        let state = try Self.decode("""
            {"state": "open", "held": false, "next_trial_at": {"boottime_ns": \(bootOrigin + 60_000_000_000), "unix_ns": \(wallOrigin + 60_000_000_000)}}
            """)
        #expect(state.circuitState == .open(until: t(60)))
    }

    @Test func aLongHistoryIsCutToTheLimit() throws {
        let transition = #"{"from": "closed", "to": "open", "at": {"boottime_ns": 1, "unix_ns": 1}, "reason": "manual", "generation": 1}"#
        let many = Array(repeating: transition, count: BreakerRecord.historyLimit + 5).joined(separator: ",")
        let state = try Self.decode(#"{"transitions": [\#(many)]}"#)
        #expect(state.recentTransitions.count == BreakerRecord.historyLimit)
    }

    @Test func aTopLevelThatIsNotAnObjectThrows() {
        #expect(throws: (any Error).self) { try Self.decode("[1, 2]") }
    }
}
