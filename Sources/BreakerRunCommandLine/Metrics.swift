import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run metrics`: every breaker in the Prometheus text format.
    struct Metrics: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "metrics",
            abstract: "Print every breaker's metrics in the Prometheus text exposition format (never writes state).",
            discussion: """
                The same text that metrics_file receives after every change of state. \
                See breaker-run(1) for the metric families.
                """
        )

        @OptionGroup var options: GlobalOptions

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(registry: registry)
            // The readable breakers are printed even when one is not; that
            // one is reported, and the exit status is 74 (EX_IOERR).
            let rendered = session.metrics()
            try output(rendered.text)
            for (name, error) in rendered.unreadable {
                StandardOutput.writeError("breaker-run: \(name): left out: \(error)\n")
            }
            if !rendered.unreadable.isEmpty { throw ExitCode(ExitStatus.ioError.rawValue) }
        }
    }
}
