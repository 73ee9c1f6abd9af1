import ArgumentParser
import BreakerRunKit

/// The command line of both executables, `breaker-run` (the core) and
/// `breaker-run-full` (the core with the network plugins registered).
public enum CommandLineTool {
    /// Parses the process's command line and runs the subcommand; exits
    /// with its status (`ExitStatus`) when it is not 0.
    /// - Parameter registry: the kinds and plugins of this binary, built once
    ///   by its `main`.
    public static func main(registry: KindRegistry) {
        BreakerRun.main(registry: registry)
    }
}

/// A subcommand that loads the configuration, and so needs the binary's
/// kinds: it runs with the registry instead of `run()`.
protocol RegistryCommand: ParsableCommand {
    /// Runs the command.
    /// - Parameter registry: the kinds and plugins of this binary.
    func run(with registry: KindRegistry) throws
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
        subcommands: [Run.self, Check.self, Status.self, Trip.self, Reset.self, Drain.self, Queue.self, Validate.self, Metrics.self]
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
    static func main(registry: KindRegistry) {
        let arguments = GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst()))
        let rest = Array(arguments.dropFirst())
        switch arguments.first {
        case Run.configuration.commandName: Run.main(advising: rest, registry: registry)
        case Check.configuration.commandName: run(Check.self, rest, registry: registry)
        case Status.configuration.commandName: run(Status.self, rest, registry: registry)
        case Trip.configuration.commandName: run(Trip.self, rest, registry: registry)
        case Reset.configuration.commandName: run(Reset.self, rest, registry: registry)
        default: run(BreakerRun.self, arguments, registry: registry)
        }
    }

    /// Parses `arguments` with `root` as the root command and runs the
    /// command they name, as `ParsableCommand.main(_:)` does, giving a
    /// `RegistryCommand` the binary's registry.
    /// - Parameters:
    ///   - root: the command that parses.
    ///   - arguments: the arguments after the command's name.
    ///   - registry: the kinds and plugins of this binary.
    static func run(_ root: any ParsableCommand.Type, _ arguments: [String], registry: KindRegistry) -> Never {
        do {
            var command = try root.parseAsRoot(arguments)
            try run(&command, registry: registry)
        } catch {
            root.exit(withError: error)
        }
        root.exit(withError: nil)
    }

    /// Runs a parsed command, with the registry when it is a `RegistryCommand`.
    ///
    /// Casts to each concrete type, never to `any RegistryCommand`: a cast
    /// to a protocol scans the runtime's conformance tables on every start
    /// (about 0.3 million instructions, callgrind), a cast to a type does not.
    /// - Parameters:
    ///   - command: the parsed command.
    ///   - registry: the kinds and plugins of this binary.
    /// - Throws: what the command throws.
    static func run(_ command: inout any ParsableCommand, registry: KindRegistry) throws {
        switch command {
        case let command as Run: try command.run(with: registry)
        case let command as Check: try command.run(with: registry)
        case let command as Status: try command.run(with: registry)
        case let command as Trip: try command.run(with: registry)
        case let command as Reset: try command.run(with: registry)
        case let command as Drain: try command.run(with: registry)
        case let command as Queue.List: try command.run(with: registry)
        case let command as Queue.Drop: try command.run(with: registry)
        case let command as Validate: try command.run(with: registry)
        case let command as Metrics: try command.run(with: registry)
        default: try command.run()
        }
    }

    /// The name the frequent subcommands give as their super-command.
    static let name = "breaker-run"
}

/// The release, printed by `--version`.
enum BreakerRunVersion {
    static let current = "0.1.0"
}
