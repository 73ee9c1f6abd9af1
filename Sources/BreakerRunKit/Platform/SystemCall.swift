// The one place that imports the C library. It is re-exported, so that the
// Kit's other files, and the modules that import the Kit, see its types and
// constants (`stat`, `pollfd`, `O_CLOEXEC`) without a ladder of their own;
// the calls that can be interrupted go through the wrappers below.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif

/// Calls `body` until it does not fail with `EINTR`, and types its `errno`.
///
/// A blocking call interrupted by a signal handler fails with `EINTR`
/// (signal(7), "Interruption of system calls and library functions by signal
/// handlers"); open(2), read(2), write(2), fsync(2), flock(2), rename(2),
/// waitpid(2), poll(2) and the like are then to be called again. close(2) is
/// the exception and never goes through here: on Linux the descriptor is
/// released even when it fails with `EINTR` (see `closeDescriptor(_:)`).
/// - Parameters:
///   - operation: the call's name, for the error.
///   - path: the path or object it applies to, for the error.
///   - body: the call; returns -1 and sets `errno` on failure.
/// - Returns: the call's result, or the failure with its `errno` (never `EINTR`).
@inlinable
public func valueOrError<T: FixedWidthInteger>(_ operation: String, path: String? = nil, _ body: () -> T) -> Result<T, SystemError> {
    while true {
        let result = body()
        if result != -1 { return .success(result) }
        let code = errno
        if code != EINTR { return .failure(SystemError(operation, path: path, errno: code)) }
    }
}

/// Calls `body` until it does not fail with `EINTR`, as every blocking libc
/// call here must be (`valueOrError(_:path:_:)` says why).
/// - Parameters:
///   - operation: the call's name, for the error.
///   - path: the path it applies to, for the error.
///   - body: the call; returns -1 and sets `errno` on failure.
/// - Returns: the call's non-negative result.
/// - Throws: `SystemError` with the call's `errno` for any failure but `EINTR`.
@inlinable
@discardableResult
public func retryingInterrupts<T: FixedWidthInteger>(_ operation: String, path: String? = nil, _ body: () -> T) throws(SystemError) -> T {
    try valueOrError(operation, path: path, body).get()
}

/// Closes a descriptor, ignoring the result: on Linux the descriptor is
/// released even when close(2) fails, and retrying could close another one
/// that a thread opened meanwhile (close(2), "Dealing with error returns").
/// - Parameter descriptor: an open descriptor, not used afterwards.
@inlinable
public func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Writes every byte of `bytes` to `descriptor`, resuming after a short
/// write or an interrupted one (POSIX lets write(2) write less than asked).
/// - Parameters:
///   - bytes: what to write.
///   - descriptor: an open file.
///   - path: the file's path, for the error.
/// - Throws: `SystemError` with write(2)'s `errno` for any failure but `EINTR`.
func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws(SystemError) {
    var offset = 0
    while offset < bytes.count {
        offset += try retryingInterrupts("write", path: path) {
            write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        }
    }
}

/// Writes every byte of `bytes` to `descriptor`, as the buffer form does.
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

/// Reads `descriptor` to its end, or to `limit` bytes, retrying `EINTR`
/// (read(2)).
/// - Parameters:
///   - descriptor: an open file.
///   - path: the file's path, for the error.
///   - sizeHint: the expected size in bytes (from fstat(2)), so that one
///     buffer usually suffices; the buffer grows if the file is longer.
///   - limit: the most bytes read; the rest is left unread.
/// - Returns: every byte read, at most `limit`.
/// - Throws: `SystemError` with read(2)'s `errno` for any failure but `EINTR`.
public func readToEnd(_ descriptor: Int32, path: String, sizeHint: Int = 65_535, limit: Int = .max) throws(SystemError) -> [UInt8] {
    let limit = max(limit, 0)
    var bytes = [UInt8](repeating: 0, count: min(max(sizeHint, 0) + 1, limit))
    var filled = 0
    while filled < limit {
        if filled == bytes.count { bytes += [UInt8](repeating: 0, count: min(max(bytes.count, 65_536), limit - filled)) }
        let count = try retryingInterrupts("read", path: path) {
            bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
        }
        if count == 0 { break }
        filled += count
    }
    bytes.removeSubrange(filled...)
    return bytes
}

/// The names in the open directory `descriptor` (readdir(3) on a duplicate
/// of it, from the start), without `.` and `..`, in no order.
/// - Parameters:
///   - descriptor: an open directory; it stays open and unmoved.
///   - path: its path, for the error.
/// - Returns: the names.
/// - Throws: `SystemError` of dup(2) or fdopendir(3).
func directoryNames(_ descriptor: Int32, path: String) throws(SystemError) -> [String] {
    let copy = dup(descriptor)
    guard copy >= 0, let stream = fdopendir(copy) else {
        let code = errno
        if copy >= 0 { closeDescriptor(copy) }
        throw SystemError("opendir", path: path, errno: code)
    }
    defer { closedir(stream) }
    rewinddir(stream)
    var names: [String] = []
    while let entry = readdir(stream) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Waits until one of `count` descriptors is ready or `milliseconds` pass
/// (-1: no limit), retrying `EINTR` with the same time-out (poll(2)).
/// - Parameters:
///   - descriptors: what to wait for; their `revents` are set.
///   - count: how many there are.
///   - milliseconds: the time-out.
/// - Returns: how many are ready (0: the time ran out), or -1 when poll(2)
///   failed otherwise (`EFAULT`, `EINVAL`, `ENOMEM`).
func pollRetryingInterrupts(_ descriptors: UnsafeMutablePointer<pollfd>, count: Int, milliseconds: Int32) -> Int32 {
    (try? retryingInterrupts("poll") { poll(descriptors, nfds_t(count), milliseconds) }) ?? -1
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
