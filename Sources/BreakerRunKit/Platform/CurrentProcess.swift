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
}
