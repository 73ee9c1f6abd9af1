import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run validate`: parse and check the configuration.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the configuration: exit 0 when it is valid, else print every error and exit 78."
        )

        @OptionGroup var options: GlobalOptions

        func run() throws {
            let context = try options.loadContext()
            let count = context.configuration.breakers.count
            if !options.quiet {
                try output("\(context.configuration.files.joined(separator: ", ")): OK, \(count) breaker\(count == 1 ? "" : "s")\n")
            }
        }
    }
}
