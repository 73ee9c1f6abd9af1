import BreakerRunKit
import Testing

/// Large configurations are loaded whole; only aliases count towards the
/// alias-expansion limit, not the document's own size.
@Suite struct LargeConfigurationTests {
    /// 10,000 breakers with a merge key each: about 250,000 nodes, more than
    /// the 100,000 visits that aliases may add.
    static let tenThousandBreakers: String = {
        var text = "version: 1\nx-quick: &quick {fail_max: 2, reset_timeout: 10s}\nbreakers:\n"
        for index in 0..<10_000 {
            text += """
              service-\(index):
                <<: *quick
                command: [/usr/local/bin/call-service, --id, "\(index)"]
                success_exit_codes: [0, 2-4]
                env: {SERVICE_URL: "https://svc-\(index).internal/api", LANG: C.UTF-8}
                fallback: [{shell: 'exit 0'}, {output: "unavailable", exit_code: 75}]

            """
        }
        return text
    }()

    @Test func loadsTenThousandBreakersWithoutCallingThemAnAliasBomb() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.tenThousandBreakers, file: "big.yaml")
        #expect(configuration.breakers.count == 10_000)
        let last = try configuration.definition(named: "service-9999")
        #expect(last.policy.failMax == 2)
        #expect(last.call == .command(["/usr/local/bin/call-service", "--id", "9999"]))
        #expect(last.fallbacks.count == 2)
    }

    @Test func stillRefusesAnAliasBombInASmallDocument() {
        var yaml = "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "bomb.yaml")
        } throws: { error in
            "\(error)".contains("alias expansion bomb")
        }
    }
}
