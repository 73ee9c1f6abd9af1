/// The write end of the active watch's pipe, for the signal handler: a C
/// handler cannot capture context. -1 when no watch is active.
nonisolated(unsafe) private var interruptPipe: Int32 = -1

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT while a network call runs, so
/// that the call is cancelled and recorded as interrupted (ignored), as a
/// process call is when breaker-run forwards such a signal to it
/// (`ProcessSupervisor.forwardedSignals`, `CallClassifier`); breaker-run then
/// ends by the same signal (its shell sees 128 plus its number).
///
/// The self-pipe trick: the handler, which may run on any thread (the HTTP
/// client's event loop included), writes the signal's number to a pipe that
/// the waiting thread polls beside what it waits for. The signals are
/// unblocked in the calling thread meanwhile; one ignored when breaker-run
/// started (nohup(1)) stays ignored. Only one watch is active at a time; the
/// previous actions and signal mask are restored by `end()`.
package final class InterruptWatch {
    /// The signals watched: the ones forwarded to a process call.
    static let signals: [Int32] = ProcessSupervisor.forwardedSignals

    /// Readable once a watched signal arrived.
    let descriptor: Int32
    private let writeDescriptor: Int32
    private var previous: [(Int32, sigaction)] = []
    private var previousMask = sigset_t()

    /// Installs the handlers; nil if no pipe could be made (the signals then
    /// keep their default action: breaker-run ends at once, recording nothing).
    package init?() {
        guard let ends = makeNonBlockingPipe() else { return nil }
        descriptor = ends.read
        writeDescriptor = ends.write
        interruptPipe = writeDescriptor
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signal in Self.signals {
            var old = sigaction()
            sigaction(signal, nil, &old)
            // Ignored as by nohup(1): it stays ignored.
            if unsafeBitCast(old.__sigaction_handler.sa_handler, to: Int.self) == 1 { continue }
            sigaddset(&unblocked, signal)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(interruptPipe, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
            previous.append((signal, old))
        }
        // breaker-run may have been started with them blocked.
        pthread_sigmask(SIG_UNBLOCK, &unblocked, &previousMask)
    }

    /// The first watched signal received, or nil if none was.
    func received() -> Int32? {
        var byte: UInt8 = 0
        return read(descriptor, &byte, 1) == 1 ? Int32(byte) : nil
    }

    /// What a wait ended with.
    package enum Wait: Equatable {
        /// The descriptor waited for is ready (or in error).
        case ready
        /// This watched signal arrived first.
        case interrupted(Int32)
        /// The time ran out first.
        case timedOut
    }

    /// Waits until `other` is ready for `events`, a watched signal arrives,
    /// or `milliseconds` pass (-1: no limit). poll(2), retried on EINTR.
    /// - Returns: what came first; a signal wins over a ready descriptor.
    package func wait(for other: Int32, events: Int16, milliseconds: Int32) -> Wait {
        var descriptors = [pollfd(fd: other, events: events, revents: 0)]
        return wait(for: &descriptors, milliseconds: milliseconds)
    }

    /// Waits until one of `descriptors` is ready, a watched signal arrives,
    /// or `milliseconds` pass (-1: no limit). poll(2), retried on EINTR.
    /// - Parameter descriptors: what to wait for; their `revents` are set.
    /// - Returns: what came first; a signal wins over a ready descriptor.
    func wait(for descriptors: inout [pollfd], milliseconds: Int32) -> Wait {
        var all = descriptors + [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        let ready = pollRetryingInterrupts(&all, count: all.count, milliseconds: milliseconds)
        descriptors = Array(all.dropLast())
        if all[all.count - 1].revents != 0, let signal = received() { return .interrupted(signal) }
        return ready == 0 ? .timedOut : .ready
    }

    /// Restores the signals' previous actions and closes the pipe.
    package func end() {
        pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        for (signal, old) in previous {
            var action = old
            sigaction(signal, &action, nil)
        }
        interruptPipe = -1
        close(descriptor)
        close(writeDescriptor)
    }
}

/// A pipe whose ends are close-on-exec and non-blocking (pipe2(2) needs
/// `_GNU_SOURCE`, which Swift's Glibc module lacks).
/// - Returns: the read and write ends, or nil when pipe(2) fails (errno set).
package func makeNonBlockingPipe() -> (read: Int32, write: Int32)? {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return nil }
    for end in ends {
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
    }
    return (ends[0], ends[1])
}
