#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CircuitBreaker

/// A `tcp` call: success when a connection to `host` and `port` is
/// established within the breaker's `timeout`; the connection is closed at
/// once. Every address the host resolves to (IPv6 and IPv4) is tried in
/// getaddrinfo(3)'s order, each with the time that is left.
public struct TCPCall: Call {
    /// The host name or address.
    public var host: String
    /// The port, 1-65535.
    public var port: Int

    /// Creates a tcp call.
    /// - Parameters:
    ///   - host: the host name or address.
    ///   - port: the port.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Connects, and classifies: connected is a success (exit 0); otherwise
    /// a failure: 6 when the host does not resolve, 7 when no address takes
    /// the connection, 124 when the time ran out.
    /// - Parameter context: the breaker and its `timeout`.
    /// - Returns: how it ended.
    public func run(_ context: CallContext) -> CallResult {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = context.breaker.timeout.map { started + $0 }
        let result = connect(deadline: deadline, clock: clock)
        let breaker = context.breaker
        let elapsed = clock.now - started
        let outcome: Outcome
        let run: CallRun
        switch result {
        case .connected:
            if let slow = breaker.slowCallDuration, elapsed > slow {
                outcome = .failure(reason: "slow call (\(DurationFormat.string(elapsed)), over slow_call_duration \(DurationFormat.string(slow)))")
            } else {
                outcome = .success
            }
            run = .network(exitStatus: 0, outcome: outcome)
        case .failed(let status, let reason):
            outcome = .failure(reason: reason)
            run = .network(exitStatus: status.rawValue, outcome: outcome)
        case .timedOut:
            outcome = .failure(reason: "timeout after \(DurationFormat.string(elapsed)) connecting to \(host) port \(port)")
            run = .network(exitStatus: 124, timedOut: true, outcome: outcome)
        }
        if case .failure(let reason) = outcome {
            context.logger.warning("\(breaker.name): \(context.label): \(reason)")
        }
        context.logger.info("\(breaker.name): \(context.label): \(outcome.summary) after \(DurationFormat.string(elapsed))")
        return CallResult(run: .ran(run), outcome: outcome)
    }

    private enum Attempt {
        case connected
        case failed(NetworkExitStatus, String)
        case timedOut
    }

    private func connect(deadline: ContinuousClock.Instant?, clock: ContinuousClock) -> Attempt {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0, let first = list else {
            let text = code == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(code))
            return .failed(.unresolvedHost, "could not resolve host \(host): \(text)")
        }
        defer { freeaddrinfo(first) }
        var lastError = ECONNREFUSED
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let entry = current {
            current = entry.pointee.ai_next
            let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            let descriptor = socket(entry.pointee.ai_family, socketType, 0)
            guard descriptor >= 0 else { lastError = errno; continue }
            defer { close(descriptor) }
            if Glibc.connect(descriptor, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return .connected }
            guard errno == EINPROGRESS else { lastError = errno; continue }
            while true {
                var timeout: Int32 = -1
                if let deadline {
                    let left = deadline - clock.now
                    if left <= .zero { return .timedOut }
                    let (seconds, attoseconds) = left.components
                    timeout = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
                }
                var entryPoll = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&entryPoll, 1, timeout)
                if ready < 0 {
                    if errno == EINTR { continue }
                    lastError = errno
                    break
                }
                if ready == 0 { continue }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
                if error == 0 { return .connected }
                lastError = error
                break
            }
        }
        return .failed(.connectionFailed, "could not connect to \(host) port \(port): \(String(cString: strerror(lastError)))")
    }
}
