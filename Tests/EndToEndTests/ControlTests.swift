import Foundation
import Testing

/// `status`, `trip`, `reset` and `validate` from the command line.
@Suite("Manual control, status and validation")
struct ControlTests {
    static let config = """
        version: 1
        breakers:
          api:
            fail_max: 2
            reset_timeout: 30s
            fallback:
              output: "cached answer\\n"
              exit_code: 0
          db:
            open_exit_code: 99
        """

    @Test func tripOpensTheBreakerAndResetClosesIt() throws {
        let sandbox = try Sandbox(config: Self.config)
        let tripped = try sandbox.run(["trip", "db", "--reason", "maintenance"])
        #expect(tripped.status == 0)
        #expect(tripped.stderr.contains("db: closed -> open (maintenance)"))
        let open = try sandbox.status("db")
        #expect(open["state"] as? String == "open")
        #expect(open["held"] as? Bool == false)
        #expect(open["open_reason"] as? String == "maintenance")
        #expect(try sandbox.run(["run", "db", "--", "true"]).status == 99, "open_exit_code")

        #expect(try sandbox.run(["reset", "db"]).status == 0)
        #expect(try sandbox.status("db")["state"] as? String == "closed")
        #expect(try sandbox.run(["run", "db", "--", "true"]).status == 0)
    }

    @Test func aHeldBreakerStaysOpenUntilReset() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "api", "--hold"]).status == 0)
        let held = try sandbox.status("api")
        #expect(held["held"] as? Bool == true)
        #expect(held["next_trial_at"] is NSNull)
        #expect(held["retry_after_seconds"] is NSNull)
        let answered = try sandbox.run(["run", "api", "--", "true"])
        #expect(answered.status == 0)
        #expect(answered.stdout == "cached answer\n")
        #expect(try sandbox.run(["reset", "api"]).status == 0)
        #expect(try sandbox.status("api")["held"] as? Bool == false)
    }

    @Test func tripForSetsTheOpenInterval() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "api", "--for", "2h"]).status == 0)
        let seconds = try #require(try sandbox.status("api")["retry_after_seconds"] as? Int)
        #expect((7190...7200).contains(seconds))
        #expect(try sandbox.run(["trip", "api", "--for", "soon"]).status == 64)
    }

    @Test func forceRunsPastAnOpenBreakerAndASuccessClosesIt() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "api"]).status == 0)
        let forced = try sandbox.run(["run", "api", "--force", "--", "echo", "live"])
        #expect(forced.status == 0)
        #expect(forced.stdout == "live\n")
        #expect(forced.stderr.contains("forced"))
        #expect(try sandbox.status("api")["state"] as? String == "closed")
    }

    @Test func statusNeverWritesState() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["status"])
        #expect(result.status == 0)
        let rows = result.stdout.split(separator: "\n")
        #expect(rows.contains { $0.hasPrefix("api ") && $0.contains(" closed ") })
        #expect(rows.contains { $0.hasPrefix("db ") && $0.contains(" closed ") })
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory))
    }

    @Test func statusJSONHasEveryDocumentedField() throws {
        let sandbox = try Sandbox(config: Self.config)
        let status = try sandbox.status("api")
        for key in ["name", "state", "held", "consecutive_failures", "opened_at", "next_trial_at", "retry_after_seconds", "last_failure", "counts"] {
            #expect(status[key] != nil, "missing \(key)")
        }
        #expect(status["opened_at"] is NSNull)
    }

    @Test func anUnknownBreakerIsAConfigurationError() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "apj", "--", "true"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("'apj'"))
        #expect(result.stderr.contains("api"))
    }

    @Test func validateNamesTheFileLineColumnAndTheNearestKey() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              api:
                fail_max: 3
                rest_timeout: 10s
            """)
        let result = try sandbox.run(["validate"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(sandbox.configPath):5:5:"))
        #expect(result.stderr.contains("rest_timeout"))
        #expect(result.stderr.contains("did you mean 'reset_timeout'?"))
    }

    @Test func validateAcceptsAGoodConfiguration() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["validate"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("OK, 2 breakers"))
    }

    @Test func versionAndHelpWork() throws {
        let sandbox = try Sandbox()
        let version = try sandbox.run(["--version"])
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty)
        for subcommand in ["run", "status", "trip", "reset", "validate"] {
            let help = try sandbox.run([subcommand, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE: breaker-run \(subcommand)"))
        }
    }
}
