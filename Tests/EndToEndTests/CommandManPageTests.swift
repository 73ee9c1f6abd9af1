import Foundation
import Testing

/// breaker-run(1) documents every subcommand and option that the command
/// definitions declare, and every environment variable the code reads: the
/// lists come from the built binary's own help dump
/// (swift-argument-parser's `--experimental-dump-help`, JSON made from
/// `BreakerRun.configuration.subcommands` and each command's arguments) and
/// from the sources, never from a list kept in the test.
@Suite("breaker-run(1) against the command definitions")
struct CommandManPageTests {
    static let root = ExamplesTests.root

    static func page() throws -> String {
        try String(contentsOf: root.appendingPathComponent("man/breaker-run.1"), encoding: .utf8)
    }

    /// One command of the dump: its name, its options' names (`--config`,
    /// `-q`) and its subcommands.
    struct Command {
        var name: String
        var options: [String]
        var subcommands: [Command]

        init(_ json: [String: Any]) {
            name = json["commandName"] as? String ?? ""
            options = ((json["arguments"] as? [[String: Any]]) ?? []).flatMap { argument -> [String] in
                guard (argument["kind"] as? String) != "positional" else { return [] }
                return ((argument["names"] as? [[String: Any]]) ?? []).compactMap { name in
                    guard let text = name["name"] as? String else { return nil }
                    switch name["kind"] as? String {
                    case "long": return "--" + text
                    case "short": return "-" + text
                    case "longWithSingleDash": return "-" + text
                    default: return nil
                    }
                }
            }
            subcommands = ((json["subcommands"] as? [[String: Any]]) ?? []).map(Command.init)
        }
    }

    /// The root command as the binary describes itself.
    static func dump() throws -> Command {
        let sandbox = try Sandbox()
        let dumped = try sandbox.run(["--experimental-dump-help"])
        #expect(dumped.status == 0, "\(dumped.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(dumped.stdout.utf8)) as? [String: Any])
        return Command(try #require(object["command"] as? [String: Any]))
    }

    /// Whether the page has the option as mdoc writes it: `Fl -config` for
    /// `--config`, `Fl q` for `-q` (as whole words: `Fl -holdover` is not
    /// `--hold`).
    static func mentions(_ option: String, in page: String) -> Bool {
        let flag = option.dropFirst()
        let words = page.split(whereSeparator: { $0 == " " || $0 == "\n" })
        for index in words.indices.dropLast() where words[index] == "Fl" || words[index] == ".Fl" {
            if words[index + 1] == flag { return true }
        }
        return false
    }

    @Test func everySubcommandHasAnItemAndASynopsisLine() throws {
        let page = try Self.page()
        let root = try Self.dump()
        #expect(root.name == "breaker-run")
        let names = root.subcommands.map(\.name).filter { $0 != "help" }
        // The dump is the real list: the seven of DESIGN's synopsis at least.
        #expect(Set(names).isSuperset(of: ["run", "check", "status", "trip", "reset", "validate", "metrics"]), "\(names)")
        for name in names {
            #expect(page.contains("\n.It Cm \(name)"), "breaker-run(1) has no item for \(name)")
            #expect(page.contains("\n.Cm \(name)\n"), "breaker-run(1)'s synopsis lacks \(name)")
        }
    }

    @Test func everyOptionOfEveryCommandIsOnThePage() throws {
        let page = try Self.page()
        let root = try Self.dump()
        var checked = 0
        for command in [root] + root.subcommands where command.name != "help" {
            // -h and --help are swift-argument-parser's own, on every command;
            // the page names --help once, in the synopsis.
            for option in command.options where option != "-h" {
                #expect(Self.mentions(option, in: page), "breaker-run(1) never mentions \(option) (of \(command.name))")
                checked += 1
            }
        }
        #expect(checked >= 12, "the dump listed only \(checked) options")
        // Built into swift-argument-parser, not in the dump: the page's
        // SHELL COMPLETION section.
        #expect(Self.mentions("--generate-completion-script", in: page))
        #expect(!Self.mentions("--hol", in: page), "whole words only")
    }

    /// Every `BREAKER_RUN_*` variable that the sources read is under
    /// ENVIRONMENT.
    @Test func everyEnvironmentVariableTheCodeReadsIsOnThePage() throws {
        let page = try Self.page()
        let sources = Self.root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        let pattern = try Regex(#""(BREAKER_RUN_[A-Z_]+)""#)
        var variables: Set<String> = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: pattern) {
                if let name = match.output[1].substring { variables.insert(String(name)) }
            }
        }
        #expect(variables.isSuperset(of: ["BREAKER_RUN_CONFIG", "BREAKER_RUN_STATE_DIR"]), "\(variables)")
        for variable in variables.union(["NO_COLOR"]) {
            #expect(page.contains(".It Ev \(variable)"), "breaker-run(1)'s ENVIRONMENT lacks \(variable)")
        }
    }

    /// FILES names each path once.
    @Test func filesListsEachPathOnce() throws {
        let page = try Self.page()
        let section = try #require(page.components(separatedBy: "\n.Sh FILES\n").last?.components(separatedBy: "\n.Sh ").first)
        let paths = section.split(separator: "\n").filter { $0.hasPrefix(".It Pa ") }.map(String.init)
        #expect(paths.count > 5)
        #expect(Set(paths).count == paths.count, "listed twice: \(Dictionary(grouping: paths) { $0 }.filter { $1.count > 1 }.keys.sorted())")
    }

    /// The top-level keys of `status --json`, as the binary prints them, are
    /// the ones the page and `status --help` name.
    @Test func theStatusJSONKeysAreThoseThePageAndTheHelpName() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n  a: {command: [/bin/true]}\n")
        let result = try sandbox.run(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let help = try sandbox.run(["status", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ").filter { !$0.isEmpty }.joined(separator: " ")
        let page = try Self.page()
        #expect(object.keys.sorted() == ["breakers", "configuration", "state_backends", "state_dir"])
        for key in object.keys {
            #expect(page.contains("\"\(key)\": "), "breaker-run(1) does not show \(key) in the status --json object")
            #expect(help.contains("\"\(key)\":"), "status --help does not show \(key): \(help)")
        }
    }

    /// `--help` says what -q keeps: transitions and errors.
    @Test func theHelpSaysQuietKeepsTransitionsAndErrors() throws {
        let help = try Sandbox().run(["--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .split(separator: " ").filter { !$0.isEmpty }.joined(separator: " ")
        #expect(help.contains("Print only errors, warnings and transitions (opened, closed): no rejections or fallback notices."), "\(help)")
        #expect(!help.contains("errors only"))
    }

    /// The rendered breaker-run.yaml(5) names the metrics file's temporary
    /// file `.NAME.tmp-PID`: no stray `~` from an unescaped leading dot.
    @Test func theMetricsTemporaryFileRendersWithItsLeadingDot() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mandoc")
        process.arguments = ["-T", "ascii", Self.root.appendingPathComponent("man/breaker-run.yaml.5").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let plain = text.replacingOccurrences(of: "_\u{8}", with: "")
        #expect(plain.contains(" .name.tmp-pid "), "\(plain.components(separatedBy: "\n").filter { $0.contains("tmp-") })")
        #expect(!plain.contains("~.name"))
    }
}
