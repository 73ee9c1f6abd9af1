import Foundation
import Testing

@Suite("Shell completion")
struct CompletionEndToEndTests {
    static let subcommands = ["run", "check", "status", "trip", "reset", "validate", "metrics"]

    @Test(arguments: ["bash", "zsh", "fish"])
    func theScriptCompletesEverySubcommandAndCallsBackForBreakerNames(shell: String) throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count > 500)
        for subcommand in Self.subcommands {
            #expect(result.stdout.contains(subcommand), "\(shell) script lacks \(subcommand)")
        }
        #expect(result.stdout.contains("state-dir"))
        // Breaker names come from breaker-run itself, at completion time.
        for subcommand in ["run", "check", "status", "trip", "reset"] {
            #expect(result.stdout.contains("---completion \(subcommand) -- positional@0"), "\(shell): no breaker names for \(subcommand)")
        }
    }

    @Test func theCallbackOffersTheBreakersOfTheConfigurationOnTheCommandLine() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              payments: {command: [/bin/true]}
              inventory: {command: [/bin/true]}
            """)
        let result = try sandbox.run(["---completion", "trip", "--", "positional@0", "4", "0",
                                      "breaker-run", "trip", "--config", sandbox.configPath, ""])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n") == ["inventory", "payments"])
        #expect(result.stderr.isEmpty)
    }

    /// bash splits `--config=FILE` into `--config`, `=` and `FILE`; and the
    /// shells pass a word with its quoting as typed.
    @Test(arguments: [
        (words: ["--config", "=", "CONFIG"], directory: "plain"),
        (words: ["--config", "'CONFIG'"], directory: "with space"),
        (words: ["--config", "\"CONFIG\""], directory: "with space"),
        (words: ["--config", "ESCAPED"], directory: "with space"),
    ])
    func theCallbackReadsTheConfigurationAsTheShellsPassIt(example: (words: [String], directory: String)) throws {
        let sandbox = try Sandbox()
        let directory = sandbox.path(example.directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/b.yaml"
        try "version: 1\nbreakers:\n  payments: {command: [/bin/true]}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let words = example.words.map {
            $0.replacingOccurrences(of: "CONFIG", with: config)
                .replacingOccurrences(of: "ESCAPED", with: config.replacingOccurrences(of: " ", with: "\\ "))
        }
        let result = try sandbox.run(["---completion", "reset", "--", "positional@0", "4", "0", "breaker-run"] + words + ["reset", ""])
        #expect(result.stdout.split(separator: "\n") == ["payments"], "\(words): \(result.stderr)")
    }

    @Test func theCallbackIsSilentWhenTheConfigurationIsBroken() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers: [oops]\n")
        let result = try sandbox.run(["---completion", "run", "--", "positional@0", "4", "0",
                                      "breaker-run", "run", "--config", sandbox.configPath, ""])
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.isEmpty)
    }
}

/// Bash's completion function itself, run by bash: breaker names are offered
/// whether the global options come before the subcommand or after it.
@Suite("Shell completion in bash")
struct BashCompletionTests {
    static let config = """
        version: 1
        breakers:
          payments: {command: [/bin/true]}
          inventory: {command: [/bin/true]}
        """

    /// What bash's completion function offers for `words` (the last one the
    /// word being completed), with breaker-run's generated script loaded.
    func complete(_ words: [String], in sandbox: Sandbox, environment: [String: String] = [:]) throws -> [String] {
        let script = sandbox.path("completion.bash")
        let generated = try sandbox.run(["--generate-completion-script", "bash"])
        try generated.stdout.write(toFile: script, atomically: true, encoding: .utf8)
        let quoted = ([Sandbox.binary] + words).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let driver = """
            source '\(script)'
            COMP_WORDS=(\(quoted.joined(separator: " ")))
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            COMP_LINE="${COMP_WORDS[*]}"
            COMP_POINT=${#COMP_LINE}
            _breaker-run "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let result = try sandbox.run(["-c", driver], environment: environment, binary: "/bin/bash")
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init).sorted()
    }

    @Test(arguments: [
        ["--config", "CONFIG", "run", ""],
        ["--config", "CONFIG", "--state-dir", "/tmp", "-q", "status", ""],
        ["--config=CONFIG", "trip", ""],
        ["run", "--config", "CONFIG", ""],
        ["-v", "--config", "CONFIG", "reset", "pay"],
    ])
    func breakerNamesAreOfferedWhereverTheGlobalOptionsAre(words: [String]) throws {
        let sandbox = try Sandbox(config: Self.config)
        let line = words.map { $0.replacingOccurrences(of: "CONFIG", with: sandbox.configPath) }
        let offered = try complete(line, in: sandbox)
        let expected = words.last == "pay" ? ["payments"] : ["inventory", "payments"]
        #expect(offered == expected, "\(words)")
    }

    @Test func theConfigurationFromTheEnvironmentIsUsedWithoutOptions() throws {
        let sandbox = try Sandbox(config: Self.config)
        let offered = try complete(["status", "in"], in: sandbox, environment: ["BREAKER_RUN_CONFIG": sandbox.configPath])
        #expect(offered == ["inventory"])
    }

    @Test func subcommandsAreOfferedAfterTheGlobalOptions() throws {
        let sandbox = try Sandbox(config: Self.config)
        let offered = try complete(["--config", sandbox.configPath, "s"], in: sandbox)
        #expect(offered == ["status"])
    }
}

/// zsh and fish, as text (InteractiveCompletionTests runs them): their
/// scripts parse the global options at the top level, before the subcommand,
/// so that `--config FILE` there is an option with its value, not the
/// subcommand's name.
@Suite("Shell completion in zsh and fish")
struct ZshAndFishCompletionTests {
    @Test func zshsTopLevelSpecsTakeTheGlobalOptionsBeforeTheSubcommandState() throws {
        let script = try Sandbox().run(["--generate-completion-script", "zsh"]).stdout
        let top = try #require(script.components(separatedBy: "_breaker-run_run()").first)
        let config = try #require(top.range(of: "'--config[The configuration file.]:file:"))
        let command = try #require(top.range(of: "'(-): :->command'"))
        #expect(config.lowerBound < command.lowerBound)
        #expect(top.contains("'--state-dir[The state directory.]:dir:"))
    }

    @Test func fishsTopLevelParseKnowsTheGlobalOptionsTakeValues() throws {
        let script = try Sandbox().run(["--generate-completion-script", "fish"]).stdout
        let topLevel = try #require(script.split(separator: "\n").first { $0.contains("__breaker-run_parse_subcommand 0 ") })
        #expect(topLevel.contains("'config=' 'state-dir=' 'q/quiet' 'v/verbose'"), "\(topLevel)")
    }
}
