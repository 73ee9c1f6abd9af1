import ArgumentParser
import BreakerRunKit
import CircuitBreaker
import FoundationEssentials

extension BreakerRun {
    /// `breaker-run status [NAME...] [--json]`: never writes state.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show breakers' effective state, counts and recent transitions (never writes state)."
        )

        @OptionGroup var options: GlobalOptions

        @Flag(help: "Print JSON: {\"breakers\": [...]}.")
        var json = false

        @Argument(help: "Breakers to show (default: all).")
        var names: [String] = []

        func run() throws {
            let context = try options.loadContext()
            let selected = names.isEmpty ? context.configuration.breakerNames : names
            var statuses: [BreakerStatus] = []
            for name in selected {
                _ = try context.breaker(name)
                do {
                    let (state, now) = try context.store.read(name)
                    statuses.append(BreakerStatus(name: name, state: state, now: now))
                } catch {
                    report(error)
                    throw ExitCode(ExitStatus.ioError.rawValue)
                }
            }
            if json {
                let document = StatusDocument(configuration: context.configuration.files, stateDirectory: context.stateDirectory, breakers: statuses)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(document)
                StandardOutput.write(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                StandardOutput.write(StatusText.render(statuses, configuration: context.configuration.files, stateDirectory: context.stateDirectory))
            }
        }
    }
}

/// The JSON document of `status --json`.
struct StatusDocument: Encodable {
    var configuration: [String]
    var stateDirectory: String
    var breakers: [BreakerStatus]

    enum CodingKeys: String, CodingKey {
        case configuration, stateDirectory = "state_dir", breakers
    }
}

/// The text of `status`: one block per breaker.
enum StatusText {
    static func render(_ statuses: [BreakerStatus], configuration: [String], stateDirectory: String) -> String {
        var lines = [
            "configuration: \(configuration.joined(separator: ", "))",
            "state directory: \(stateDirectory)",
        ]
        for status in statuses {
            lines.append("")
            var headline = "\(status.name): \(status.state.rawValue)"
            if status.held { headline += " (held until reset)" }
            if status.state == .halfOpen { headline += " (trial allowed)" }
            lines.append(headline)
            if status.state != .closed, let opened = status.openedAt {
                lines.append("  opened at \(opened)" + (status.openReason.map { " (\($0))" } ?? ""))
            }
            if let next = status.nextTrialAt, let seconds = status.retryAfterSeconds {
                lines.append("  next trial at \(next) (in \(seconds)s)")
            }
            lines.append("  consecutive failures: \(status.consecutiveFailures)" + (status.lastFailure.map { "; last failure: \($0)" } ?? ""))
            let c = status.counts
            lines.append("  counts: \(c.successes) successes, \(c.failures) failures, \(c.ignored) ignored, \(c.rejected) rejected, \(c.fallbacks) fallbacks")
            for transition in status.transitions.suffix(5) {
                lines.append("  \(transition.at) \(transition.from.rawValue) -> \(transition.to.rawValue) (\(transition.reason))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
