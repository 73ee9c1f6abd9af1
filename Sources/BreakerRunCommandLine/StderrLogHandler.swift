import BreakerRunKit
import Logging

/// swift-log's handler for breaker-run: one line per message on standard
/// error, prefixed `breaker-run: `, written unbuffered.
///
/// Quiet (`-q`), it says only what changes and what goes wrong: warnings,
/// errors and the transitions into open or closed, whatever their level;
/// rejections, fallback notices and the step into half-open are dropped.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    /// Keeps only warnings, errors and transitions into open or closed.
    var isQuiet = false

    /// Creates a handler.
    /// - Parameters:
    ///   - logLevel: the least level written.
    ///   - isQuiet: `-q`: warnings, errors and transitions only.
    init(logLevel: Logger.Level, isQuiet: Bool = false) {
        self.isQuiet = isQuiet
        // Quiet, a transition said at info level (after another line took
        // the invocation's notice) must still reach the handler.
        self.logLevel = isQuiet ? .info : logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if isQuiet && event.level < .warning && !Self.isChange(event.metadata) { return }
        let prefix = switch event.level {
        case .warning: "warning: "
        case .error, .critical: "error: "
        default: ""
        }
        // One message, one line: a newline or an escape sequence that came
        // in with a key or a command's output cannot forge a line.
        StandardOutput.writeError("breaker-run: \(prefix)\(KeyedName.escapingControls("\(event.message)"))\n")
    }

    /// Whether a message reports a transition into open or closed.
    private static func isChange(_ metadata: Logger.Metadata?) -> Bool {
        guard metadata?["event"] == "transition", case .string(let to)? = metadata?["to"] else { return false }
        return to != "half-open"
    }
}
