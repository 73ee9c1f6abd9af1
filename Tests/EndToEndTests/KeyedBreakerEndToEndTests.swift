import Foundation
import Testing

/// Keyed breakers (`per_key`, issue 19) from the command line, on the file
/// store: the built binary, real processes and real files.
@Suite("Keyed breakers")
struct KeyedBreakerEndToEndTests {
    static let config = """
        version: 1
        breakers:
          hosts:
            fail_max: 1
            reset_timeout: 1s
            per_key: {max_keys: 100}
            fallback: {command: [/bin/sh, -c, 'echo "fallback $BREAKER_NAME key=$BREAKER_KEY state=$BREAKER_STATE"']}
          plain: {}
        """

    /// `status --json NAME --key KEY`, decoded.
    private func keyStatus(_ sandbox: Sandbox, _ name: String, _ key: String) throws -> [String: Any] {
        let result = try sandbox.run(["status", "--json", name, "--key=\(key)"])
        #expect(result.status == 0, "status failed: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require((object?["breakers"] as? [[String: Any]])?.first)
    }

    /// Every path under the state directory, relative to it.
    private func storedPaths(_ sandbox: Sandbox) throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: sandbox.stateDirectory))
        return enumerator.compactMap { $0 as? String }.sorted()
    }

    @Test func twoKeysTripApartAndTheFallbackSeesTheKey() throws {
        let sandbox = try Sandbox(config: Self.config)

        let failed = try sandbox.run(["run", "hosts", "--key", "web-1", "--", "sh", "-c", "echo call $BREAKER_NAME $BREAKER_KEY; exit 3"])
        let other = try sandbox.run(["run", "hosts", "--key", "web-2", "--", "true"])
        let rejected = try sandbox.run(["run", "hosts", "--key", "web-1", "--", "true"])

        #expect(failed.status == 3)
        #expect(failed.stdout == "call hosts web-1\n", "the call gets BREAKER_NAME and BREAKER_KEY")
        #expect(other.status == 0)
        #expect(rejected.stdout == "fallback hosts key=web-1 state=open\n")
        #expect(try keyStatus(sandbox, "hosts", "web-1")["state"] as? String == "open")
        #expect(try keyStatus(sandbox, "hosts", "web-2")["state"] as? String == "closed")
        #expect(try keyStatus(sandbox, "hosts", "web-2")["key"] as? String == "web-2")
    }

    @Test func resetOfOneKeyClosesItAndTripOfOneOpensIt() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "hosts", "--key", "a", "--", "false"]).status == 1)
        #expect(try sandbox.run(["trip", "hosts", "--key", "b", "--hold"]).status == 0)

        let reset = try sandbox.run(["reset", "hosts", "--key", "a"])

        #expect(reset.status == 0)
        #expect(reset.stderr.contains("hosts/a: open -> closed (manual reset)"), "\(reset.stderr)")
        #expect(try keyStatus(sandbox, "hosts", "a")["state"] as? String == "closed")
        #expect(try keyStatus(sandbox, "hosts", "b")["held"] as? Bool == true)
        #expect(try sandbox.run(["check", "hosts", "--key", "a"]).status == 0)
        #expect(try sandbox.run(["check", "hosts", "--key", "b"]).status == 75)
        let typo = try sandbox.run(["reset", "hosts", "--key", "typo"])
        #expect(typo.status == 0)
        #expect(typo.stderr.contains("hosts --key typo: reset by"), "\(typo.stderr)")
        #expect(typo.stderr.contains("no such key is tracked; nothing to reset"), "\(typo.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/hosts/keys/ktypo"), "a mistyped key takes no slot")
    }

    @Test func keyIsRequiredForAKeyedBreakerAndRefusedForAPlainOne() throws {
        let sandbox = try Sandbox(config: Self.config)
        for arguments in [["run", "hosts", "--", "true"], ["check", "hosts"], ["run", "plain", "--key", "a", "--", "true"],
                          ["run", "hosts", "--key", "", "--", "true"], ["trip", "plain", "--key", "a"],
                          ["run", "hosts", "--key", String(repeating: "k", count: 257), "--", "true"]] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").first?.contains("key") == true, "one line that says why: \(result.stderr)")
        }
        #expect(try sandbox.run(["run", "hosts", "--", "true"]).stderr.contains("breaker 'hosts' is keyed (per_key): give the target with --key KEY"))
        #expect(try sandbox.run(["run", "plain", "--key", "a", "--", "true"]).stderr.contains("breaker 'plain' is not keyed"))
        #expect(try storedPaths(sandbox).isEmpty, "nothing stored")
    }

    @Test func hostileKeysAreDataAndCreateNothingOutsideTheBreakersDirectory() throws {
        let sandbox = try Sandbox(config: Self.config)
        let keys = ["../x", "a/b", "..", ".", "-rf", "--help", "line\nbreak", "%2Fk", "\u{1B}[31mred", "ключ",
                    String(repeating: "/..", count: 85), String(repeating: "é", count: 128)]
        for key in keys {
            // `--key=KEY`: a key that starts with a dash is a key, not an option.
            let result = try sandbox.run(["run", "hosts", "--key=\(key)", "--", "sh", "-c", "printf %s \"$BREAKER_KEY\""])
            #expect(result.status == 0, "\(key.debugDescription): \(result.stderr)")
            #expect(result.stdout == key, "the call gets the key as given")
            #expect(!result.stderr.contains("\n\u{1B}"), "no raw escape on stderr")
        }

        let paths = try storedPaths(sandbox)
        #expect(paths.allSatisfy { $0 == "hosts" || $0.hasPrefix("hosts/") }, "\(paths)")
        let keyDirectories = Set(paths.filter { $0.hasPrefix("hosts/keys/") }.map { $0.split(separator: "/")[2] })
        #expect(keyDirectories.count == keys.count, "one directory per key: \(keyDirectories)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.directory.appendingPathComponent("x").path))
        for key in keys {
            #expect(try keyStatus(sandbox, "hosts", key)["counts"] as? [String: Int] == ["successes": 1, "failures": 0, "ignored": 0,
                                                                                        "rejected": 0, "fallbacks": 0], "\(key.debugDescription)")
        }
    }

    @Test func maxKeysBoundsWhatIsStoredAndAnOpenKeyIsNeverForgotten() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hosts: {fail_max: 1, per_key: {max_keys: 3}}
            """)
        #expect(try sandbox.run(["run", "hosts", "--key", "down", "--", "false"]).status == 1)
        for index in 1...6 {
            #expect(try sandbox.run(["run", "hosts", "--key", "up-\(index)", "--", "true"]).status == 0)
        }

        let stored = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/hosts/keys").sorted()
        #expect(stored.count == 3, "\(stored)")
        #expect(stored.contains("kdown"), "the open key is kept")
        #expect(stored.contains("kup-6"), "the newest is there")
        let summary = try #require(try sandbox.status("hosts")["keys"] as? [String: Any])
        #expect(summary["tracked"] as? Int == 3)
        #expect(summary["open"] as? Int == 1)
        let listed = try #require(summary["listed"] as? [[String: Any]])
        #expect(listed.first?["key"] as? String == "down")
        let metrics = try sandbox.run(["metrics"]).stdout
        #expect(metrics.contains("breaker_run_calls_total{breaker=\"hosts\",outcome=\"success\"} 6"), "forgotten keys' counts kept:\n\(metrics)")
    }

    @Test func withEveryKeyOpenANewKeyIsRejectedLikeAnOpenBreaker() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hosts: {fail_max: 1, per_key: {max_keys: 2}}
            """)
        #expect(try sandbox.run(["run", "hosts", "--key", "a", "--", "false"]).status == 1)
        #expect(try sandbox.run(["run", "hosts", "--key", "b", "--", "false"]).status == 1)

        let checked = try sandbox.run(["check", "hosts", "--key", "c"])
        #expect(checked.status == 75, "check says what run would meet")
        #expect(checked.stdout.contains("no room for a new key"), "\(checked.stdout)")
        let rejected = try sandbox.run(["run", "hosts", "--key", "c", "--", "touch", sandbox.path("ran")])

        #expect(rejected.status == 75)
        #expect(rejected.stderr.contains("no room for a new key (all 2 keys tracked are open or in use; max_keys)"), "\(rejected.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("ran")))
        #expect(try sandbox.run(["reset", "hosts", "--key", "a"]).status == 0)
        #expect(try sandbox.run(["run", "hosts", "--key", "c", "--", "true"]).status == 0, "a closed key makes room")
    }

    @Test func aClosedKeyIdleLongerThanExpireAfterIsForgotten() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hosts: {per_key: {expire_after: 1h}}
            """)
        #expect(try sandbox.run(["run", "hosts", "--key", "idle", "--", "true"]).status == 0)
        #expect(try sandbox.run(["run", "hosts", "--key", "busy", "--", "true"]).status == 0)
        // Idle is judged by when the key's files last changed: two hours ago.
        let twoHoursAgo = Date(timeIntervalSinceNow: -7200)
        let idle = sandbox.stateDirectory + "/hosts/keys/kidle"
        for path in try FileManager.default.contentsOfDirectory(atPath: idle).map({ idle + "/" + $0 }) + [idle] {
            try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: path)
        }

        #expect(try sandbox.run(["run", "hosts", "--key", "new", "--", "true"]).status == 0)

        let stored = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/hosts/keys").sorted()
        #expect(stored == ["kbusy", "knew"])
        #expect(try sandbox.counts("hosts")["successes"] == 1, "the idle key's success is kept by the whole breaker")
    }

    @Test func theRollUpOpensTheBreakerForAFreshKeyAtTwoOfFourAndClosesWhenOneRecovers() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hosts:
                fail_max: 1
                reset_timeout: 1s
                per_key: {open_when: {keys_open: 50%, minimum_keys: 4}}
                fallback: {command: [/bin/sh, -c, 'echo "$BREAKER_REASON"']}
                on_transition: {command: [/bin/sh, -c, 'echo "$BREAKER_NAME ${BREAKER_KEY:-whole} $BREAKER_FROM $BREAKER_TO" >> "$0"', HOOKLOG]}
            """)
        try sandbox.write(config: (try String(contentsOfFile: sandbox.configPath, encoding: .utf8)).replacing("HOOKLOG", with: sandbox.path("hooks")))
        for key in ["k1", "k2"] { #expect(try sandbox.run(["run", "hosts", "--key", key, "--", "true"]).status == 0) }
        #expect(try sandbox.run(["run", "hosts", "--key", "k3", "--", "false"]).status == 1)
        #expect(try sandbox.status("hosts")["state"] as? String == "closed", "1 of 3")

        let second = try sandbox.run(["run", "hosts", "--key", "k4", "--", "false"])

        #expect(second.stderr.contains("hosts: closed -> open (roll-up: 2 of 4 keys open)"), "\(second.stderr)")
        let whole = try sandbox.status("hosts")
        #expect(whole["state"] as? String == "open")
        #expect(whole["open_reason"] as? String == "roll-up: 2 of 4 keys open")
        let fresh = try sandbox.run(["run", "hosts", "--key", "k5", "--", "touch", sandbox.path("ran")])
        #expect(fresh.stdout == "roll-up: 2 of 4 keys open\n", "a fresh key gets the fallback")
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/hosts/keys/kk5"), "a rejected fresh key is not stored")
        #expect(try sandbox.counts("hosts")["fallbacks"] == 1, "its answer is counted by the whole breaker")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("ran")))
        #expect(try sandbox.run(["check", "hosts", "--key", "k1"]).status == 75)

        // k3's own reset timeout passes: its trial still runs, and succeeds.
        #expect(try eventually { try keyStatus(sandbox, "hosts", "k3")["state"] as? String == "half-open" })
        let trial = try sandbox.run(["run", "hosts", "--key", "k3", "--", "true"])

        #expect(trial.status == 0, "\(trial.stderr)")
        #expect(trial.stderr.contains("hosts: open -> closed (roll-up: 1 of 4 keys open)"), "\(trial.stderr)")
        #expect(try sandbox.status("hosts")["state"] as? String == "closed")
        #expect(try sandbox.run(["run", "hosts", "--key", "k5", "--", "true"]).status == 0)
        let hooks = try String(contentsOfFile: sandbox.path("hooks"), encoding: .utf8)
        #expect(hooks.contains("hosts whole closed open\n") && hooks.contains("hosts whole open closed\n"), "\(hooks)")
        #expect(hooks.contains("hosts k4 closed open\n"), "\(hooks)")
    }

    @Test func eightProcessesOfFiftyCallsOverFourKeysCountExactly() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hosts: {fail_max: 1000, per_key: {}}
            """)
        let loop = "for i in $(seq 50); do \"$0\" run --config \"$1\" --state-dir \"$2\" hosts --key \"k$((i % 4))\" -- false; done"
        let loops = try sandbox.startLoops(8, loop)
        for process in loops { process.waitUntilExit() }

        // Calls 1...50 of each process go to k(i % 4): 12, 13, 13 and 12 of them.
        for (key, calls) in [("k0", 96), ("k1", 104), ("k2", 104), ("k3", 96)] {
            let status = try keyStatus(sandbox, "hosts", key)
            #expect((status["counts"] as? [String: Int])?["failures"] == calls, "\(key)")
            #expect(status["consecutive_failures"] as? Int == calls, "\(key)")
        }
        let metrics = try sandbox.run(["metrics"]).stdout
        #expect(metrics.contains("breaker_run_calls_total{breaker=\"hosts\",outcome=\"failure\"} 400"), "\(metrics)")
        #expect(metrics.contains("breaker_run_keys{breaker=\"hosts\",state=\"closed\"} 4"))
    }

    @Test func metricsHaveNoSeriesPerKeyAfterAThousandKeys() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hosts: {per_key: {}}
            """)
        let loop = "for i in $(seq $3 4 1000); do \"$0\" run --config \"$1\" --state-dir \"$2\" hosts --key \"host-$i\" -- true || exit 1; done"
        for process in try sandbox.startLoops(4, loop) {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }

        let metrics = try sandbox.run(["metrics"]).stdout
        let series = metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!metrics.contains("host-"), "no series names a key")
        #expect(series.count < 40, "bounded: \(series.count) series")
        let samples = try parseWithPrometheusClient(metrics)
        #expect(samples.contains(#"breaker_run_keys gauge breaker_run_keys{breaker="hosts",state="closed"} 1000"#), "\(samples)")
        #expect(samples.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="hosts",outcome="success"} 1000"#))
    }

    @Test func aKeyWhoseDirectoryWasRemovedLeavesNoOpenRecordBehind() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "hosts", "--key", "gone", "--", "false"]).status == 1)
        try FileManager.default.removeItem(atPath: sandbox.stateDirectory + "/hosts/keys/kgone")

        #expect(try sandbox.run(["run", "hosts", "--key", "gone", "--", "true"]).status == 0)

        let summary = try #require(try sandbox.status("hosts")["keys"] as? [String: Any])
        #expect(summary["tracked"] as? Int == 1, "one record for the key, not a stale open one beside it")
        #expect(summary["open"] as? Int == 0)
    }

    @Test func aMissingKeyIndexIsReadFromTheKeysDirectoriesAndRebuilt() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "hosts", "--key", "a", "--", "false"]).status == 1)
        #expect(try sandbox.run(["run", "hosts", "--key", "b", "--", "true"]).status == 0)
        try FileManager.default.removeItem(atPath: sandbox.stateDirectory + "/hosts/keys.index")

        let status = try sandbox.run(["status", "--json", "hosts"])
        let metrics = try sandbox.run(["metrics"])

        #expect(status.stderr.contains("keys.index is missing; its keys were read from their directories"), "\(status.stderr)")
        #expect(status.stdout.contains("\"tracked\" : 2"), "\(status.stdout)")
        #expect(metrics.stdout.contains("breaker_run_calls_total{breaker=\"hosts\",outcome=\"success\"} 1"), "counts are not lost")
        let next = try sandbox.run(["run", "hosts", "--key", "c", "--", "true"])
        #expect(next.stderr.contains("keys.index is missing; rebuilding it"), "\(next.stderr)")
        let summary = try #require(try sandbox.status("hosts")["keys"] as? [String: Any])
        #expect(summary["tracked"] as? Int == 3)
        #expect(summary["open"] as? Int == 1)
    }

    @Test func aNoticeNamesTheKeyAsTheCommandLineDoes() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "hosts", "--key", "b", "--hold"]).status == 0)

        let again = try sandbox.run(["trip", "hosts", "--key", "b", "--for", "5m"])

        #expect(again.stderr.contains("held open until 'breaker-run reset hosts --key b'"), "\(again.stderr)")
    }

    @Test func aDamagedKeyIndexIsRebuiltFromTheKeysDirectories() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "hosts", "--key", "a", "--", "false"]).status == 1)
        #expect(try sandbox.run(["run", "hosts", "--key", "b/c", "--", "true"]).status == 0)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: sandbox.stateDirectory + "/hosts/keys.index"))

        let next = try sandbox.run(["run", "hosts", "--key", "new", "--", "true"])

        #expect(next.status == 0)
        #expect(next.stderr.contains("keys.index is damaged; rebuilding it"), "\(next.stderr)")
        let summary = try #require(try sandbox.status("hosts")["keys"] as? [String: Any])
        #expect(summary["tracked"] as? Int == 3)
        #expect((summary["listed"] as? [[String: Any]])?.first?["key"] as? String == "a", "the open key is found again")
    }
}
