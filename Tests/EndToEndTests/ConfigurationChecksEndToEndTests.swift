import Foundation
import Testing

/// What `validate` and every other command say of a configuration that an
/// operator got wrong (issue 15, items 12 to 17): an error at the key's line
/// and column, with what to do, instead of a silent choice or clamp.
@Suite("Configuration checks, end to end")
struct ConfigurationChecksEndToEndTests {
    @Test func overlappingSuccessAndIgnoredExitCodesAreAnErrorAtTheLaterKey() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              ledger:
                shell: 'exit 2'
                success_exit_codes: [0, 2]
                ignore_exit_codes: [2-4]
            """)
        let result = try sandbox.run(["validate"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("breakers.yaml:6:5: exit status 2 is in both 'success_exit_codes'"), "\(result.stderr)")
        let ran = try sandbox.run(["run", "ledger"])
        #expect(ran.status == 78, "the call must not run under an ambiguous rule: \(ran.stderr)")
    }

    @Test func invalidUTF8IsReportedAtItsLineAndColumn() throws {
        let sandbox = try Sandbox()
        let bytes: [UInt8] = Array("version: 1\nbreakers:\n  a: {shell: 'echo ".utf8) + [0xFF] + Array("'}\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: sandbox.configPath))
        let result = try sandbox.run(["validate"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("breakers.yaml:3:20: invalid UTF-8"), "\(result.stderr)")
        #expect(!result.stderr.contains(":1:1:"), "\(result.stderr)")
    }

    @Test func aTabUsedForIndentationIsNamedAsATab() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n\tledger: {shell: 'true'}\n")
        let result = try sandbox.run(["validate"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("breakers.yaml:3:1: a tab is used for indentation"), "\(result.stderr)")
    }

    @Test(arguments: [
        ("timeout: 16666666230", "'timeout' must be from 1ms to 365d, not 16666666230"),
        ("reset_timeout: 9999999999999s", "'reset_timeout' must be from 1ms to 365d, not 9999999999999s"),
        ("fail_max: 99999999999999999999", "'fail_max' must be between 1 and 2147483647"),
        ("retry: {attempts: 1000}", "'retry.attempts' must be between 1 and 100, not 1000"),
    ])
    func aValueBreakerRunCannotHoldIsAnErrorWithItsRange(line: String, message: String) throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              ledger:
                shell: 'true'
                \(line)
            """)
        let result = try sandbox.run(["validate"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("breakers.yaml:5:"), "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func theLongestDurationPrintsBackAsItLoads() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              ledger: {shell: 'true', timeout: 365d, reset_timeout: 8760h}
            """)
        let printed = try sandbox.run(["validate", "--print"])
        #expect(printed.status == 0, "\(printed.stderr)")
        try sandbox.write(config: printed.stdout)
        let again = try sandbox.run(["validate", "--print"])
        #expect(again.status == 0, "\(again.stderr)")
        // The same, but for where each breaker is defined.
        let withoutPlaces = { (text: String) in text.split(separator: "\n").map { $0.split(separator: "  # defined at").first ?? $0 } }
        #expect(withoutPlaces(again.stdout) == withoutPlaces(printed.stdout))
        #expect(printed.stdout.contains("timeout: 365d"), "\(printed.stdout)")
    }

    @Test func aMissingMetricsDirectoryIsAValidateWarningNotOneOnEveryRun() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            metrics_file: /nonexistent-breaker-run-dir/breakers.prom
            breakers:
              ledger: {shell: 'true'}
            """)
        let validated = try sandbox.run(["validate"])
        #expect(validated.status == 0, "\(validated.stderr)")
        #expect(validated.stderr.contains("warning: metrics_file /nonexistent-breaker-run-dir/breakers.prom: the directory /nonexistent-breaker-run-dir does not exist"), "\(validated.stderr)")
        let ran = try sandbox.run(["run", "ledger"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stderr.isEmpty, "a run says nothing of it: \(ran.stderr)")
    }

    /// A user's own configuration, run as that user (uid 4242 through
    /// setpriv): refused when others (or its group) can write it, as root's is.
    @Test func aNonRootUsersConfigurationThatOthersCanWriteIsRefused() throws {
        let user: UInt32 = 4242
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n  ledger: {shell: 'true'}\n")
        try #require(chmod(sandbox.directory.path, 0o755) == 0)
        let binary = sandbox.path("breaker-run")
        try FileManager.default.copyItem(atPath: Sandbox.binary, toPath: binary)
        try #require(chmod(binary, 0o755) == 0)
        let state = sandbox.path("state-4242")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try #require(chown(state, user, user) == 0)
        try #require(chmod(state, 0o700) == 0)
        try #require(chown(sandbox.configPath, user, user) == 0)
        let asUser = { () throws -> Invocation in
            try sandbox.run(["--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--", binary,
                             "--config", sandbox.configPath, "--state-dir", state, "run", "ledger"],
                            binary: "/usr/bin/setpriv")
        }
        try #require(chmod(sandbox.configPath, 0o644) == 0)
        let own = try asUser()
        #expect(own.status == 0, "the user's own file, writable only by it: \(own.stderr)")
        for mode: mode_t in [0o666, 0o664] {
            try #require(chmod(sandbox.configPath, mode) == 0)
            let refused = try asUser()
            #expect(refused.status == 78, "mode \(String(mode, radix: 8)): \(refused.stderr)")
            #expect(refused.stderr.contains(sandbox.configPath), "\(refused.stderr)")
            #expect(refused.stderr.contains("writable"), "\(refused.stderr)")
        }
    }
}
