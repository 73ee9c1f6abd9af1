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

extension SystemError {
    /// Matches a failure by its `errno`, so that a `Result` of
    /// `valueOrError(_:path:_:)` can be switched over as `.failure(ENOENT)`.
    /// - Parameters:
    ///   - pattern: an `errno` value, such as `ENOENT`.
    ///   - error: the failure.
    /// - Returns: whether the failure set that `errno`.
    @inlinable
    public static func ~= (pattern: Int32, error: SystemError) -> Bool {
        pattern == error.errno
    }
}
