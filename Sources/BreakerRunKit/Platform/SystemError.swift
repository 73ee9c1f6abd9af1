#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which one, on what, and the `errno` it set.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed, such as "open" or "flock".
    public var operation: String
    /// The path or object it was applied to, if any.
    public var path: String?
    /// The `errno` value.
    public var errno: Int32

    /// Creates an error.
    /// - Parameters:
    ///   - operation: the failed call.
    ///   - path: the path it was applied to, if any.
    ///   - errno: the `errno` value.
    public init(_ operation: String, path: String? = nil, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// "open /var/lib/x: Permission denied".
    public var description: String {
        let message = String(cString: strerror(errno))
        if let path { return "\(operation) \(path): \(message)" }
        return "\(operation): \(message)"
    }
}

/// Calls `body` until it does not fail with `EINTR`, as every blocking libc
/// call here must be.
/// - Parameters:
///   - operation: the call's name, for the error.
///   - path: the path it applies to, for the error.
///   - body: the call; returns -1 and sets `errno` on failure.
/// - Returns: the call's non-negative result.
/// - Throws: `SystemError` with the call's `errno` for any failure but `EINTR`.
/// Closes a descriptor, ignoring the result: on Linux the descriptor is
/// released even when close(2) fails, and retrying could close another one.
func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Writes every byte of `bytes` to `descriptor`, resuming after a short
/// write or an interrupted one (POSIX lets write(2) write less than asked).
/// - Parameters:
///   - bytes: what to write.
///   - descriptor: an open file.
///   - path: the file's path, for the error.
/// - Throws: `SystemError` with write(2)'s `errno` for any failure but `EINTR`.
func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(SystemError) {
    var offset = 0
    while offset < bytes.count {
        offset += try retryingInterrupts("write", path: path) {
            bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
        }
    }
}

@discardableResult
public func retryingInterrupts<T: FixedWidthInteger>(_ operation: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw SystemError(operation, path: path, errno: code) }
    }
}

/// Replaces the file at `path` with `bytes` atomically and durably, through
/// `temporary` (a name of the same directory, created `O_EXCL | O_NOFOLLOW`
/// with `mode`): every byte written, the mode set (the umask may have
/// narrowed it), fsync(2), rename(2) over `path` (POSIX: "there shall be no
/// point at which new does not exist"), so that a crash leaves the old file
/// or the whole new one. On a failure the temporary file is removed and
/// `path` is as it was.
/// - Parameters:
///   - path: the file to replace.
///   - bytes: its new contents.
///   - temporary: the temporary file's path, unique to the writer.
///   - mode: the permission bits of the new file.
/// - Throws: `SystemError` of the call that failed.
func replaceFileAtomically(_ path: String, with bytes: [UInt8], temporary: String, mode: mode_t) throws(SystemError) {
    let descriptor = try retryingInterrupts("open", path: temporary) {
        open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    }
    var isOpen = true
    do {
        try writeAll(bytes, to: descriptor, path: temporary)
        _ = try retryingInterrupts("fchmod", path: temporary) { fchmod(descriptor, mode) }
        _ = try retryingInterrupts("fsync", path: temporary) { fsync(descriptor) }
        closeDescriptor(descriptor)
        isOpen = false
        _ = try retryingInterrupts("rename", path: temporary) { rename(temporary, path) }
    } catch {
        if isOpen { closeDescriptor(descriptor) }
        _ = unlink(temporary)
        throw error
    }
}
