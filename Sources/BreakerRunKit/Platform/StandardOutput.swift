/// Unbuffered writes to standard output and standard error, straight through
/// `write(2)`, so that nothing breaker-run prints is held back or reordered
/// against what its call prints.
public enum StandardOutput {
    /// Writes `text` to standard output, all of it, retrying short writes and
    /// `EINTR`.
    /// - Parameter text: the text, written as UTF-8.
    /// - Throws: `SystemError` when standard output cannot take it (closed,
    ///   a full disk, a reader that went away).
    public static func write(_ text: String) throws(SystemError) {
        try writeAll(text, to: STDOUT_FILENO)
    }

    /// Writes `text` to standard error, as `write(_:)` does for standard
    /// output; an error is dropped, as there is nowhere left to report it.
    /// - Parameter text: the text, written as UTF-8.
    public static func writeError(_ text: String) {
        try? writeAll(text, to: STDERR_FILENO)
    }

    private static func writeAll(_ text: String, to descriptor: Int32) throws(SystemError) {
        var text = text
        let failure: SystemError? = text.withUTF8 { buffer in
            do throws(SystemError) {
                try BreakerRunKit.writeAll(UnsafeRawBufferPointer(buffer), to: descriptor, path: "standard output")
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }
}

/// Quotes words for a POSIX shell, so that `BREAKER_COMMAND` can be pasted
/// back into one.
public enum ShellQuote {
    /// The word as the shell would need it: unchanged when it holds only
    /// safe characters, else in single quotes with each `'` written `'\''`.
    /// - Parameter word: one argument.
    /// - Returns: the quoted word.
    public static func quote(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x2F || byte == 0x3A || byte == 0x3D || byte == 0x2C || byte == 0x2B
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

extension StandardOutput {
    /// Writes `bytes` to standard output as they are, all of them, retrying
    /// short writes and `EINTR`.
    /// - Parameter bytes: the bytes.
    /// - Throws: `SystemError` when standard output cannot take them.
    public static func write(bytes: [UInt8]) throws(SystemError) {
        try BreakerRunKit.writeAll(bytes, to: STDOUT_FILENO, path: "standard output")
    }
}
