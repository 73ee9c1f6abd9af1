import Foundation
import Glibc
import Testing
@testable import BreakerRunKit

@Suite struct ProcessSupervisorTests {
    let supervisor = ProcessSupervisor()

    private func shell(_ script: String, environment: [String: String] = [:], in directory: String? = nil,
                       timeout: Duration? = nil, killAfter: Duration = .seconds(5)) -> ProcessSpecification {
        ProcessSpecification(arguments: ["sh", "-c", script], environment: environment,
                             workingDirectory: directory, timeout: timeout, killAfter: killAfter)
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("breaker-run-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Whether no process of `group` is alive. Killed descendants of a dead
    /// shell are zombies until init reaps them, which takes a moment: wait up
    /// to 2 seconds for the group to vanish, then accept zombies only.
    private func groupIsGone(_ group: pid_t) -> Bool {
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            if kill(-group, 0) == -1 && errno == ESRCH { return true }
            usleep(20_000)
        }
        return livingMembers(of: group).isEmpty
    }

    /// The pids of non-zombie processes in `group`, from /proc/PID/stat
    /// (field 3 the state, field 5 the process group, after the command).
    private func livingMembers(of group: pid_t) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard entry.allSatisfy(\.isNumber),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let end = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && fields[2] == "\(group)"
        }
    }

    @Test func passesTheExitStatusThrough() throws {
        let result = try supervisor.run(shell("exit 3"))
        #expect(result.termination == .exited(3))
        #expect(!result.timedOut)
        #expect(result.interruption == nil)
    }

    @Test func reportsASuccessAsExitZero() throws {
        let result = try supervisor.run(ProcessSpecification(arguments: ["true"], environment: [:]))
        #expect(result.termination == .exited(0))
    }

    @Test func reportsDeathBySignal() throws {
        let result = try supervisor.run(shell("kill -USR1 $$"))
        #expect(result.termination == .signaled(SIGUSR1))
        #expect(!result.timedOut)
    }

    @Test func throwsNotFoundForAMissingCommand() {
        for command in ["breaker-run-no-such-command", "/nonexistent/breaker-run-command"] {
            #expect(throws: LaunchError.notFound(command)) {
                try supervisor.run(ProcessSpecification(arguments: [command], environment: [:]))
            }
        }
        #expect(LaunchError.notFound("x").exitStatus == 127)
    }

    @Test func throwsNotExecutableForAFileWithoutExecutePermission() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("script").path
        try "#!/bin/sh\nexit 0\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: script)

        do {
            _ = try supervisor.run(ProcessSpecification(arguments: [script], environment: [:]))
            Issue.record("a file without execute permission ran")
        } catch {
            #expect(error == .notExecutable(script, errno: EACCES))
            #expect(error.exitStatus == 126)
        }
    }

    @Test func throwsNotExecutableForADirectory() {
        #expect(throws: LaunchError.notExecutable("/tmp", errno: EACCES)) {
            try supervisor.run(ProcessSpecification(arguments: ["/tmp"], environment: [:]))
        }
    }

    @Test func throwsFailedForAMissingWorkingDirectory() {
        do {
            _ = try supervisor.run(shell("exit 0", in: "/nonexistent/breaker-run-dir"))
            Issue.record("ran in a missing directory")
        } catch {
            #expect(error == .failed(SystemError("chdir", path: "/nonexistent/breaker-run-dir", errno: ENOENT)))
            #expect(error.exitStatus == 126)
        }
    }

    @Test func throwsFailedForAnEmptyCommand() {
        #expect(throws: LaunchError.self) {
            try supervisor.run(ProcessSpecification(arguments: [], environment: [:]))
        }
    }

    @Test func killsTheWholeGroupAfterATimeOut() throws {
        let result = try supervisor.run(shell("sleep 30 & sleep 30", timeout: .milliseconds(500)))
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(result.duration >= .milliseconds(500))
        #expect(result.duration < .seconds(3))
        #expect(groupIsGone(result.processID))
    }

    @Test func sendsKillAfterTheGraceToAChildThatIgnoresTerm() throws {
        let result = try supervisor.run(shell(#"trap "" TERM; sleep 30"#,
                                              timeout: .milliseconds(300), killAfter: .milliseconds(500)))
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGKILL))
        #expect(result.duration >= .milliseconds(800))
        #expect(result.duration < .seconds(3))
        #expect(groupIsGone(result.processID))
    }

    @Test func doesNotTimeOutAChildThatFinishesInTime() throws {
        let result = try supervisor.run(shell("exit 0", timeout: .seconds(5)))
        #expect(!result.timedOut)
        #expect(result.termination == .exited(0))
        #expect(result.duration < .seconds(2))
    }

    @Test func appliesTheEnvironmentAndWorkingDirectory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try supervisor.run(shell(#"printf '%s\n' "$FOO" > out; pwd >> out; env > env"#,
                                              environment: ["FOO": "bar baz"], in: directory.path))
        #expect(result.termination == .exited(0))

        let output = try String(contentsOfFile: directory.appendingPathComponent("out").path, encoding: .utf8)
        let expectedDirectory = URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "bar baz")
        #expect(lines.dropFirst().first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == expectedDirectory)

        // The environment is complete: nothing of the parent's leaks in
        // beyond what the shell sets for itself.
        let names = try String(contentsOfFile: directory.appendingPathComponent("env").path, encoding: .utf8)
            .split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) }
        let shellOwn: Set<String> = ["FOO", "PWD", "OLDPWD", "SHLVL", "_", "PATH"]
        let leaked = Set(names).subtracting(shellOwn)
            .intersection(ProcessInfo.processInfo.environment.keys)
        #expect(leaked.isEmpty)
    }

    @Test func doesNotLetTheChildInheritOurDescriptors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("held").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }

        let result = try supervisor.run(shell("test -e /proc/self/fd/\(descriptor)"))
        #expect(result.termination == .exited(1))
        // The standard descriptors are inherited.
        let standard = try supervisor.run(shell("test -e /proc/self/fd/0 && test -e /proc/self/fd/2"))
        #expect(standard.termination == .exited(0))
    }

    @Test func runsABackgroundHelperWithNoInputAndItsOutputOnStandardError() throws {
        let directory = try temporaryDirectory()
        let report = directory.appendingPathComponent("fds").path
        let spec = ProcessSpecification(
            arguments: ["/bin/sh", "-c", "readlink /proc/$$/fd/0 > \(report); [ \"$(readlink /proc/$$/fd/1)\" = \"$(readlink /proc/$$/fd/2)\" ] && echo same >> \(report)"],
            environment: ["PATH": "/usr/bin:/bin"],
            isBackground: true
        )
        let result = try ProcessSupervisor().run(spec)
        #expect(result.termination == .exited(0))
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "/dev/null\nsame\n")
    }

    @Test func makesTheChildLeadItsOwnProcessGroup() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Field 5 of /proc/self/stat is the process group; $$ is the shell's pid.
        let result = try supervisor.run(shell(#"set -- $(cat /proc/$$/stat); test "$5" = "$$""#, in: directory.path))
        #expect(result.termination == .exited(0))
    }

    @Test(arguments: ["SigBlk", "SigIgn"])
    func startsTheChildWithNoSignalBlockedOrIgnored(mask: String) throws {
        // grep reads its own /proc status: no shell in between to change masks.
        let result = try supervisor.run(ProcessSpecification(
            arguments: ["grep", "-qE", "^\(mask):[[:space:]]*0+$", "/proc/self/status"], environment: [:]))
        #expect(result.termination == .exited(0))
    }
}

@Suite struct TerminationTests {
    @Test(arguments: [
        (Int32(0x0000), Termination?.some(.exited(0))),
        (0x0300, .exited(3)),
        (0xff00, .exited(255)),
        (0x000f, .signaled(SIGTERM)),
        (0x0089, .signaled(SIGKILL)), // with the core-dump bit
        (0x137f, nil),                // stopped by SIGSTOP
        (0xffff, nil),                // continued
    ])
    func decodesAWaitStatus(status: Int32, expected: Termination?) {
        #expect(Termination(waitStatus: status) == expected)
    }

    @Test func mapsLaunchErrorsToShellExitStatuses() {
        #expect(LaunchError.notFound("x").exitStatus == 127)
        #expect(LaunchError.notExecutable("x", errno: EACCES).exitStatus == 126)
        #expect(LaunchError.failed(SystemError("chdir", errno: ENOENT)).exitStatus == 126)
    }
}
