import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run check NAME`: would a call be admitted now? Writes nothing.
    struct Check: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            _superCommandName: BreakerRun.name,
            abstract: "Say whether a call would be admitted now: exit 0 if so, 75 if not (writes nothing).",
            discussion: """
                Reads the breaker's state and looks at its trial permits and concurrency slots \
                without taking any: nothing is counted, no transition is made. Prints one line \
                with the state and what a call would meet, unless -q. Exits 0 when a call would \
                run now, 75 when it would be rejected (open, held, half-open with its trials \
                running, or the concurrency limit reached), 78 for an unknown breaker, 74 when \
                the state cannot be read.
                """
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Option(help: ArgumentHelp("One key of a keyed breaker (per_key), which needs one.", valueName: "key"))
        var key: String?

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(only: [name], registry: registry)
            let check: AdmissionCheck.Result
            do throws(UseCaseError) {
                check = try session.check(name, key: key)
            } catch {
                throw exitError(for: error)
            }
            if !options.quiet {
                try output(AdmissionCheck.line(check.answer, circuitState: check.circuitState, name: key.map { KeyedName(breaker: name, key: $0).description } ?? name) + "\n")
            }
            if case .rejected = check.answer {
                throw ExitCode(ExitStatus.rejected.rawValue)
            }
        }
    }
}
