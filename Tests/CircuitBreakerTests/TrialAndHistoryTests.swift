import BreakerRunTestSupport
import CircuitBreaker
import Testing

@Suite("Two trials, opened_at, and who made a transition")
struct TrialAndHistoryTests {
    static let policy = Policy(failMax: 1, resetTimeout: .seconds(10), successThreshold: 2, halfOpenMaxCalls: 2)

    /// Two trials admitted at once, their outcomes recorded in this order.
    static let twoTrialCases: [(outcomes: [Outcome], circuitState: CircuitState)] = [
        ([.success, .success], .closed),
        ([.success, failure], .open(until: t(22))),
        ([failure, .success], .open(until: t(21))),
        ([failure, failure], .open(until: t(21))),
        ([.success, ignored], .halfOpen(successes: 1)),
    ]

    @Test(arguments: twoTrialCases)
    func twoTrialsWithSuccessThresholdTwo(row: (outcomes: [Outcome], circuitState: CircuitState)) throws {
        var state = BreakerRecord.opened(at: t(0), policy: Self.policy)
        let first = try #require(state.admit(at: t(10), policy: Self.policy).ticket)
        let second = try #require(state.admit(at: t(10), policy: Self.policy).ticket)
        #expect(first.isTrial && second.isTrial)
        state.record(row.outcomes[0], for: first, at: t(11), policy: Self.policy)
        state.record(row.outcomes[1], for: second, at: t(12), policy: Self.policy)
        #expect(state.circuitState == row.circuitState)
    }

    @Test(arguments: [Outcome.success, failure, ignored])
    func aLateOutcomeFromBeforeTheReopenChangesNothing(late: Outcome) throws {
        var state = BreakerRecord.opened(at: t(0), policy: Self.policy)
        let ok = try #require(state.admit(at: t(10), policy: Self.policy).ticket)
        let bad = try #require(state.admit(at: t(10), policy: Self.policy).ticket)
        let slow = state.admitForced(at: t(10))
        state.record(.success, for: ok, at: t(11), policy: Self.policy)
        state.record(failure, for: bad, at: t(12), policy: Self.policy)
        #expect(state.circuitState == .open(until: t(22)))

        var expected = state
        state.record(late, for: slow, at: t(13), policy: Self.policy, random: 0)
        switch late {
        case .success: expected.counts.successes += 1
        case .failure: expected.counts.failures += 1
        case .ignored: expected.counts.ignored += 1
        }
        #expect(state.circuitState == expected.circuitState)
        #expect(state.generation == expected.generation)
        #expect(state.openedAt == t(12))
        #expect(state.consecutiveFailures == expected.consecutiveFailures)
        #expect(state.backoffInterval == expected.backoffInterval)
        #expect(state.recentTransitions == expected.recentTransitions)
    }

    @Test(arguments: [[1.0], [1, 2, 3], [0.001, 5, 9.999]])
    func rejectionsWhileOpenNeverMoveOpenedAt(rejectedAt: [Double]) {
        var state = BreakerRecord.opened(at: t(0), policy: Self.policy)
        for seconds in rejectedAt {
            #expect(state.admit(at: t(seconds), policy: Self.policy).rejection != nil)
        }
        #expect(state.openedAt == t(0))
        #expect(state.nextTrialAt == t(10))
        #expect(state.counts.rejected == UInt64(rejectedAt.count))
    }

    @Test(arguments: [2, 5, 1_000])
    func raisingFailMaxAfterATripDoesNotStopTheTrial(failMax: Int) throws {
        var state = BreakerRecord.opened(at: t(0), policy: Self.policy)
        let raised = Policy(failMax: failMax, resetTimeout: .seconds(10), successThreshold: 2, halfOpenMaxCalls: 2)
        #expect(state.admit(at: t(9.999), policy: raised).rejection != nil)
        let trial = try #require(state.admit(at: t(10), policy: raised).ticket)
        #expect(trial.isTrial)
    }

    @Test func tripResetAndForcedCallsRecordWhoMadeTheTransition() throws {
        let policy = Policy(failMax: 1, resetTimeout: .seconds(10))
        var state = BreakerRecord()
        state.trip(at: t(0), policy: policy, by: "uid 0 (root)")
        state.reset(at: t(1), by: "uid 1000 (ops)")
        state.trip(at: t(2), hold: true, policy: policy, by: "uid 1001 (dba)")
        state.reset(at: t(3))
        state.call(failure, at: t(4), policy: policy)
        let forced = state.admitForced(at: t(5), by: "uid 1000 (ops)")
        state.record(.success, for: forced, at: t(6), policy: policy)
        state.call(failure, at: t(7), policy: policy)
        let late = try #require(state.admit(at: t(17), policy: policy).ticket)
        state.record(.success, for: late, at: t(18), policy: policy)

        #expect(state.recentTransitions.map(\.actor) == [
            "uid 0 (root)", "uid 1000 (ops)", "uid 1001 (dba)", nil, nil, "uid 1000 (ops)", nil, nil, nil,
        ])
        #expect(state.recentTransitions.map(\.reason) == [
            "manual", "manual reset", "manual", "manual reset", "1 failure", "forced call succeeded",
            "1 failure", "reset timeout passed", "trial succeeded",
        ])
    }

    @Test func longTextIsCutSoTheStateStaysSmall() throws {
        var state = BreakerRecord()
        let long = String(repeating: "é", count: 1_000)
        state.trip(at: t(0), reason: long, policy: Policy(), by: long)
        let transition = try #require(state.recentTransitions.last)
        #expect(transition.reason.count == BreakerRecord.textLimit)
        #expect(transition.actor?.count == BreakerRecord.textLimit)
        #expect(state.openReason?.count == BreakerRecord.textLimit)
        #expect(transition.reason.hasSuffix("…"))
    }

    @Test(arguments: [49, 50, 51, 200])
    func theHistoryKeepsTheLatestFiftyTransitions(count: Int) {
        var state = BreakerRecord()
        for index in 0..<count {
            if index.isMultiple(of: 2) {
                state.trip(at: t(Double(index)), policy: Policy())
            } else {
                state.reset(at: t(Double(index)))
            }
        }
        #expect(BreakerRecord.historyLimit == 50)
        #expect(state.recentTransitions.count == min(count, 50))
        #expect(state.recentTransitions.first?.generation == UInt64(max(1, count - 49)))
        #expect(state.recentTransitions.last?.generation == UInt64(count))
    }
}
