import Foundation
import Testing

/// A `cached` fallback must not change what the caller sees (issue 15,
/// items 1 and 2): a closed reader or a full disk is met as it would be
/// without the copy, output that was not delivered is never a success nor
/// cached, and a cached answer is only served for the call that produced it.
@Suite("Cached output: delivery and ownership, end to end")
struct CachedOutputDeliveryTests {
    static let config = """
        version: 1
        breakers:
          yesc:
            command: [yes]
            fallback: {cached: {}}
          plain-yes:
            command: [yes]
          report:
            shell: 'echo report line'
            fallback: {cached: {}}
          inv:
            shell: 'echo api-answer'
            fail_max: 1
            reset_timeout: 1h
            fallback: {cached: {}}
        """

    /// `breaker-run run NAME | head -1` in bash: what head printed and the
    /// status of breaker-run (PIPESTATUS), bounded by timeout(1) in case
    /// breaker-run never ends.
    func pipedToHead(_ sandbox: Sandbox, _ name: String) throws -> Invocation {
        let command = [Sandbox.binary, "--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "run", name]
            .map { "'\($0)'" }.joined(separator: " ")
        return try sandbox.run(["-c", "timeout -s KILL 20 \(command) | head -1; echo \"status=${PIPESTATUS[0]}\""], binary: "/bin/bash")
    }

    @Test func aClosedReaderEndsTheCallAsPromptlyAndWithTheSameStatusAsWithoutTheCopy() throws {
        let sandbox = try Sandbox(config: Self.config)
        let without = try pipedToHead(sandbox, "plain-yes")
        let with = try pipedToHead(sandbox, "yesc")
        #expect(without.stdout == "y\nstatus=141\n", "\(without.stdout) \(without.stderr)")
        #expect(with.stdout == without.stdout, "\(with.stdout) \(with.stderr)")
        #expect(with.seconds < 10, "it ended at once, not by the 20 s kill: \(with.seconds) s")
        // The partial output is not kept for the fallback.
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/yesc/cache"))
    }

    @Test func outputThatCouldNotBeDeliveredExits74AndIsNeitherASuccessNorCached() throws {
        let sandbox = try Sandbox(config: Self.config)
        let command = [Sandbox.binary, "--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "run", "report"]
            .map { "'\($0)'" }.joined(separator: " ")
        let result = try sandbox.run(["-c", "\(command) > /dev/full"], binary: "/bin/bash")
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.contains("report: the call's output was lost"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/report/cache"))
        let counts = try sandbox.counts("report")
        #expect(counts["successes"] == 0)
        #expect(counts["failures"] == 0, "the downstream is not blamed for breaker-run's own output")
    }

    @Test func aOneOffCommandNeverReplacesTheConfiguredCallsCachedAnswer() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "inv"]).stdout == "api-answer\n")
        #expect(try sandbox.run(["run", "inv", "--", "echo", #"{"health": "ok"}"#]).status == 0)
        #expect(try sandbox.run(["trip", "inv"]).status == 0)
        let configured = try sandbox.run(["run", "inv"])
        #expect(configured.status == 0, "\(configured.stderr)")
        #expect(configured.stdout == "api-answer\n", "the configured call's own answer: \(configured.stdout)")
        #expect(configured.stderr.contains("answered from the cache"), "\(configured.stderr)")
        let oneOff = try sandbox.run(["run", "inv", "--", "echo", #"{"health": "ok"}"#])
        #expect(oneOff.stdout == "{\"health\": \"ok\"}\n", "the one-off command's own answer: \(oneOff.stdout)")
        // A command that never succeeded has no answer to give.
        let other = try sandbox.run(["run", "inv", "--", "echo", "never ran"])
        #expect(other.status == 75, "\(other.stderr)")
        #expect(other.stdout.isEmpty)
    }
}
