import Foundation
import Testing

private let hasScript = FileManager.default.isExecutableFile(atPath: "/usr/bin/script")

/// `status` in a terminal: relative times, and colour only on a terminal
/// without NO_COLOR.
@Suite("status at a glance")
struct StatusTextTests {
    static let config = "version: 1\nbreakers:\n  db: {reset_timeout: 10m}\n"

    @Test func saysHowLongAgoItOpenedAndWhenTheNextTrialIs() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "db", "--for", "30m", "--reason", "maintenance"]).status == 0)
        let text = try sandbox.run(["status", "db"]).stdout
        let headline = try #require(text.split(separator: "\n").first { $0.hasPrefix("db: ") })
        // Just tripped: opened 0-2 s ago, next trial in 29m58s-30m.
        #expect(headline.hasPrefix("db: open, opened "))
        #expect(headline.contains(" ago, next trial in 29m5") || headline.contains(" ago, next trial in 30m"), "\(headline)")
        #expect(text.contains("  opened at "))
        #expect(text.contains(" ago) closed -> open (maintenance)"))
        #expect(!text.contains("\u{1B}["), "no colour when stdout is not a terminal")
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
        let plain = try statusOnATerminal(sandbox, environment: ["NO_COLOR": "1"])
        #expect(plain.contains("db: open, opened "))
        #expect(!plain.contains("\u{1B}["))
        let dumb = try statusOnATerminal(sandbox, environment: ["TERM": "dumb"])
        #expect(!dumb.contains("\u{1B}["))
    }
}
