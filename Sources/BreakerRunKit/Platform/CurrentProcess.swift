/// This process as the system sees it: its executable, the host it runs on,
/// and the replacing of its image by another program.
public enum CurrentProcess {
    /// This process's executable, read from the `/proc/self/exe` link
    /// (proc(5), readlink(2); not retried: readlink(2) does not fail with
    /// `EINTR`).
    /// - Returns: the path, or nil when the link cannot be read.
    public static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The name of the host this process runs on (gethostname(2)).
    /// - Returns: the name, or nil when it cannot be read.
    public static func hostName() -> String? {
        var name = [UInt8](repeating: 0, count: 256)
        let named = name.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count - 1) }
        }
        return named == 0 ? String(decoding: name.prefix { $0 != 0 }, as: UTF8.self) : nil
    }

    /// Replaces this process's image with the program at `path` (execv(3)):
    /// same process, same environment, every descriptor that is not
    /// close-on-exec kept. Nothing to retry: execve(2) does not fail with
    /// `EINTR`.
    /// - Parameters:
    ///   - path: the program, an absolute path (no `PATH` search).
    ///   - arguments: its argv, null-terminated, such as `CommandLine.unsafeArgv`.
    /// - Returns: only when the program could not be executed: the error,
    ///   with execv's `errno`.
    @discardableResult
    public static func replace(with path: String, arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> SystemError {
        execv(path, arguments)
        return SystemError("execv", path: path, errno: errno)
    }

    /// This process's standard input, read to its end or to `limit` bytes
    /// (read(2) on descriptor 0, retrying `EINTR`): what a `queue` fallback
    /// keeps. A terminal, a closed descriptor or a directory is no input
    /// (an interactive run must not wait for the keyboard).
    /// - Parameter limit: the most bytes read; one more than the largest
    ///   input kept tells an input that is too large.
    /// - Returns: the bytes read, at most `limit`.
    /// - Throws: `SystemError` when reading fails for another reason.
    public static func readStandardInput(limit: Int) throws(SystemError) -> [UInt8] {
        if isatty(0) == 1 { return [] }
        var status = stat()
        if fstat(0, &status) != 0 || (status.st_mode & S_IFMT) == S_IFDIR { return [] }
        do {
            return try readToEnd(0, path: "standard input", sizeHint: min(limit, 65_535), limit: limit)
        } catch where error.errno == EBADF {
            return []
        }
    }

    /// This process's working directory (getcwd(3)); not retried:
    /// getcwd does not fail with `EINTR`.
    /// - Returns: the absolute path, or nil when it cannot be read (removed,
    ///   or longer than `PATH_MAX`).
    public static func workingDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Makes `bytes` this process's standard input, from its start, for the
    /// calls it starts next (which inherit descriptor 0): written to an
    /// unlinked temporary file in `$TMPDIR` (else `/tmp`, mode 0600, removed
    /// at once, so nothing is left behind), which replaces descriptor 0
    /// (dup2(2)). `breaker-run drain` gives each replayed item its stored
    /// input this way.
    /// - Parameters:
    ///   - bytes: the input, any bytes.
    ///   - environment: where `TMPDIR` is read.
    /// - Throws: `SystemError` when the file cannot be made or written, or
    ///   dup2(2) fails; descriptor 0 is then unchanged.
    public static func replaceStandardInput(with bytes: [UInt8], environment: [String: String]) throws(SystemError) {
        let directory = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/breaker-run-input-XXXXXX".utf8CString)
        let descriptor = try retryingInterrupts("mkstemp", path: directory) {
            template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        }
        defer { closeDescriptor(descriptor) }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = unlink(path)
        try writeAll(bytes, to: descriptor, path: path)
        _ = try retryingInterrupts("lseek", path: path) { lseek(descriptor, 0, SEEK_SET) }
        _ = try retryingInterrupts("dup2", path: path) { dup2(descriptor, 0) }
    }
}
