import Foundation
import Testing

/// Clock faults without touching the system clock: the instants stored in
/// an open breaker's state.json are edited as a stepped wall clock, a reboot
/// (another boot id) or damage would leave them. Whatever they say, the
/// breaker stays open no longer than its interval (2 s here) and does not
/// let a call through before it without cause.
@Suite("Clock faults")
struct FaultClockTests {
    static let config = """
        version: 1
        breakers:
          alpha:
            fail_max: 1
            reset_timeout: 2s
        """
    static let hour: Int64 = 3_600_000_000_000

    struct Edit: Sendable, CustomStringConvertible {
        var description: String
        /// Another boot id, as after a reboot.
        var otherBoot = false
        /// Added to every stored wall-clock reading (`unix_ns`).
        var wallShift: Int64 = 0
        /// Added to every stored boot-clock reading (`boottime_ns`).
        var bootShift: Int64 = 0
        /// Drop `opened_at`, as a hand-edited file might.
        var dropOpenedAt = false
        /// Whether a call right after the edit must still be rejected.
        var rejectedAtOnce = true
    }

    static let edits: [Edit] = [
        Edit(description: "wall clock stepped back 5 h", wallShift: 5 * hour),
        Edit(description: "wall clock stepped forward 5 h", wallShift: -5 * hour),
        Edit(description: "reboot, wall time of the opening in the future", otherBoot: true, wallShift: 5 * hour, bootShift: 100 * hour),
        Edit(description: "reboot, opened an hour ago by the wall clock", otherBoot: true, wallShift: -hour, bootShift: 100 * hour, rejectedAtOnce: false),
        Edit(description: "reboot, just opened", otherBoot: true),
        Edit(description: "reboot, no opened_at", otherBoot: true, bootShift: 100 * hour, dropOpenedAt: true),
        Edit(description: "reboot, no opened_at, next trial 5 h ahead by the wall clock", otherBoot: true, wallShift: 5 * hour, bootShift: 100 * hour, dropOpenedAt: true),
        Edit(description: "same boot, boot clock readings 5 h ahead (damaged)", bootShift: 5 * hour),
        Edit(description: "same boot, no opened_at, next trial 5 h ahead (damaged)", bootShift: 5 * hour, dropOpenedAt: true),
    ]

    static func shifted(_ instant: Any?, _ edit: Edit) -> Any? {
        guard var object = instant as? [String: Any] else { return instant }
        if let boot = object["boottime_ns"] as? Int64 { object["boottime_ns"] = max(0, boot + edit.bootShift) }
        if let wall = object["unix_ns"] as? Int64 { object["unix_ns"] = wall + edit.wallShift }
        return object
    }

    @Test(arguments: edits)
    func anOpenBreakerNeverStaysOpenLongerThanItsInterval(edit: Edit) throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(state["state"] as? String == "open")
        if edit.otherBoot { state["boot_id"] = "00000000-0000-4000-8000-000000000000" }
        for key in ["opened_at", "next_trial_at", "last_failure_at"] {
            state[key] = Self.shifted(state[key], edit)
        }
        if let transitions = state["transitions"] as? [[String: Any]] {
            state["transitions"] = transitions.map { var t = $0; t["at"] = Self.shifted(t["at"], edit); return t }
        }
        if edit.dropOpenedAt { state.removeValue(forKey: "opened_at") }
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: path))
        let edited = Date()

        let status = try sandbox.status("alpha")
        if let retryAfter = status["retry_after_seconds"] as? Int {
            #expect(retryAfter <= 2, "status promises a trial within the interval")
        }
        let first = try sandbox.run(["run", "alpha", "--", "true"])
        if edit.rejectedAtOnce {
            #expect(first.status == 75, "still open right after the edit: \(first.stderr)")
        }
        var admitted = first.status == 0
        while !admitted && Date().timeIntervalSince(edited) < 6 {
            usleep(100_000)
            admitted = try sandbox.run(["run", "alpha", "--", "true"]).status == 0
        }
        let waited = Date().timeIntervalSince(edited)
        #expect(admitted, "no trial within 6 s of a 2 s interval")
        #expect(waited < 3.5, "open \(waited) s for an interval of 2 s")
        #expect(try sandbox.status("alpha")["state"] as? String == "closed")
        let after = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(after["boot_id"] as? String != "00000000-0000-4000-8000-000000000000", "rewritten on this boot's clock")
    }

    @Test func aStateFromAnotherBootStaysClosedWithItsCounts() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        state["boot_id"] = "00000000-0000-4000-8000-000000000000"
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: path))
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        let status = try sandbox.status("alpha")
        #expect(status["state"] as? String == "closed", "a reboot never opens a breaker")
        #expect((status["counts"] as? [String: Int])?["successes"] == 2)
    }
}
