import ArgumentParser
import BreakerRunKit

/// The command line of both executables, `breaker-run` (the core) and
/// `breaker-run-full` (the core with the network plugins registered).
public enum CommandLineTool {
    /// Parses the process's command line and runs the subcommand; exits
    /// with its status (`ExitStatus`) when it is not 0.
    public static func main() {
        BreakerRun.main()
    }
}

/// The `breaker-run` command: a circuit breaker for the command line.
struct BreakerRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: name,
        abstract: "Run commands under named circuit breakers whose state is shared by every invocation.",
        discussion: """
            Breakers are defined in YAML (see breaker-run.yaml(5)); their state lives in \
            files under the state directory, so that every separate invocation, from cron \
            or from parallel scripts, respects an open breaker.
            """,
        version: BreakerRunVersion.current,
        // Each subcommand names itself in its configuration: deriving the name
        // with String(describing:) costs a scan of the runtime's conformance
        // tables, about 1.1 million instructions (0.3 ms) per subcommand on
        // every start (callgrind, docs/BENCHMARKS.md).
        subcommands: [Run.self, Check.self, Status.self, Trip.self, Reset.self, Validate.self, Metrics.self]
    )

    /// The global options, declared here too so that the generated shell
    /// completions know that `--config FILE` and `--state-dir DIR` take a value
    /// before the subcommand; `main()` hands them to the subcommand, which
    /// parses them (these stay unset).
    @OptionGroup var options: GlobalOptions

    /// Parses the command line with the global options allowed before the
    /// subcommand's name, as DESIGN's synopsis writes them.
    ///
    /// swift-argument-parser parses two more commands on every parse of a
    /// root command, to find `--generate-completion-script`: a fifth of the
    /// instructions of a whole `run` (callgrind, docs/BENCHMARKS.md). The
    /// subcommands that scripts run hundreds of times an hour (`run`,
    /// `check`, `status`, `trip`, `reset`) are therefore parsed as root commands of
    /// their own. Each names breaker-run as its super-command (the parser's
    /// experimental `_superCommandName`, made for such pseudo-commands), so
    /// that its usage and errors read `breaker-run run ...` as before; help,
    /// version, completion and the other subcommands go through the root.
    static func main() {
        let arguments = GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst()))
        let rest = Array(arguments.dropFirst())
        switch arguments.first {
        case Run.configuration.commandName: Run.main(advising: rest)
        case Check.configuration.commandName: Check.main(rest)
        case Status.configuration.commandName: Status.main(rest)
        case Trip.configuration.commandName: Trip.main(rest)
        case Reset.configuration.commandName: Reset.main(rest)
        default: main(arguments)
        }
    }

    /// The name the frequent subcommands give as their super-command.
    static let name = "breaker-run"
}

/// The release, printed by `--version`.
enum BreakerRunVersion {
    static let current = "0.1.0"
}
