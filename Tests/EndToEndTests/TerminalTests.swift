import Foundation
import Testing

private let hasTmux = FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux")

/// Interactive use: run from a terminal (a real one, made by tmux), the call
/// is the terminal's foreground process group, so it can read the keyboard
/// and Ctrl-C reaches it.
@Suite("Running from a terminal", .serialized, .enabled(if: hasTmux, "needs tmux (scripts/install-deps.sh installs it)"))
struct TerminalTests {
    /// Runs a shell command line in a new detached tmux session on its own
    /// server socket, and returns a function that types into it.
    private func session(_ sandbox: Sandbox, _ commandLine: String) throws -> (keys: ([String]) -> Void, end: () -> Void) {
        let session = TmuxSession(in: sandbox, running: commandLine)
        return (session.keys, session.end)
    }

    /// Whether the shell has written its `echo $? > FILE` line: it creates
    /// the file before it writes, so existing is not enough.
    static func isWritten(_ path: String) -> Bool {
        (try? String(contentsOfFile: path, encoding: .utf8))?.hasSuffix("\n") == true
    }

    private func commandLine(_ sandbox: Sandbox, _ script: String, statusFile: String) -> String {
        let words = [Sandbox.binary, "run", "--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "tty", "--", "sh", "-c", script]
        return words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            + "; echo $? > '\(statusFile)'; sleep 30"
    }

    @Test func theCallCanReadTheKeyboard() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n  tty: {}\n")
        let answer = sandbox.path("answer")
        let status = sandbox.path("status")
        let tmux = try session(sandbox, commandLine(sandbox, "read line; echo \"got:$line\" > '\(answer)'", statusFile: status))
        defer { tmux.end() }
        usleep(300_000)
        tmux.keys(["hello", "Enter"])
        #expect(eventually(within: 5) { Self.isWritten(status) })
        #expect((try? String(contentsOfFile: answer, encoding: .utf8)) == "got:hello\n")
        #expect((try? String(contentsOfFile: status, encoding: .utf8)) == "0\n")
    }

    @Test func controlCStopsTheCallAndIsNotAFailure() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n  tty: {}\n")
        let status = sandbox.path("status")
        let started = sandbox.path("started")
        let tmux = try session(sandbox, commandLine(sandbox, "touch '\(started)'; sleep 30", statusFile: status))
        defer { tmux.end() }
        #expect(eventually(within: 5) { FileManager.default.fileExists(atPath: started) })
        tmux.keys(["C-c"])
        #expect(eventually(within: 5) { Self.isWritten(status) })
        #expect((try? String(contentsOfFile: status, encoding: .utf8)) == "130\n", "died of SIGINT, as the call did")
        let counts = try sandbox.counts("tty")
        #expect(counts["ignored"] == 1)
        #expect(counts["failures"] == 0)
    }

    @Test func aCallStartedInTheBackgroundGetsTheTerminalWhenBroughtToTheForeground() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n  tty: {}\n")
        let answer = sandbox.path("answer")
        let status = sandbox.path("status")
        let shell = try session(sandbox, "bash --norc --noprofile -i")
        defer { shell.end() }
        usleep(300_000)
        let call = commandLine(sandbox, "read line; echo \"got:$line\" > '\(answer)'", statusFile: status)
        shell.keys(["-l", String(call[..<call.range(of: "; echo $?")!.lowerBound]) + " &"])
        shell.keys(["Enter"])
        usleep(500_000)
        shell.keys(["-l", "fg"])
        shell.keys(["Enter"])
        usleep(500_000)
        shell.keys(["-l", "hello"])
        shell.keys(["Enter"])
        #expect(eventually(within: 5) { Self.isWritten(answer) })
        #expect((try? String(contentsOfFile: answer, encoding: .utf8)) == "got:hello\n")
    }
}
