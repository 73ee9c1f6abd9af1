import Foundation
import Testing

/// `tcp` calls end to end: IPv6, and a port that never answers, against
/// sockets this test opens on the loopback.
@Suite("tcp calls over IPv6 and to a port that never answers")
struct TCPEndToEndTests {
    /// A TCP socket bound to a loopback address: listening, refusing (bound
    /// only), or stalled (a zero-length backlog filled by two connections
    /// that are never accepted, so the kernel drops new SYNs and a connection
    /// hangs).
    final class LoopbackSocket {
        enum Kind { case listening, refusing, stalled }
        let descriptor: Int32
        let port: Int
        private var fillers: [Int32] = []

        /// nil when the address cannot be bound.
        init?(ipv6: Bool, kind: Kind) {
            let family = ipv6 ? AF_INET6 : AF_INET
            let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { return nil }
            var storage = sockaddr_storage()
            let length: socklen_t
            if ipv6 {
                length = socklen_t(MemoryLayout<sockaddr_in6>.size)
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        $0.pointee.sin6_family = sa_family_t(AF_INET6)
                        $0.pointee.sin6_addr = in6addr_loopback
                    }
                }
            } else {
                length = socklen_t(MemoryLayout<sockaddr_in>.size)
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        $0.pointee.sin_family = sa_family_t(AF_INET)
                        $0.pointee.sin_addr.s_addr = inet_addr("127.0.0.1")
                    }
                }
            }
            var boundLength = length
            let bound = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                    bind(descriptor, sockaddr, length) == 0 && getsockname(descriptor, sockaddr, &boundLength) == 0
                }
            }
            guard bound, kind == .refusing || listen(descriptor, kind == .stalled ? 0 : 16) == 0 else {
                close(descriptor)
                return nil
            }
            self.descriptor = descriptor
            // sin_port and sin6_port are both at offset 2.
            port = withUnsafeBytes(of: &storage) { Int(UInt16($0[2]) << 8 | UInt16($0[3])) }
            if kind == .stalled {
                for _ in 0..<2 {
                    let filler = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                    _ = withUnsafeMutablePointer(to: &storage) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) }
                    }
                    fillers.append(filler)
                }
                usleep(100_000)
            }
        }

        deinit {
            fillers.forEach { close($0) }
            close(descriptor)
        }

        /// Whether ::1 can be bound here.
        static let hasIPv6Loopback = LoopbackSocket(ipv6: true, kind: .refusing) != nil
    }

    func breaker(_ host: String, _ port: Int, timeout: String = "5s") throws -> Sandbox {
        try Sandbox(config: """
            version: 1
            breakers:
              db:
                tcp: {host: '\(host)', port: \(port)}
                timeout: \(timeout)
                fail_max: 1
            """)
    }

    @Test(.enabled(if: LoopbackSocket.hasIPv6Loopback, "::1 cannot be bound on this machine (no IPv6 loopback): IPv6 not tested"))
    func aListenerOnTheIPv6LoopbackIsASuccess() throws {
        let listener = try #require(LoopbackSocket(ipv6: true, kind: .listening))
        let sandbox = try breaker("::1", listener.port)
        let result = try sandbox.run(["run", "db"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try sandbox.counts("db")["successes"] == 1)
    }

    @Test(.enabled(if: LoopbackSocket.hasIPv6Loopback, "::1 cannot be bound on this machine (no IPv6 loopback): IPv6 not tested"))
    func aClosedIPv6PortIsRefusedWithStatus7WellWithinTheTimeout() throws {
        let refusing = try #require(LoopbackSocket(ipv6: true, kind: .refusing))
        let sandbox = try breaker("::1", refusing.port, timeout: "10s")
        let result = try sandbox.run(["run", "db"])
        #expect(result.status == 7, "\(result.stderr)")
        #expect(result.stderr.contains("could not connect to ::1 port \(refusing.port): Connection refused"), "\(result.stderr)")
        #expect(result.seconds < 5, "refused at once, not at the 10 s timeout: \(result.seconds) s")
        #expect(try sandbox.status("db")["state"] as? String == "open")
    }

    @Test func aPortThatNeverAnswersTimesOutWith124WithinTheTimeout() throws {
        let stalled = try #require(LoopbackSocket(ipv6: false, kind: .stalled))
        let sandbox = try breaker("127.0.0.1", stalled.port, timeout: "1s")
        let result = try sandbox.run(["run", "db"])
        #expect(result.status == 124, "\(result.stderr)")
        #expect(result.stderr.contains("timeout after"), "\(result.stderr)")
        // The timeout, plus a generous margin for the process's start and end
        // on a busy machine; not the kernel's SYN retries (over a minute).
        #expect(result.seconds >= 1 && result.seconds < 4, "\(result.seconds) s")
        let status = try sandbox.status("db")
        #expect(status["state"] as? String == "open")
        #expect((status["last_failure"] as? String)?.contains("connecting to 127.0.0.1 port \(stalled.port)") == true, "\(status)")
    }
}
