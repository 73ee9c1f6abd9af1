import Foundation
import Testing

/// Issue 4's supervision, retries, bulkhead and fallback rules, end to end
/// with real processes.
@Suite("Supervision, retries, bulkhead and fallbacks")
struct ResilienceTests {
    static let config = """
        version: 1
        breakers:
          plain:
            fail_max: 100
            fallback:
              shell: 'echo fallback ran >> "$MARKER"'
          stubborn:
            timeout: 1s
            kill_after: 1s
          retried:
            fail_max: 3
            retry: {attempts: 5, delay: 10ms}
            fallback:
              output: "from the fallback\\n"
          recovering:
            fail_max: 10
            retry: {attempts: 4, delay: 10ms, multiplier: 1}
          single:
            max_concurrent: 1
          queued:
            max_concurrent: 1
            max_wait: 10s
          slow:
            slow_call_duration: 200ms
          failing-fallback:
            fallback:
              shell: 'echo "args: $*"; echo "name=$BREAKER_NAME state=$BREAKER_STATE retry=$BREAKER_RETRY_AFTER"; exit 3'
        """

    func lines(_ path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func aCallThatIgnoresSIGTERMIsKilledAtTimeoutPlusKillAfter() throws {
        let sandbox = try Sandbox(config: Self.config)
        let pidFile = sandbox.path("pgid")
        let result = try sandbox.run(["run", "stubborn", "--", "sh", "-c", "trap '' TERM; echo $$ > \(pidFile); sleep 30"])
        #expect(result.status == 124)
        #expect(result.seconds >= 1.9 && result.seconds < 4, "killed after timeout (1s) plus kill_after (1s): \(result.seconds)")
        let group = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(eventually(within: 2) { liveProcesses(inGroup: group).isEmpty })
        let status = try sandbox.status("stubborn")
        #expect(status["last_failure"] as? String == "timeout")
        #expect((status["counts"] as? [String: Int])?["failures"] == 1)
    }

    @Test func sigintToBreakerRunReachesTheCallIsIgnoredAndRunsNoFallback() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("marker")
        let started = sandbox.path("started")
        let call = "trap 'echo got INT >> \(marker); exit 130' INT; touch \(started); sleep 30 & wait"
        let running = try sandbox.start(["run", "plain", "--", "sh", "-c", call], environment: ["MARKER": marker])
        #expect(eventually { FileManager.default.fileExists(atPath: started) })
        kill(running.pid, SIGINT)
        let result = running.wait()
        #expect(result.signal == SIGINT)
        #expect(result.seconds < 5)
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "got INT\n", "the call got SIGINT; no fallback ran")
        let counts = try sandbox.counts("plain")
        #expect(counts["ignored"] == 1)
        #expect(counts["failures"] == 0)
        #expect(counts["fallbacks"] == 0)
    }

    @Test func aCallThatSegfaultsKillsBreakerRunBySIGSEGVWithoutACoreFile() throws {
        let sandbox = try Sandbox(config: Self.config)
        let work = sandbox.path("cwd")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "run", "plain", "--", "sh", "-c", "kill -SEGV $$"]
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGSEGV)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.hasPrefix("core") }.isEmpty)
        #expect(try sandbox.status("plain")["last_failure"] as? String == "killed by SIGSEGV")
    }

    @Test func fiveMegabytesOfRandomBytesPassThroughStdinStdoutAndStderrUnchanged() throws {
        let sandbox = try Sandbox(config: Self.config)
        var bytes = [UInt8](repeating: 0, count: 5 * 1024 * 1024)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let input = sandbox.path("input")
        let output = sandbox.path("output")
        let errors = sandbox.path("errors")
        FileManager.default.createFile(atPath: input, contents: Data(bytes))
        FileManager.default.createFile(atPath: output, contents: nil)
        FileManager.default.createFile(atPath: errors, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "run", "plain", "--", "tee", "/dev/stderr"]
        process.standardInput = FileHandle(forReadingAtPath: input)
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: errors)
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.contents(atPath: output) == Data(bytes))
        #expect(FileManager.default.contents(atPath: errors) == Data(bytes))
    }

    @Test func retriesStopWhenTheBreakerOpensAndTheFallbackAnswersTheRest() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("attempts")
        let result = try sandbox.run(["run", "retried", "--", "sh", "-c", "echo x >> \(marker); exit 1"])
        #expect(lines(marker) == 3)
        #expect(result.status == 0)
        #expect(result.stdout == "from the fallback\n")
        let counts = try sandbox.counts("retried")
        #expect(counts["failures"] == 3)
        #expect(counts["rejected"] == 1)
        #expect(counts["fallbacks"] == 1)
    }

    @Test func retriesStopAtTheFirstAttemptThatIsNotAFailure() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("attempts")
        // Fails twice, then succeeds: three attempts, the last one's status.
        let script = "echo x >> \(marker); [ $(wc -l < \(marker)) -ge 3 ] && exit 0; exit 4"
        let result = try sandbox.run(["run", "recovering", "--", "sh", "-c", script])
        #expect(result.status == 0)
        #expect(lines(marker) == 3)
        #expect(try sandbox.counts("recovering") == ["successes": 1, "failures": 2, "ignored": 0, "rejected": 0, "fallbacks": 0])

        let exhausted = try sandbox.run(["run", "recovering", "--", "sh", "-c", "exit 4"])
        #expect(exhausted.status == 4, "only the last attempt's status is returned")
        #expect(try sandbox.counts("recovering")["failures"] == 6)
    }

    @Test func maxConcurrentOneRunsOneOfFiveAndRejectsFourAtOnce() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("ran")
        let started = try (0..<5).map { _ in try sandbox.start(["run", "single", "--", "sh", "-c", "echo x >> \(marker); sleep 2"]) }
        let results = started.map { $0.wait() }
        #expect(lines(marker) == 1)
        #expect(results.filter { $0.status == 0 }.count == 1)
        let rejected = results.filter { $0.status == 75 }
        #expect(rejected.count == 4)
        #expect(rejected.allSatisfy { $0.seconds < 1.5 }, "\(rejected.map(\.seconds))")
        #expect(rejected.allSatisfy { $0.stderr.contains("concurrency limit reached (max_concurrent: 1)") })
        let counts = try sandbox.counts("single")
        #expect(counts["rejected"] == 4)
        #expect(counts["failures"] == 0)
        #expect(try sandbox.status("single")["state"] as? String == "closed")
    }

    @Test func maxWaitLetsCallsQueueForTheSlot() throws {
        let sandbox = try Sandbox(config: Self.config)
        let log = sandbox.path("log")
        let script = "echo start >> \(log); sleep 0.4; echo end >> \(log)"
        let started = try (0..<3).map { _ in try sandbox.start(["run", "queued", "--", "sh", "-c", script]) }
        let results = started.map { $0.wait() }
        #expect(results.allSatisfy { $0.status == 0 })
        let entries = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(entries == ["start", "end", "start", "end", "start", "end"], "one at a time")
        #expect(try sandbox.counts("queued")["rejected"] == 0)
    }

    @Test func aSlowSuccessCountsAsAFailureButItsOutputAndStatusPassThrough() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "slow", "--", "sh", "-c", "sleep 0.4; echo done"])
        #expect(result.status == 0)
        #expect(result.stdout == "done\n")
        let status = try sandbox.status("slow")
        #expect((status["counts"] as? [String: Int])?["failures"] == 1)
        #expect((status["last_failure"] as? String)?.hasPrefix("slow call") == true)
        #expect(try sandbox.run(["run", "slow", "--", "true"]).status == 0)
        #expect(try sandbox.counts("slow")["successes"] == 1)
    }

    @Test func aFallbackRunsOnlyWhenTheCallDidNotRun() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("marker")
        let failed = try sandbox.run(["run", "plain", "--", "sh", "-c", "exit 5"], environment: ["MARKER": marker])
        #expect(failed.status == 5)
        #expect(!FileManager.default.fileExists(atPath: marker), "never after a call that ran")
        #expect(try sandbox.run(["trip", "plain"]).status == 0)
        let rejected = try sandbox.run(["run", "plain", "--", "true"], environment: ["MARKER": marker])
        #expect(rejected.status == 0)
        #expect(lines(marker) == 1, "exactly once")
    }

    @Test func aFailingFallbackReturnsItsOwnStatusIsNamedAndIsNotRecordedAgainstTheBreaker() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "failing-fallback", "--for", "1h"]).status == 0)
        let result = try sandbox.run(["run", "failing-fallback", "--", "pay-batch", "--since", "yesterday's run"])
        #expect(result.status == 3)
        #expect(result.stdout == "args: pay-batch --since yesterday's run\nname=failing-fallback state=open retry=3600\n")
        #expect(result.stderr.contains("failing-fallback: rejected, breaker is open"))
        #expect(result.stderr.contains("fallback answered with exit status 3"))
        #expect(try sandbox.counts("failing-fallback") == ["successes": 0, "failures": 0, "ignored": 0, "rejected": 1, "fallbacks": 1])
    }

    @Test func gnuTimeoutAroundBreakerRunEndsItPromptly() throws {
        let sandbox = try Sandbox(config: Self.config)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["1", Sandbox.binary, "--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "run", "plain", "--", "sleep", "30"]
        process.standardError = FileHandle.nullDevice
        let stopwatch = Date()
        try process.run()
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(stopwatch) < 4)
        #expect(process.terminationStatus == 124)
        #expect(try sandbox.counts("plain")["ignored"] == 1)
    }

    @Test func grandchildrenHoldingStdoutOpenDoNotOutliveTheTimeout() throws {
        let sandbox = try Sandbox(config: Self.config)
        // The reader of breaker-run's output (cat) sees end-of-file only when
        // every holder of the pipe is gone: the kill must reach the grandchild.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" --config \"$1\" --state-dir \"$2\" run stubborn -- sh -c 'sleep 30 & echo started; exec sleep 30' | cat", Sandbox.binary, sandbox.configPath, sandbox.stateDirectory]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let started = Date()
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text == "started\n")
        #expect(Date().timeIntervalSince(started) < 4)
    }
}
