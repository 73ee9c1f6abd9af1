import Foundation

/// A detached tmux session on its own server socket (in a sandbox), running
/// one command line in a real terminal, for the tests that need one: the
/// terminal's foreground process group, and interactive shells' completion.
struct TmuxSession {
    private let socket: String

    /// Starts `commandLine` (run by tmux's shell) in a new 100x20 session.
    /// - Parameters:
    ///   - sandbox: where the server socket goes.
    ///   - commandLine: what the session runs.
    init(in sandbox: Sandbox, running commandLine: String) {
        socket = sandbox.path("tmux.sock")
        tmux(["new-session", "-d", "-x", "100", "-y", "20", commandLine])
    }

    /// Types `keys` (tmux key names, or text after "-l").
    func keys(_ keys: [String]) {
        tmux(["send-keys"] + keys)
    }

    /// Stops the server and everything in its session. `kill-server` alone
    /// was seen to leave servers running after the tests (their sockets
    /// gone with the sandbox), so the server is then found by its command
    /// line and killed; the session's shell gets SIGHUP when its terminal
    /// goes.
    func end() {
        tmux(["kill-server"])
        let marker = Array("-S\0\(socket)\0".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), pid != getpid(),
                  let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let bytes = Array(commandLine)
            if bytes.count >= marker.count, (0...(bytes.count - marker.count)).contains(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }) {
                kill(pid, SIGKILL)
            }
        }
    }

    /// posix_spawn and waitpid rather than Foundation's Process: the tmux
    /// client that starts the server must be reaped by pid, at once.
    private func tmux(_ arguments: [String]) {
        let argv = ["/usr/bin/tmux", "-S", socket] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], nil, nil, &cArguments, environ) == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }
}
