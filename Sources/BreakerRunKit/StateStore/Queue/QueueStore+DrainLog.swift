extension QueueStore {
    /// The file that a drain started on close writes its output to:
    /// `NAME/queue/drain.log`, appended to, never through a symbolic link.
    static let drainLog = "drain.log"

    /// Opens `NAME/queue/drain.log` for appending (created 0600, or 0660 in
    /// a shared directory; close-on-exec), for the output of a drain
    /// started when a trial closes the breaker (`drain: on_close`).
    /// - Returns: the descriptor, owned by the caller, and the file's path;
    ///   nil when the queue does not exist (nothing to drain).
    /// - Throws: `StateStoreError` when the queue cannot be opened or the
    ///   file cannot be opened or created (a symbolic link there included).
    package func openDrainLog() throws -> (descriptor: Int32, path: String)? {
        guard let queue = try openQueue(creating: false) else { return nil }
        defer { queue.close() }
        let descriptor = try queue.openRegularFile(Self.drainLog, flags: O_WRONLY | O_APPEND | O_CREAT)
        return (descriptor, queue.path(Self.drainLog))
    }
}
