import Foundation
import Testing

private func canRun(_ shell: String) -> Bool {
    FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") && FileManager.default.isExecutableFile(atPath: "/usr/bin/\(shell)")
}

/// zsh's and fish's own completion of breaker-run, run as an operator meets
/// it: an interactive shell in a terminal (tmux), the generated script where
/// the shell looks for completions, a line typed and Tab pressed. The line
/// the shell completed is read back through a key (Ctrl-T) bound to write
/// the command line to a file. (Ctrl-T: in zsh's emacs keymap Ctrl-X is a
/// prefix, which would wait for a second key.)
@Suite("Shell completion in zsh and fish, interactively")
struct InteractiveCompletionTests {
    static let config = """
        version: 1
        breakers:
          payments: {command: [/bin/true]}
          inventory: {command: [/bin/true]}
        """

    /// Lines typed (CONFIG stands for the configuration's path) and what one
    /// Tab must make of them.
    static let cases: [(typed: String, completed: String)] = [
        ("breaker-run --config CONFIG run pay", "breaker-run --config CONFIG run payments"),
        ("breaker-run status --config CONFIG in", "breaker-run status --config CONFIG inventory"),
        ("breaker-run -q --config CONFIG trip pay", "breaker-run -q --config CONFIG trip payments"),
        ("breaker-run sta", "breaker-run status"),
        ("breaker-run --state", "breaker-run --state-dir"),
    ]

    @Test(.enabled(if: canRun("zsh"), "needs tmux and zsh (scripts/install-deps.sh installs them)"),
          arguments: cases.indices)
    func zshCompletes(index: Int) throws {
        try check(Self.cases[index], shell: "zsh")
    }

    @Test(.enabled(if: canRun("fish"), "needs tmux and fish (scripts/install-deps.sh installs them)"),
          arguments: cases.indices)
    func fishCompletes(index: Int) throws {
        try check(Self.cases[index], shell: "fish")
    }

    private func check(_ example: (typed: String, completed: String), shell: String) throws {
        let sandbox = try Sandbox(config: Self.config)
        let typed = example.typed.replacingOccurrences(of: "CONFIG", with: sandbox.configPath)
        let expected = example.completed.replacingOccurrences(of: "CONFIG", with: sandbox.configPath)
        let completed = try complete(typed, shell: shell, in: sandbox)
        #expect(completed == expected, "\(shell): '\(typed)' + Tab")
    }

    /// The command line `shell` shows after `typed` and one Tab, trailing
    /// blanks dropped; "" if it never answered.
    private func complete(_ typed: String, shell: String, in sandbox: Sandbox) throws -> String {
        let manager = FileManager.default
        let bin = sandbox.path("bin")
        try manager.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: bin + "/breaker-run", withDestinationPath: Sandbox.binary)
        let script = try sandbox.run(["--generate-completion-script", shell])
        #expect(script.status == 0, "\(script.stderr)")
        let output = sandbox.path("line")
        let environment: String
        switch shell {
        case "zsh":
            let functions = sandbox.path("zsh-functions")
            let home = sandbox.path("zsh-home")
            try manager.createDirectory(atPath: functions, withIntermediateDirectories: true)
            try manager.createDirectory(atPath: home, withIntermediateDirectories: true)
            try script.stdout.write(toFile: functions + "/_breaker-run", atomically: true, encoding: .utf8)
            try """
                fpath=('\(functions)' $fpath)
                autoload -U compinit && compinit -u -d '\(home)/.zcompdump'
                dump() { print -r -- "$BUFFER" > '\(output)' }
                zle -N dump
                bindkey '^T' dump
                PS1='> '
                """.write(toFile: home + "/.zshrc", atomically: true, encoding: .utf8)
            environment = "ZDOTDIR='\(home)' zsh -i"
        default:
            let configuration = sandbox.path("xdg-config/fish")
            try manager.createDirectory(atPath: configuration + "/completions", withIntermediateDirectories: true)
            try script.stdout.write(toFile: configuration + "/completions/breaker-run.fish", atomically: true, encoding: .utf8)
            try """
                function dump; commandline > '\(output)'; end
                bind \\ct dump
                function fish_prompt; echo '> '; end
                set -g fish_greeting
                """.write(toFile: configuration + "/config.fish", atomically: true, encoding: .utf8)
            environment = "XDG_CONFIG_HOME='\(sandbox.path("xdg-config"))' XDG_DATA_HOME='\(sandbox.path("xdg-data"))' fish -i"
        }
        let session = TmuxSession(in: sandbox, running: "env PATH='\(bin)':\"$PATH\" \(environment)")
        defer { session.end() }

        // The shell's line editor is up once Ctrl-T writes (an empty line).
        let ready = eventually(within: 20) {
            session.keys(["C-t"])
            usleep(100_000)
            return manager.fileExists(atPath: output)
        }
        try #require(ready, "\(shell) never started its line editor")
        usleep(200_000)
        try manager.removeItem(atPath: output)
        session.keys(["-l", typed])
        session.keys(["Tab"])
        var line = ""
        _ = eventually(within: 20) {
            session.keys(["C-t"])
            usleep(200_000)
            line = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return !line.isEmpty && line != typed
        }
        return line
    }
}
