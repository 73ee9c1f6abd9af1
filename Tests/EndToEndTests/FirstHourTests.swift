import Foundation
import Testing

/// What an operator trips on in the first hour (issue 15, items 1 to 8 and
/// 11): output through a `cached` fallback, cached answers per call, retries
/// and fallback lists, manual actions and hooks, forwarded signals and `-q`.
@Suite("What an operator trips on in the first hour")
struct FirstHourTests {
    /// Runs `script` with bash, `$BIN`, `$CONFIG` and `$STATE` set to the
    /// sandbox's binary, configuration and state directory, killed after
    /// `limit` seconds (then its status is 124).
    func bash(_ script: String, in sandbox: Sandbox, limit: Int = 20) throws -> Invocation {
        let wrapper = sandbox.path("script-\(UUID().uuidString).sh")
        try script.write(toFile: wrapper, atomically: true, encoding: .utf8)
        let out = sandbox.path("bash-out-\(UUID().uuidString)")
        let err = sandbox.path("bash-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", String(limit), "bash", wrapper]
        var environment = ProcessInfo.processInfo.environment
        environment["BIN"] = Sandbox.binary
        environment["CONFIG"] = sandbox.configPath
        environment["STATE"] = sandbox.stateDirectory
        environment["BREAKER_RUN_CACHE_DIR"] = sandbox.cacheDirectory
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        let started = Date()
        try process.run()
        process.waitUntilExit()
        return Invocation(status: process.terminationStatus, signal: nil,
                          stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "",
                          seconds: Date().timeIntervalSince(started))
    }

    // MARK: 1. A cached fallback does not change what the caller sees

    @Test func aClosedReaderEndsACachedCallAtOnceWithSIGPIPE() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              yesc:
                command: [yes]
                fallback: {cached: {}}
            """)
        let result = try bash(#"""
            "$BIN" --config "$CONFIG" --state-dir "$STATE" run yesc | head -1
            echo "status ${PIPESTATUS[0]}" >&2
            """#, in: sandbox)
        #expect(result.status == 0, "the pipeline ended on its own: \(result.stderr)")
        #expect(result.stdout == "y\n")
        #expect(result.stderr.contains("status 141"), "\(result.stderr)")
        #expect(result.seconds < 10)
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/yesc/cache"), "a partial output is never cached")
    }

    @Test func outputThatCouldNotBeWrittenExits74AndIsNotCached() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              report:
                command: [echo, the report]
                fallback: {cached: {}}
            """)
        let result = try bash(#"""
            "$BIN" --config "$CONFIG" --state-dir "$STATE" run report > /dev/full
            echo "status $?" >&2
            """#, in: sandbox)
        #expect(result.stderr.contains("status 74"), "\(result.stderr)")
        let lost = result.stderr.split(separator: "\n").filter { $0.contains("output was lost") }
        #expect(lost.count == 1, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/report/cache"))
        #expect(try sandbox.run(["trip", "report"]).status == 0)
        #expect(try sandbox.run(["run", "report"]).status == 75, "nothing was cached to answer with")
    }

    // MARK: 2. A one-off command never replaces another call's cached answer

    @Test func aOneOffCommandKeepsItsOwnCachedAnswer() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              inv:
                command: [echo, from the api]
                fallback: {cached: {}}
            """)
        #expect(try sandbox.run(["run", "inv"]).status == 0)
        let oneOff = try sandbox.run(["run", "inv", "--", "echo", #"{"health": "ok"}"#])
        #expect(oneOff.stdout == "{\"health\": \"ok\"}\n")
        #expect(try sandbox.run(["trip", "inv"]).status == 0)

        let configured = try sandbox.run(["run", "inv"])
        #expect(configured.status == 0, "\(configured.stderr)")
        #expect(configured.stdout == "from the api\n", "the configured call's own answer")
        let same = try sandbox.run(["run", "inv", "--", "echo", #"{"health": "ok"}"#])
        #expect(same.stdout == "{\"health\": \"ok\"}\n", "the one-off's own answer")
        let other = try sandbox.run(["run", "inv", "--", "echo", "something else"])
        #expect(other.status == 75, "no answer of this call was cached: \(other.stderr)")
        #expect(other.stdout == "")
    }

    // MARK: 3. Retries stop at once when the breaker opens

    @Test func anAttemptThatOpensTheBreakerEndsTheRetriesAtOnce() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              flaky:
                fail_max: 1
                reset_timeout: 10m
                retry: {attempts: 3, delay: 3s}
            """)
        let result = try sandbox.run(["run", "flaky", "--", "false"])
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.seconds < 2.5, "no 3 s delay before the rejection: \(result.seconds)")
        #expect(result.stderr.contains("flaky: closed -> open (1 failure)"), "\(result.stderr)")
        #expect(try sandbox.counts("flaky")["failures"] == 1)
        #expect(try sandbox.counts("flaky")["rejected"] == 1)
    }

    // MARK: 4. A fallback that fails hands over to the next

    @Test(arguments: [
        // An earlier fallback's output stays on stdout, before the next one's.
        (fallbacks: #"[{shell: 'echo early; exit 9'}, {output: "second\n"}]"#, status: Int32(0), stdout: "early\nsecond\n"),
        (fallbacks: #"[{command: [/nonexistent/fallback]}, {shell: 'echo last; exit 4'}]"#, status: Int32(4), stdout: "last\n"),
        (fallbacks: #"[{shell: 'kill -KILL $$'}, {output: "after a kill\n", exit_code: 5}]"#, status: Int32(5), stdout: "after a kill\n"),
    ])
    func aFailedFallbackPassesTheRejectionToTheNext(example: (fallbacks: String, status: Int32, stdout: String)) throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              chain:
                reset_timeout: 10m
                fallback: \(example.fallbacks)
            """)
        #expect(try sandbox.run(["trip", "chain"]).status == 0)
        let result = try sandbox.run(["run", "chain", "--", "true"])
        #expect(result.status == example.status, "\(result.stderr)")
        #expect(result.stdout == example.stdout)
        #expect(try sandbox.counts("chain")["fallbacks"] == 1)
    }

    @Test func aFallbackThatTimesOutPassesTheRejectionToTheNext() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              slowfb:
                reset_timeout: 10m
                timeout: 300ms
                kill_after: 100ms
                fallback: [{shell: 'sleep 5'}, {output: "in time\\n"}]
            """)
        #expect(try sandbox.run(["trip", "slowfb"]).status == 0)
        let result = try sandbox.run(["run", "slowfb", "--", "true"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "in time\n")
    }

    // MARK: 5. A manual action that changes nothing is not a transition

    @Test func aResetOfAClosedAndATripOfAnOpenBreakerRunNoHookAndCountNoTransition() throws {
        let sandbox = try Sandbox()
        let hookLog = sandbox.path("hooks")
        try sandbox.write(config: """
            version: 1
            breakers:
              paging:
                reset_timeout: 10m
                on_transition:
                  shell: 'echo "$BREAKER_FROM -> $BREAKER_TO" >> \(hookLog)'
            """)
        let reset = try sandbox.run(["reset", "paging"])
        #expect(reset.status == 0)
        #expect(reset.stderr.contains("paging: reset by uid"), "an audit line: \(reset.stderr)")
        #expect(reset.stderr.contains("no transition"))
        #expect(try sandbox.run(["trip", "paging"]).status == 0)
        let again = try sandbox.run(["trip", "paging"])
        #expect(again.status == 0)
        #expect(again.stderr.contains("paging: trip by uid"), "\(again.stderr)")
        #expect(again.stderr.contains("already open"))

        let hooks = try String(contentsOfFile: hookLog, encoding: .utf8)
        #expect(hooks == "closed -> open\n", "one hook run, for the one real change")
        let metrics = try sandbox.run(["metrics"]).stdout
        #expect(metrics.contains(#"breaker_run_transitions_total{breaker="paging"} 1"#), "\(metrics)")
        let transitions = try #require(try sandbox.status("paging")["transitions"] as? [[String: Any]])
        #expect(transitions.count == 1)
    }

    @Test func tripForOnAnOpenBreakerMovesTheNextTrialWithoutATransition() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              moved:
                reset_timeout: 10m
            """)
        #expect(try sandbox.run(["trip", "moved"]).status == 0)
        let moved = try sandbox.run(["trip", "moved", "--for", "2h"])
        #expect(moved.status == 0)
        #expect(moved.stderr.contains("next trial moved to 7200s from now"), "\(moved.stderr)")
        let status = try sandbox.status("moved")
        #expect((status["transitions"] as? [[String: Any]])?.count == 1)
        let retryAfter = try #require(status["retry_after_seconds"] as? Int)
        #expect(retryAfter > 3600)
    }

    // MARK: 6. A hook never delays the call

    @Test func aSlowHookOfTheStepIntoHalfOpenRunsAfterTheTrial() throws {
        let sandbox = try Sandbox()
        let hookLog = sandbox.path("hooks")
        try sandbox.write(config: """
            version: 1
            breakers:
              hooked:
                fail_max: 1
                reset_timeout: 200ms
                on_transition:
                  shell: 'if [ "$BREAKER_TO" = half-open ]; then sleep 3; fi; echo "$BREAKER_FROM->$BREAKER_TO" >> \(hookLog)'
            """)
        #expect(try sandbox.run(["run", "hooked", "--", "false"]).status == 1)
        usleep(300_000)
        let stamp = sandbox.path("started")
        let before = Date()
        let trial = try sandbox.run(["run", "hooked", "--", "sh", "-c", "date +%s.%N > \(stamp)"])
        #expect(trial.status == 0, "\(trial.stderr)")
        let started = try #require(Double(try String(contentsOfFile: stamp, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(started - before.timeIntervalSince1970 < 1.5, "the trial started at once, not after the hook")
        #expect(try sandbox.status("hooked")["state"] as? String == "closed")
        let hooks = try String(contentsOfFile: hookLog, encoding: .utf8)
        #expect(hooks == "closed->open\nopen->half-open\nhalf-open->closed\n", "hooks run in the order of the transitions")
    }

    // MARK: 8. A forwarded signal escalates

    @Test func sigtermToBreakerRunKillsACallThatIgnoresItAfterKillAfter() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              stubborn:
                kill_after: 1s
            """)
        let started = sandbox.path("started")
        let running = try sandbox.start(["run", "stubborn", "--", "sh", "-c", "trap '' TERM; touch \(started); sleep 30"])
        #expect(eventually { FileManager.default.fileExists(atPath: started) })
        kill(running.pid, SIGTERM)
        let result = running.wait()
        #expect(result.signal == SIGTERM, "ended by the signal it got: \(result.status) \(result.stderr)")
        #expect(result.seconds < 6, "SIGKILL kill_after (1s) after the SIGTERM: \(result.seconds)")
    }

    // MARK: 11. -q tells only what changes

    @Test func quietKeepsTransitionsAndDropsRejectionsAndFallbackNotices() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              cron:
                fail_max: 1
                reset_timeout: 300ms
                fallback: {output: "queued\\n"}
            """)
        let opened = try sandbox.run(["run", "-q", "cron", "--", "false"])
        #expect(opened.stderr == "breaker-run: cron: closed -> open (1 failure)\n")
        let rejected = try sandbox.run(["run", "-q", "cron", "--", "true"])
        #expect(rejected.stdout == "queued\n")
        #expect(rejected.stderr == "", "no line for a rejection answered by the fallback")
        usleep(400_000)
        let closed = try sandbox.run(["run", "-q", "cron", "--", "true"])
        #expect(closed.stderr == "breaker-run: cron: half-open -> closed (trial succeeded)\n")
        let error = try sandbox.run(["run", "-q", "nosuch", "--", "true"])
        #expect(error.status == 78)
        #expect(!error.stderr.isEmpty, "errors are kept")
        let help = try sandbox.run(["--help"]).stdout
        #expect(help.contains("transitions"), "--help says what -q keeps: \(help)")
        #expect(!help.contains("errors only"))
    }
}
