import Foundation
import Testing

/// Many separate breaker-run processes on one breaker behave as one
/// in-process breaker would.
@Suite("Concurrent processes share one breaker exactly")
struct ConcurrencyTests {
    @Test func eightProcessesOfFiftyFailuresEachCountExactlyFourHundred() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              shared:
                fail_max: 1000
            """)
        let loop = "for i in $(seq 50); do \"$0\" run --config \"$1\" --state-dir \"$2\" shared -- false; done"
        let loops = try sandbox.startLoops(8, loop)
        for process in loops { process.waitUntilExit() }
        let status = try sandbox.status("shared")
        #expect(status["counts"] as? [String: Int] == ["successes": 0, "failures": 400, "ignored": 0, "rejected": 0, "fallbacks": 0])
        #expect(status["consecutive_failures"] as? Int == 400)
        #expect(status["state"] as? String == "closed")
    }

    /// A sandbox whose breaker `flaky` (fail_max 1, reset_timeout 1s) has
    /// tripped and waited out its reset timeout: the next call is the trial.
    private func halfOpenBreaker() throws -> Sandbox {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              flaky:
                fail_max: 1
                reset_timeout: 1s
            """)
        #expect(try sandbox.run(["run", "flaky", "--", "false"]).status == 1)
        #expect(try eventually { try sandbox.status("flaky")["state"] as? String == "half-open" })
        return sandbox
    }

    @Test func eightSimultaneousCallsInHalfOpenRunExactlyOneTrial() throws {
        let sandbox = try halfOpenBreaker()
        let marker = sandbox.path("trials")

        // The trial runs until the other seven have been rejected and the
        // test releases it: however late a process starts on a busy machine,
        // it meets the trial still running. Rejections that waited for the
        // trial would never be counted, and the test would fail.
        let release = sandbox.path("release")
        let trial = ["--", "sh", "-c", "echo trial >> \(marker); while [ ! -e \(release) ]; do sleep 0.05; done"]
        let started = try (0..<8).map { _ in try sandbox.start(["run", "flaky"] + trial) }
        let counted = try eventually(within: 60) {
            (try sandbox.status("flaky")["counts"] as? [String: Int])?["rejected"] == 7
        }
        #expect(counted, "seven rejections while the trial runs")
        FileManager.default.createFile(atPath: release, contents: nil)
        let results = started.map { $0.wait() }

        let trials = try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n")
        #expect(trials.count == 1)
        #expect(results.filter { $0.status == 0 }.count == 1)
        let rejected = results.filter { $0.status == 75 }
        #expect(rejected.count == 7)
        #expect(rejected.allSatisfy { $0.stderr.contains("half-open") })
        let status = try sandbox.status("flaky")
        #expect(status["state"] as? String == "closed")
        #expect((status["counts"] as? [String: Int])?["rejected"] == 7)
    }

    @Test func aTrialKilledWithSIGKILLDoesNotLeaveTheBreakerStuck() throws {
        let sandbox = try halfOpenBreaker()
        let pidFile = sandbox.path("trial-pid")

        let trial = try sandbox.start(["run", "flaky", "--", "sh", "-c", "echo $$ > \(pidFile); exec sleep 30"])
        #expect(eventually { FileManager.default.fileExists(atPath: pidFile) && ((try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? "").hasSuffix("\n") })
        #expect(try sandbox.run(["run", "flaky", "--", "true"]).status == 75, "the trial's permit is held while it runs")

        kill(trial.pid, SIGKILL)
        let killed = trial.wait()
        #expect(killed.signal == SIGKILL)
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let child = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(-child, SIGKILL)
        }

        let next = try sandbox.run(["run", "flaky", "--", "true"])
        #expect(next.status == 0, "the next call becomes the trial")
        #expect(try sandbox.status("flaky")["state"] as? String == "closed")
    }
}
