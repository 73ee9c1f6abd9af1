import Logging

/// What the command line asks of a session: its flags, and what the
/// subcommand will do with the breakers.
public struct SessionOptions {
    /// The configuration file given with `--config`; nil to search the
    /// usual places.
    public var configurationFile: String?
    /// The state directory given with `--state-dir`; nil for the
    /// environment's, the configuration's or the default.
    public var stateDirectory: String?
    /// The breakers the subcommand acts on, which a large configuration may
    /// read from the configuration cache without parsing the others; nil
    /// when it needs every breaker.
    public var only: Set<String>?
    /// False for a subcommand that reads or changes no breaker's state and
    /// runs no call (`validate`): it never hands over.
    public var handsOver = true
    /// True for the subcommand that runs the calls and probes of the
    /// breakers in `only` (`run`): an `http` one needs the full binary;
    /// reading or changing a breaker's state needs it only for a PostgreSQL
    /// state.
    public var runsCalls = false
    /// True for `validate`, which refuses any error anywhere. Otherwise a
    /// broken file stops only itself: an error that concerns neither the
    /// breakers in `only` nor the main file's own keys and `defaults` leaves
    /// the breakers concerned out, with one warning.
    public var isStrict = false

    /// Creates options.
    /// - Parameters:
    ///   - configurationFile: `--config`, if given.
    ///   - stateDirectory: `--state-dir`, if given.
    public init(configurationFile: String?, stateDirectory: String?) {
        self.configurationFile = configurationFile
        self.stateDirectory = stateDirectory
    }
}

/// Why a session could not be opened.
public enum SessionError: Error, CustomStringConvertible {
    /// The configuration could not be loaded (exit 78).
    case configuration(ConfigurationError)

    /// The configuration's error, one problem per line.
    public var description: String {
        switch self {
        case .configuration(let error): "\(error)"
        }
    }
}

extension Session {
    /// Opens the session of one invocation: loads the configuration, warns
    /// once about the problems a lenient load ignored, lets the binary hand
    /// over when the breakers need a plugin it lacks, then opens the logger
    /// the configuration asks for and the state store (files, PostgreSQL
    /// where `state:` says so, the `metrics_file` rewritten after every change).
    /// - Parameters:
    ///   - options: the flags and what the subcommand does.
    ///   - registry: the kinds and plugins of this binary.
    ///   - environment: breaker-run's own environment.
    ///   - isRoot: whether breaker-run runs as root (the default places differ).
    ///   - streams: standard output and error.
    ///   - makeLogger: the logger for the configuration's `log` destination.
    ///   - handOver: called with the breakers acted on and whether their
    ///     calls run, before anything is opened: replaces the process with
    ///     the full binary when one needs a plugin this one lacks, or throws.
    /// - Returns: the session.
    /// - Throws: `SessionError.configuration` when the configuration cannot
    ///   be loaded; what `handOver` throws.
    public static func open(_ options: SessionOptions, registry: KindRegistry, environment: [String: String], isRoot: Bool,
                            streams: OutputStreams = .standard, makeLogger: (LogDestination) -> Logger,
                            handOver: (_ breakers: [BreakerConfiguration], _ runningCalls: Bool) throws -> Void) throws -> Session {
        let configuration: Configuration
        do throws(ConfigurationError) {
            configuration = try ConfigurationLoader.load(explicit: options.configurationFile, environment: environment, isRoot: isRoot,
                                                         only: options.only, usesCache: true, isLenient: !options.isStrict, registry: registry)
        } catch {
            throw SessionError.configuration(error)
        }
        if let first = configuration.ignoredProblems.first {
            let more = configuration.ignoredProblems.count - 1
            let others = more > 0 ? "and \(more) more problem\(more == 1 ? "" : "s"); " : ""
            streams.writeError("breaker-run: warning: ignoring \(first) (\(others)run 'breaker-run validate')\n")
        }
        if options.handsOver {
            let acted = options.only.map { $0.compactMap { configuration.breakers[$0] } } ?? Array(configuration.breakers.values)
            try handOver(acted, options.runsCalls)
            // The metrics_file is rewritten with every breaker's state after
            // any change, so it needs every breaker's backend.
            if configuration.metricsFile != nil {
                try handOver(Array(configuration.breakers.values), false)
            }
        }
        let logger = makeLogger(configuration.log)
        let directory = StateDirectory.resolve(option: options.stateDirectory, environment: environment, configured: configuration.stateDirectory,
                                              isRoot: isRoot, configurationFiles: configuration.files)
        logger.debug("configuration: \(configuration.files.joined(separator: ", ")); state directory: \(directory)")
        let clock = SystemClock()
        let file = FileStateStore(directory: directory, clock: clock) { warning in
            logger.warning("\(warning)")
        }
        var store = StateRouter(file: file, breakers: configuration.sortedBreakers, environment: environment, postgresql: registry.postgresql)
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
        var session = Session(configuration: configuration, stateDirectory: directory, store: store, clock: clock, environment: environment,
                              logger: logger, streams: streams, registry: registry)
        session.configurationFileOption = options.configurationFile
        return session
    }
}
