import Foundation
import Testing

/// Who may own the state directory, end to end, as root and as an
/// unprivileged user (`nobody`, through setpriv(1)): the state directory and
/// each breaker's directory must belong to the user running breaker-run and
/// be writable by neither group nor others. Otherwise `run` runs the call
/// unguarded with a warning (`on_state_error: fail-open`), `status`, `trip`
/// and `reset` exit 74, and nothing is created or changed in the directory.
/// A directory the user owns but cannot write is a state fault like any
/// other: never a crash, never a lost state.
@Suite("State directory ownership, as root and as another user")
struct OwnershipTests {
    static let config = """
        version: 1
        breakers:
          alpha:
            fail_max: 2
            reset_timeout: 1h
        """
    static let nobody: UInt32 = 65534
    /// A uid that belongs to no account here: "another non-root user".
    static let stranger: UInt32 = 4242

    /// A sandbox that `nobody` can use: the sandbox directory traversable,
    /// the configuration readable, and a copy of the binary outside /work
    /// (which `nobody` may not be able to traverse).
    static func sandboxForNobody() throws -> (Sandbox, binary: String) {
        let sandbox = try Sandbox(config: config)
        try #require(chmod(sandbox.directory.path, 0o755) == 0)
        try #require(chmod(sandbox.configPath, 0o644) == 0)
        let binary = sandbox.path("breaker-run")
        try FileManager.default.copyItem(atPath: Sandbox.binary, toPath: binary)
        try #require(chmod(binary, 0o755) == 0)
        try directory(sandbox.path("out"), owner: nobody, mode: 0o755)
        return (sandbox, binary)
    }

    /// A path where a call run by `nobody` can leave a mark.
    static func marker(_ sandbox: Sandbox) -> String {
        sandbox.path("out/ran")
    }

    /// Runs the copied binary as `nobody` (uid and gid 65534, no groups).
    static func runAsNobody(_ sandbox: Sandbox, binary: String, state: String, _ arguments: [String]) throws -> Invocation {
        try sandbox.run(
            ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--", binary,
             "--config", sandbox.configPath, "--state-dir", state] + arguments,
            binary: "/usr/bin/setpriv"
        )
    }

    /// A directory made by root, then given to `owner` with `mode`.
    static func directory(_ path: String, owner: UInt32, mode: mode_t) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try #require(chown(path, owner, owner) == 0)
        try #require(chmod(path, mode) == 0)
    }

    static func owner(_ path: String) -> UInt32? {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_uid : nil
    }

    static func entries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    /// Runs `run` (which must run the call unguarded and warn), `status`,
    /// `trip` and `reset` (which must exit 74); each message must contain
    /// `message`.
    static func expectRefused(message: String, run: ([String]) throws -> Invocation, marker: String) throws {
        let ran = try run(["run", "alpha", "--", "touch", marker])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(FileManager.default.fileExists(atPath: marker), "the call ran unguarded")
        #expect(ran.stderr.contains("breaker state unavailable"), "\(ran.stderr)")
        #expect(ran.stderr.contains(message), "\(ran.stderr)")
        for command in [["status", "alpha"], ["trip", "alpha"], ["reset", "alpha"]] {
            let result = try run(command)
            #expect(result.status == 74, "\(command): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(command): \(result.stderr)")
        }
    }

    @Test func aStateDirectoryOfTheRunningUserWorksAsNobody() throws {
        let (sandbox, binary) = try Self.sandboxForNobody()
        let state = sandbox.path("mine")
        try Self.directory(state, owner: Self.nobody, mode: 0o700)
        let ran = try Self.runAsNobody(sandbox, binary: binary, state: state, ["run", "alpha", "--", "false"])
        #expect(ran.status == 1, "\(ran.stderr)")
        #expect(!ran.stderr.contains("unavailable"), "\(ran.stderr)")
        for path in ["alpha", "alpha/state.json", "alpha/lock"] {
            #expect(Self.owner(state + "/" + path) == Self.nobody, "\(path)")
        }
        let status = try Self.runAsNobody(sandbox, binary: binary, state: state, ["status", "--json", "alpha"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"failures\" : 1") || status.stdout.contains("\"failures\":1"), "\(status.stdout)")
    }

    @Test func aMissingStateDirectoryIsCreatedForNobodyWhereItMayWrite() throws {
        let (sandbox, binary) = try Self.sandboxForNobody()
        let parent = sandbox.path("home")
        try Self.directory(parent, owner: Self.nobody, mode: 0o755)
        let state = parent + "/state/deeper"
        let ran = try Self.runAsNobody(sandbox, binary: binary, state: state, ["run", "alpha", "--", "true"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(Self.owner(state + "/alpha/state.json") == Self.nobody)
    }

    @Test func aStateDirectoryNobodyCannotWriteRunsTheCallUnguardedAndTripExits74() throws {
        let (sandbox, binary) = try Self.sandboxForNobody()
        let state = sandbox.path("readonly")
        try Self.directory(state, owner: Self.nobody, mode: 0o500)
        let run = { (arguments: [String]) in try Self.runAsNobody(sandbox, binary: binary, state: state, arguments) }
        let marker = Self.marker(sandbox)
        let ran = try run(["run", "alpha", "--", "touch", marker])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(FileManager.default.fileExists(atPath: marker), "the call ran unguarded")
        #expect(ran.stderr.contains("breaker state unavailable"), "\(ran.stderr)")
        #expect(ran.stderr.contains("\(state)/alpha") && ran.stderr.contains("Permission denied"), "\(ran.stderr)")
        for command in [["trip", "alpha"], ["reset", "alpha"]] {
            let result = try run(command)
            #expect(result.status == 74, "\(command): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("Permission denied"), "\(command): \(result.stderr)")
        }
        // Reading needs no write: a breaker never stored reads as closed.
        let status = try run(["status", "--json", "alpha"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("closed"), "\(status.stdout)")
        #expect(Self.entries(state).isEmpty, "nothing was created")
    }

    @Test func aBreakerDirectoryNobodyCannotWriteKeepsTheStateWrittenBefore() throws {
        let (sandbox, binary) = try Self.sandboxForNobody()
        let state = sandbox.path("frozen")
        try Self.directory(state, owner: Self.nobody, mode: 0o700)
        let run = { (arguments: [String]) in try Self.runAsNobody(sandbox, binary: binary, state: state, arguments) }
        #expect(try run(["run", "alpha", "--", "false"]).status == 1)
        let before = try #require(FileManager.default.contents(atPath: state + "/alpha/state.json"))
        try #require(chmod(state + "/alpha", 0o500) == 0)
        let ran = try run(["run", "alpha", "--", "false"])
        #expect(ran.status == 1, "the call ran: \(ran.stderr)")
        #expect(ran.stderr.contains("not recorded") || ran.stderr.contains("unavailable"), "\(ran.stderr)")
        #expect(ran.stderr.contains("Permission denied"), "\(ran.stderr)")
        #expect(try run(["trip", "alpha"]).status == 74)
        #expect(FileManager.default.contents(atPath: state + "/alpha/state.json") == before, "the state written before is intact")
        #expect(Set(Self.entries(state + "/alpha")) == ["state.json", "lock"], "no temporary file is left")
        try #require(chmod(state + "/alpha", 0o700) == 0)
        #expect(try run(["run", "alpha", "--", "false"]).status == 1)
        let status = try run(["status", "--json", "alpha"])
        #expect(status.stdout.contains("\"open\""), "writing resumes: the second recorded failure opens it: \(status.stdout)")
    }

    /// Root's directory (0755: readable, not writable by `nobody`) and
    /// another non-root user's.
    @Test(arguments: [UInt32(0), OwnershipTests.stranger])
    func aStateDirectoryOwnedBySomeoneElseIsRefusedForNobody(owner: UInt32) throws {
        let (sandbox, binary) = try Self.sandboxForNobody()
        let state = sandbox.path("theirs")
        try Self.directory(state, owner: owner, mode: 0o755)
        try Self.expectRefused(
            message: "refusing state directory \(state): it is owned by uid \(owner), not by the user running breaker-run (uid 65534)",
            run: { try Self.runAsNobody(sandbox, binary: binary, state: state, $0) },
            marker: Self.marker(sandbox)
        )
        #expect(Self.entries(state).isEmpty, "nothing was created")
    }

    @Test func aStateDirectoryOwnedByAnotherUserIsRefusedForRoot() throws {
        try #require(geteuid() == 0, "these tests run as root")
        let sandbox = try Sandbox(config: Self.config)
        try Self.directory(sandbox.stateDirectory, owner: Self.nobody, mode: 0o700)
        try Self.expectRefused(
            message: "refusing state directory \(sandbox.stateDirectory): it is owned by uid 65534, not by the user running breaker-run (uid 0); chown it",
            run: { try sandbox.run($0) },
            marker: sandbox.path("ran")
        )
        #expect(Self.entries(sandbox.stateDirectory).isEmpty, "nothing was created")
    }

    @Test func aBreakerDirectoryOwnedByAnotherUserIsRefused() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        let breaker = sandbox.stateDirectory + "/alpha"
        let before = try #require(FileManager.default.contents(atPath: breaker + "/state.json"))
        try #require(chown(breaker, Self.stranger, Self.stranger) == 0)
        try Self.expectRefused(
            message: "refusing state directory \(breaker): it is owned by uid \(Self.stranger)",
            run: { try sandbox.run($0) },
            marker: sandbox.path("ran")
        )
        #expect(FileManager.default.contents(atPath: breaker + "/state.json") == before, "its state is not touched")
    }

    @Test(arguments: [0o777, 0o770, 0o1777, 0o720, 0o702])
    func aStateDirectoryWritableByGroupOrOthersIsRefused(mode: Int) throws {
        let sandbox = try Sandbox(config: Self.config)
        try Self.directory(sandbox.stateDirectory, owner: geteuid(), mode: mode_t(mode))
        try Self.expectRefused(
            message: "refusing state directory \(sandbox.stateDirectory): its mode \(String(mode, radix: 8)) lets its group or others write to it; run chmod go-w",
            run: { try sandbox.run($0) },
            marker: sandbox.path("ran")
        )
        #expect(Self.entries(sandbox.stateDirectory).isEmpty, "nothing was created")
    }

    @Test(arguments: [0o700, 0o750, 0o755, 0o711])
    func aStateDirectoryOnlyItsOwnerCanWriteIsUsed(mode: Int) throws {
        let sandbox = try Sandbox(config: Self.config)
        try Self.directory(sandbox.stateDirectory, owner: geteuid(), mode: mode_t(mode))
        let ran = try sandbox.run(["run", "alpha", "--", "true"])
        #expect(ran.status == 0 && ran.stderr.isEmpty, "\(ran.stderr)")
        #expect(try sandbox.counts("alpha")["successes"] == 1)
    }
}
