import ArgumentParser
import BreakerRunKit
extension BreakerRun {
    /// `breaker-run run NAME [--key KEY] [--force] [-- COMMAND [ARG...]]`.
    struct Run: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            _superCommandName: BreakerRun.name,
            abstract: "Run a call under a breaker, or its fallback when the breaker is open.",
            discussion: """
                The call is COMMAND ARG... when given after --, executed directly (no shell), \
                else the breaker's configured call. Its stdin, stdout, stderr and exit status \
                pass through unchanged. A rejected call runs the breaker's fallback, or exits \
                with the breaker's open_exit_code (75, EX_TEMPFAIL, by default).
                """
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Option(help: ArgumentHelp("The target of a keyed breaker (per_key): any text of 1 to 256 bytes; required for one, refused for a plain breaker.",
                                   valueName: "key"))
        var key: String?

        @Flag(help: "Run even when the breaker is open; the outcome counts as a trial.")
        var force = false

        @Argument(parsing: .postTerminator, help: ArgumentHelp("The command to run, after --.", valueName: "command"))
        var command: [String] = []

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(only: [name], runsCalls: true, registry: registry)
            do throws(UseCaseError) {
                Self.exit(for: try session.run(name, key: key, command: command, force: force))
            } catch {
                throw exitError(for: error)
            }
        }

        /// Parses and runs `run` as `main(_:)` does, except that a command
        /// line that fails to parse because the command was written without
        /// `--` (`run ledger echo hi`, `run ledger ls -la`) says so first.
        /// - Parameter arguments: the arguments after `run`.
        static func main(advising arguments: [String], registry: KindRegistry) -> Never {
            var command: any ParsableCommand
            do {
                command = try parseAsRoot(arguments)
            } catch {
                guard !(error is CleanExit), let advice = forgottenTerminator(in: arguments) else { exit(withError: error) }
                let parser = message(for: error).split(separator: "\n").first.map(String.init) ?? ""
                exit(withError: ValidationError("\(advice) (\(parser))"))
            }
            do {
                try BreakerRun.run(&command, registry: registry)
            } catch {
                exit(withError: error)
            }
            exit()
        }

        /// The advice to put the command after `--` when `arguments` give
        /// one without it (`ledger echo hi` advises `breaker-run run ledger
        /// -- echo hi`); nil when there is a `--`, or the first word after
        /// the breaker's name is not a command (such as a mistyped option).
        /// - Parameter arguments: the arguments after `run`.
        /// - Returns: one sentence.
        static func forgottenTerminator(in arguments: [String]) -> String? {
            guard !arguments.contains("--") else { return nil }
            var name: String?
            var force = false
            var index = arguments.startIndex
            while index < arguments.endIndex {
                let word = arguments[index]
                if word == "--config" || word == "--state-dir" || word == "--key" {
                    index += 2
                    continue
                }
                let isOption = ["--force", "--quiet", "--verbose"].contains(word) || word.hasPrefix("--config=") || word.hasPrefix("--state-dir=") || word.hasPrefix("--key=")
                    || (word.hasPrefix("-") && !word.hasPrefix("--") && word.count > 1 && word.dropFirst().allSatisfy { $0 == "q" || $0 == "v" })
                if isOption {
                    force = force || word == "--force"
                } else if name == nil && !word.hasPrefix("-") {
                    name = word
                } else {
                    break
                }
                index += 1
            }
            guard let name, index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return nil }
            let suggestion = [BreakerRun.name, configuration.commandName ?? "run", name] + (force ? ["--force"] : []) + ["--"] + arguments[index...]
            return "put the command after --, as in: " + suggestion.map(ShellQuote.quote).joined(separator: " ")
        }

        /// Ends breaker-run as the run asks: the call's own status or signal,
        /// 124 after a timeout (of the call or of a fallback), 126/127 for a
        /// launch failure, the fallback's status, 74 when a static fallback's
        /// output or the call's copied output could not be written (SIGPIPE
        /// when its reader went away), or the breaker's `open_exit_code`;
        /// 74 when the state is unusable and `on_state_error` is `fail-closed`.
        static func exit(for result: RunResult) -> Never {
            switch result {
            case .ran(let call):
                if call.timedOut { exitLikeChild(.exited(ExitStatus.timedOut.rawValue)) }
                // Interrupted by an operator: end by the same signal, whatever the
                // call made of it, so that an enclosing shell loop stops too.
                if let signal = call.interruption { exitLikeChild(.signaled(signal)) }
                if let lost = call.outputLost {
                    // Output that did not reach the caller is never a success:
                    // a reader that went away ends breaker-run as it would have
                    // ended the call (SIGPIPE); any other error is 74.
                    guard lost.errno == EPIPE else { exitLikeChild(.exited(ExitStatus.ioError.rawValue)) }
                    if case .signaled = call.termination { exitLikeChild(call.termination) }
                    exitLikeChild(.signaled(SIGPIPE))
                }
                exitLikeChild(call.termination)
            case .launchFailed(let error):
                exitLikeChild(.exited(error.exitStatus))
            case .fellBack(_, .process(_, timedOut: true)):
                exitLikeChild(.exited(ExitStatus.timedOut.rawValue))
            case .fellBack(_, .process(let termination, timedOut: false)):
                exitLikeChild(termination)
            case .fellBack(_, .answered(let exitCode, _)):
                exitLikeChild(.exited(exitCode))
            case .fellBack(_, .outputLost):
                exitLikeChild(.exited(ExitStatus.ioError.rawValue))
            case .rejected(_, let exitCode):
                exitLikeChild(.exited(exitCode))
            case .stateUnavailable:
                exitLikeChild(.exited(ExitStatus.ioError.rawValue))
            }
        }
    }
}
