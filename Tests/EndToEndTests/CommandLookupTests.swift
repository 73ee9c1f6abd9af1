import Foundation
import Testing

/// A command without a slash is looked up in the PATH the call gets, as
/// `env PATH=... command` would look it up: a breaker's `env: {PATH: ...}`
/// decides where the command is found, not breaker-run's own PATH.
@Suite struct CommandLookupTests {
    static func sandboxWithTool() throws -> (Sandbox, bin: String) {
        let sandbox = try Sandbox()
        let bin = sandbox.path("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let tool = bin + "/only-here"
        try "#!/bin/sh\necho found in $PATH\n".write(toFile: tool, atomically: false, encoding: .utf8)
        chmod(tool, 0o755)
        try sandbox.write(config: """
            version: 1
            breakers:
              tools:
                env: {PATH: '\(bin)'}
              configured:
                command: [only-here]
                env: {PATH: '\(bin)'}
            """)
        return (sandbox, bin)
    }

    @Test func aCommandIsFoundInThePathOfTheBreakersEnvironment() throws {
        let (sandbox, bin) = try Self.sandboxWithTool()
        let given = try sandbox.run(["run", "tools", "--", "only-here"])
        #expect(given.status == 0, "\(given.stderr)")
        #expect(given.stdout == "found in \(bin)\n")
        let configured = try sandbox.run(["run", "configured"])
        #expect(configured.status == 0, "\(configured.stderr)")
        #expect(configured.stdout == "found in \(bin)\n")
    }

    @Test func aCommandOnlyInBreakerRunsOwnPathIsNotFoundThere() throws {
        let (sandbox, _) = try Self.sandboxWithTool()
        // `ls` is in breaker-run's PATH, not in the breaker's.
        let result = try sandbox.run(["run", "tools", "--", "ls"])
        #expect(result.status == 127, "\(result.stderr)")
        #expect(result.stderr.contains("ls"), "\(result.stderr)")
        // With a slash, no lookup at all.
        #expect(try sandbox.run(["run", "tools", "--", "/bin/ls", "/"]).status == 0)
    }

    @Test func aFileInThatPathThatCannotBeExecutedIs126AsEnvSaysIt() throws {
        let (sandbox, bin) = try Self.sandboxWithTool()
        let plain = bin + "/not-executable"
        try "#!/bin/sh\necho ran\n".write(toFile: plain, atomically: false, encoding: .utf8)
        chmod(plain, 0o644)
        let result = try sandbox.run(["run", "tools", "--", "not-executable"])
        #expect(result.status == 126, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
