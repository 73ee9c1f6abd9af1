import BreakerRunKit
import Logging

/// swift-log's handler for breaker-run: one line per message on standard
/// error, prefixed `breaker-run: `, written unbuffered.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix = switch event.level {
        case .warning: "warning: "
        case .error, .critical: "error: "
        default: ""
        }
        StandardOutput.writeError("breaker-run: \(prefix)\(event.message)\n")
    }
}
