import CircuitBreaker
import Logging

/// A fallback kind: one way of answering a call the breaker rejected
/// (`command`, `shell`, `output`, `cached`). One type in one file decodes
/// its YAML value, prints itself for `validate --print` and answers; a
/// `KindRegistry` maps its YAML key to it.
package protocol FallbackKind: Sendable, Equatable {
    /// The key the configuration writes it under, such as `cached`.
    static var key: String { get }
    /// Whether the fallback's mapping may set `exit_code` (its answer's
    /// status); a process's own status is used otherwise.
    static var takesExitCode: Bool { get }

    /// Reads the kind's value, reporting every problem to `decoder` with its
    /// position.
    /// - Parameters:
    ///   - node: the value under the key.
    ///   - decoder: the decoder that types scalars and collects problems.
    /// - Returns: the fallback, or nil when the value has an error (reported).
    static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> Self?

    /// The fallback with the `exit_code` written beside its key; called only
    /// when `takesExitCode`.
    /// - Parameter exitCode: the status, 0-255.
    /// - Returns: the fallback answering with that status.
    func settingExitCode(_ exitCode: Int32) -> Self

    /// The fallback as `validate --print` writes it: the lines of its
    /// mapping, starting with its key, without indentation.
    func effectiveYAMLLines() -> [String]

    /// The most bytes of a successful call's stdout to keep for this
    /// fallback; nil when it keeps none.
    var captureLimit: Int? { get }

    /// Answers the rejected call, or declines.
    /// - Parameter context: the breaker, the rejection and where to write.
    /// - Returns: what it did.
    func answer(_ context: FallbackContext) -> FallbackAnswer
}

extension FallbackKind {
    package static var takesExitCode: Bool { false }
    package func settingExitCode(_ exitCode: Int32) -> Self { self }
    package var captureLimit: Int? { nil }

    /// Whether `other` is the same fallback.
    fileprivate func isEqual(to other: any FallbackKind) -> Bool {
        (other as? Self) == self
    }
}

/// A fallback: what answers a call that the breaker rejected, of any
/// registered kind.
public struct FallbackSpecification: Sendable, Equatable {
    /// The fallback's kind and values.
    package var kind: any FallbackKind

    /// Wraps a fallback of some kind.
    /// - Parameter kind: the fallback.
    package init(_ kind: any FallbackKind) {
        self.kind = kind
    }

    /// The key of the fallback's kind, such as `output`.
    public var key: String { type(of: kind).key }

    /// Whether both are the same fallback of the same kind.
    public static func == (lhs: FallbackSpecification, rhs: FallbackSpecification) -> Bool {
        lhs.kind.isEqual(to: rhs.kind)
    }
}

/// What one fallback did with a rejected call.
public enum FallbackAnswer: Sendable {
    /// It answered (or failed in a way that ends the list, such as output
    /// that could not be written): this is the run's result.
    case answered(FallbackRun)
    /// It ran and failed; the next fallback is tried, and when none answers
    /// the last failure stands.
    case failed(FallbackRun)
    /// It had nothing to give (no fresh cached output, a process that could
    /// not start): the next fallback is tried.
    case declined
}

/// What a fallback answers with.
public struct FallbackContext {
    /// The breaker.
    public var breaker: BreakerConfiguration
    /// The rejected call's argv.
    public var arguments: [String]
    /// The `BREAKER_*` variables (`FallbackRunner.variables`).
    public var variables: [String: String]
    /// The time of the rejection.
    public var now: Instant
    /// breaker-run's own environment.
    public var environment: [String: String]
    /// Starts process fallbacks.
    public var supervisor: ProcessSupervisor
    /// Where messages go.
    public var logger: Logger
    /// Whether another fallback follows this one.
    public var hasNext: Bool
    /// Writes the answer to breaker-run's standard output.
    public var write: ([UInt8]) throws(SystemError) -> Void
    /// Reads the rejected call's kept output (`cached`); nil when there is none.
    public var readCache: () -> CachedOutput?
    /// The breaker's queue, for a `queue` fallback; nil when there is none
    /// to write to.
    package var queue: QueueStore?
    /// Whether the rejected call is the breaker's configured call (a queue
    /// item then names it, rather than an argv).
    package var isConfiguredCall = false
    /// Reads the invocation's standard input, at most the given number of
    /// bytes (`CurrentProcess.readStandardInput(limit:)`).
    package var readInput: (Int) throws(SystemError) -> [UInt8] = { limit throws(SystemError) in
        try CurrentProcess.readStandardInput(limit: limit)
    }
    /// The invocation's working directory; nil when it cannot be read.
    package var workingDirectory: () -> String? = { CurrentProcess.workingDirectory() }

    /// Creates a context.
    /// - Parameters:
    ///   - breaker: the breaker.
    ///   - arguments: the rejected call's argv.
    ///   - variables: the `BREAKER_*` variables.
    ///   - now: the time of the rejection.
    ///   - environment: breaker-run's environment.
    ///   - supervisor: starts process fallbacks.
    ///   - logger: where messages go.
    ///   - hasNext: whether another fallback follows.
    ///   - write: writes to standard output.
    ///   - readCache: reads the kept output.
    public init(breaker: BreakerConfiguration, arguments: [String], variables: [String: String], now: Instant,
                environment: [String: String], supervisor: ProcessSupervisor, logger: Logger, hasNext: Bool,
                write: @escaping ([UInt8]) throws(SystemError) -> Void, readCache: @escaping () -> CachedOutput?) {
        self.breaker = breaker
        self.arguments = arguments
        self.variables = variables
        self.now = now
        self.environment = environment
        self.supervisor = supervisor
        self.logger = logger
        self.hasNext = hasNext
        self.write = write
        self.readCache = readCache
    }

    /// Writes `text` as a non-process fallback's whole answer.
    /// - Parameters:
    ///   - bytes: the answer.
    ///   - exitCode: its exit status.
    ///   - how: how it answered, for the rejection's line.
    ///   - what: what was written, for the message when it could not be.
    /// - Returns: `.answered`, or `.answered(.outputLost)` when writing failed.
    public func answer(writing bytes: [UInt8], exitCode: Int32, how: String, what: String) -> FallbackAnswer {
        do {
            try write(bytes)
        } catch {
            logger.error("\(breaker.name): \(what) was lost: \(error)")
            return .answered(.outputLost(error))
        }
        return .answered(.answered(exitCode: exitCode, how: how))
    }

    /// Runs `argv` as a process fallback: with breaker-run's environment,
    /// the breaker's `env` and the `BREAKER_*` variables, under the
    /// breaker's `timeout`, killed as a call is.
    /// - Parameter argv: the program and its arguments.
    /// - Returns: `.answered` when it exited 0 in time, `.failed` when it
    ///   did not, `.declined` when it could not start.
    public func runProcess(_ argv: [String]) -> FallbackAnswer {
        let specification = ProcessSpecification(
            arguments: argv,
            environment: environment.merging(breaker.environment) { $1 }.merging(variables) { $1 },
            workingDirectory: breaker.workingDirectory,
            timeout: breaker.timeout,
            killAfter: breaker.killAfter
        )
        do {
            let result = try supervisor.run(specification)
            if result.timedOut, let timeout = breaker.timeout {
                logger.error("\(breaker.name): the fallback timed out after \(DurationFormat.string(timeout)); killed")
            }
            let run = FallbackRun.process(result.termination, timedOut: result.timedOut)
            if result.termination == .exited(0) && !result.timedOut { return .answered(run) }
            // What it printed has already reached stdout.
            if hasNext {
                logger.info("\(breaker.name): fallback \(Self.describe(result.termination, timedOut: result.timedOut)); trying the next fallback")
            }
            return .failed(run)
        } catch {
            logger.error("\(breaker.name): fallback could not start: \(error)")
            return .declined
        }
    }

    /// How a failed fallback process ended, for the line that hands over.
    private static func describe(_ termination: Termination, timedOut: Bool) -> String {
        if timedOut { return "timed out" }
        switch termination {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "was killed by \(SignalName.of(signal))"
        }
    }
}

extension BreakerConfiguration {
    /// The most stdout bytes to keep for its fallbacks (`FallbackKind.captureLimit`);
    /// nil when none keeps any.
    var cacheLimit: Int? {
        fallbacks.compactMap { $0.kind.captureLimit }.max()
    }
}
