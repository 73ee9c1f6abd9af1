/// The call and fallback kinds of one binary, by YAML key, and the network
/// plugins it links: built once by each executable (`builtIn`, plus the
/// network plugins in `breaker-run-full`) and passed to what loads the
/// configuration and runs calls. A value, never a global: a test builds its
/// own with kinds of its own.
///
/// Adding a kind is one file with one type conforming to `CallKind` or
/// `FallbackKind`, and one line in `builtIn` (or in the binary or test that
/// registers it).
public struct KindRegistry: Sendable {
    /// Makes the call of an `http` call specification.
    public typealias HTTPFactory = @Sendable (HTTPCallSpecification) -> any Call
    /// Makes the PostgreSQL store of the given settings; the file store is
    /// the local one (the kept output of calls stays there) and the
    /// environment is where `PGPASSWORD` is read. It connects to nothing
    /// until used.
    public typealias PostgreSQLFactory = @Sendable (PostgreSQLSettings, FileStateStore, [String: String]) -> any PluginStateBackend

    /// The call kinds, in the order registered: the order messages list them in.
    package private(set) var callKinds: [any CallKind.Type] = []
    /// The fallback kinds, in the order registered.
    package private(set) var fallbackKinds: [any FallbackKind.Type] = []
    /// Runs `http` calls and probes; nil in a binary without the plugin.
    public var http: HTTPFactory?
    /// Makes `state: {backend: postgresql}` stores; nil in a binary without
    /// the plugin.
    public var postgresql: PostgreSQLFactory?

    /// An empty registry: no kinds, no plugins.
    public init() {}

    /// The kinds BreakerRunKit defines, without network plugins: what the
    /// core binary runs (an `http` call is decoded and printed, and handed
    /// over to `breaker-run-full` to run).
    public static var builtIn: KindRegistry {
        var registry = KindRegistry()
        registry.register(call: CommandCall.self)
        registry.register(call: ShellCall.self)
        registry.register(call: HTTPCallSpecification.self)
        registry.register(call: TCPCallSpecification.self)
        registry.register(fallback: CommandFallback.self)
        registry.register(fallback: ShellFallback.self)
        registry.register(fallback: OutputFallback.self)
        registry.register(fallback: CachedFallback.self)
        registry.register(fallback: QueueFallback.self)
        return registry
    }

    /// Registers a call kind under its key, replacing any kind of that key.
    /// - Parameter kind: the kind.
    package mutating func register(call kind: any CallKind.Type) {
        callKinds.removeAll { $0.key == kind.key }
        callKinds.append(kind)
    }

    /// Registers a fallback kind under its key, replacing any kind of that key.
    /// - Parameter kind: the kind.
    package mutating func register(fallback kind: any FallbackKind.Type) {
        fallbackKinds.removeAll { $0.key == kind.key }
        fallbackKinds.append(kind)
    }

    /// The call kind written under `key`, if any.
    package func callKind(for key: String) -> (any CallKind.Type)? {
        // A handful of kinds: a linear search costs less than hashing.
        callKinds.first { $0.key == key }
    }

    /// The fallback kind written under `key`, if any.
    package func fallbackKind(for key: String) -> (any FallbackKind.Type)? {
        fallbackKinds.first { $0.key == key }
    }

    /// Whether `plugin` is registered.
    /// - Parameter plugin: the plugin.
    /// - Returns: true when this binary runs it.
    public func isAvailable(_ plugin: NetworkPlugin) -> Bool {
        switch plugin {
        case .http: http != nil
        case .postgresql: postgresql != nil
        }
    }

    /// The first plugin, in the order of `NetworkPlugin.allCases`, that one
    /// of `breakers` needs and this registry lacks, with the breaker that
    /// needs it.
    /// - Parameters:
    ///   - breakers: the breakers a command acts on.
    ///   - runningCalls: whether the command runs their calls and probes
    ///     (`run`); false for one that only reads or changes their state
    ///     (`status`, `trip`, `reset`, `metrics`).
    /// - Returns: nil when every plugin they need is registered.
    public func firstMissing(for breakers: some Sequence<BreakerConfiguration>,
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

    /// `'a', 'b' or 'c'`: keys as messages list them.
    static func list(_ keys: [String]) -> String {
        let quoted = keys.map { "'\($0)'" }
        guard quoted.count > 1 else { return quoted.first ?? "" }
        return quoted.dropLast().joined(separator: ", ") + " or " + quoted[quoted.count - 1]
    }
}
