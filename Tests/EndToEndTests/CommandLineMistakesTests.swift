import Foundation
import Testing

/// Mistakes on the command line that an operator makes in the first hour
/// (issue 15, items 10 and 18): each is a usage error (64) whose first line
/// says what to do, and nothing runs or changes.
@Suite("Command-line mistakes, end to end")
struct CommandLineMistakesTests {
    static let config = """
        version: 1
        breakers:
          ledger: {shell: 'echo configured'}
        """

    @Test(arguments: [
        (["echo", "hi"], "breaker-run run ledger -- echo hi"),
        (["ls", "-la"], "breaker-run run ledger -- ls -la"),
        (["--force", "echo", "hi"], "breaker-run run ledger --force -- echo hi"),
    ])
    func aCommandWithoutTheDoubleDashIsPointedOut(words: [String], advice: String) throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "ledger"] + words)
        #expect(result.status == 64, "\(result.stderr)")
        let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.contains("put the command after --, as in: \(advice)"), "\(result.stderr)")
        #expect(!result.stdout.contains("hi") && !result.stdout.contains("configured"), "nothing ran: \(result.stdout)")
    }

    @Test func aMistypedOptionIsNotTakenForACommand() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["run", "ledger", "--frce"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(!result.stderr.contains("put the command after --"), "\(result.stderr)")
    }

    @Test(arguments: ["two\nlines", "\u{1B}[31mred", "tab\there", "", "   "])
    func aReasonWithControlCharactersOrNoTextIsRefused(reason: String) throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["trip", "ledger", "--reason", reason])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("Error: --reason"), "\(result.stderr)")
        #expect(!result.stderr.contains("\u{1B}"), "the escape never reaches the terminal")
        let status = try sandbox.status("ledger")
        #expect(status["state"] as? String == "closed", "nothing was tripped")
    }

    @Test func aPrintableReasonReachesStatus() throws {
        let sandbox = try Sandbox(config: Self.config)
        let result = try sandbox.run(["trip", "ledger", "--reason", "acquirer maintenance, ticket #42 (é)"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try sandbox.run(["status", "ledger"])
        #expect(text.stdout.contains("acquirer maintenance, ticket #42 (é)"), "\(text.stdout)")
    }
}
