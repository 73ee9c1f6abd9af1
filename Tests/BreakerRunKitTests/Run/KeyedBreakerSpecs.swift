import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// Keyed breakers (`per_key`, issue 19), in-process: each key an
/// independent breaker of the definition, bounded by `max_keys` and
/// `expire_after`, and a roll-up that opens the whole breaker.
@Suite struct KeyedBreakerSpecs {
    /// A fixture whose breaker `svc` runs `script` and is keyed.
    private func keyed(_ script: String, perKey: PerKey = PerKey(), extra: String = "") throws -> SessionFixture {
        var fixture = try SessionFixture(yaml: """
            version: 1
            breakers:
              svc: {scripted: '\(script)', fail_max: 1\(extra)}
            """)
        fixture.session.configuration.breakers["svc"]?.perKey = perKey
        return fixture
    }

    private func keyState(_ fixture: SessionFixture, _ key: String) throws -> CircuitState.Name {
        try fixture.state(of: KeyedName(breaker: "svc", key: key).storeName).circuitState
    }

    @Test func twoKeysTripApart() throws {
        let fixture = try keyed("failure success success")

        _ = try fixture.session.run("svc", key: "db-1", command: [], force: false)
        _ = try fixture.session.run("svc", key: "db-2", command: [], force: false)
        let rejected = try fixture.session.run("svc", key: "db-1", command: [], force: false)
        let admitted = try fixture.session.run("svc", key: "db-2", command: [], force: false)

        #expect(try keyState(fixture, "db-1") == .open)
        #expect(try keyState(fixture, "db-2") == .closed)
        #expect(rejected == .rejected(.open(retryAfter: .seconds(60)), exitCode: 75))
        guard case .ran = admitted else {
            Issue.record("db-2 was not run: \(admitted)")
            return
        }
        #expect(fixture.script(of: "svc")?.runs.map(\.breaker) == ["svc/db-1", "svc/db-2", "svc/db-2"])
        #expect(try fixture.state(of: "svc").circuitState == .closed, "the whole breaker is not a key")
    }

    @Test func aKeyedBreakerNeedsAKeyAndAPlainOneRefusesIt() throws {
        var fixture = try keyed("success")
        fixture.session.configuration.breakers["plain"] = fixture.session.configuration.breakers["svc"]
        fixture.session.configuration.breakers["plain"]?.name = "plain"
        fixture.session.configuration.breakers["plain"]?.perKey = nil

        #expect(throws: UseCaseError.self) { try fixture.session.run("svc", command: [], force: false) }
        #expect(throws: UseCaseError.self) { try fixture.session.run("plain", key: "a", command: [], force: false) }
        #expect(throws: UseCaseError.self) { try fixture.session.run("svc", key: "", command: [], force: false) }
        #expect(throws: UseCaseError.self) {
            try fixture.session.run("svc", key: String(repeating: "x", count: 257), command: [], force: false)
        }
        #expect(throws: UseCaseError.self) { try fixture.session.check("svc") }
        #expect(throws: UseCaseError.self, "bytes that were not UTF-8") { try fixture.session.run("svc", key: "a\u{FFFD}", command: [], force: false) }
        do {
            _ = try fixture.session.run("svc", command: [], force: false)
        } catch {
            #expect("\(error)" == "breaker 'svc' is keyed (per_key): give the target with --key KEY")
        }
        #expect(fixture.script(of: "svc")?.runs.isEmpty == true, "nothing ran")
        _ = try fixture.session.run("svc", key: String(repeating: "x", count: 256), command: [], force: false)
        #expect(fixture.script(of: "svc")?.runs.count == 1, "256 bytes is a key")
    }

    @Test func resetOfOneKeyClosesItAndLeavesTheOthers() throws {
        let fixture = try keyed("failure failure")
        _ = try fixture.session.run("svc", key: "a", command: [], force: false)
        _ = try fixture.session.run("svc", key: "b", command: [], force: false)

        try fixture.session.reset("svc", key: "a", by: "test")

        #expect(try keyState(fixture, "a") == .closed)
        #expect(try keyState(fixture, "b") == .open)
        let entries = try fixture.store.keyEntries(of: "svc")
        #expect(entries.map(\.state) == [.closed, .open], "the index follows the reset")
    }

    @Test func tripOfOneKeyOpensOnlyIt() throws {
        let fixture = try keyed("success")

        try fixture.session.trip("svc", key: "a", for: nil, hold: true, reason: "maintenance", by: "test")

        #expect(try keyState(fixture, "a") == .open)
        #expect(try fixture.state(of: KeyedName(breaker: "svc", key: "a").storeName).state.circuitState == .held)
        #expect(try fixture.session.check("svc", key: "b").answer == .admitted(isTrial: false))
        #expect(try fixture.session.check("svc", key: "a").answer == .rejected(.held))
    }

    @Test func theLeastRecentlyUsedClosedKeyIsForgottenAtMaxKeysAndItsCountsKept() throws {
        let fixture = try keyed("success success success", perKey: PerKey(maxKeys: 2))
        _ = try fixture.session.run("svc", key: "old", command: [], force: false)
        fixture.clock.advance(by: .seconds(1))
        _ = try fixture.session.run("svc", key: "recent", command: [], force: false)
        fixture.clock.advance(by: .seconds(1))

        _ = try fixture.session.run("svc", key: "new", command: [], force: false)

        #expect(try fixture.store.keyEntries(of: "svc").map(\.key) == ["recent", "new"])
        #expect(try fixture.state(of: "svc").state.counts.successes == 1, "the forgotten key's success is kept in the whole breaker")
    }

    @Test func anOpenKeyIsNeverForgottenAndWithEveryKeyOpenANewKeyIsRejected() throws {
        let fixture = try keyed("failure success failure", perKey: PerKey(maxKeys: 2))
        _ = try fixture.session.run("svc", key: "open-1", command: [], force: false)
        fixture.clock.advance(by: .seconds(1))
        _ = try fixture.session.run("svc", key: "closed", command: [], force: false)
        fixture.clock.advance(by: .seconds(1))
        _ = try fixture.session.run("svc", key: "open-2", command: [], force: false)
        #expect(try fixture.store.keyEntries(of: "svc").map(\.key) == ["open-1", "open-2"], "the closed key made room, not the older open one")

        let result = try fixture.session.run("svc", key: "third", command: [], force: false)

        #expect(result == .rejected(.keysFull(tracked: 2), exitCode: 75))
        #expect(try fixture.store.keyEntries(of: "svc").map(\.key) == ["open-1", "open-2"])
        #expect(try fixture.state(of: "svc").state.counts.rejected == 1, "counted by the whole breaker")
        #expect(fixture.script(of: "svc")?.runs.count == 3)
    }

    @Test func aClosedKeyIdleLongerThanExpireAfterIsForgotten() throws {
        let fixture = try keyed("success success", perKey: PerKey(expireAfter: .seconds(3600)))
        _ = try fixture.session.run("svc", key: "idle", command: [], force: false)
        fixture.clock.advance(by: .seconds(3601))

        _ = try fixture.session.run("svc", key: "fresh", command: [], force: false)

        #expect(try fixture.store.keyEntries(of: "svc").map(\.key) == ["fresh"])
    }

    @Test func theRollUpOpensTheWholeBreakerForAFreshKeyAndClosesWhenAKeyRecovers() throws {
        let rollUp = PerKey(openWhen: PerKey.RollUp(keysOpen: 0.5, minimumKeys: 4))
        let fixture = try keyed("success success failure failure success", perKey: rollUp)
        for key in ["k1", "k2", "k3"] { _ = try fixture.session.run("svc", key: key, command: [], force: false) }
        #expect(try fixture.state(of: "svc").circuitState == .closed, "1 of 3: under minimum_keys")

        _ = try fixture.session.run("svc", key: "k4", command: [], force: false)

        let whole = try fixture.state(of: "svc").state
        #expect(whole.circuitState == .held)
        #expect(whole.openReason == "roll-up: 2 of 4 keys open")
        let fresh = try fixture.session.run("svc", key: "k5", command: [], force: false)
        #expect(fresh == .rejected(.held, exitCode: 75), "a fresh key is rejected by the whole breaker")
        #expect(try fixture.session.run("svc", key: "k1", command: [], force: false) == .rejected(.held, exitCode: 75))
        #expect(try fixture.store.keyEntries(of: "svc").count == 4, "a rejected fresh key is not tracked")
        #expect(fixture.store.document(of: KeyedName(breaker: "svc", key: "k5").storeName) == nil, "nor stored")

        fixture.clock.advance(by: .seconds(61))
        let trial = try fixture.session.run("svc", key: "k3", command: [], force: false)

        guard case .ran = trial else {
            Issue.record("the due key's trial did not run: \(trial)")
            return
        }
        #expect(try keyState(fixture, "k3") == .closed)
        let after = try fixture.state(of: "svc").state
        #expect(after.circuitState == .closed)
        #expect(after.recentTransitions.last?.reason == "roll-up: 1 of 4 keys open")
        let lines = fixture.log.lines.map(\.message)
        #expect(lines.contains { $0.hasPrefix("svc: closed -> open (roll-up: 2 of 4 keys open)") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("svc: open -> closed (roll-up: 1 of 4 keys open)") }, "\(lines)")
    }

    @Test func theRollUpKeepsHoldingWhenHealthyKeysIdleUnderItAreForgotten() throws {
        let rollUp = PerKey(expireAfter: .seconds(3600), openWhen: PerKey.RollUp(keysOpen: 0.5, minimumKeys: 4))
        let fixture = try keyed("success success failure failure", perKey: rollUp)
        for key in ["k1", "k2", "k3", "k4"] { _ = try fixture.session.run("svc", key: key, command: [], force: false) }
        #expect(try fixture.state(of: "svc").state.circuitState == .held)
        fixture.clock.advance(by: .seconds(7200))

        // An operator holds a new key: k1 and k2, idle, are forgotten; 3 keys, all open.
        try fixture.session.trip("svc", key: "k5", for: nil, hold: true, reason: "by hand", by: "test")

        #expect(try fixture.store.keyEntries(of: "svc").map(\.key) == ["k3", "k4", "k5"])
        #expect(try fixture.state(of: "svc").state.circuitState == .held, "3 of 3 keys open: the roll-up holds, below minimum_keys or not")
    }

    @Test func anOperatorsTripOfTheWholeBreakerRejectsEveryKeyUntilReset() throws {
        let fixture = try keyed("success success")
        try fixture.session.trip("svc", for: nil, hold: true, reason: "freeze", by: "test")

        #expect(try fixture.session.run("svc", key: "a", command: [], force: false) == .rejected(.held, exitCode: 75))
        #expect(try fixture.session.check("svc", key: "a").answer == .rejected(.held))

        try fixture.session.reset("svc", by: "test")
        guard case .ran = try fixture.session.run("svc", key: "a", command: [], force: false) else {
            Issue.record("not run after the reset")
            return
        }
    }

    @Test func theBulkheadIsPerKeyOrSharedByTheWholeBreaker() throws {
        for (scope, expected) in [(PerKey.BulkheadScope.key, AdmissionCheck.Answer.admitted(isTrial: false)),
                                  (.breaker, .rejected(.concurrencyLimit(maxConcurrent: 1)))] {
            let fixture = try keyed("success", perKey: PerKey(bulkhead: scope), extra: ", max_concurrent: 1")
            let slot = try fixture.store.takeSlot(KeyedName(breaker: "svc", key: "a").storeName, slots: 1)
            let taken = try scope == .breaker ? fixture.store.takeSlot("svc", slots: 1) : slot
            defer { slot?.release(); taken?.release() }

            #expect(try fixture.session.check("svc", key: "b").answer == expected, "\(scope)")
        }
    }

    @Test func statusSummarisesTheKeysAndShowsOneKeyLikeABreaker() throws {
        let fixture = try keyed("failure success")
        _ = try fixture.session.run("svc", key: "bad\nkey", command: [], force: false)
        _ = try fixture.session.run("svc", key: "good", command: [], force: false)

        guard case .status(let summary)? = try fixture.session.status(["svc"]).entries.first,
              case .status(let one)? = try fixture.session.status(["svc"], key: "bad\nkey").entries.first else {
            Issue.record("no status")
            return
        }
        #expect(summary.keys?.tracked == 2)
        #expect(summary.keys?.open == 1)
        #expect(summary.keys?.listed.map(\.key) == ["bad\nkey"])
        #expect(summary.keys?.listed.first?.reason == "1 failure")
        #expect(one.key == "bad\nkey")
        #expect(one.state == .open)
        #expect(one.counts.failures == 1)
        #expect(throws: UseCaseError.self) { try fixture.session.status(["svc", "svc"], key: "good") }
    }

    @Test func metricsSumTheKeysCountsAndCountKeysByStateWithoutASeriesPerKey() throws {
        let fixture = try keyed("failure success success")
        for key in ["a", "b", "c"] { _ = try fixture.session.run("svc", key: key, command: [], force: false) }

        let text = fixture.session.metrics().text

        #expect(text.contains("breaker_run_calls_total{breaker=\"svc\",outcome=\"success\"} 2"))
        #expect(text.contains("breaker_run_calls_total{breaker=\"svc\",outcome=\"failure\"} 1"))
        #expect(text.contains("breaker_run_keys{breaker=\"svc\",state=\"open\"} 1"))
        #expect(text.contains("breaker_run_keys{breaker=\"svc\",state=\"closed\"} 2"))
        #expect(!text.contains("\"a\"") && !text.contains("key="), "no series names a key")
    }
}
