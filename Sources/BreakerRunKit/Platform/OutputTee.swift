#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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
/// behind and that writes later gets `EPIPE`.
final class OutputTee: @unchecked Sendable {
    /// The end the call writes to (close-on-exec: the spawn dup2's it onto 1).
    let writeEnd: Int32
    private let readEnd: Int32
    private let limit: Int
    private let finished = Atomic<Bool>(false)
    private var thread = pthread_t()
    private var captured: [UInt8] = []
    private var overflowed = false

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
    /// - Returns: the captured output, or nil when it was over the limit.
    func finish() -> [UInt8]? {
        close(writeEnd)
        finished.store(true, ordering: .releasing)
        pthread_join(thread, nil)
        close(readEnd)
        return overflowed ? nil : captured
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var outputGone = false
        while true {
            var entry = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let isFinished = finished.load(ordering: .acquiring)
            let ready = poll(&entry, 1, isFinished ? 0 : 50)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                if isFinished { return }
                continue
            }
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            if !outputGone {
                outputGone = (try? StandardOutput.write(bytes: Array(buffer[..<count]))) == nil
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
