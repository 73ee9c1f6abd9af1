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
@discardableResult
public func retryingInterrupts<T: FixedWidthInteger>(_ operation: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw SystemError(operation, path: path, errno: code) }
    }
}
