import AsyncHTTPClient
import BreakerRunKit
import CircuitBreaker
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An `http` call: one request with async-http-client, its response body
/// written to stdout byte for byte when the call succeeds.
///
/// The client and its event loop are made only here, so a `command` run pays
/// nothing for them. breaker-run waits for the response (its run is
/// synchronous); SIGINT, SIGTERM, SIGHUP or SIGQUIT meanwhile cancels the
/// request, which is recorded as ignored ("interrupted by SIGINT"), as a
/// process call's is, and breaker-run then ends by that signal
/// (`InterruptWatch`).
public struct HTTPCall: Call {
    /// The request and its rules.
    public var specification: HTTPCallSpecification

    /// Creates an http call.
    /// - Parameter specification: the request and its rules.
    public init(specification: HTTPCallSpecification) {
        self.specification = specification
    }

    /// Sends the request and classifies the response: a status in
    /// `ignore_status` is ignored; one in `expect_status`, with a body that
    /// matches `expect_body`, a success; anything else a failure, with curl's
    /// exit status (`ExitStatus.network`) or 124 for a timeout; 78 when the
    /// request cannot be made as configured (an unset `${VAR}`, an unreadable
    /// `body_file`).
    /// - Parameter context: the breaker, the environment and the limits.
    /// - Returns: how it ended.
    public func run(_ context: CallContext) -> CallResult {
        let breaker = context.breaker
        let clock = ContinuousClock()
        let started = clock.now
        let request: HTTPClient.Request
        do {
            request = try makeRequest(environment: context.environment)
        } catch {
            context.logger.error("\(breaker.name): \(context.role): \(error)")
            let outcome = Outcome.ignored(reason: "could not start: \(error)")
            return CallResult(ending: .ran(.network(exitStatus: ExitStatus.configuration.rawValue, outcome: outcome)), outcome: outcome)
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(timeout: breaker.timeout))
        defer { try? client.syncShutdown() }
        let deadline = breaker.timeout.map { NIODeadline.now() + .nanoseconds(Self.nanoseconds($0)) }
        let accumulator = ResponseAccumulator(request: request, maxBodySize: specification.maxBody)
        let response: HTTPClient.Response
        do {
            let watch = InterruptWatch()
            defer { watch?.end() }
            let task = client.execute(request: request, delegate: accumulator, deadline: deadline)
            if let watch, case .interrupted(let signal) = Self.wait(for: task.futureResult, watch: watch) {
                task.cancel()
                _ = try? task.futureResult.wait()
                let outcome = Outcome.ignored(reason: "interrupted by \(SignalName.of(signal))")
                context.logger.notice("\(breaker.name): \(context.role): \(specification.method) \(specification.url): \(outcome.summary)")
                let run = CallRun(termination: .signaled(signal), timedOut: false, interruption: signal, outcome: outcome)
                return CallResult(ending: .ran(run), outcome: outcome)
            }
            response = try task.futureResult.wait()
        } catch {
            let failure = Self.failure(for: error, maxBody: specification.maxBody, host: request.host, port: request.port)
            let elapsed = clock.now - started
            // The network stack's errors quote the request (a host, a path):
            // its ${VAR} values are hidden before the reason goes anywhere.
            let redaction = SecretRedaction(specification.interpolatedValues.map(\.value), environment: context.environment)
            let cause = redaction.redact(failure.reason)
            let reason = failure.isTimeout ? "timeout after \(DurationFormat.string(elapsed)) (\(cause))" : cause
            // At info: the runner's one line at the default level carries the reason.
            context.logger.info("\(breaker.name): \(context.role): \(specification.method) \(specification.url): \(reason)")
            let outcome = Outcome.failure(reason: reason)
            let run = CallRun.network(exitStatus: failure.isTimeout ? ExitStatus.timedOut.rawValue : failure.status.rawValue, timedOut: failure.isTimeout, outcome: outcome)
            return CallResult(ending: .ran(run), outcome: outcome)
        }
        let duration = clock.now - started
        let status = Int(response.status.code)
        var body: [UInt8] = []
        if let buffer = response.body { body = Array(buffer.readableBytesView) }
        var outcome: Outcome
        if specification.ignoreStatus.contains(status) {
            outcome = .ignored(reason: "HTTP \(status)")
        } else if !specification.expectStatus.contains(status) {
            outcome = .failure(reason: "HTTP \(status), expected \(specification.expectStatus)")
        } else if let pattern = specification.expectBody, !Self.body(body, matches: pattern) {
            outcome = .failure(reason: "HTTP \(status), body does not match expect_body")
        } else if let slow = breaker.slowCallDuration, duration > slow {
            outcome = .failure(reason: "slow call (\(DurationFormat.string(duration)), over slow_call_duration \(DurationFormat.string(slow)))")
        } else {
            outcome = .success
        }
        context.logger.info("\(breaker.name): \(context.role): HTTP \(status), \(body.count) bytes in \(DurationFormat.string(duration)): \(outcome.summary)")
        let isSuccessStatus = specification.expectStatus.contains(status) && !specification.ignoreStatus.contains(status)
        var exitStatus: Int32 = 0
        if case .failure(let reason) = outcome, !reason.hasPrefix("slow call") {
            context.logger.info("\(breaker.name): \(context.role): \(specification.method) \(specification.url): \(reason)")
            exitStatus = ExitStatus.unexpectedResponse.rawValue
        } else if !isSuccessStatus {
            exitStatus = ExitStatus.unexpectedResponse.rawValue
        }
        // The body goes to stdout when the response is the expected one, as
        // `curl --fail` does; a probe's body goes nowhere.
        if exitStatus == 0 && !context.isBackground {
            do {
                try StandardOutput.write(bytes: body)
            } catch {
                context.logger.error("\(breaker.name): the response body was lost: \(error)")
                exitStatus = ExitStatus.ioError.rawValue
            }
        }
        var retryAfter: Duration?
        if specification.honorsRetryAfter, status == 429 || status == 503, let header = response.headers.first(name: "Retry-After") {
            retryAfter = RetryAfter.parse(header, now: Self.wallSeconds()).map { min($0, specification.maxRetryAfter) }
        }
        let captured = context.captureLimit.flatMap { body.count <= $0 ? body : nil }
        return CallResult(ending: .ran(.network(exitStatus: exitStatus, outcome: outcome)), outcome: outcome,
                          retryAfter: retryAfter, output: outcome == .success ? captured : nil)
    }

    /// The request, its `${VAR}` values resolved.
    private func makeRequest(environment: [String: String]) throws -> HTTPClient.Request {
        func resolve(_ value: InterpolatedString) throws -> String {
            switch value.resolve(in: environment) {
            case .success(let text): return text
            case .failure(let unset): throw HTTPCallError.unsetVariable(unset.names[0])
            }
        }
        var headers = HTTPHeaders()
        for header in specification.headers { headers.add(name: header.name, value: try resolve(header.value)) }
        var body = try specification.body.map { HTTPClient.Body.string(try resolve($0)) }
        if let path = specification.bodyFile {
            body = .bytes(try Self.contents(ofFile: path))
        }
        do {
            return try HTTPClient.Request(url: try resolve(specification.url), method: HTTPMethod(rawValue: specification.method), headers: headers, body: body)
        } catch let error as HTTPCallError {
            throw error
        } catch {
            // Not the URL itself: it may hold a secret.
            throw HTTPCallError.invalidURL(specification.url.description)
        }
    }

    /// Waits until `future` completes or a watched signal arrives.
    /// - Returns: `.interrupted(signal)`, or `.ready` once the future is
    ///   complete (also when no pipe could be made to learn of it: then the
    ///   caller's `wait()` blocks as before).
    private static func wait<Value>(for future: EventLoopFuture<Value>, watch: InterruptWatch) -> InterruptWatch.Wait {
        guard let wakeup = Wakeup() else { return .ready }
        defer { wakeup.close() }
        future.whenComplete { _ in wakeup.ring() }
        var result = InterruptWatch.Wait.timedOut
        while result == .timedOut {
            result = watch.wait(for: wakeup.descriptor, events: Int16(POLLIN), milliseconds: -1)
        }
        return result
    }

    /// The bytes of `body_file`, read now.
    /// - Throws: `HTTPCallError.unreadableBodyFile` naming the file and errno's text.
    private static func contents(ofFile path: String) throws -> [UInt8] {
        do throws(SystemError) {
            let descriptor = try retryingInterrupts("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
            defer { closeDescriptor(descriptor) }
            return try readToEnd(descriptor, path: path)
        } catch {
            throw HTTPCallError.unreadableBodyFile(path, String(cString: strerror(error.errno)))
        }
    }

    private func configuration(timeout: Duration?) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if specification.isInsecure { tls.certificateVerification = .none }
        if let caFile = specification.caFile { tls.trustRoots = .file(caFile) }
        let connect = timeout.map { TimeAmount.nanoseconds(Self.nanoseconds($0)) }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: specification.followsRedirects ? .follow(max: 5, allowCycles: false) : .disallow,
            timeout: .init(connect: connect)
        )
        // A refused connection is an answer: report it now, not at the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000
    }

    private static func body(_ body: [UInt8], matches pattern: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return String(decoding: body, as: UTF8.self).contains(regex)
    }

    private static func wallSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    /// The exit status and one-line reason for a request that got no
    /// response, worded as a `tcp` call's are: `could not resolve host
    /// NAME`, `could not connect to HOST port PORT: Connection refused`,
    /// without the network library's types and codes.
    /// - Parameters:
    ///   - error: what the client threw.
    ///   - maxBody: the `max_body` limit, in bytes, for its message.
    ///   - host: the request's host, for messages.
    ///   - port: the request's port, for messages.
    /// - Returns: the status, the reason, and whether it was a timeout.
    static func failure(for error: any Error, maxBody: Int, host: String, port: Int) -> (status: ExitStatus, reason: String, isTimeout: Bool) {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded: return (.connectionFailed, "no response", true)
            case .readTimeout: return (.connectionFailed, "read timeout", true)
            case .writeTimeout: return (.connectionFailed, "write timeout", true)
            case .connectTimeout: return (.connectionFailed, "connect timeout", true)
            case .tlsHandshakeTimeout: return (.tlsHandshakeFailed, "TLS handshake timeout", true)
            case .redirectLimitReached: return (.tooManyRedirects, "more than 5 redirects", false)
            case .redirectCycleDetected: return (.tooManyRedirects, "redirect cycle", false)
            default: return (.connectionFailed, "\(error)", false)
            }
        case is ResponseAccumulator.ResponseTooBigError:
            return (.responseTooLarge, "response body larger than max_body (\(maxBody) bytes)", false)
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first {
                return failure(for: first.error, maxBody: maxBody, host: error.host, port: error.port)
            }
            return (.unresolvedHost, "could not resolve host \(error.host)", false)
        case is SocketAddressError:
            return (.unresolvedHost, "could not resolve host \(host)", false)
        case let error as IOError:
            return (.connectionFailed, "could not connect to \(host) port \(port): \(String(cString: strerror(error.errnoCode)))", false)
        case let error as NIOSSLError:
            let text = "\(error)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
                return (.untrustedCertificate, "untrusted certificate: \(text)", false)
            }
            return (.tlsHandshakeFailed, "TLS handshake failed: \(text)", false)
        case let error as NIOSSLExtraError:
            return (.untrustedCertificate, "untrusted certificate: \(error)", false)
        default:
            if let timeout = error as? ChannelError, case .connectTimeout = timeout {
                return (.connectionFailed, "connect timeout", true)
            }
            return (.connectionFailed, "\(error)", false)
        }
    }
}

/// Why an http request could not be made at all (a configuration fault,
/// not a failure of the service).
public enum HTTPCallError: Error, Sendable, CustomStringConvertible {
    /// A `${VAR}` the request reads is not set.
    case unsetVariable(String)
    /// The URL, as written (never resolved), is not a valid URL.
    case invalidURL(String)
    /// `body_file` (the path) could not be read; the second value is why
    /// (strerror(3)'s text).
    case unreadableBodyFile(String, String)

    /// One sentence naming the problem.
    public var description: String {
        switch self {
        case .unsetVariable(let name): "the request reads ${\(name)}, which is not set"
        case .invalidURL(let url): "'\(url)' is not a valid URL once its variables are set"
        case .unreadableBodyFile(let path, let why): "cannot read body_file '\(path)': \(why); create it or fix the path in the configuration"
        }
    }
}

/// A pipe that becomes readable once `ring()` is called, from any thread; safe
/// to ring after `close()` (it then does nothing), so a late completion
/// callback never writes to a descriptor number reused meanwhile.
private final class Wakeup: Sendable {
    /// Readable once rung.
    let descriptor: Int32
    private let writer: Mutex<Int32>

    /// Makes the pipe; nil if it cannot be made.
    init?() {
        guard let ends = makeNonBlockingPipe() else { return nil }
        descriptor = ends.read
        writer = Mutex(ends.write)
    }

    /// Makes `descriptor` readable.
    func ring() {
        writer.withLock { fd in
            guard fd >= 0 else { return }
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
        }
    }

    /// Closes both ends.
    func close() {
        writer.withLock { fd in
            _ = Glibc.close(fd)
            fd = -1
        }
        _ = Glibc.close(descriptor)
    }
}
