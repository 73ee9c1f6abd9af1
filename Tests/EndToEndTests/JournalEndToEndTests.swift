import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A Unix datagram socket that stands in for journald's native socket
/// (`BREAKER_RUN_JOURNAL_SOCKET`), in the test's own directory.
final class JournalSocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // No datagram within 10 s: receive() returns nil rather than hang.
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next datagram, or nil after 10 s without one.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count < 0 ? nil : Array(buffer[..<count])
    }

    /// The fields of a native-protocol entry (systemd.io/JOURNAL_NATIVE_PROTOCOL):
    /// `KEY=VALUE\n`, or `KEY\n` + 64-bit little-endian length + value + `\n`.
    /// Nil when the datagram does not follow the protocol.
    static func fields(_ datagram: [UInt8]) -> [String: String]? {
        var fields: [String: String] = [:]
        var index = 0
        while index < datagram.count {
            guard let end = datagram[index...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") }) else { return nil }
            let key = String(decoding: datagram[index..<end], as: UTF8.self)
            guard !key.isEmpty, key.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }) else { return nil }
            if datagram[end] == UInt8(ascii: "=") {
                guard let newline = datagram[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                fields[key] = String(decoding: datagram[(end + 1)..<newline], as: UTF8.self)
                index = newline + 1
            } else {
                guard end + 9 <= datagram.count else { return nil }
                var length: UInt64 = 0
                for (shift, byte) in datagram[(end + 1)..<(end + 9)].enumerated() { length |= UInt64(byte) << (8 * UInt64(shift)) }
                let start = end + 9
                guard start + Int(length) < datagram.count, datagram[start + Int(length)] == UInt8(ascii: "\n") else { return nil }
                fields[key] = String(decoding: datagram[start..<(start + Int(length))], as: UTF8.self)
                index = start + Int(length) + 1
            }
        }
        return fields
    }
}

/// `log: syslog` sends each transition to journald with the breaker's name
/// as a field of its own, through journald's native protocol.
@Suite("Transitions to journald")
struct JournalEndToEndTests {
    static let config = """
        version: 1
        log: syslog
        breakers:
          db:
            fail_max: 1
            reset_timeout: 1h
        """

    @Test func anOpeningReachesTheJournalWithTheBreakerNameAsAField() throws {
        let sandbox = try Sandbox(config: Self.config)
        let journal = try JournalSocket(path: sandbox.path("journal.socket"))
        let environment = ["BREAKER_RUN_JOURNAL_SOCKET": journal.path]
        let failed = try sandbox.run(["run", "db", "--", "/bin/false"], environment: environment)
        #expect(failed.status == 1)
        // stderr keeps its own line.
        #expect(failed.stderr == "breaker-run: db: closed -> open (1 failure)\n")
        let datagram = try #require(journal.receive(), "no datagram reached the journal socket")
        let fields = try #require(JournalSocket.fields(datagram), "not the native protocol: \(String(decoding: datagram, as: UTF8.self))")
        #expect(fields == [
            "MESSAGE": "db: closed -> open (1 failure)",
            "PRIORITY": "4",
            "SYSLOG_FACILITY": "1",
            "SYSLOG_IDENTIFIER": "breaker-run",
            "BREAKER_NAME": "db",
            "BREAKER_FROM": "closed",
            "BREAKER_TO": "open",
            "BREAKER_REASON": "1 failure",
        ])
        // A close is a notice (5).
        let reset = try sandbox.run(["reset", "db"], environment: environment)
        #expect(reset.status == 0, "\(reset.stderr)")
        let closingDatagram = try #require(journal.receive())
        let closing = try #require(JournalSocket.fields(closingDatagram))
        #expect(closing["PRIORITY"] == "5")
        #expect(closing["BREAKER_TO"] == "closed")
        #expect(closing["BREAKER_NAME"] == "db")
    }

    /// A newline in `--reason` could forge a journal line: it is refused
    /// (64) before anything is sent (issue 15, item 18), where it used to be
    /// sent as a length-prefixed field.
    @Test func aReasonWithANewlineNeverReachesTheJournal() throws {
        let sandbox = try Sandbox(config: Self.config)
        let journal = try JournalSocket(path: sandbox.path("journal.socket"))
        let trip = try sandbox.run(["trip", "db", "--reason", "disk full\non db-2"], environment: ["BREAKER_RUN_JOURNAL_SOCKET": journal.path])
        #expect(trip.status == 64, "\(trip.stderr)")
        #expect(journal.receiveNow() == nil)
        let status = try sandbox.status("db")
        #expect(status["state"] as? String == "closed")
    }

    @Test func withoutLogSyslogNothingIsSent() throws {
        let sandbox = try Sandbox(config: Self.config.replacingOccurrences(of: "log: syslog\n", with: ""))
        let journal = try JournalSocket(path: sandbox.path("journal.socket"))
        let trip = try sandbox.run(["trip", "db"], environment: ["BREAKER_RUN_JOURNAL_SOCKET": journal.path])
        #expect(trip.status == 0)
        // A datagram is queued when sendto(2) returns, before breaker-run
        // exits: an empty queue now means none was sent.
        #expect(journal.receiveNow() == nil)
    }
}

extension JournalSocket {
    /// A datagram already queued, without waiting.
    func receiveNow() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return count < 0 ? nil : Array(buffer[..<count])
    }
}
