import Foundation
import Testing

private let hasScript = FileManager.default.isExecutableFile(atPath: "/usr/bin/script")

/// `status` in a terminal: a table with one row per breaker, relative times,
/// and colour only on a terminal without NO_COLOR.
@Suite("status at a glance")
struct StatusTextTests {
    static let config = """
        version: 1
        breakers:
          db: {reset_timeout: 10m}
          api: {fail_max: 2, reset_timeout: 1m}
          cache: {}
        """

    /// A remaining time reads rounded up, as `retry_after_seconds` is:
    /// `trip --for 2d3h` read a few milliseconds later is still `2d3h`.
    @Test func theNextTrialIsRoundedUpInTheTextAsInTheJSON() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "db", "--for", "2d3h"]).status == 0)
        let text = try sandbox.run(["status", "db"])
        #expect(text.stdout.contains("next trial in 2d3h"), "\(text.stdout)")
        #expect(try sandbox.status("db")["retry_after_seconds"] as? Int == 2 * 86_400 + 3 * 3_600)
    }

    /// A breaker whose state cannot be read has its error said once: on
    /// stderr for the text (its row only says the state is unavailable), in
    /// the document for --json (and nothing on stderr).
    @Test func anUnreadableStateIsReportedOncePerBreaker() throws {
        let sandbox = try Sandbox(config: Self.config)
        try "not a directory\n".write(toFile: sandbox.stateDirectory, atomically: false, encoding: .utf8)
        for arguments in [["status"], ["status", "--json"]] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 74)
            let both = result.stdout + result.stderr
            let mentions = both.components(separatedBy: "is not a directory").count - 1
            #expect(mentions == 3, "\(arguments): \(both)")
            for name in ["db", "api", "cache"] {
                #expect(result.stdout.contains(name))
            }
            if arguments.contains("--json") {
                #expect(result.stderr.isEmpty, "\(arguments): \(result.stderr)")
            } else {
                #expect(!result.stdout.contains("is not a directory"), "\(result.stdout)")
                #expect(result.stdout.components(separatedBy: "its state could not be read").count - 1 == 3, "\(result.stdout)")
            }
        }
    }

    /// The table's lines: the heading and one row per breaker.
    func table(_ text: String) throws -> [Substring] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let heading = try #require(lines.firstIndex { $0.hasPrefix("BREAKER ") })
        return Array(lines[heading...].prefix { !$0.isEmpty })
    }

    @Test func showsOneAlignedRowPerBreakerWithRelativeTimesAndTheLastFailure() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "db", "--for", "30m", "--reason", "maintenance"]).status == 0)
        for _ in 0..<2 { #expect(try sandbox.run(["run", "api", "--", "/bin/sh", "-c", "exit 3"]).status == 3) }
        let result = try sandbox.run(["status"])
        #expect(result.status == 0)
        let rows = try table(result.stdout)
        #expect(rows.count == 4, "\(result.stdout)")
        let heading = String(rows[0])
        // Every column starts where its heading does.
        let stateColumn = try #require(heading.range(of: "STATE")).lowerBound.utf16Offset(in: heading)
        let sinceColumn = try #require(heading.range(of: "SINCE")).lowerBound.utf16Offset(in: heading)
        let lastColumn = try #require(heading.range(of: "LAST FAILURE")).lowerBound.utf16Offset(in: heading)
        func cell(_ row: Substring, from start: Int) -> String {
            String(row.dropFirst(start).prefix { $0 != " " })
        }
        let byName = Dictionary(uniqueKeysWithValues: rows.dropFirst().map { (String($0.prefix { $0 != " " }), $0) })
        #expect(Set(byName.keys) == ["db", "api", "cache"])
        let db = try #require(byName["db"])
        #expect(cell(db, from: stateColumn) == "open")
        // Just tripped for 30m: opened seconds ago, next trial in 29m-30m.
        let dbSince = String(db.dropFirst(sinceColumn))
        #expect(dbSince.hasPrefix("opened ") && (dbSince.contains("s ago, next trial in 29m") || dbSince.contains("s ago, next trial in 30m")), "\(db)")
        let api = try #require(byName["api"])
        #expect(cell(api, from: stateColumn) == "open")
        #expect(String(api.dropFirst(sinceColumn)).hasPrefix("opened "))
        #expect(String(api.dropFirst(lastColumn)).contains("3"), "the last failure's reason names exit status 3: \(api)")
        let cache = try #require(byName["cache"])
        #expect(cell(cache, from: stateColumn) == "closed")
        #expect(cell(cache, from: sinceColumn) == "-")
        #expect(String(cache.dropFirst(lastColumn)) == "-")
        // Details follow for the open breakers only, not the closed one.
        #expect(result.stdout.contains("\ndb:\n  opened at "))
        #expect(result.stdout.contains(" ago) closed -> open (maintenance)"))
        #expect(result.stdout.contains("\napi:\n"))
        #expect(!result.stdout.contains("\ncache:\n"))
        #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
    }

    @Test func aNamedClosedBreakerShowsItsDetailsAndHowLongItHasBeenClosed() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "cache"]).status == 0)
        #expect(try sandbox.run(["reset", "cache"]).status == 0)
        let text = try sandbox.run(["status", "cache"]).stdout
        let rows = try table(text)
        #expect(rows.count == 2)
        #expect(rows[1].contains("  closed  closed ") && rows[1].contains("s ago  "), "\(text)")
        #expect(text.contains("\ncache:\n  counts: 0 successes"))
        #expect(text.contains("open -> closed"))
    }

    /// Runs `status` with a pseudo-terminal as stdout, through script(1).
    func statusOnATerminal(_ sandbox: Sandbox, environment: [String: String]) throws -> String {
        let command = [Sandbox.binary, "status", "--config", sandbox.configPath, "--state-dir", sandbox.stateDirectory, "db"]
            .map { "'" + $0 + "'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NO_COLOR")
        env["TERM"] = "xterm"
        process.environment = env.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: hasScript, "needs script(1) from util-linux"))
    func coloursTheStateOnATerminalUnlessNoColorIsSet() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "db"]).status == 0)
        let coloured = try statusOnATerminal(sandbox, environment: [:])
        #expect(coloured.contains("\u{1B}[1;31mopen\u{1B}[0m"), "\(coloured)")
        // Padding stays outside the colour, so the columns line up.
        #expect(coloured.contains("\u{1B}[1;31mopen\u{1B}[0m   "), "\(coloured)")
        let plain = try statusOnATerminal(sandbox, environment: ["NO_COLOR": "1"])
        #expect(plain.contains("BREAKER  STATE"))
        #expect(plain.contains("open   opened "), "\(plain)")
        #expect(!plain.contains("\u{1B}["))
        let dumb = try statusOnATerminal(sandbox, environment: ["TERM": "dumb"])
        #expect(!dumb.contains("\u{1B}["))
    }
}
