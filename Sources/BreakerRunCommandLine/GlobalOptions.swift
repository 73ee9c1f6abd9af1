import ArgumentParser
import BreakerRunKit
import Logging

/// Options every subcommand takes: where the configuration and state are,
/// and how much to say.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "file"), completion: .file(extensions: ["yaml", "yml"]))
    var config: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("The state directory.", valueName: "dir"), completion: .directory)
    var stateDirectory: String?

    @Flag(name: .shortAndLong, help: "Print only errors, warnings and transitions (opened, closed): no rejections or fallback notices.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Say more (repeat for debug output).")
    var verbose: Int

    /// Rejects flags that contradict each other, and empty paths.
    func validate() throws {
        if quiet && verbose > 0 {
            throw ValidationError("--quiet and --verbose exclude each other")
        }
        if config?.isEmpty == true { throw ValidationError("--config needs a file name") }
        if stateDirectory?.isEmpty == true { throw ValidationError("--state-dir needs a directory name") }
    }

    /// The command line with global options written before the subcommand
    /// (`breaker-run --config F run NAME`) moved after its name, where every
    /// subcommand's `@OptionGroup` parses them: swift-argument-parser does not
    /// hand a parent's options down to its subcommands.
    /// - Parameter arguments: the arguments, without the program name.
    /// - Returns: the same arguments, reordered.
    static func hoisted(_ arguments: [String]) -> [String] {
        var globals: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--config" || argument == "--state-dir" {
                globals.append(contentsOf: arguments[index..<min(index + 2, arguments.endIndex)])
                index += 2
            } else if argument.hasPrefix("--config=") || argument.hasPrefix("--state-dir=")
                || argument == "--quiet" || argument == "--verbose"
                || (argument.hasPrefix("-") && !argument.hasPrefix("--") && argument.count > 1 && argument.dropFirst().allSatisfy { $0 == "q" || $0 == "v" }) {
                globals.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !globals.isEmpty, index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return arguments }
        return [arguments[index]] + globals + arguments[(index + 1)...]
    }

    /// A logger writing to standard error at the level the flags ask for.
    /// - Parameter destination: `.syslog` to send transitions to syslog too.
    func makeLogger(_ destination: LogDestination = .stderr) -> Logger {
        let level: Logger.Level = verbose >= 2 ? .debug : verbose == 1 ? .info : .notice
        return Logger(label: "breaker-run") { _ in
            switch destination {
            case .stderr:
                StderrLogHandler(logLevel: level, isQuiet: quiet)
            case .syslog:
                MultiplexLogHandler([StderrLogHandler(logLevel: level, isQuiet: quiet), SyslogLogHandler()])
            }
        }
    }

    /// The session of this invocation (`Session.open`): configuration,
    /// state store, logger. Exits 78 with every configuration error on
    /// standard error. When the breakers acted on need a network plugin
    /// this binary lacks, hands over to `breaker-run-full` (`Handover`), or
    /// exits 69 if it is missing.
    /// - Parameters:
    ///   - only: the breakers the subcommand acts on (`SessionOptions.only`).
    ///   - handsOver: false for `validate` (`SessionOptions.handsOver`).
    ///   - runsCalls: true for `run` (`SessionOptions.runsCalls`).
    ///   - isStrict: true for `validate` (`SessionOptions.isStrict`).
    ///   - registry: the kinds and plugins of this binary.
    func openSession(only: Set<String>? = nil, handsOver: Bool = true, runsCalls: Bool = false, isStrict: Bool = false,
                     registry: KindRegistry) throws -> Session {
        var options = SessionOptions(configurationFile: config, stateDirectory: stateDirectory)
        options.only = only
        options.handsOver = handsOver
        options.runsCalls = runsCalls
        options.isStrict = isStrict
        let isVerbose = verbose >= 2
        do {
            return try Session.open(options, registry: registry, environment: ProcessEnvironment.current(), isRoot: getuid() == 0,
                                    makeLogger: makeLogger) { breakers, runningCalls in
                try Handover.ifNeeded(for: breakers, runningCalls: runningCalls, isVerbose: isVerbose, registry: registry)
            }
        } catch SessionError.configuration(let error) {
            report(error)
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
    }
}

/// The exit of a use case that could not do what it was asked: its error
/// on standard error and 78 (configuration) or 74 (state), or the usage
/// error (64) of a `run` with nothing to run.
/// - Parameter error: the use case's error.
/// - Returns: the error to throw from `run()`.
func exitError(for error: UseCaseError) -> any Error {
    switch error {
    case .configuration(let error):
        report(error)
        return ExitCode(ExitStatus.configuration.rawValue)
    case .noConfiguredCall, .key:
        return ValidationError(error.description)
    case .state(let error):
        report(error)
        return ExitCode(ExitStatus.ioError.rawValue)
    }
}

/// Prints an error as one or more `breaker-run: ` lines on standard error.
func report(_ error: any Error) {
    reportLines(String(describing: error))
}

/// Prints `text` as one `breaker-run: ` line per line on standard error.
func reportLines(_ text: String) {
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        StandardOutput.writeError("breaker-run: \(line)\n")
    }
}

/// Writes `text` to standard output, or reports why it could not and exits
/// 74 (EX_IOERR), so that a full disk or a closed pipe never passes silently.
func output(_ text: String) throws {
    do {
        try StandardOutput.write(text)
    } catch {
        report(error)
        throw ExitCode(ExitStatus.ioError.rawValue)
    }
}
