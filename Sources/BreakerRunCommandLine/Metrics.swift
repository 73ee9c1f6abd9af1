import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run metrics`: every breaker in the Prometheus text format.
    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metrics",
            abstract: "Print every breaker's metrics in the Prometheus text exposition format (never writes state).",
            discussion: """
                The same text that metrics_file receives after every change of state. \
                See breaker-run(1) for the metric families.
                """
        )

        @OptionGroup var options: GlobalOptions

        func run() throws {
            let context = try options.loadContext()
            let text: String
            do {
                text = try MetricsFile.render(context.configuration.sortedBreakers, from: context.store)
            } catch {
                report(error)
                throw ExitCode(ExitStatus.ioError.rawValue)
            }
            try output(text)
        }
    }
}
