import Logging

#if canImport(Glibc)
import Glibc
#endif

/// swift-log's handler for `log: syslog`: sends every transition (a message
/// whose metadata says `event: transition`) to syslog(3), ident
/// `breaker-run`, facility `LOG_USER`, with the process id; journald
/// collects it as `SYSLOG_IDENTIFIER=breaker-run`. Other messages are left
/// to the standard error handler.
///
/// The message reads `breaker=NAME from=FROM to=TO reason="..."`, so that
/// `journalctl -t breaker-run | grep breaker=db` finds one breaker. An
/// opening is logged at `LOG_WARNING`, any other transition at `LOG_NOTICE`.
struct SyslogLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    /// The ident given to openlog(3), which keeps the pointer: allocated
    /// once, never freed.
    nonisolated(unsafe) private static let ident: UnsafeMutablePointer<CChar> = strdup("breaker-run")!

    /// Opens the connection to syslog lazily (`openlog` with `LOG_PID`).
    init() {
        openlog(Self.ident, LOG_PID, LOG_USER)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard let fields = event.metadata, fields["event"] == "transition" else { return }
        let text = Self.message(fields)
        let priority = fields["to"] == "open" ? LOG_WARNING : LOG_NOTICE
        text.withCString { pointer in
            withVaList([pointer]) { vsyslog(priority, "%s", $0) }
        }
    }

    /// `breaker=NAME from=FROM to=TO reason="REASON"` from a transition's
    /// metadata.
    static func message(_ fields: Logger.Metadata) -> String {
        func value(_ key: String) -> String { fields[key].map { "\($0)" } ?? "" }
        let reason = value("reason").replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
        return "breaker=\(value("breaker")) from=\(value("from")) to=\(value("to")) reason=\"\(reason)\""
    }
}
