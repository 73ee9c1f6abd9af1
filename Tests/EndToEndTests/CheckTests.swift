import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `breaker-run check NAME`: would a call be admitted now? Exit 0 or 75, one
/// line unless -q, and nothing written or taken.
@Suite("check")
struct CheckTests {
    static let config = """
        version: 1
        breakers:
          ledger:
            command: [/bin/false]
            fail_max: 1
            reset_timeout: 300ms
          pool:
            command: [/bin/true]
            max_concurrent: 1
        """

    /// Holds an exclusive flock(2) on `path` (created if missing) from this
    /// process, as a running trial or call holds its permit or slot.
    final class HeldFile {
        let descriptor: Int32
        init(_ path: String) throws {
            descriptor = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(descriptor >= 0)
            try #require(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        }
        deinit { close(descriptor) }
    }

    @Test func aClosedBreakerAnswersZeroAndCreatesNoState() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["check", "ledger"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "ledger: closed, a call would run\n")
        #expect(result.stderr.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory))
    }

    @Test func anOpenBreakerAnswers75AndCountsNoRejection() throws {
        let sandbox = try Sandbox(config: Self.config)
        try sandbox.run(["trip", "ledger", "--for", "2d3h"])
        let statePath = sandbox.stateDirectory + "/ledger/state.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: statePath))
        let result = try sandbox.run(["check", "ledger"])
        #expect(result.status == 75)
        #expect(result.stdout == "ledger: open, a call would be rejected (next trial in 2d3h)\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: statePath)) == before)
        #expect(try sandbox.counts("ledger")["rejected"] == 0)
    }

    @Test func aHeldBreakerAnswers75() throws {
        let sandbox = try Sandbox(config: Self.config)
        try sandbox.run(["trip", "ledger", "--hold"])
        let result = try sandbox.run(["check", "ledger"])
        #expect(result.status == 75)
        #expect(result.stdout == "ledger: open, a call would be rejected (held until reset)\n")
    }

    @Test func quietPrintsNothingAndKeepsTheStatus() throws {
        let sandbox = try Sandbox(config: Self.config)
        try sandbox.run(["trip", "ledger"])
        let result = try sandbox.run(["check", "ledger", "-q"])
        #expect(result.status == 75)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.isEmpty)
    }

    @Test func anUnknownBreakerIs78() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["check", "ledgr"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("ledgr"))
    }

    @Test func aBreakerPastItsResetTimeoutAdmitsATrialWithoutTakingItsPermit() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "ledger"]).status == 1)
        // The open interval is 300 ms of the binary's own clock.
        #expect(eventually { (try? sandbox.run(["check", "ledger"]).status) == 0 })
        let result = try sandbox.run(["check", "ledger"])
        #expect(result.stdout == "ledger: half-open, a call would run as the trial\n")
        let directory = sandbox.stateDirectory + "/ledger"
        #expect(!FileManager.default.fileExists(atPath: directory + "/permit.0"), "check made a permit file")
        let state = try String(contentsOfFile: directory + "/state.json", encoding: .utf8)
        #expect(state.contains("\"state\" : \"open\""), "check stored a transition: \(state)")
        // The permit is still there for the real trial.
        let trial = try sandbox.run(["run", "ledger", "--", "/bin/true"])
        #expect(trial.status == 0, "\(trial.stderr)")
        #expect(try sandbox.status("ledger")["state"] as? String == "closed")
    }

    @Test func aHalfOpenBreakerWhoseTrialRunsAnswers75() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "ledger"]).status == 1)
        #expect(eventually { (try? sandbox.run(["check", "ledger"]).status) == 0 })
        let permit = try HeldFile(sandbox.stateDirectory + "/ledger/permit.0")
        let result = try sandbox.run(["check", "ledger"])
        #expect(result.status == 75)
        #expect(result.stdout == "ledger: half-open, a call would be rejected (its trial is running)\n")
        withExtendedLifetime(permit) {}
    }

    @Test func aFullBulkheadAnswers75AndLeavesTheSlotToItsHolder() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "pool"]).status == 0)
        let slot = try HeldFile(sandbox.stateDirectory + "/pool/slot.0")
        let full = try sandbox.run(["check", "pool"])
        #expect(full.status == 75)
        #expect(full.stdout == "pool: closed, a call would be rejected (concurrency limit reached (max_concurrent: 1))\n")
        withExtendedLifetime(slot) {}
        #expect(flock(slot.descriptor, LOCK_UN) == 0)
        let free = try sandbox.run(["check", "pool"])
        #expect(free.status == 0)
        #expect(try sandbox.counts("pool")["rejected"] == 0)
    }
}
