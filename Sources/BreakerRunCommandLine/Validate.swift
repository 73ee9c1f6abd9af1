import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run validate [--print]`: parse and check the configuration.
    struct Validate: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check the configuration: exit 0 when it is valid, else print every error and exit 78.",
            discussion: """
                An environment variable that a breaker reads (${VAR}) and that is not set is \
                a warning here, and an error when that breaker runs.
                """
        )

        @OptionGroup var options: GlobalOptions

        @Flag(name: .customLong("print"),
              help: "Print the effective configuration of every breaker, after defaults and merge keys.")
        var printsEffectiveConfiguration = false

        func run(with registry: KindRegistry) throws {
            for skipped in ConfigurationLoader.skippedDropIns(explicit: options.config, environment: ProcessEnvironment.current(), isRoot: getuid() == 0) {
                StandardOutput.writeError("breaker-run: \(skipped): warning: not read: only files named *.yaml in breakers.d are; rename it to end in .yaml or move it away\n")
            }
            let session = try options.openSession(handsOver: false, isStrict: true, registry: registry)
            let configuration = session.configuration
            for warning in configuration.warnings + configuration.unsetVariableWarnings() {
                StandardOutput.writeError("breaker-run: \(warning.location): warning: \(warning.message)\n")
            }
            if let path = configuration.metricsFile, let directory = MetricsFile.missingDirectory(of: path) {
                StandardOutput.writeError("breaker-run: warning: metrics_file \(path): the directory \(directory) does not exist; no metrics file is written until it does\n")
            }
            if printsEffectiveConfiguration {
                try output(configuration.effectiveYAML(stateDirectoryInUse: session.stateDirectory))
                return
            }
            let count = configuration.breakers.count
            if !options.quiet {
                try output("\(configuration.files.joined(separator: ", ")): OK, \(count) breaker\(count == 1 ? "" : "s")\n")
            }
        }
    }
}
