import Synchronization

/// A network plugin: a call kind or state backend built on SwiftNIO, which
/// lives in the `BreakerRunNetwork` module and is linked only into
/// `breaker-run-full`, so that the core binary starts without its cost
/// (docs/BENCHMARKS.md). DESIGN, "plugins of the host".
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

/// The network plugins this process has: filled once at start-up by the
/// binary that links them (`breaker-run-full` calls
/// `NetworkPlugins.registerAll()` from `BreakerRunNetwork`), read where a
/// call or a state backend is made. Empty in the core `breaker-run`, which
/// hands a breaker that needs one over to `breaker-run-full` before running
/// anything.
public enum NetworkPlugins {
    /// Makes the call of an `http` call specification.
    public typealias HTTPFactory = @Sendable (HTTPCallSpecification) -> any Call
    /// Makes the PostgreSQL store of the given settings; the file store is
    /// the local one (the `cached` output stays there) and the environment
    /// is where `PGPASSWORD` is read. It connects to nothing until used.
    public typealias PostgreSQLFactory = @Sendable (PostgreSQLSettings, FileStateStore, [String: String]) -> any PluginStateBackend

    private struct Registry: Sendable {
        var http: HTTPFactory?
        var postgresql: PostgreSQLFactory?
    }

    private static let registry = Mutex(Registry())

    /// Registers the `http` call kind.
    /// - Parameter factory: makes the call of a specification.
    public static func register(http factory: @escaping HTTPFactory) {
        registry.withLock { $0.http = factory }
    }

    /// Registers the `postgresql` state backend.
    /// - Parameter factory: makes a store from its settings.
    public static func register(postgresql factory: @escaping PostgreSQLFactory) {
        registry.withLock { $0.postgresql = factory }
    }

    /// The registered `http` call kind, or nil in a binary without it.
    public static var http: HTTPFactory? { registry.withLock { $0.http } }

    /// The registered `postgresql` backend, or nil in a binary without it.
    public static var postgresql: PostgreSQLFactory? { registry.withLock { $0.postgresql } }

    /// Whether `plugin` is registered in this process.
    /// - Parameter plugin: the plugin.
    public static func isAvailable(_ plugin: NetworkPlugin) -> Bool {
        switch plugin {
        case .http: http != nil
        case .postgresql: postgresql != nil
        }
    }

    /// The first plugin, in the order of `NetworkPlugin.allCases`, that one
    /// of `breakers` needs and this process lacks, with the breaker that
    /// needs it.
    /// - Parameters:
    ///   - breakers: the breakers a command acts on.
    ///   - runningCalls: whether the command runs their calls and probes
    ///     (`run`); false for one that only reads or changes their state
    ///     (`status`, `trip`, `reset`, `metrics`).
    /// - Returns: nil when every plugin they need is registered.
    public static func firstMissing(for breakers: some Sequence<BreakerConfiguration>,
                                    runningCalls: Bool = true) -> (plugin: NetworkPlugin, breaker: String)? {
        let missing = NetworkPlugin.allCases.filter { !isAvailable($0) }
        if missing.isEmpty { return nil }
        for breaker in breakers {
            if let plugin = missing.first(where: { breaker.needsPlugin($0, runningCalls: runningCalls) }) {
                return (plugin, breaker.name)
            }
        }
        return nil
    }
}

extension BreakerConfiguration {
    /// Whether running, reading or changing this breaker needs `plugin`: an
    /// `http` call or probe needs `http` (to run, not to read or change the
    /// state); `state: {backend: postgresql}` needs `postgresql` for both.
    /// - Parameters:
    ///   - plugin: the plugin.
    ///   - runningCalls: whether the breaker's call or probe is to run.
    public func needsPlugin(_ plugin: NetworkPlugin, runningCalls: Bool = true) -> Bool {
        switch plugin {
        case .http:
            guard runningCalls else { return false }
            if case .http = call { return true }
            if case .http = probe?.call { return true }
            return false
        case .postgresql:
            if case .postgresql = state { return true }
            return false
        }
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
