@testable import BreakerRunKit
import Foundation
import Testing

/// The one exit status table (`ExitStatus`) is what breaker-run(1), the README
/// and the systemd example say.
@Suite struct ExitStatusDocumentationTests {
    static let root = ManPageTests.root

    /// The numbers on the `.It` lines of breaker-run(1)'s EXIT STATUS section.
    func documentedStatuses() throws -> Set<Int32> {
        let page = try ManPageTests.page("breaker-run.1")
        let section = try #require(page.components(separatedBy: ".Sh EXIT STATUS\n").last?.components(separatedBy: "\n.Sh ").first)
        var numbers: Set<Int32> = []
        for line in section.split(separator: "\n") where line.hasPrefix(".It ") {
            for word in line.dropFirst(4).split(whereSeparator: { $0 == "," || $0 == " " }) {
                if let number = Int32(word) { numbers.insert(number) }
            }
        }
        return numbers
    }

    @Test func theCommandPageListsEveryExitStatusOfTheTableAndNoOther() throws {
        let documented = try documentedStatuses()
        let table = Set(ExitStatus.allCases.map(\.rawValue))
        #expect(table.subtracting(documented).isEmpty, "breaker-run(1) lacks \(table.subtracting(documented).sorted())")
        #expect(documented.subtracting(table).isEmpty, "breaker-run(1) lists \(documented.subtracting(table).sorted()), not in ExitStatus")
    }

    @Test func theREADMEListsEveryNetworkStatus() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let row = try #require(readme.split(separator: "\n").first { $0.hasPrefix("| 6") && $0.contains("curl's statuses") })
        let listed = row.split(separator: "|")[0].split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        #expect(listed == ExitStatus.network.map(\.rawValue))
    }

    @Test func curlsNumbersAreLibcurlsErrorCodes() {
        // libcurl-errors(3): CURLE_COULDNT_RESOLVE_HOST 6, CURLE_COULDNT_CONNECT 7,
        // CURLE_HTTP_RETURNED_ERROR 22, CURLE_SSL_CONNECT_ERROR 35,
        // CURLE_TOO_MANY_REDIRECTS 47, CURLE_PEER_FAILED_VERIFICATION 60,
        // CURLE_FILESIZE_EXCEEDED 63.
        #expect(ExitStatus.network.map(\.rawValue) == [6, 7, 22, 35, 47, 60, 63])
    }

    /// The values of `Key=` lines in a systemd unit.
    func unitValues(_ key: String, in unit: String) -> [Int32] {
        unit.split(separator: "\n").filter { $0.hasPrefix(key + "=") }
            .flatMap { $0.dropFirst(key.count + 1).split(separator: " ").compactMap { Int32($0) } }
    }

    @Test func theSystemdServiceMapsTheRejectionToSuccessAndStopsRestartingOnWhatCannotHeal() throws {
        let examples = Self.root.appendingPathComponent("examples/systemd")
        let unit = try String(contentsOf: examples.appendingPathComponent("breaker-run-report.service"), encoding: .utf8)
        let configuration = try ConfigurationLoader.load(explicit: examples.appendingPathComponent("breakers.yaml").path, environment: [:], isRoot: false)
        let breaker = try #require(configuration.breakers["warehouse-report"])
        // The status the breaker exits with when it rejects is a success to systemd...
        #expect(unitValues("SuccessExitStatus", in: unit) == [breaker.openExitCode])
        #expect(breaker.openExitCode == ExitStatus.rejected.rawValue)
        // ...and a bad command line or configuration stops the restarts.
        #expect(unitValues("RestartPreventExitStatus", in: unit) == [ExitStatus.usage.rawValue, ExitStatus.configuration.rawValue])
    }
}
