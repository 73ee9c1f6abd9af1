/// Where one invocation writes: its standard output (answers, reports) and
/// standard error (warnings that are not log lines). Injected, so that a test
/// records what a use case wrote instead of writing to the terminal.
public struct OutputStreams: Sendable {
    /// Writes bytes to standard output, all of them.
    public var writeOutput: @Sendable ([UInt8]) throws(SystemError) -> Void
    /// Writes text to standard error; an error is dropped, as there is
    /// nowhere left to report it.
    public var writeError: @Sendable (String) -> Void

    /// Creates streams from two writers.
    /// - Parameters:
    ///   - writeOutput: writes to standard output; throws `SystemError`
    ///     when it cannot take the bytes.
    ///   - writeError: writes to standard error.
    public init(writeOutput: @escaping @Sendable ([UInt8]) throws(SystemError) -> Void, writeError: @escaping @Sendable (String) -> Void) {
        self.writeOutput = writeOutput
        self.writeError = writeError
    }

    /// The process's own standard output and error, unbuffered (`StandardOutput`).
    public static var standard: OutputStreams {
        OutputStreams(writeOutput: { bytes throws(SystemError) in try StandardOutput.write(bytes: bytes) },
                      writeError: { StandardOutput.writeError($0) })
    }
}
