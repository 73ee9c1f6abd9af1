import Foundation
import Testing

/// Issue 5's trip and recovery rules through the binary: failure rate,
/// backoff, who did what, and bounded state.
@Suite("Failure rate, backoff and the event log")
struct PolicyTests {
    static let config = """
        version: 1
        breakers:
          rated:
            fail_max: 100
            failure_rate: {threshold: 50%, window: 4, minimum_calls: 4}
          timed:
            fail_max: 1000000
            failure_rate: {threshold: 90%, window: 10m, minimum_calls: 5}
          backing-off:
            fail_max: 1
            reset_timeout: 1s
            backoff: {multiplier: 4, max: 1h}
        """

    @Test func failFailOkOkOpensAFiftyPercentRateBreaker() throws {
        let sandbox = try Sandbox(config: Self.config)
        for (command, status) in [("false", 1), ("false", 1), ("true", 0)] as [(String, Int32)] {
            #expect(try sandbox.run(["run", "rated", "--", command]).status == status)
            #expect(try sandbox.status("rated")["state"] as? String == "closed")
        }
        let fourth = try sandbox.run(["run", "rated", "--", "true"])
        #expect(fourth.status == 0)
        #expect(fourth.stderr.contains("rated: closed -> open (failure rate 50% over the last 4 calls)"))
        #expect(try sandbox.status("rated")["state"] as? String == "open")
    }

    @Test func aFailedTrialGrowsTheOpenIntervalByTheBackoffMultiplier() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "backing-off", "--", "false"]).status == 1)
        let first = try #require(try sandbox.status("backing-off")["retry_after_seconds"] as? Int)
        #expect(first == 1)
        #expect(try eventually { try sandbox.status("backing-off")["state"] as? String == "half-open" })
        #expect(try sandbox.run(["run", "backing-off", "--", "false"]).status == 1)
        let second = try #require(try sandbox.status("backing-off")["retry_after_seconds"] as? Int)
        #expect((3...4).contains(second), "4 × 1s: \(second)")
        #expect(try sandbox.run(["reset", "backing-off"]).status == 0)
        #expect(try sandbox.run(["run", "backing-off", "--", "false"]).status == 1)
        #expect(try sandbox.status("backing-off")["retry_after_seconds"] as? Int == 1, "a reset starts the backoff anew")
    }

    @Test func manualTransitionsRecordWhoMadeThem() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "rated", "--reason", "maintenance"]).status == 0)
        #expect(try sandbox.run(["reset", "rated"]).status == 0)
        let transitions = try #require(try sandbox.status("rated")["transitions"] as? [[String: Any]])
        #expect(transitions.count == 2)
        #expect(transitions.allSatisfy { ($0["by"] as? String)?.hasPrefix("uid \(getuid())") == true })
        let text = try sandbox.run(["status", "rated"]).stdout
        #expect(text.contains("closed -> open (maintenance) by uid \(getuid())"))
    }

    @Test func aTimeWindowBreakerKeepsItsStateSmallWhateverTheCallCount() throws {
        let sandbox = try Sandbox(config: Self.config)
        let loop = "for i in $(seq 300); do \"$0\" --config \"$1\" --state-dir \"$2\" run timed -- true; done"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", loop, Sandbox.binary, sandbox.configPath, sandbox.stateDirectory]
        try process.run()
        process.waitUntilExit()
        let status = try sandbox.status("timed")
        #expect((status["failure_rate"] as? [String: Int]) == ["calls": 300, "failures": 0])
        let size = try FileManager.default.attributesOfItem(atPath: sandbox.stateDirectory + "/timed/state.json")[.size] as? Int
        #expect((size ?? .max) < 16 * 1024, "\(size ?? -1) bytes")
    }
}
