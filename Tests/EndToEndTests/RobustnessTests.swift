import Foundation
import Testing

/// What operators (and a tester trying to break it) do to breaker-run:
/// damaged state, a fallback that hangs, a full disk, a hold that must hold.
@Suite("Hard cases an operator meets")
struct RobustnessTests {
    static let config = """
        version: 1
        breakers:
          alpha: {}
          beta: {}
          slow-fallback:
            timeout: 1s
            fallback:
              shell: 'sleep 30'
          fixed:
            fallback:
              output: "stale answer\\n"
              exit_code: 9
        """

    @Test func oneUnreadableStateDoesNotHideTheOtherBreakers() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        #expect(try sandbox.run(["run", "beta", "--", "true"]).status == 0)
        try #"{"format": 99}"#.write(toFile: sandbox.stateDirectory + "/alpha/state.json", atomically: true, encoding: .utf8)

        let text = try sandbox.run(["status"])
        #expect(text.status == 74)
        #expect(text.stdout.contains("alpha: error: "))
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("beta ") && $0.contains(" closed ") })

        let json = try sandbox.run(["status", "--json"])
        #expect(json.status == 74)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let breakers = try #require(object?["breakers"] as? [[String: Any]])
        #expect(breakers.first { $0["name"] as? String == "alpha" }?["error"] is String)
        #expect(breakers.first { $0["name"] as? String == "beta" }?["state"] as? String == "closed")
    }

    @Test func aStateFileThatNamesNoKnownStateGetsOneTrialAndKeepsItsCounts() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        let damaged = #"{"format": 1, "state": "bogus", "counts": {"successes": 41}}"#
        try damaged.write(toFile: path, atomically: true, encoding: .utf8)

        let result = try sandbox.run(["run", "alpha", "--", "true"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("state file \(path) had an unreadable 'state'; the breaker gets one trial"), "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/alpha")
        #expect(!files.contains { $0.hasPrefix("state.json.corrupt-") }, "read field by field, not moved aside")
        #expect(try sandbox.counts("alpha")["successes"] == 42)
        #expect(try sandbox.status("alpha")["state"] as? String == "closed", "the trial succeeded")
    }

    @Test func aFallbackThatRunsPastTheTimeoutIsKilledAndExits124() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "slow-fallback"]).status == 0)
        let result = try sandbox.run(["run", "slow-fallback", "--", "true"])
        #expect(result.status == 124)
        #expect(result.seconds < 4)
        #expect(result.stderr.contains("the fallback timed out after 1s"))
    }

    @Test func aStaticFallbackThatCannotBeWrittenSaysSoAndExits74() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "fixed"]).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "run", "fixed", "--", "true"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 74)
        #expect(stderr.contains("the fallback's output was lost"))
    }

    @Test func aPlainTripLeavesAHoldInPlace() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "alpha", "--hold", "--reason", "db upgrade"]).status == 0)
        let tripped = try sandbox.run(["trip", "alpha", "--for", "1s"])
        #expect(tripped.status == 0)
        #expect(tripped.stderr.contains("held open until 'breaker-run reset alpha'"))
        let status = try sandbox.status("alpha")
        #expect(status["held"] as? Bool == true)
        #expect(status["open_reason"] as? String == "db upgrade")
        #expect(try sandbox.run(["trip", "alpha", "--for", "0s"]).status == 64)
    }

    @Test func aCallWhoseReaderWentAwayIsNotCountedAsAFailure() throws {
        let sandbox = try Sandbox(config: Self.config)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" --config \"$1\" --state-dir \"$2\" run alpha -- yes | head -n 2 > /dev/null", Sandbox.binary, sandbox.configPath, sandbox.stateDirectory]
        try process.run()
        process.waitUntilExit()
        let counts = try sandbox.counts("alpha")
        #expect(counts["ignored"] == 1)
        #expect(counts["failures"] == 0)
    }

    @Test func withoutAnyConfigurationTheErrorNamesWhereItLooked() throws {
        guard !FileManager.default.fileExists(atPath: "/etc/breaker-run/breakers.yaml") else { return }
        let sandbox = try Sandbox()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["status"]
        process.environment = ["HOME": sandbox.directory.path, "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 78)
        #expect(stderr.contains(getuid() == 0 ? "/etc/breaker-run/breakers.yaml" : sandbox.directory.path))
    }

    @Test func quietAndVerboseTogetherIsAUsageError() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["status", "-q", "-v"]).status == 64)
        let verbose = try sandbox.run(["run", "-v", "alpha", "--", "true"])
        #expect(verbose.stderr.contains("alpha: call: success after "))
    }

    @Test func aTimeoutThatTripsAndAForcedCallThatClosesSayOneLineEach() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              brittle:
                fail_max: 1
                timeout: 200ms
            """)
        let timedOut = try sandbox.run(["run", "brittle", "--", "sleep", "5"])
        #expect(timedOut.status == 124)
        #expect(timedOut.stderr == "breaker-run: brittle: closed -> open (1 failure)\n")
        let forced = try sandbox.run(["run", "brittle", "--force", "--", "true"])
        #expect(forced.status == 0)
        #expect(forced.stderr == "breaker-run: brittle: open -> closed (forced call succeeded)\n")
        let verbose = try sandbox.run(["run", "-v", "brittle", "--", "sleep", "5"])
        #expect(verbose.stderr.contains("brittle: call timed out after 200ms; killed"), "the rest is there with -v")
    }
}
