import Foundation
import Testing

@Suite("Shell completion")
struct CompletionEndToEndTests {
    static let subcommands = ["run", "status", "trip", "reset", "validate", "metrics"]

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
        for subcommand in ["run", "status", "trip", "reset"] {
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

    @Test func theCallbackIsSilentWhenTheConfigurationIsBroken() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers: [oops]\n")
        let result = try sandbox.run(["---completion", "run", "--", "positional@0", "4", "0",
                                      "breaker-run", "run", "--config", sandbox.configPath, ""])
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.isEmpty)
    }
}
