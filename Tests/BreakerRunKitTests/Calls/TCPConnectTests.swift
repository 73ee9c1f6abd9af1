@testable import BreakerRunKit
import Foundation
import Testing

/// The tcp call's Happy Eyeballs (RFC 8305): every address tried within the
/// one deadline, the next one started when an attempt fails or stalls.
/// Real sockets on 127.0.0.1.
@Suite struct TCPConnectTests {
    /// A listening socket on 127.0.0.1, and its port.
    final class Listener {
        let descriptor: Int32
        let port: Int
        var clients: [Int32] = []

        /// Listens (or, when `refusing`, only binds, so that a connection is
        /// refused); `stalled` fills its zero-length backlog, so that the
        /// kernel drops further SYNs and a new connection hangs.
        init(stalled: Bool = false, refusing: Bool = false) throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
            descriptor = listener
            port = Int(UInt16(bigEndian: address.sin_port))
            if refusing { return }
            #expect(listen(listener, stalled ? 0 : 16) == 0)
            if stalled {
                for _ in 0..<2 {
                    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(client, $0, length) } }
                    clients.append(client)
                }
                usleep(50_000)
            }
        }

        deinit {
            clients.forEach { close($0) }
            close(descriptor)
        }
    }

    /// A socket bound to ::1 (listening unless `refusing`), and its port;
    /// nil when ::1 cannot be bound (a host without IPv6).
    final class IPv6Listener {
        let descriptor: Int32
        let port: Int

        init?(refusing: Bool = false) {
            let listener = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard listener >= 0 else { return nil }
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let bound = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
            guard bound == 0, refusing || listen(listener, 16) == 0 else {
                close(listener)
                return nil
            }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
            descriptor = listener
            port = Int(UInt16(bigEndian: address.sin6_port))
        }

        deinit { close(descriptor) }

        /// `::1` and the port, as the tcp call connects to it.
        var address: TCPCall.SocketAddress {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            address.sin6_port = UInt16(port).bigEndian
            return TCPCall.SocketAddress(family: AF_INET6, bytes: withUnsafeBytes(of: &address) { Array($0) })
        }

        /// Whether ::1 can be bound here; the IPv6 tests are skipped, with
        /// this reason, when it cannot.
        static let isAvailable = IPv6Listener() != nil
    }

    func address(port: Int) -> TCPCall.SocketAddress {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        return TCPCall.SocketAddress(family: AF_INET, bytes: bytes)
    }

    func connect(_ ports: [Int], within timeout: Duration) throws -> (TCPCall.Connection, Duration) {
        try connect(to: ports.map(address(port:)), within: timeout)
    }

    func connect(to addresses: [TCPCall.SocketAddress], within timeout: Duration) throws -> (TCPCall.Connection, Duration) {
        let watch = try #require(InterruptWatch())
        defer { watch.end() }
        let clock = ContinuousClock()
        let started = clock.now
        let result = TCPCall.connect(to: addresses, deadline: started + timeout, clock: clock, watch: watch)
        return (result, clock.now - started)
    }

    @Test(.enabled(if: IPv6Listener.isAvailable, "::1 cannot be bound on this machine (no IPv6 loopback): IPv6 not tested"))
    func connectsToAListenerOnTheIPv6Loopback() throws {
        let listener = try #require(IPv6Listener())
        let (result, _) = try connect(to: [listener.address], within: .seconds(5))
        #expect(result == .connected(0))
    }

    @Test(.enabled(if: IPv6Listener.isAvailable, "::1 cannot be bound on this machine (no IPv6 loopback): IPv6 not tested"))
    func aRefusedIPv6AddressMovesOnToTheIPv4OneAtOnce() throws {
        let refused = try #require(IPv6Listener(refusing: true))
        let open = try Listener()
        let (result, elapsed) = try connect(to: [refused.address, address(port: open.port)], within: .seconds(20))
        #expect(result == .connected(1))
        #expect(elapsed < TCPCall.attemptDelay, "no attempt delay after a refusal: \(elapsed)")
        let (alone, _) = try connect(to: [refused.address], within: .seconds(5))
        #expect(alone == .failed(ECONNREFUSED))
    }

    @Test func aStalledFirstAddressDoesNotTakeTheWholeTimeout() throws {
        let stalled = try Listener(stalled: true)
        let open = try Listener()
        let (result, elapsed) = try connect([stalled.port, open.port], within: .seconds(20))
        #expect(result == .connected(1))
        // The second attempt started after the 250 ms attempt delay, not after
        // the first attempt's share of 20 s.
        #expect(elapsed >= TCPCall.attemptDelay && elapsed < .seconds(10), "\(elapsed)")
    }

    @Test func aRefusedFirstAddressMovesOnAtOnce() throws {
        let refused = try Listener(refusing: true)
        let open = try Listener()
        let (result, elapsed) = try connect([refused.port, open.port], within: .seconds(20))
        #expect(result == .connected(1))
        #expect(elapsed < TCPCall.attemptDelay, "no attempt delay after a refusal: \(elapsed)")
    }

    @Test func everyAddressStalledEndsAtTheOneDeadline() throws {
        let first = try Listener(stalled: true)
        let second = try Listener(stalled: true)
        let (result, elapsed) = try connect([first.port, second.port], within: .milliseconds(600))
        #expect(result == .timedOut)
        #expect(elapsed >= .milliseconds(600) && elapsed < .seconds(5), "\(elapsed)")
    }

    @Test func everyAddressRefusedIsAFailureWithTheLastError() throws {
        let one = try Listener(refusing: true), two = try Listener(refusing: true)
        let (result, _) = try connect([one.port, two.port], within: .seconds(5))
        #expect(result == .failed(ECONNREFUSED))
    }
}
