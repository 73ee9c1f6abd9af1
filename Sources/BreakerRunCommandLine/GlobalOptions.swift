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

    /// Everything a subcommand needs: configuration, state store, logger.
    /// Exits 78 with every configuration error on standard error. When the
    /// breakers acted on need a network plugin this binary lacks, hands over
    /// to `breaker-run-full` (`Handover`), or exits 69 if it is missing.
    /// - Parameters:
    ///   - only: the breakers the subcommand acts on, which a large
    ///     configuration may read from the configuration cache without
    ///     parsing the others; nil when it needs every breaker.
    ///   - handsOver: false for a subcommand that reads or changes no
    ///     breaker's state and runs no call (`validate`).
    ///   - runsCalls: true for the subcommand that runs the calls and probes
    ///     of the breakers in `only` (`run`): an `http` one needs the full
    ///     binary; reading or changing a breaker's state needs it only for a
    ///     PostgreSQL state.
    ///   - isStrict: true for `validate`, which refuses any error anywhere.
    ///     Otherwise a broken file stops only itself: an error that concerns
    ///     neither the breakers in `only` nor the main file's own keys and
    ///     `defaults` leaves the breakers concerned out, with one warning.
    ///   - registry: the kinds and plugins of this binary.
    func loadContext(only: Set<String>? = nil, handsOver: Bool = true, runsCalls: Bool = false, isStrict: Bool = false,
                     registry: KindRegistry) throws -> Context {
        let environment = ProcessEnvironment.current()
        let isRoot = getuid() == 0
        let configuration: Configuration
        do {
            configuration = try ConfigurationLoader.load(explicit: config, environment: environment, isRoot: isRoot,
                                                         only: only, usesCache: true, isLenient: !isStrict, registry: registry)
        } catch {
            report(error)
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
        if let first = configuration.ignoredProblems.first {
            let more = configuration.ignoredProblems.count - 1
            let others = more > 0 ? "and \(more) more problem\(more == 1 ? "" : "s"); " : ""
            StandardOutput.writeError("breaker-run: warning: ignoring \(first) (\(others)run 'breaker-run validate')\n")
        }
        if handsOver {
            let acted = only.map { $0.compactMap { configuration.breakers[$0] } } ?? Array(configuration.breakers.values)
            try Handover.ifNeeded(for: acted, runningCalls: runsCalls, isVerbose: verbose >= 2, registry: registry)
            // The metrics_file is rewritten with every breaker's state after
            // any change, so it needs every breaker's backend.
            if configuration.metricsFile != nil {
                try Handover.ifNeeded(for: configuration.breakers.values, runningCalls: false, isVerbose: verbose >= 2, registry: registry)
            }
        }
        let logger = makeLogger(configuration.log)
        let directory = StateDirectory.resolve(option: stateDirectory, environment: environment, configured: configuration.stateDirectory, isRoot: isRoot,
                                              configurationFiles: configuration.files)
        logger.debug("configuration: \(configuration.files.joined(separator: ", ")); state directory: \(directory)")
        let file = FileStateStore(directory: directory, clock: SystemClock()) { warning in
            logger.warning("\(warning)")
        }
        var store = StateRouter(file: file, breakers: configuration.sortedBreakers, environment: environment,
                                postgresql: registry.postgresql)
        if let path = configuration.metricsFile {
            // Every writer (run, trip, reset) goes through this store, so the
            // file follows every change of state.
            let metrics = MetricsFile(path: path, breakers: configuration.sortedBreakers, store: store, lockDirectory: directory)
            store.setAfterWrite {
                do {
                    for (name, error) in try metrics.write() {
                        logger.warning("metrics_file \(path): \(name) left out: \(error)")
                    }
                } catch {
                    logger.warning("metrics_file \(path) not updated: \(error)")
                }
            }
        }
        return Context(configuration: configuration, stateDirectory: directory, store: store, logger: logger, environment: environment)
    }
}

/// A loaded configuration and the means to act on it.
struct Context {
    var configuration: Configuration
    var stateDirectory: String
    /// Every breaker's backend: files, or PostgreSQL where `state:` says so.
    var store: StateRouter
    var logger: Logger
    var environment: [String: String]

    /// The breaker named `name` as defined, its `${VAR}` values not read
    /// (status, trip and reset run nothing, so a variable unset in this
    /// shell must not stop them), or exit 78 naming the known ones.
    func breaker(_ name: String) throws -> BreakerConfiguration {
        do {
            return try configuration.definition(named: name)
        } catch {
            report(error)
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
    }

    /// The breaker named `name` ready to run, its `${VAR}` values read from
    /// the environment, or exit 78 naming the unknown breaker or the unset
    /// variable.
    func runnableBreaker(_ name: String) throws -> BreakerConfiguration {
        do {
            return try configuration.breaker(named: name)
        } catch {
            report(error)
            throw ExitCode(ExitStatus.configuration.rawValue)
        }
    }
}

/// Prints an error as one or more `breaker-run: ` lines on standard error.
func report(_ error: any Error) {
    let text = String(describing: error)
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
