import Foundation
import Testing

/// `on_state_error` end to end, on faults of the file store that fail even
/// for root: `fail-open` runs the call unguarded after exactly one warning
/// line; `fail-closed` exits 74 (EX_IOERR) without running the call.
@Suite("on_state_error")
struct StateErrorPolicyTests {
    static func config(_ policy: String, extra: String = "") -> String {
        """
        version: 1
        breakers:
          alpha:
            fail_max: 2
            on_state_error: \(policy)
        \(extra)
        """
    }

    /// The ways to break the store that root cannot write past.
    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        /// A regular file where the state directory should be.
        case fileForStateDirectory
        /// A directory where `alpha/state.json` should be.
        case directoryForStateFile
        /// A state file of a newer format, which must not be overwritten.
        case newerFormat
        /// A read-only tmpfs mounted on the state directory (skipped where
        /// mounting is not permitted).
        case readOnlyMount

        var testDescription: String { rawValue }

        /// Breaks `sandbox`'s store; false when this machine cannot.
        func apply(to sandbox: Sandbox) throws -> Bool {
            let state = sandbox.stateDirectory
            switch self {
            case .fileForStateDirectory:
                try "not a directory\n".write(toFile: state, atomically: false, encoding: .utf8)
            case .directoryForStateFile:
                try FileManager.default.createDirectory(atPath: state + "/alpha/state.json", withIntermediateDirectories: true)
            case .newerFormat:
                try FileManager.default.createDirectory(atPath: state + "/alpha", withIntermediateDirectories: true)
                try #"{"format": 99}"#.write(toFile: state + "/alpha/state.json", atomically: false, encoding: .utf8)
            case .readOnlyMount:
                try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
                guard FaultTests.shell("mount -t tmpfs -o ro,size=64k tmpfs '\(state)'") == 0 else { return false }
            }
            return true
        }

        func undo(in sandbox: Sandbox) {
            if self == .readOnlyMount { FaultTests.shell("umount -l '\(sandbox.stateDirectory)'") }
        }
    }

    static func breakerRunLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("breaker-run: ") }
    }

    @Test(arguments: Fault.allCases)
    func failOpenRunsTheCallWithOneWarning(fault: Fault) throws {
        let sandbox = try Sandbox(config: Self.config("fail-open"))
        guard try fault.apply(to: sandbox) else { return }
        defer { fault.undo(in: sandbox) }
        let run = try sandbox.run(["run", "alpha", "--", "sh", "-c", "echo ran; exit 3"])
        #expect(run.status == 3, "the call ran and its status passed through: \(run.stderr)")
        #expect(run.stdout == "ran\n")
        let lines = Self.breakerRunLines(run.stderr)
        #expect(lines.count == 1, "exactly one warning: \(run.stderr)")
        #expect(lines.first?.contains("running the call unguarded") == true)
    }

    @Test(arguments: Fault.allCases)
    func failClosedExits74WithoutRunningTheCall(fault: Fault) throws {
        let sandbox = try Sandbox(config: Self.config("fail-closed"))
        guard try fault.apply(to: sandbox) else { return }
        defer { fault.undo(in: sandbox) }
        let marker = sandbox.path("call-ran")
        let run = try sandbox.run(["run", "alpha", "--", "touch", marker])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker), "the call must not run")
        let lines = Self.breakerRunLines(run.stderr)
        #expect(lines.count == 1, "exactly one error line: \(run.stderr)")
        #expect(lines.first?.contains("on_state_error: fail-closed") == true)
    }

    @Test func failOpenWarnsOnceAcrossRetries() throws {
        let sandbox = try Sandbox(config: Self.config("fail-open", extra: "    retry: {attempts: 3, delay: 10ms}"))
        try "not a directory\n".write(toFile: sandbox.stateDirectory, atomically: false, encoding: .utf8)
        let counter = sandbox.path("attempts")
        let run = try sandbox.run(["run", "alpha", "--", "sh", "-c", "echo x >> '\(counter)'; exit 1"])
        #expect(run.status == 1)
        #expect(try String(contentsOfFile: counter, encoding: .utf8) == "x\nx\nx\n", "all three attempts ran")
        #expect(Self.breakerRunLines(run.stderr).count == 1, "one warning for the whole invocation: \(run.stderr)")
    }

    @Test func failClosedGuardsTheBulkheadToo() throws {
        let sandbox = try Sandbox(config: Self.config("fail-closed", extra: "    max_concurrent: 1"))
        try "not a directory\n".write(toFile: sandbox.stateDirectory, atomically: false, encoding: .utf8)
        let marker = sandbox.path("call-ran")
        let run = try sandbox.run(["run", "alpha", "--", "touch", marker])
        #expect(run.status == 74)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(run.stderr.contains("concurrency slot unavailable"))
    }

    /// A state file that is not JSON is not a fault of the store (DESIGN,
    /// "State"): it is moved aside and the breaker starts closed, so even
    /// fail-closed runs the call.
    @Test func anUnparsableStateFileIsMovedAsideEvenWhenFailClosed() throws {
        let sandbox = try Sandbox(config: Self.config("fail-closed"))
        try FileManager.default.createDirectory(atPath: sandbox.stateDirectory + "/alpha", withIntermediateDirectories: true)
        try "garbage{".write(toFile: sandbox.stateDirectory + "/alpha/state.json", atomically: false, encoding: .utf8)
        let run = try sandbox.run(["run", "alpha", "--", "true"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("moved aside"))
        #expect(try sandbox.counts("alpha")["successes"] == 1)
    }

    @Test func validatePrintsThePolicyAndTheBackend() throws {
        let sandbox = try Sandbox(config: Self.config("fail-closed"))
        let run = try sandbox.run(["validate", "--print"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("    on_state_error: fail-closed\n"))
        #expect(run.stdout.contains("    state: {backend: file}\n"))
    }
}
