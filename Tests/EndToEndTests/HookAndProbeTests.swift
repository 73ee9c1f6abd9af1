import Foundation
import Testing

/// `on_transition` hooks and `probe` trials, end to end.
@Suite("Transition hooks and probes")
struct HookAndProbeTests {
    @Test func aHookWritesExactlyOneLinePerTransitionWhenEightProcessesHitTheBreaker() throws {
        let sandbox = try Sandbox()
        let log = sandbox.path("transitions")
        try sandbox.write(config: """
            version: 1
            breakers:
              busy:
                fail_max: 3
                reset_timeout: 300ms
                on_transition:
                  shell: 'echo "$BREAKER_FROM -> $BREAKER_TO ($BREAKER_REASON)" >> \(log)'
            """)
        // Eight loops at once, failing then succeeding, so the breaker trips,
        // tries and closes several times while they race.
        let loop = """
            for i in $(seq 12); do
              if [ $i -le 6 ]; then c=false; else c=true; fi
              "$0" --config "$1" --state-dir "$2" -q run busy -- $c
              sleep 0.1
            done
            """
        let loops = try (0..<8).map { _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", loop, Sandbox.binary, sandbox.configPath, sandbox.stateDirectory]
            try process.run()
            return process
        }
        for process in loops { process.waitUntilExit() }

        let hookLines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let status = try sandbox.status("busy")
        let transitions = try #require(status["transitions"] as? [[String: Any]])
        let recorded = transitions.map { "\($0["from"]!) -> \($0["to"]!) (\($0["reason"]!))" }
        #expect(!recorded.isEmpty)
        #expect(hookLines.sorted() == recorded.sorted(), "one hook run per stored transition")
    }

    @Test func hookOutputGoesToStandardErrorAndLeavesStandardInputAlone() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              quiet:
                fail_max: 1
                on_transition:
                  shell: 'echo "hook says $BREAKER_TO"; cat'
            """)
        let result = try sandbox.run(["run", "quiet", "--", "sh", "-c", "read line; echo \"call read $line\"; exit 1"], stdin: "input line\n")
        #expect(result.status == 1)
        #expect(result.stdout == "call read input line\n")
        #expect(result.stderr.contains("hook says open"))
    }

    @Test func aFailingHookIsAWarningAndDoesNotChangeTheResult() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              hooked:
                on_transition: {command: [/bin/sh, -c, 'exit 9']}
            """)
        let result = try sandbox.run(["trip", "hooked"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: hooked: on_transition hook exited with status 9"))
    }

    static let probeConfig = """
        version: 1
        breakers:
          guarded:
            fail_max: 1
            reset_timeout: 300ms
            probe:
              shell: 'echo probing; test -e "$HEALTHY"'
            fallback:
              output: "fallback\\n"
        """

    @Test func aPassingProbeClosesTheBreakerAndTheRealCallRuns() throws {
        let sandbox = try Sandbox(config: Self.probeConfig)
        let healthy = sandbox.path("healthy")
        let marker = sandbox.path("called")
        #expect(try sandbox.run(["run", "guarded", "--", "false"], environment: ["HEALTHY": healthy]).status == 1)
        #expect(try eventually { try sandbox.status("guarded")["state"] as? String == "half-open" })
        FileManager.default.createFile(atPath: healthy, contents: nil)
        let result = try sandbox.run(["run", "guarded", "--", "sh", "-c", "echo real call; touch \(marker)"], environment: ["HEALTHY": healthy])
        #expect(result.status == 0)
        #expect(result.stdout == "real call\n", "the probe's output is not the call's")
        #expect(result.stderr.contains("probing"))
        #expect(result.stderr.contains("breaker-run: guarded: half-open -> closed (trial succeeded)\n"))
        #expect(FileManager.default.fileExists(atPath: marker))
        let status = try sandbox.status("guarded")
        #expect(status["state"] as? String == "closed")
        #expect((status["counts"] as? [String: Int])?["successes"] == 2, "the probe and the call")
    }

    @Test func aFailingProbeReopensTheBreakerAndTheCallIsRejected() throws {
        // The reopening lasts 300 s (backoff), so that "open" is still true
        // when status looks, however busy the machine.
        let sandbox = try Sandbox(config: Self.probeConfig.replacing("reset_timeout: 300ms", with: """
            reset_timeout: 300ms
                backoff: {multiplier: 1000, max: 1h}
            """))
        let healthy = sandbox.path("healthy")
        let marker = sandbox.path("called")
        #expect(try sandbox.run(["run", "guarded", "--", "false"], environment: ["HEALTHY": healthy]).status == 1)
        #expect(try eventually { try sandbox.status("guarded")["state"] as? String == "half-open" })
        let result = try sandbox.run(["run", "guarded", "--", "touch", marker], environment: ["HEALTHY": healthy])
        #expect(result.status == 0)
        #expect(result.stdout == "fallback\n")
        #expect(result.stderr.hasSuffix("breaker-run: guarded: half-open -> open (trial failed)\n"), "one line at the default level: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try sandbox.status("guarded")["state"] as? String == "open")
    }

    @Test func aHeldBreakerOutlastsItsResetTimeoutUntilReset() throws {
        let sandbox = try Sandbox(config: Self.probeConfig)
        #expect(try sandbox.run(["trip", "guarded", "--hold"]).status == 0)
        usleep(600_000)
        #expect(try sandbox.status("guarded")["state"] as? String == "open")
        #expect(try sandbox.run(["run", "guarded", "--", "true"]).stdout == "fallback\n")
        #expect(try sandbox.run(["reset", "guarded"]).status == 0)
        #expect(try sandbox.run(["run", "guarded", "--", "true"]).status == 0)
    }

    @Test func aProbeIsClassifiedByTheBreakersCodesAndAnInconclusiveOneLetsTheCallBeTheTrial() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              plugin:
                fail_max: 1
                reset_timeout: 300ms
                ignore_exit_codes: [1, 3]
                probe:
                  shell: 'echo probed >> "$PROBES"; exit 3'
            """)
        let probes = sandbox.path("probes")
        #expect(try sandbox.run(["run", "plugin", "--", "sh", "-c", "exit 2"], environment: ["PROBES": probes]).status == 2)
        #expect(try eventually { try sandbox.status("plugin")["state"] as? String == "half-open" })
        let result = try sandbox.run(["run", "plugin", "--", "echo", "real"], environment: ["PROBES": probes])
        #expect(result.status == 0)
        #expect(result.stdout == "real\n")
        #expect(try String(contentsOfFile: probes, encoding: .utf8) == "probed\n", "probed once, not in a loop")
        let status = try sandbox.status("plugin")
        #expect(status["state"] as? String == "closed")
        #expect((status["counts"] as? [String: Int])?["ignored"] == 1)
    }
}
