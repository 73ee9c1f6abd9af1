@testable import BreakerRunKit
import Foundation
import Testing

/// breaker-run.yaml(5) documents every key the decoder reads: the test
/// compares the page with the decoder's own lists.
@Suite struct ManPageTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func page(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("man/\(name)"), encoding: .utf8)
    }

    @Test func theConfigurationPageDocumentsEveryTopLevelAndBreakerKey() throws {
        let page = try Self.page("breaker-run.yaml.5")
        let items = Set(page.split(separator: "\n").filter { $0.hasPrefix(".It Cm ") }.map { String($0.dropFirst(7).prefix { $0 != " " }) })
        for key in ConfigurationDecoder.topLevelKeys + ConfigurationDecoder.breakerKeys {
            #expect(items.contains(key), "breaker-run.yaml(5) has no '.It Cm \(key)'")
        }
        for key in ConfigurationDecoder.fallbackKeys {
            #expect(page.contains(key), "breaker-run.yaml(5) never mentions the fallback key \(key)")
        }
    }

    @Test func theCommandPageDocumentsEverySubcommandAndFile() throws {
        let page = try Self.page("breaker-run.1")
        for subcommand in ["run", "status", "trip", "reset", "validate", "metrics"] {
            #expect(page.contains("\n.It Cm \(subcommand)"), "breaker-run(1) has no item for \(subcommand)")
            #expect(page.contains("\n.Cm \(subcommand)\n"), "breaker-run(1)'s synopsis lacks \(subcommand)")
        }
        for option in ["-config", "-state-dir", "-quiet", "-verbose", "-json", "-force", "-for", "-hold", "-reason", "-print", "-generate-completion-script"] {
            #expect(page.contains("Fl \(option)"), "breaker-run(1) never mentions -\(option)")
        }
        for variable in ["BREAKER_RUN_CONFIG", "BREAKER_RUN_STATE_DIR", "NO_COLOR"] {
            #expect(page.contains("Ev \(variable)"))
        }
    }
}
