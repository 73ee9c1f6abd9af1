import Logging

/// One invocation's warning about unusable state: the first fault is a
/// warning line; later ones (the outcome that could not be recorded either,
/// the next retry's admission) go to the debug level, so that a fail-open
/// run says exactly once that it ran unguarded.
final class StateFaultLatch: @unchecked Sendable {
    private var hasWarned = false

    /// Logs `message` as a warning the first time, at debug level after.
    /// - Parameters:
    ///   - logger: where the line goes.
    ///   - message: the line, without the `breaker-run: ` prefix.
    func warn(_ logger: Logger, _ message: String) {
        logger.log(level: hasWarned ? .debug : .warning, "\(message)")
        hasWarned = true
    }
}
