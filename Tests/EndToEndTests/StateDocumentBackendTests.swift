import Foundation
import Testing

/// Issue 17, item 5: every backend reads its stored state through one codec,
/// so a stored state means the same wherever it is kept: the same warning
/// naming the field, the same repair, the same single trial, the same write
/// back, the same rebasing of a state stored on another clock. The
/// PostgreSQL cases run where `PostgresBackendTests` run.
@Suite("One state-document codec for every backend")
struct StateDocumentBackendTests {
    enum Backend: String, Sendable, CustomTestStringConvertible {
        case file, postgresql

        var testDescription: String { rawValue }
    }

    static var backends: [Backend] { PostgresServer.isUsable ? [.file, .postgresql] : [.file] }

    /// Breaker `alpha` (`fail_max: 1, reset_timeout: 1h`) on one backend,
    /// with its stored document at hand as a JSON object.
    final class Breaker {
        let sandbox: Sandbox
        let server: PostgresServer?
        /// The stored document's name in warnings.
        let place: String

        init(_ backend: Backend) throws {
            server = backend == .postgresql ? try PostgresServer() : nil
            let state = server.map { "state: \($0.stateYAML())\n" } ?? ""
            sandbox = try Sandbox(config: """
                version: 1
                \(state)breakers:
                  alpha: {fail_max: 1, reset_timeout: 1h}
                """)
            place = server.map { "state of breaker alpha at \($0.url) (schema breaker_run)" }
                ?? "state file \(sandbox.stateDirectory)/alpha/state.json"
        }

        func run(_ arguments: [String]) throws -> Invocation {
            try sandbox.run(arguments, environment: ["PGPASSWORD": PostgresServer.password])
        }

        /// `status --json alpha`, and its breaker's object.
        func status() throws -> (Invocation, [String: Any]?) {
            let result = try run(["status", "--json", "alpha"])
            let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            return (result, (object?["breakers"] as? [[String: Any]])?.first)
        }

        /// The stored document, as text.
        func storedText() throws -> String {
            if let server {
                return try server.psql("SELECT state::text FROM breaker_run.breakers WHERE name = 'alpha'")
            }
            return String(decoding: FaultTests.bytes(sandbox.stateDirectory + "/alpha/state.json") ?? Data(), as: UTF8.self)
        }

        /// Changes the stored document as a hand edit or a damaged write would.
        func editStored(_ change: (inout [String: Any]) -> Void) throws {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(try storedText().utf8)) as? [String: Any])
            change(&object)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            if let server {
                _ = try server.psql("UPDATE breaker_run.breakers SET state = '\(text)'::jsonb WHERE name = 'alpha'")
            } else {
                try FaultTests.writeState(object, to: sandbox.stateDirectory + "/alpha/state.json")
            }
        }
    }

    /// The FaultTests case of a `state.json` without `next_trial_at`, on
    /// every backend: the warning names the document and the field, `status`
    /// shows one trial allowed and writes nothing, `run` makes exactly one
    /// trial (a second breaker-run started from inside it is rejected), every
    /// count written before is kept, and the repaired state is written back.
    @Test(arguments: backends)
    func anOpenStateWithoutItsEndGetsTheSameWarningAndOneTrialOnEveryBackend(backend: Backend) throws {
        let breaker = try Breaker(backend)
        #expect(try breaker.run(["run", "alpha", "--", "false"]).status == 1)
        try breaker.editStored { object in
            #expect(object["state"] as? String == "open")
            object.removeValue(forKey: "next_trial_at")
            object.removeValue(forKey: "opened_at")
        }
        let edited = try breaker.storedText()
        let warning = "\(breaker.place) lacked 'next_trial_at'; the breaker gets one trial"

        let (shown, found) = try breaker.status()
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stderr.contains(warning), "\(shown.stderr)")
        #expect(found?["state"] as? String == "half-open", "\(shown.stdout)")
        #expect((found?["counts"] as? [String: Int])?["failures"] == 1)
        #expect(try breaker.storedText() == edited, "status never writes")

        let sandbox = breaker.sandbox
        let inner = "'\(Sandbox.binary)' --config '\(sandbox.configPath)' --state-dir '\(sandbox.stateDirectory)' run alpha -- echo second"
        let trial = try breaker.run(["run", "alpha", "--", "sh", "-c", "\(inner); echo \"second trial: $?\""])
        #expect(trial.status == 0, "\(trial.stderr)")
        #expect(trial.stdout == "second trial: 75\n", "one trial, not two")
        #expect(trial.stderr.contains(warning), "\(trial.stderr)")
        #expect(!trial.stderr.contains("unreadable") && !trial.stderr.contains("moved aside"), "\(trial.stderr)")

        let (after, closed) = try breaker.status()
        #expect(closed?["state"] as? String == "closed", "the one trial succeeded")
        #expect(closed?["counts"] as? [String: Int] == ["successes": 1, "failures": 1, "ignored": 0, "rejected": 1, "fallbacks": 0],
                "the failure written before is kept")
        let history = (closed?["transitions"] as? [[String: Any]])?.map { $0["to"] as? String }
        #expect(history == ["open", "closed"], "the event log written before is kept")
        #expect(!after.stderr.contains("lacked"), "the repaired state was written back: \(after.stderr)")
    }

    /// A state stored on another clock (another boot's, or a `state.json`
    /// copied into PostgreSQL by hand) keeps its open interval by the wall
    /// clock on every backend: its monotonic readings mean nothing here, so
    /// they are rebased, and the document is written back on this backend's
    /// clock by the next run.
    @Test(arguments: backends)
    func aStateOfAnotherClockKeepsItsOpenIntervalOnEveryBackend(backend: Backend) throws {
        let breaker = try Breaker(backend)
        #expect(try breaker.run(["run", "alpha", "--", "false"]).status == 1)
        var ownClock: String?
        try breaker.editStored { object in
            ownClock = object["boot_id"] as? String
            object["boot_id"] = "another-boot"
            // Readings of a clock that started elsewhere: the same hour from
            // opening to trial, counted from 42 ns.
            let opened = (object["opened_at"] as? [String: Any])?["boottime_ns"] as? Int64 ?? 0
            for key in ["opened_at", "next_trial_at"] {
                var instant = object[key] as? [String: Any] ?? [:]
                instant["boottime_ns"] = (instant["boottime_ns"] as? Int64 ?? 0) - opened + 42
                object[key] = instant
            }
        }
        #expect(ownClock != nil)

        let (shown, found) = try breaker.status()
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(found?["state"] as? String == "open", "\(shown.stdout)")
        let retryAfter = try #require(found?["retry_after_seconds"] as? Int)
        #expect(retryAfter > 3500 && retryAfter <= 3600, "the hour is measured by the wall clock")

        #expect(try breaker.run(["run", "alpha", "--", "true"]).status == 75, "still open")
        let stored = try #require(try JSONSerialization.jsonObject(with: Data(try breaker.storedText().utf8)) as? [String: Any])
        #expect(stored["boot_id"] as? String == ownClock, "written back on this backend's clock")
    }
}
