import Logging

/// What one invocation opens once and every use case works with: the
/// configuration, the state store, the clock, the environment, the logger,
/// the output streams and the binary's kinds. The command line opens it from
/// its options (`Session.open`); a test builds one with an in-memory store,
/// a clock of its own and recording streams.
public struct Session {
    /// The effective configuration.
    public var configuration: Configuration
    /// The state directory in use (the file store's, and where `cached`
    /// output is kept).
    public var stateDirectory: String
    /// Every breaker's state backend.
    public var store: any StateBackend
    /// The clock the store reads (the store reads it itself; kept here so
    /// that what the session was opened with is in one place).
    public var clock: any BreakerClock
    /// breaker-run's own environment, which calls, fallbacks and hooks inherit.
    public var environment: [String: String]
    /// Where notices, warnings and errors go.
    public var logger: Logger
    /// Standard output and standard error.
    public var streams: OutputStreams
    /// The kinds and plugins of this binary.
    public var registry: KindRegistry
    /// Starts and supervises calls, fallbacks and hooks.
    public var supervisor = ProcessSupervisor()
    /// A source of random values in `0..<1`, for retry and backoff jitter.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    /// Waits between attempts and while a bulkhead is full; a test passes
    /// one that does not sleep.
    public var pause: (Duration) -> Void = { Pause.sleep(for: $0) }
    /// Reads the invocation's standard input, at most the given number of
    /// bytes, for a `queue` fallback; a spec passes bytes of its own.
    package var readInput: (Int) throws(SystemError) -> [UInt8] = { limit throws(SystemError) in
        try CurrentProcess.readStandardInput(limit: limit)
    }
    /// The invocation's working directory, for a `queue` fallback.
    package var workingDirectory: () -> String? = { CurrentProcess.workingDirectory() }
    /// The configuration file given on the command line (`--config`), which
    /// a drain started on close is given too; nil when it was searched for.
    package var configurationFileOption: String?
    /// Makes the given bytes the standard input of the calls started next
    /// (`drain`: each item's stored input), with the environment's `TMPDIR`;
    /// a spec passes one that records them.
    package var replaceInput: ([UInt8], [String: String]) throws(SystemError) -> Void = { bytes, environment throws(SystemError) in
        try CurrentProcess.replaceStandardInput(with: bytes, environment: environment)
    }

    /// Creates a session from its parts.
    /// - Parameters:
    ///   - configuration: the effective configuration.
    ///   - stateDirectory: the state directory in use.
    ///   - store: every breaker's state backend.
    ///   - clock: the clock the store reads.
    ///   - environment: breaker-run's own environment.
    ///   - logger: where messages go.
    ///   - streams: standard output and error.
    ///   - registry: the kinds and plugins of this binary.
    public init(configuration: Configuration, stateDirectory: String, store: any StateBackend, clock: any BreakerClock,
                environment: [String: String], logger: Logger, streams: OutputStreams = .standard, registry: KindRegistry) {
        self.configuration = configuration
        self.stateDirectory = stateDirectory
        self.store = store
        self.clock = clock
        self.environment = environment
        self.logger = logger
        self.streams = streams
        self.registry = registry
    }

    /// The breaker named `name` as defined, its `${VAR}` values not read
    /// (status, trip and reset run nothing, so a variable unset in this
    /// shell must not stop them).
    /// - Parameter name: the breaker's name.
    /// - Returns: its configuration.
    /// - Throws: `UseCaseError.configuration` naming the known breakers.
    func definition(_ name: String) throws(UseCaseError) -> BreakerConfiguration {
        do throws(ConfigurationError) {
            return try configuration.definition(named: name)
        } catch {
            throw .configuration(error)
        }
    }

    /// The runner of one `run` with this session's store, streams and clocks.
    func runner() -> BreakerRunner {
        var runner = BreakerRunner(store: store, logger: logger, environment: environment, supervisor: supervisor, registry: registry)
        runner.random = random
        runner.pause = pause
        runner.write = streams.writeOutput
        runner.queue = { [self] name in queue(of: name) }
        runner.afterClose = { [self] breaker in startDrainOnClose(of: breaker) }
        runner.readInput = readInput
        runner.workingDirectory = workingDirectory
        return runner
    }
}

extension Session {
    /// Breaker `name`'s queue, in the local state directory whatever the
    /// state backend: its items are this host's commands (DESIGN, "State").
    /// Unreadable items found are warned about.
    /// - Parameter name: the breaker's name.
    /// - Returns: the queue; nothing is opened until it is used.
    package func queue(of name: String) -> QueueStore {
        let logger = logger
        let file = FileStateStore(directory: stateDirectory, clock: clock) { warning in logger.warning("\(warning)") }
        return QueueStore(stateStore: file, breaker: name, clock: clock) { problem in logger.warning("\(name): \(problem)") }
    }
}

/// Why a use case could not do what it was asked; each case maps to one exit
/// status (`ExitStatus`) at the command line.
public enum UseCaseError: Error, CustomStringConvertible {
    /// An unknown breaker, or a `${VAR}` unset in this environment (exit 78).
    case configuration(ConfigurationError)
    /// `run` of a breaker with no configured call and no command given (a
    /// usage error, exit 64).
    case noConfiguredCall(breaker: String)
    /// The state could not be read or written (exit 74).
    case state(any Error)
    /// `--key` missing for a keyed breaker, given for a plain one, or not a
    /// key (empty, too long): a usage error (exit 64), in one sentence.
    case key(String)

    /// The message, one sentence per line.
    public var description: String {
        switch self {
        case .configuration(let error): "\(error)"
        case .noConfiguredCall(let name):
            "breaker '\(name)' has no configured call: give the command after --, as in 'breaker-run run \(name) -- COMMAND'"
        case .state(let error): "\(error)"
        case .key(let reason): reason
        }
    }
}
