import BreakerRunKit
import Logging

/// swift-log's handler for `log: syslog`: sends every transition (a message
/// whose metadata says `event: transition`) to journald with the breaker's
/// name as a field of its own, or to syslog(3) where journald does not run.
/// Other messages are left to the standard error handler.
///
/// When journald's native socket (`/run/systemd/journal/socket`, or
/// `$BREAKER_RUN_JOURNAL_SOCKET`, meant for tests) exists, the transition goes
/// there as one datagram of journald's native protocol
/// (systemd.io/JOURNAL_NATIVE_PROTOCOL) with the fields `MESSAGE` (the
/// stderr line's text, such as `db: closed -> open (3 consecutive
/// failures)`), `PRIORITY`, `SYSLOG_FACILITY` (1, user),
/// `SYSLOG_IDENTIFIER=breaker-run`, `BREAKER_NAME`, `BREAKER_FROM`,
/// `BREAKER_TO` and `BREAKER_REASON` (named as the `on_transition` hook's
/// variables), so that `journalctl BREAKER_NAME=db` finds one breaker.
///
/// Otherwise, or when that send fails, it goes to syslog(3), ident
/// `breaker-run`, facility `LOG_USER`, with the process id, as
/// `breaker=NAME from=FROM to=TO reason="..."`. No RFC 5424 structured-data
/// element is written: glibc's syslog(3) sends RFC 3164 messages, in which
/// such an element would only be text, and breaker-run has no private
/// enterprise number of its own to name one with (RFC 5424, section 7.2.2).
///
/// An opening is logged at `LOG_WARNING` (priority 4), any other transition
/// at `LOG_NOTICE` (5).
struct SyslogLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    /// journald's native protocol socket, where systemd puts it.
    static let journalSocket = "/run/systemd/journal/socket"

    /// The environment variable that moves the journal socket, for tests
    /// that stand in for journald with a socket of their own.
    static let journalSocketVariable = "BREAKER_RUN_JOURNAL_SOCKET"

    /// The ident given to openlog(3), which keeps the pointer: allocated
    /// once, never freed.
    nonisolated(unsafe) private static let ident: UnsafeMutablePointer<CChar> = strdup("breaker-run")!

    /// The journal socket's path: `$BREAKER_RUN_JOURNAL_SOCKET` when set and
    /// not empty, else `/run/systemd/journal/socket`.
    private let journalPath: String

    /// Reads where the journal socket is, and opens the connection to
    /// syslog lazily (`openlog` with `LOG_PID`).
    init() {
        if let moved = getenv(Self.journalSocketVariable), moved.pointee != 0 {
            journalPath = String(cString: moved)
        } else {
            journalPath = Self.journalSocket
        }
        openlog(Self.ident, LOG_PID, LOG_USER)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard let fields = event.metadata, fields["event"] == "transition" else { return }
        let priority = fields["to"] == "open" ? LOG_WARNING : LOG_NOTICE
        if Self.isSocket(journalPath),
           Self.send(Self.journalEntry(message: "\(event.message)", priority: priority, fields: fields), to: journalPath) {
            return
        }
        let text = Self.message(fields)
        text.withCString { pointer in
            withVaList([pointer]) { vsyslog(priority, "%s", $0) }
        }
    }

    /// `breaker=NAME from=FROM to=TO reason="REASON"` from a transition's
    /// metadata, for syslog(3).
    static func message(_ fields: Logger.Metadata) -> String {
        func value(_ key: String) -> String { fields[key].map { "\($0)" } ?? "" }
        func quoted(_ text: String) -> String {
            "\"" + KeyedName.escapingControls(text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")) + "\""
        }
        // A breaker's name is a safe word; a key's (`NAME/KEY`) may hold
        // spaces, quotes or newlines, and is quoted so as not to forge a field.
        let breaker = value("breaker")
        let isWord = breaker.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        return "breaker=\(isWord ? breaker : quoted(breaker)) from=\(value("from")) to=\(value("to")) reason=\(quoted(value("reason")))"
    }

    /// One journal entry in journald's native protocol: `KEY=VALUE\n` per
    /// field, or, for a value with a newline, `KEY\n`, its length as a
    /// little-endian 64-bit integer, the value and `\n`
    /// (systemd.io/JOURNAL_NATIVE_PROTOCOL).
    /// - Parameters:
    ///   - message: the `MESSAGE` field.
    ///   - priority: the syslog level (`LOG_WARNING`, `LOG_NOTICE`).
    ///   - fields: a transition's metadata (`breaker`, `from`, `to`, `reason`).
    /// - Returns: the datagram.
    static func journalEntry(message: String, priority: Int32, fields: Logger.Metadata) -> [UInt8] {
        func value(_ key: String) -> String { fields[key].map { "\($0)" } ?? "" }
        let entry: [(String, String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(priority)),
            ("SYSLOG_FACILITY", "1"),
            ("SYSLOG_IDENTIFIER", "breaker-run"),
            ("BREAKER_NAME", value("breaker")),
            ("BREAKER_FROM", value("from")),
            ("BREAKER_TO", value("to")),
            ("BREAKER_REASON", value("reason")),
        ]
        var bytes: [UInt8] = []
        for (key, text) in entry {
            let value = Array(text.utf8)
            bytes += Array(key.utf8)
            if value.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(value.count).littleEndian) { bytes += $0 }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes += value
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// Whether `path` is a socket (not following a symbolic link at its end).
    private static func isSocket(_ path: String) -> Bool {
        var information = stat()
        return lstat(path, &information) == 0 && (information.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Sends `datagram` to the Unix datagram socket at `path`.
    /// - Returns: whether it was sent whole.
    private static func send(_ datagram: [UInt8], to path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                datagram.withUnsafeBytes { buffer in
                    try? retryingInterrupts("sendto", path: path) {
                        sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress,
                               socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
        }
        return sent == datagram.count
    }
}
