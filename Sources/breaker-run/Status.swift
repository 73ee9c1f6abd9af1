import ArgumentParser
import BreakerRunKit
import CircuitBreaker
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

extension BreakerRun {
    /// `breaker-run status [NAME...] [--json]`: never writes state.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
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
                try output(StatusText.render(entries, configuration: context.configuration.files, stateDirectory: context.stateDirectory,
                                             colour: StatusText.usesColour(environment: context.environment)))
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

/// The text of `status`: one block per breaker, readable at a glance:
/// relative times ("opened 3m ago", "next trial in 27s") beside the absolute
/// ones, and the state in colour on a terminal.
enum StatusText {
    /// Whether to colour the output: only when standard output is a
    /// terminal, `NO_COLOR` is unset or empty (no-color.org), and `TERM` is
    /// not `dumb`.
    static func usesColour(environment: [String: String]) -> Bool {
        guard isatty(STDOUT_FILENO) == 1 else { return false }
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }

    static func render(_ entries: [StatusEntry], configuration: [String], stateDirectory: String, colour: Bool = false) -> String {
        func paint(_ text: String, _ code: String) -> String {
            colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
        }
        func ago(_ duration: Duration?) -> String {
            duration.map { " (\(DurationFormat.relative($0)) ago)" } ?? ""
        }
        var lines = [
            "configuration: \(configuration.joined(separator: ", "))",
            "state directory: \(stateDirectory)",
        ]
        for entry in entries {
            lines.append("")
            guard case .status(let status) = entry else {
                if case .error(let name, let message) = entry { lines.append("\(paint(name, "1")): \(paint("error", "31")): \(message)") }
                continue
            }
            let stateColour = switch status.state {
            case .closed: "32"
            case .open: "1;31"
            case .halfOpen: "33"
            }
            var headline = "\(paint(status.name, "1")): \(paint(status.state.rawValue, stateColour))"
            if status.held { headline += " (held until reset)" }
            if status.state == .halfOpen { headline += " (trial allowed)" }
            if status.state != .closed, let ago = status.openedAgo {
                headline += ", opened \(DurationFormat.relative(ago)) ago"
                if let next = status.nextTrialIn { headline += ", next trial in \(DurationFormat.relative(next))" }
            }
            lines.append(headline)
            if status.state != .closed, let opened = status.openedAt {
                lines.append("  opened at \(opened)" + (status.openReason.map { " (\($0))" } ?? ""))
            }
            if let next = status.nextTrialAt {
                lines.append("  next trial at \(next)")
            }
            lines.append("  consecutive failures: \(status.consecutiveFailures)" + (status.lastFailure.map { "; last failure: \(paint($0, "31"))" } ?? ""))
            if let rate = status.failureRate {
                lines.append("  failure rate: \(rate.failures) of \(rate.calls) calls in the window")
            }
            let c = status.counts
            lines.append("  counts: \(c.successes) successes, \(c.failures) failures, \(c.ignored) ignored, \(c.rejected) rejected, \(c.fallbacks) fallbacks")
            for transition in status.transitions.suffix(5) {
                lines.append("  \(transition.at)\(ago(transition.age)) \(transition.from.rawValue) -> \(transition.to.rawValue) (\(transition.reason))" + (transition.by.map { " by \($0)" } ?? ""))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
