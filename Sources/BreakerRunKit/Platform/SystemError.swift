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
