import BreakerRunKit
import Foundation
import Logging

/// Output streams that keep what was written, for a spec to read back.
public final class RecordingStreams: @unchecked Sendable {
    private let lock = NSLock()
    private var output: [UInt8] = []
    private var error = ""
    /// When set, writes to standard output fail with it, as to a closed pipe.
    public var outputFailure: SystemError?

    /// Creates empty streams.
    public init() {}

    /// What was written to standard output, as UTF-8 text.
    public var standardOutput: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: output, as: UTF8.self)
    }

    /// What was written to standard error.
    public var standardError: String {
        lock.lock()
        defer { lock.unlock() }
        return error
    }

    /// The streams to give a session.
    public var streams: OutputStreams {
        OutputStreams(
            writeOutput: { [self] bytes throws(SystemError) in
                if let failure = outputFailure { throw failure }
                lock.lock()
                defer { lock.unlock() }
                output += bytes
            },
            writeError: { [self] text in
                lock.lock()
                defer { lock.unlock() }
                error += text
            }
        )
    }
}

/// A log that keeps every line with its level, for specs of what an
/// invocation says (the one line at the default level, warnings once).
public final class LogRecorder: @unchecked Sendable {
    /// One logged line.
    public struct Line: Equatable, Sendable, CustomStringConvertible {
        /// Its level.
        public var level: Logger.Level
        /// Its message.
        public var message: String

        /// `LEVEL: MESSAGE`.
        public var description: String { "\(level): \(message)" }
    }

    private let lock = NSLock()
    private var stored: [Line] = []

    /// Creates an empty log.
    public init() {}

    /// Every line, oldest first, at every level (trace included).
    public var lines: [Line] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    /// The lines an operator sees without `-v`: notice and above.
    public var defaultLevelLines: [Line] {
        lines.filter { $0.level >= .notice }
    }

    /// The messages at exactly `level`.
    /// - Parameter level: the level.
    /// - Returns: the messages, oldest first.
    public func messages(at level: Logger.Level) -> [String] {
        lines.filter { $0.level == level }.map(\.message)
    }

    /// A logger whose every line lands here.
    public var logger: Logger {
        var logger = Logger(label: "breaker-run") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: Line) {
        lock.lock()
        defer { lock.unlock() }
        stored.append(line)
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            recorder.append(Line(level: event.level, message: event.message.description))
        }
    }
}
