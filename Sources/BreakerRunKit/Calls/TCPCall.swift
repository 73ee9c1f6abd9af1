import CircuitBreaker

/// A `tcp` call: success when a connection to `host` and `port` is
/// established within the breaker's `timeout`; the connection is closed at
/// once. Every address the host resolves to (IPv6 and IPv4) is tried, Happy
/// Eyeballs style (RFC 8305): a new attempt every 250 ms or as soon as one
/// fails, the first to connect winning, all within the one `timeout`.
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
    /// the connection, 124 when the time ran out; SIGINT, SIGTERM, SIGHUP or
    /// SIGQUIT meanwhile ends the attempt, ignored, and breaker-run then ends by
    /// that signal (`InterruptWatch`).
    /// - Parameter context: the breaker and its `timeout`.
    /// - Returns: how it ended.
    public func run(_ context: CallContext) -> CallResult {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = context.breaker.timeout.map { started + $0 }
        guard let watch = InterruptWatch() else {
            let outcome = Outcome.ignored(reason: "could not start: no pipe for the signal watch: \(String(cString: strerror(errno)))")
            context.logger.error("\(context.breaker.name): \(context.role): \(outcome.summary)")
            return CallResult(ending: .ran(.network(exitStatus: ExitStatus.ioError.rawValue, outcome: outcome)), outcome: outcome)
        }
        let result = connect(deadline: deadline, clock: clock, watch: watch)
        watch.end()
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
        case .interrupted(let signal):
            outcome = .ignored(reason: "interrupted by \(SignalName.of(signal))")
            run = CallRun(termination: .signaled(signal), timedOut: false, interruption: signal, outcome: outcome)
        case .timedOut:
            outcome = .failure(reason: "timeout after \(DurationFormat.string(elapsed)) connecting to \(host) port \(port)")
            run = .network(exitStatus: ExitStatus.timedOut.rawValue, timedOut: true, outcome: outcome)
        }
        // At info, reason included: the runner's one line at the default
        // level carries the reason of a failure.
        context.logger.info("\(breaker.name): \(context.role): \(outcome.summary) after \(DurationFormat.string(elapsed))")
        return CallResult(ending: .ran(run), outcome: outcome)
    }

    private enum Attempt {
        case connected
        case failed(ExitStatus, String)
        case timedOut
        case interrupted(Int32)
    }

    /// The delay before the next address is tried while earlier attempts
    /// are still pending: RFC 8305's recommended Connection Attempt Delay.
    static let attemptDelay: Duration = .milliseconds(250)

    /// Connects to any address of the host, Happy Eyeballs style (RFC 8305,
    /// section 5): the addresses in getaddrinfo(3)'s order (which puts IPv6
    /// first where it is usable), a new attempt started every 250 ms while
    /// earlier ones are pending, or at once when one fails; the first to
    /// connect wins; all within the one deadline.
    private func connect(deadline: ContinuousClock.Instant?, clock: ContinuousClock, watch: InterruptWatch) -> Attempt {
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
        var addresses: [SocketAddress] = []
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let entry = current {
            let bytes = UnsafeRawBufferPointer(start: entry.pointee.ai_addr, count: Int(entry.pointee.ai_addrlen))
            addresses.append(SocketAddress(family: entry.pointee.ai_family, bytes: Array(bytes)))
            current = entry.pointee.ai_next
        }
        switch Self.connect(to: addresses, deadline: deadline, clock: clock, watch: watch) {
        case .connected: return .connected
        case .failed(let error): return .failed(.connectionFailed, "could not connect to \(host) port \(port): \(String(cString: strerror(error)))")
        case .timedOut: return .timedOut
        case .interrupted(let signal): return .interrupted(signal)
        }
    }

    /// One address to connect to: a `sockaddr` of its family, as bytes.
    struct SocketAddress {
        /// `AF_INET` or `AF_INET6`.
        var family: Int32
        /// The `sockaddr_in` or `sockaddr_in6`.
        var bytes: [UInt8]
    }

    /// How connecting to a list of addresses ended.
    enum Connection: Equatable {
        /// Connected to the address at this index.
        case connected(Int)
        /// Every address failed; the last error (errno).
        case failed(Int32)
        /// The deadline passed first.
        case timedOut
        /// A watched signal arrived first.
        case interrupted(Int32)
    }

    /// Connects to the first address that takes the connection, Happy
    /// Eyeballs style (RFC 8305, section 5): in order, a new attempt every
    /// `attemptDelay` while earlier ones are pending, or at once when one
    /// fails; the first to connect wins; all within the one deadline.
    /// - Parameters:
    ///   - addresses: where to connect, in order of preference.
    ///   - deadline: when to give up; nil for never.
    ///   - clock: the clock of the deadline.
    ///   - watch: the signals that end the attempt.
    /// - Returns: which address took it, or why none did.
    static func connect(to addresses: [SocketAddress], deadline: ContinuousClock.Instant?, clock: ContinuousClock, watch: InterruptWatch) -> Connection {
        var lastError = ECONNREFUSED
        var pending: [(descriptor: Int32, index: Int)] = []
        defer { pending.forEach { close($0.descriptor) } }
        var next = 0
        var nextStart = clock.now
        while true {
            if let deadline, clock.now >= deadline { return .timedOut }
            if next < addresses.count && (clock.now >= nextStart || pending.isEmpty) {
                let address = addresses[next]
                next += 1
                nextStart = clock.now + attemptDelay
                let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                let descriptor = socket(address.family, socketType, 0)
                guard descriptor >= 0 else { lastError = errno; continue }
                let started = address.bytes.withUnsafeBytes {
                    Glibc.connect(descriptor, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
                if started == 0 {
                    close(descriptor)
                    return .connected(next - 1)
                }
                guard errno == EINPROGRESS else {
                    lastError = errno
                    close(descriptor)
                    continue
                }
                pending.append((descriptor, next - 1))
            }
            if pending.isEmpty {
                if next < addresses.count { continue }
                return .failed(lastError)
            }
            // Wait for an attempt, the next start, the deadline or a signal.
            var wake: ContinuousClock.Instant? = next < addresses.count ? nextStart : nil
            if let deadline { wake = wake.map { min($0, deadline) } ?? deadline }
            var descriptors = pending.map { pollfd(fd: $0.descriptor, events: Int16(POLLOUT), revents: 0) }
            switch watch.wait(for: &descriptors, milliseconds: wake.map { milliseconds(until: $0, clock: clock) } ?? -1) {
            case .interrupted(let signal): return .interrupted(signal)
            case .timedOut: continue
            case .ready: break
            }
            for polled in descriptors where polled.revents != 0 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(polled.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                if error == 0 { return .connected(pending.first { $0.descriptor == polled.fd }?.index ?? 0) }
                lastError = error
                close(polled.fd)
                pending.removeAll { $0.descriptor == polled.fd }
                // One failed quickly: the next need not wait its turn.
                nextStart = clock.now
            }
        }
    }

    /// Whole milliseconds from now until `instant`, rounded up, at least 0.
    private static func milliseconds(until instant: ContinuousClock.Instant, clock: ContinuousClock) -> Int32 {
        let left = instant - clock.now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
