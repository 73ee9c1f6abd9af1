import Synchronization

/// A pipe that a call writes its stdout into and a thread that forwards every
/// byte to breaker-run's stdout as it comes, keeping a copy of up to `limit`
/// bytes: how a process call's output is captured for the `cached` fallback
/// without delaying or changing what the caller reads.
///
/// Used only when the breaker has a `cached` fallback. The call's stdout is
/// then a pipe, not breaker-run's own (a program that checks `isatty(1)`
/// sees the difference). Once the call has ended, what is left in the pipe is
/// forwarded and the pipe is closed: a background process that the call left
/// behind and that writes later gets `EPIPE`. When breaker-run's stdout takes
/// no more (a reader that went away, a full disk), the pipe is closed at
/// once, so that the call gets `EPIPE` as it would have without the copy.
final class OutputTee: @unchecked Sendable {
    /// The end the call writes to (close-on-exec: the spawn dup2's it onto 1).
    let writeEnd: Int32
    private let readEnd: Int32
    private let limit: Int
    private let finished = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var captured: [UInt8] = []
    private var overflowed = false
    /// Set by the forwarding thread, read after it is joined.
    private var isReadEndClosed = false
    /// Why breaker-run's stdout took no more of the output: a reader that
    /// went away (`EPIPE`), a full disk (`ENOSPC`), ...; nil when every
    /// byte was delivered.
    private(set) var lostBecause: SystemError?

    /// Makes the pipe and starts the forwarding thread.
    /// - Parameter limit: the most bytes to keep.
    /// - Returns: nil when no pipe or thread could be made (then the call
    ///   runs without capture).
    init?(limit: Int) {
        var ends: [Int32] = [-1, -1]
        // pipe2(2) needs _GNU_SOURCE; nothing else spawns meanwhile, so
        // setting close-on-exec just after is as good.
        guard pipe(&ends) == 0 else { return nil }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        readEnd = ends[0]
        writeEnd = ends[1]
        self.limit = limit
        // The thread must not take the signals that the supervisor waits for.
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let context = Unmanaged.passRetained(self).toOpaque()
        guard pthread_create(&thread, nil, { context in
            let tee = Unmanaged<OutputTee>.fromOpaque(context!).takeRetainedValue()
            tee.pump()
            return nil
        }, context) == 0 else {
            Unmanaged<OutputTee>.fromOpaque(context).release()
            close(readEnd)
            close(writeEnd)
            return nil
        }
    }

    /// Ends the capture once the call has ended: closes the write end,
    /// forwards what is left, and waits for the thread.
    /// - Returns: the captured output, or nil when it was over the limit or
    ///   not all of it was delivered (`lostBecause`): a partial output is
    ///   never kept.
    func finish() -> [UInt8]? {
        close(writeEnd)
        finished.store(true, ordering: .releasing)
        pthread_join(thread, nil)
        if !isReadEndClosed { close(readEnd) }
        return overflowed || lostBecause != nil ? nil : captured
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var entry = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let isFinished = finished.load(ordering: .acquiring)
            let ready = pollRetryingInterrupts(&entry, count: 1, milliseconds: isFinished ? 0 : 50)
            if ready == 0 {
                if isFinished { return }
                continue
            }
            let count = (try? retryingInterrupts("read") { buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) } }) ?? -1
            if count <= 0 { return }
            do {
                try StandardOutput.write(bytes: Array(buffer[..<count]))
            } catch {
                // Nothing more can be delivered: closing the read end gives
                // the call EPIPE (SIGPIPE) on its next write, as writing to
                // breaker-run's stdout itself would have, instead of it
                // writing on into a pipe that nobody reads.
                lostBecause = error
                close(readEnd)
                isReadEndClosed = true
                return
            }
            if !overflowed {
                if captured.count + count > limit {
                    overflowed = true
                    captured = []
                } else {
                    captured += buffer[..<count]
                }
            }
        }
    }
}
