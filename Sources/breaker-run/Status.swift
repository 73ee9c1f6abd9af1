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

        @Flag(help: "Print JSON: {\"configuration\": [...], \"state_dir\": ..., \"breakers\": [...]}.")
        var json = false

        @Argument(help: "Breakers to show (default: all).", completion: BreakerNameCompletion.kind)
        var names: [String] = []

        func run() throws {
            let context = try options.loadContext()
            let selected = names.isEmpty ? context.configuration.breakerNames : names
            let breakers = try selected.map { try context.breaker($0) }
            // One unreadable state does not hide the others: each breaker is
            // shown, or its error is, and the exit status says (74) if any failed.
            let entries: [StatusEntry] = breakers.map { breaker in
                let name = breaker.name
                do {
                    let (state, now) = try context.store.read(name)
                    return .status(BreakerStatus(name: name, state: state, now: now, policy: breaker.policy))
                } catch {
                    report(error)
                    return .error(name: name, message: String(describing: error))
                }
            }
            if json {
                let document = StatusDocument(configuration: context.configuration.files, stateDirectory: context.stateDirectory, breakers: entries)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(document)
                try output(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                try output(StatusText.render(entries, configuration: context.configuration.files, stateDirectory: context.stateDirectory))
            }
            if entries.contains(where: \.isError) {
                throw ExitCode(ExitStatus.ioError.rawValue)
            }
        }
    }
}

/// One breaker in `status`: its status, or why its state could not be read.
enum StatusEntry: Encodable {
    case status(BreakerStatus)
    case error(name: String, message: String)

    var isError: Bool {
        if case .error = self { return true }
        return false
    }

    private enum CodingKeys: String, CodingKey {
        case name, error
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .status(let status):
            try status.encode(to: encoder)
        case .error(let name, let message):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(message, forKey: .error)
        }
    }
}

/// The JSON document of `status --json`.
struct StatusDocument: Encodable {
    var configuration: [String]
    var stateDirectory: String
    var breakers: [StatusEntry]

    enum CodingKeys: String, CodingKey {
        case configuration, stateDirectory = "state_dir", breakers
    }
}

/// The text of `status`: one block per breaker.
enum StatusText {
    static func render(_ entries: [StatusEntry], configuration: [String], stateDirectory: String) -> String {
        var lines = [
            "configuration: \(configuration.joined(separator: ", "))",
            "state directory: \(stateDirectory)",
        ]
        for entry in entries {
            lines.append("")
            guard case .status(let status) = entry else {
                if case .error(let name, let message) = entry { lines.append("\(name): error: \(message)") }
                continue
            }
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
            if let rate = status.failureRate {
                lines.append("  failure rate: \(rate.failures) of \(rate.calls) calls in the window")
            }
            let c = status.counts
            lines.append("  counts: \(c.successes) successes, \(c.failures) failures, \(c.ignored) ignored, \(c.rejected) rejected, \(c.fallbacks) fallbacks")
            for transition in status.transitions.suffix(5) {
                lines.append("  \(transition.at) \(transition.from.rawValue) -> \(transition.to.rawValue) (\(transition.reason))" + (transition.by.map { " by \($0)" } ?? ""))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
