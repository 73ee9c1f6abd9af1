import Foundation
import Testing

/// The classic pybreaker walk-through, as separate processes sharing one
/// breaker's state on disk.
@Suite("The pybreaker walk-through, across processes")
struct WalkthroughTests {
    static let config = """
        version: 1
        breakers:
          walk:
            fail_max: 3
            reset_timeout: 2s
            fallback:
              shell: 'echo "fallback for $BREAKER_NAME: $BREAKER_STATE after $BREAKER_FAILURES failures"; exit 3'
          bare:
            fail_max: 1
            reset_timeout: 1m
        """

    @Test func callsTripTheBreakerFallBackAndRecoverAfterTheResetTimeout() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("ran")
        let succeed = ["--", "sh", "-c", "echo ok; echo x >> \(marker)"]
        let fail = ["--", "sh", "-c", "echo failing; echo x >> \(marker); exit 1"]
        func runs() -> Int {
            ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n").count
        }

        for _ in 0..<2 {
            let result = try sandbox.run(["run", "walk"] + succeed)
            #expect(result.status == 0)
            #expect(result.stdout == "ok\n")
            #expect(result.stderr == "")
        }
        #expect(try sandbox.status("walk")["state"] as? String == "closed")

        for attempt in 1...3 {
            let result = try sandbox.run(["run", "walk"] + fail)
            #expect(result.status == 1)
            #expect(result.stdout == "failing\n")
            #expect(try sandbox.status("walk")["consecutive_failures"] as? Int == attempt)
        }
        let open = try sandbox.status("walk")
        #expect(open["state"] as? String == "open")
        #expect(open["last_failure"] as? String == "exit status 1")
        #expect(open["opened_at"] is String)
        #expect((open["retry_after_seconds"] as? Int).map { (1...2).contains($0) } == true)
        #expect(runs() == 5)

        for _ in 0..<2 {
            let result = try sandbox.run(["run", "walk"] + succeed)
            #expect(result.status == 3)
            #expect(result.stdout == "fallback for walk: open after 3 failures\n")
            #expect(result.stderr.contains("walk: rejected, breaker is open"))
        }
        #expect(runs() == 5, "an open breaker must not run the call")

        #expect(try eventually(within: 5) { try sandbox.status("walk")["state"] as? String == "half-open" })
        let trial = try sandbox.run(["run", "walk"] + succeed)
        #expect(trial.status == 0)
        #expect(trial.stdout == "ok\n")
        #expect(try sandbox.status("walk")["state"] as? String == "closed")

        for _ in 0..<2 {
            let result = try sandbox.run(["run", "walk"] + succeed)
            #expect(result.status == 0)
            #expect(result.stdout == "ok\n")
        }
        #expect(runs() == 8)
        let counts = try sandbox.counts("walk")
        #expect(counts == ["successes": 5, "failures": 3, "ignored": 0, "rejected": 2, "fallbacks": 2])
    }

    @Test func anOpenBreakerWithoutFallbackExits75WithoutRunningTheCall() throws {
        let sandbox = try Sandbox(config: Self.config)
        let marker = sandbox.path("ran")
        #expect(try sandbox.run(["run", "bare", "--", "false"]).status == 1)
        let rejected = try sandbox.run(["run", "bare", "--", "touch", marker])
        #expect(rejected.status == 75)
        #expect(rejected.stdout == "")
        #expect(rejected.stderr.hasPrefix("breaker-run: bare: rejected, breaker is open (next trial in "))
        #expect(!FileManager.default.fileExists(atPath: marker))
        let quiet = try sandbox.run(["run", "-q", "bare", "--", "true"])
        #expect(quiet.status == 75)
        #expect(quiet.stderr == "", "--quiet drops notices")
    }
}
