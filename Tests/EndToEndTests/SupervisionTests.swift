import Foundation
import Testing

/// The call is supervised faithfully: status, signals, timeouts, launch
/// failures and standard streams.
@Suite("Running the call")
struct SupervisionTests {
    static let config = """
        version: 1
        breakers:
          plain:
            fail_max: 100
          slow:
            timeout: 1s
          configured:
            shell: 'printf "%s|%s|%s" "$BREAKER_NAME" "$GREETING" "$(pwd)"'
            env:
              GREETING: hello
            working_dir: /tmp
        """

    @Test(arguments: [0, 1, 7, 255])
    func theCallsExitStatusPassesThrough(code: Int32) throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "plain", "--", "sh", "-c", "exit \(code)"])
        #expect(result.status == code)
        #expect(result.signal == nil)
    }

    @Test func aCallKilledByASignalKillsBreakerRunWithTheSameSignal() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "plain", "--", "sh", "-c", "kill -USR1 $$"])
        #expect(result.signal == SIGUSR1)
        let status = try sandbox.status("plain")
        #expect(status["last_failure"] as? String == "killed by SIGUSR1")
    }

    @Test func aTimeoutKillsTheWholeProcessGroupAndExits124() throws {
        let sandbox = try Sandbox(config: Self.config)
        let pidFile = sandbox.path("pgid")
        let result = try sandbox.run(["run", "slow", "--", "sh", "-c", "echo $$ > \(pidFile); sleep 30 & sleep 30"])
        #expect(result.status == 124)
        #expect(result.seconds < 4)
        #expect(result.stderr.contains("slow: call timed out after 1s"))
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let group = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(eventually(within: 2) { liveProcesses(inGroup: group).isEmpty }, "no process of the call's group survives")
        #expect(try sandbox.status("slow")["last_failure"] as? String == "timeout")
    }

    @Test func aCommandThatIsNotFoundExits127AndIsIgnored() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "plain", "--", "/nonexistent/command"])
        #expect(result.status == 127)
        #expect(result.stderr.contains("/nonexistent/command"))
        #expect(try sandbox.counts("plain")["ignored"] == 1)
        #expect(try sandbox.counts("plain")["failures"] == 0)
    }

    @Test func aCommandThatIsNotExecutableExits126() throws {
        let sandbox = try Sandbox(config: Self.config)
        let script = sandbox.path("script.sh")
        try "#!/bin/sh\necho hi\n".write(toFile: script, atomically: true, encoding: .utf8)
        let result = try sandbox.run(["run", "plain", "--", script])
        #expect(result.status == 126)
    }

    @Test func standardInputAndOutputPassThroughUnchanged() throws {
        let sandbox = try Sandbox(config: Self.config)
        let text = (0..<2000).map { "line \($0) ✓ \u{1}\t" }.joined(separator: "\n")
        let result = try sandbox.run(["run", "plain", "--", "cat"], stdin: text)
        #expect(result.status == 0)
        #expect(result.stdout == text)
    }

    @Test func theConfiguredCallGetsItsEnvironmentAndWorkingDirectory() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "configured"])
        #expect(result.stdout == "configured|hello|/tmp")
    }

    @Test func aCallInterruptedByTheOperatorIsIgnoredAndBreakerRunDiesOfTheSameSignal() throws {
        let sandbox = try Sandbox(config: Self.config)
        let pidFile = sandbox.path("pid")
        let running = try sandbox.start(["run", "plain", "--", "sh", "-c", "echo $$ > \(pidFile); sleep 30"])
        #expect(eventually { ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").hasSuffix("\n") })
        kill(running.pid, SIGTERM)
        let result = running.wait()
        #expect(result.signal == SIGTERM)
        #expect(result.seconds < 5)
        let counts = try sandbox.counts("plain")
        #expect(counts["ignored"] == 1)
        #expect(counts["failures"] == 0)
    }

    @Test func runWithoutACommandOrConfiguredCallIsAUsageError() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "plain"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("breaker 'plain' has no configured call"))
    }
}
