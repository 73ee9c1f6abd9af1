import ArgumentParser
import BreakerRunKit
import FoundationEssentials

extension BreakerRun {
    /// `breaker-run status [NAME...] [--key KEY] [--json]`: never writes state.
    struct Status: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            _superCommandName: BreakerRun.name,
            abstract: "Show breakers' effective state, counts and recent transitions (never writes state)."
        )

        @OptionGroup var options: GlobalOptions

        @Flag(help: "Print JSON: {\"configuration\": [...], \"state_dir\": ..., \"state_backends\": {...}, \"breakers\": [...]}.")
        var json = false

        @Argument(help: "Breakers to show (default: all).", completion: BreakerNameCompletion.kind)
        var names: [String] = []

        @Option(help: ArgumentHelp("Show this key of the one keyed breaker named, like a plain breaker.", valueName: "key"))
        var key: String?

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(only: names.isEmpty ? nil : Set(names), registry: registry)
            let shown: StatusReport
            do throws(UseCaseError) {
                shown = try session.status(names, key: key)
            } catch {
                throw exitError(for: error)
            }
            // One unreadable state does not hide the others: each breaker is
            // shown, or its error is, once: on stderr for the text (whose
            // row says only that the state could not be read), in the
            // document for --json; the exit status says (74) if any failed.
            let entries = shown.entries
            if !json {
                for case .error(_, let message) in entries { reportLines(message) }
            }
            let locations = shown.locations
            if json {
                var document = StatusDocument(configuration: session.configuration.files, stateDirectory: session.stateDirectory, breakers: entries)
                document.stateBackends = Dictionary(uniqueKeysWithValues: locations.map { ($0.name, $0.location) })
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(document)
                try output(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                let backends = Dictionary(grouping: locations, by: \.location)
                let backendLines = backends.keys.sorted().map { location in
                    backends.count > 1 ? "\(location): \(backends[location, default: []].map(\.name).joined(separator: ", "))" : location
                }
                try output(StatusText.render(entries, configuration: session.configuration.files, stateDirectory: session.stateDirectory,
                                             detailed: Set(names), backends: backendLines, colour: StatusText.usesColour(environment: session.environment)))
            }
            if entries.contains(where: \.isError) {
                throw ExitCode(ExitStatus.ioError.rawValue)
            }
        }
    }
}

/// The JSON document of `status --json`.
struct StatusDocument: Encodable {
    var configuration: [String]
    var stateDirectory: String
    var breakers: [StatusEntry]
    /// Each breaker's backend and where it is, by name.
    var stateBackends: [String: String] = [:]

    enum CodingKeys: String, CodingKey {
        case configuration, stateDirectory = "state_dir", breakers, stateBackends = "state_backends"
    }
}

/// The text of `status`: a table with one row per breaker, readable at a
/// glance (state, relative times such as "opened 3m ago, next trial in 27s",
/// consecutive failures, the reason of the last failure), then the details of
/// each breaker that is not closed or was named: absolute times, counts and
/// recent transitions. The state is coloured on a terminal only.
enum StatusText {
    /// Whether to colour the output: only when standard output is a
    /// terminal, `NO_COLOR` is unset or empty (no-color.org), and `TERM` is
    /// not `dumb`.
    static func usesColour(environment: [String: String]) -> Bool {
        guard isatty(STDOUT_FILENO) == 1 else { return false }
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }

    /// One column of the table: its heading, and the cell of a breaker with
    /// the SGR colour code to paint it in on a terminal (nil for none).
    /// Add a column by adding one to `columns`.
    struct Column: Sendable {
        var heading: String
        var cell: @Sendable (BreakerStatus) -> (text: String, colour: String?)
    }

    static let columns: [Column] = [
        Column(heading: "BREAKER") { status in
            (status.key.map { KeyedName(breaker: status.name, key: $0).description } ?? status.name, "1")
        },
        Column(heading: "STATE") { status in
            let colour = switch status.state {
            case .closed: "32"
            case .open: "1;31"
            case .halfOpen: "33"
            }
            return (status.state.rawValue, colour)
        },
        Column(heading: "SINCE") { (since($0), nil) },
        Column(heading: "FAILURES") { status in
            var text = "\(status.consecutiveFailures)"
            if let rate = status.failureRate { text += " (\(rate.failures)/\(rate.calls) in window)" }
            return (text, status.consecutiveFailures > 0 ? "31" : nil)
        },
        Column(heading: "LAST FAILURE") { ($0.lastFailure ?? "-", nil) },
    ]

    /// The SINCE cell: how long ago the breaker opened and when its next trial
    /// is, or how long it has been closed; "-" for a breaker never opened.
    static func since(_ status: BreakerStatus) -> String {
        if status.state == .closed {
            guard let closed = status.transitions.last(where: { $0.to == .closed }), let age = closed.age else { return "-" }
            return "closed \(DurationFormat.relative(age)) ago"
        }
        var text = status.openedAgo.map { "opened \(DurationFormat.relative($0)) ago" } ?? "opened"
        if status.held {
            text += status.openReason?.hasPrefix("roll-up:") == true ? ", held by the roll-up" : ", held until reset"
        } else if status.state == .halfOpen {
            text += ", trial allowed"
        } else if let next = status.nextTrialIn {
            text += ", next trial in \(DurationFormat.remaining(next))"
        }
        return text
    }

    /// The whole text.
    /// - Parameters:
    ///   - entries: the breakers, in the order to show them.
    ///   - configuration: the configuration files read.
    ///   - stateDirectory: the state directory.
    ///   - detailed: the names whose details to show even when closed (the
    ///     names given on the command line).
    ///   - backends: one line per state backend in use (where it keeps
    ///     which breakers).
    ///   - colour: whether to paint with ANSI SGR codes.
    /// - Returns: the text, ending with a newline.
    static func render(_ entries: [StatusEntry], configuration: [String], stateDirectory: String,
                       detailed: Set<String> = [], backends: [String] = [], colour: Bool = false) -> String {
        func paint(_ text: String, _ code: String?) -> String {
            guard colour, let code else { return text }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        var lines = [
            "configuration: \(configuration.joined(separator: ", "))",
            "state directory: \(stateDirectory)",
        ] + backends.map { "state backend: \($0)" }
        let statuses = entries.compactMap { entry -> BreakerStatus? in
            if case .status(let status) = entry { return status }
            return nil
        }
        if !statuses.isEmpty {
            let rows = statuses.map { status in columns.map { $0.cell(status) } }
            let widths = columns.indices.map { index in
                rows.reduce(columns[index].heading.count) { max($0, $1[index].text.count) }
            }
            func line(_ cells: [(text: String, colour: String?)]) -> String {
                let padded = cells.indices.map { index in
                    let cell = cells[index]
                    let padding = index == cells.count - 1 ? "" : String(repeating: " ", count: widths[index] - cell.text.count)
                    return paint(cell.text, cell.colour) + padding
                }
                return padded.joined(separator: "  ")
            }
            lines.append("")
            lines.append(line(columns.map { (text: $0.heading, colour: String?.none) }))
            lines += rows.map(line)
        }
        for entry in entries {
            // The error itself went to stderr.
            if case .error(let name, _) = entry {
                lines.append("")
                lines.append("\(paint(name, "1")): \(paint("error", "31")): its state could not be read (the error is on stderr)")
            } else if case .broken(let name, let message) = entry {
                lines.append("")
                lines.append("\(paint(name, "1")): \(paint("broken", "31")): \(message)")
            }
        }
        for status in statuses where status.state != .closed || detailed.contains(status.name) || (status.keys?.listed.isEmpty == false) {
            lines.append("")
            lines += details(status, paint: paint)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A keyed breaker's keys: the counts, then each key that is not
    /// closed (open first), escaped for the terminal.
    static func keyLines(_ keys: KeysStatus) -> [String] {
        var lines = ["  keys: \(keys.tracked) tracked, \(keys.open) open, \(keys.halfOpen) half-open, \(keys.closed) closed"]
        for key in keys.listed {
            var line = "    \(KeyedName.escaped(key.key)): \(key.state)"
            if let opened = key.openedAt { line += ", opened at \(opened)" }
            if let next = key.nextTrialAt, key.state == "open" { line += ", next trial at \(next)" }
            if let reason = key.reason { line += " (\(KeyedName.escaped(reason)))" }
            lines.append(line)
        }
        if keys.notListed > 0 { lines.append("    and \(keys.notListed) more keys not closed") }
        return lines
    }

    /// The details of one breaker: absolute times, counts, recent transitions.
    static func details(_ status: BreakerStatus, paint: (String, String?) -> String) -> [String] {
        var lines = ["\(paint(status.key.map { KeyedName(breaker: status.name, key: $0).description } ?? status.name, "1")):"]
        if status.state != .closed, let opened = status.openedAt {
            lines.append("  opened at \(opened)" + (status.openReason.map { " (\($0))" } ?? ""))
        }
        if let next = status.nextTrialAt {
            lines.append("  next trial at \(next)")
        }
        let c = status.counts
        lines.append("  counts: \(c.successes) successes, \(c.failures) failures, \(c.ignored) ignored, \(c.rejected) rejected, \(c.fallbacks) fallbacks")
        if let queue = status.queue {
            let oldest = queue.oldestAge.map { ", oldest queued \(DurationFormat.relative($0)) ago" } ?? ""
            lines.append("  queue: \(queue.items) item\(queue.items == 1 ? "" : "s") waiting\(oldest), \(queue.deadItems) dead")
        }
        if let keys = status.keys { lines += keyLines(keys) }
        for transition in status.transitions.suffix(5) {
            let ago = transition.age.map { " (\(DurationFormat.relative($0)) ago)" } ?? ""
            lines.append("  \(transition.at)\(ago) \(transition.from.rawValue) -> \(transition.to.rawValue) (\(transition.reason))" + (transition.by.map { " by \($0)" } ?? ""))
        }
        return lines
    }
}
