/// A network plugin: a call kind or state backend built on SwiftNIO, which
/// lives in the `BreakerRunNetwork` module and is linked only into
/// `breaker-run-full`, so that the core binary starts without its cost
/// (docs/BENCHMARKS.md); that binary registers them in its `KindRegistry`.
/// A call kind names the plugin it needs (`CallKind.plugin`). DESIGN,
/// "plugins of the host".
public enum NetworkPlugin: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `http` calls and probes (`HTTPCall`).
    case http
    /// `state: {backend: postgresql}` (`PostgresStateStore`).
    case postgresql

    /// The plugin's name, as the configuration writes it.
    public var description: String { rawValue }
}

/// A state backend that a plugin provides: a `StateBackend` whose hook runs
/// after every committed change, as the file store's `afterWrite` does.
public protocol PluginStateBackend: StateBackend, AnyObject {
    /// Runs after every committed change (the `metrics_file`); nil for none.
    var afterWrite: (@Sendable () -> Void)? { get set }
}

extension BreakerConfiguration {
    /// Whether running, reading or changing this breaker needs `plugin`: an
    /// `http` call or probe needs `http` (to run, not to read or change the
    /// state); `state: {backend: postgresql}` needs `postgresql` for both.
    /// - Parameters:
    ///   - plugin: the plugin.
    ///   - runningCalls: whether the breaker's call or probe is to run.
    public func needsPlugin(_ plugin: NetworkPlugin, runningCalls: Bool = true) -> Bool {
        if runningCalls && (call?.plugin == plugin || probe?.call.plugin == plugin) { return true }
        if case .postgresql = state { return plugin == .postgresql }
        return false
    }
}

/// Why a network plugin could not be used: the binary lacks it. The command
/// line never gets here (the core hands such breakers over to
/// `breaker-run-full`, or exits 69, EX_UNAVAILABLE of sysexits.h); a program
/// using BreakerRunKit without registering the plugins does.
public struct NetworkPluginUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// The missing plugin.
    public var plugin: NetworkPlugin
    /// The breaker that needs it.
    public var breaker: String

    /// Creates the error.
    /// - Parameters:
    ///   - plugin: the missing plugin.
    ///   - breaker: the breaker that needs it.
    public init(plugin: NetworkPlugin, breaker: String) {
        self.plugin = plugin
        self.breaker = breaker
    }

    /// One sentence naming the breaker, the plugin and what to do.
    public var description: String {
        "breaker \(breaker) needs the \(plugin) plugin, which this binary lacks: run it with breaker-run-full"
    }
}
