import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Testing

/// A state file may hold any value (edited by hand, damaged, written by a
/// future version): no value may crash a run.
@Suite("Odd values in a decoded state")
struct OddValueTests {
    let policy = Policy(failMax: 2, resetTimeout: .seconds(60))

    func decode(_ json: String) throws -> BreakerRecord {
        try JSONDecoder().decode(BreakerRecord.self, from: Data(json.utf8))
    }

    @Test func countsAtTheirMaximumStayThere() throws {
        let max = UInt64.max
        var state = try decode("""
            {"counts": {"successes": \(max), "failures": \(max), "ignored": \(max), "rejected": \(max), "fallbacks": \(max)}}
            """)
        state.call(.success, at: t(0), policy: policy)
        state.call(ignored, at: t(1), policy: policy)
        state.call(failure, at: t(2), policy: policy)
        state.call(failure, at: t(3), policy: policy)
        _ = state.admit(at: t(4), policy: policy)
        #expect(state.counts == Counts(successes: max, failures: max, ignored: max, rejected: max, fallbacks: max))
    }

    @Test func aFailureRunAtTheMaximumStillTrips() throws {
        var state = try decode(#"{"consecutive_failures": \#(Int.max)}"#)
        state.call(failure, at: t(0), policy: policy)
        #expect(state.circuitState == .open(until: t(60)))
        #expect(state.consecutiveFailures == Int.max)
    }

    @Test func theGenerationWrapsAndTicketsOfTheOldOneAreStale() throws {
        var state = try decode(#"{"generation": \#(UInt64.max)}"#)
        let old = try #require(state.admit(at: t(0), policy: policy).ticket)
        state.trip(at: t(1), policy: policy)
        #expect(state.generation == 0)
        #expect(state.recentTransitions.last?.generation == 0)
        state.record(.success, for: old, at: t(2), policy: policy)
        #expect(state.circuitState == .open(until: t(61)), "a ticket of the generation before still counts as stale")
    }

    @Test func aHalfOpenSuccessCountAtTheMaximumCloses() throws {
        var state = try decode(#"{"state": "half-open", "half_open_successes": \#(Int.max)}"#)
        state.call(.success, at: t(0), policy: policy)
        #expect(state.circuitState == .closed)
    }
}
