import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run trip NAME [--key KEY] [--for DURATION] [--hold] [--reason TEXT]`.
    struct Trip: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "trip",
            _superCommandName: BreakerRun.name,
            abstract: "Open a breaker now; with --hold, keep it open until reset."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Option(name: .customLong("for"), help: ArgumentHelp("How long to stay open (such as 10m), instead of reset_timeout.", valueName: "duration"))
        var interval: String?

        @Option(help: ArgumentHelp("One key of a keyed breaker; without it, the whole breaker (every key rejected).", valueName: "key"))
        var key: String?

        @Flag(help: "Keep the breaker open until 'breaker-run reset'.")
        var hold = false

        @Option(help: ArgumentHelp("Why, for status and hooks: one line of printable text.", valueName: "text"))
        var reason = "manual"

        func validate() throws {
            if reason.allSatisfy(\.isWhitespace) {
                throw ValidationError("--reason needs some text, such as --reason 'acquirer maintenance'")
            }
            // Shown by status, logged to stderr and the journal, given to
            // hooks: a newline or an escape sequence there could forge a line
            // or drive the reader's terminal.
            if let control = reason.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
                let code = "U+" + String(control.value, radix: 16, uppercase: true).leftPadded(to: 4)
                throw ValidationError("--reason must be one line of printable text; it has a control character (\(code))")
            }
            if hold && interval != nil {
                throw ValidationError("--for and --hold exclude each other: a held breaker stays open until reset")
            }
            if let interval {
                guard let duration = try? DurationParser.parse(interval), duration > .zero else {
                    throw ValidationError("--for takes a duration longer than 0, such as 30s, 10m or 1h30m, not '\(interval)'")
                }
            }
        }

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(only: [name], registry: registry)
            let duration = try interval.map { try DurationParser.parse($0) }
            do throws(UseCaseError) {
                try session.trip(name, key: key, for: duration, hold: hold, reason: reason)
            } catch {
                throw exitError(for: error)
            }
        }
    }

    /// `breaker-run reset NAME [--key KEY]`.
    struct Reset: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            _superCommandName: BreakerRun.name,
            abstract: "Close a breaker now and clear its consecutive failures, any hold and the backoff."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Option(help: ArgumentHelp("One key of a keyed breaker; without it, the whole breaker (its keys left as they are).", valueName: "key"))
        var key: String?

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(only: [name], registry: registry)
            do throws(UseCaseError) {
                try session.reset(name, key: key)
            } catch {
                throw exitError(for: error)
            }
        }
    }
}

extension String {
    /// The string with zeros before it up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
