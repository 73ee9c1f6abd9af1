import CircuitBreaker

/// The state backend of every breaker of a configuration: each breaker's
/// `state:` picks the local files or one PostgreSQL store (one store, and at
/// most one connection, per distinct server and schema).
///
/// Building a router connects to nothing: a PostgreSQL store connects on its
/// breaker's first operation, so a run of a file-backed breaker never pays
/// for PostgreSQL.
public struct StateRouter: StateBackend {
    /// The local state directory's store: file-backed breakers, and every
    /// breaker's `cached` output.
    public private(set) var file: FileStateStore
    private let postgres: [String: any PluginStateBackend]

    /// Creates a router.
    /// - Parameters:
    ///   - file: the local file store.
    ///   - breakers: the configured breakers; those with
    ///     `state: {backend: postgresql}` go to PostgreSQL, made by the
    ///     registered plugin (`KindRegistry.postgresql`); in a binary
    ///     without it, to a backend whose every operation throws
    ///     `NetworkPluginUnavailable`.
    ///   - environment: where `PGPASSWORD` is read.
    ///   - factory: the registry's PostgreSQL plugin; nil for none.
    public init(file: FileStateStore, breakers: [BreakerConfiguration], environment: [String: String],
                postgresql factory: KindRegistry.PostgreSQLFactory?) {
        self.file = file
        var stores: [PostgreSQLSettings: any PluginStateBackend] = [:]
        var byName: [String: any PluginStateBackend] = [:]
        for breaker in breakers {
            guard case .postgresql(let settings) = breaker.state else { continue }
            guard let factory else {
                byName[breaker.name] = UnavailableStateBackend(plugin: .postgresql)
                continue
            }
            let store = stores[settings] ?? factory(settings, file, environment)
            stores[settings] = store
            byName[breaker.name] = store
        }
        postgres = byName
    }

    /// Sets the hook that runs after every committed change, in every
    /// backend (the `metrics_file`).
    /// - Parameter hook: the hook; nil for none.
    public mutating func setAfterWrite(_ hook: (@Sendable () -> Void)?) {
        file.afterWrite = hook
        for store in postgres.values { store.afterWrite = hook }
    }

    /// The backend of breaker `name`.
    /// - Parameter name: the breaker's name.
    /// - Returns: its PostgreSQL store, or the file store.
    /// - Parameter name: the breaker's name, or one of its keys'
    ///   `KeyedName.storeName`.
    public func backend(of name: String) -> any StateBackend {
        postgres[KeyedName.split(name).breaker] ?? file
    }

    /// `StateBackend.update(_:_:)` in the breaker's backend.
    public func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T {
        if let store = postgres[KeyedName.split(name).breaker] { return try store.update(name, body) }
        return try file.update(name, body)
    }

    /// `StateBackend.read(_:)` in the breaker's backend.
    public func read(_ name: String) throws -> (BreakerRecord, Instant) {
        try backend(of: name).read(name)
    }

    /// `StateBackend.takePermit(_:slots:)` in the breaker's backend.
    public func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try backend(of: name).takePermit(name, slots: slots)
    }

    /// `StateBackend.takeSlot(_:slots:)` in the breaker's backend.
    public func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try backend(of: name).takeSlot(name, slots: slots)
    }

    /// `StateBackend.hasFreePermit(_:slots:)` in the breaker's backend.
    public func hasFreePermit(_ name: String, slots: Int) throws -> Bool {
        try backend(of: name).hasFreePermit(name, slots: slots)
    }

    /// `StateBackend.hasFreeSlot(_:slots:)` in the breaker's backend.
    public func hasFreeSlot(_ name: String, slots: Int) throws -> Bool {
        try backend(of: name).hasFreeSlot(name, slots: slots)
    }

    /// Keeps the output in the local state directory, whatever the backend.
    public func writeCache(_ name: String, key: String, bytes: [UInt8]) throws {
        try file.writeCache(name, key: key, bytes: bytes)
    }

    /// Reads the output kept in the local state directory.
    public func readCache(_ name: String, key: String) throws -> CachedOutput? {
        try file.readCache(name, key: key)
    }

    /// The breaker's backend and where it is.
    public func location(of name: String) -> String {
        backend(of: name).location(of: name)
    }

    /// `StateBackend.trackKey(_:bounds:)` in the breaker's backend.
    public func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease {
        try backend(of: name.breaker).trackKey(name, bounds: bounds)
    }

    /// `StateBackend.recordKeyState(_:)` in the breaker's backend.
    public func recordKeyState(_ name: KeyedName) throws {
        try backend(of: name.breaker).recordKeyState(name)
    }

    /// `StateBackend.keyEntries(of:)` in the breaker's backend.
    public func keyEntries(of breaker: String) throws -> [KeyEntry] {
        try backend(of: breaker).keyEntries(of: breaker)
    }
}

/// The backend of a breaker whose state plugin this binary lacks: every
/// operation throws `NetworkPluginUnavailable`, so nothing is read, written
/// or run as if the breaker had a state.
final class UnavailableStateBackend: PluginStateBackend, @unchecked Sendable {
    let plugin: NetworkPlugin
    var afterWrite: (@Sendable () -> Void)?

    init(plugin: NetworkPlugin) {
        self.plugin = plugin
    }

    func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name)
    }

    func read(_ name: String) throws -> (BreakerRecord, Instant) {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name)
    }

    func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)? {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name)
    }

    func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)? {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name)
    }

    func writeCache(_ name: String, key: String, bytes: [UInt8]) throws {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name)
    }

    func readCache(_ name: String, key: String) throws -> CachedOutput? {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name)
    }

    func location(of name: String) -> String {
        "\(plugin) (plugin missing)"
    }

    func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name.breaker)
    }

    func recordKeyState(_ name: KeyedName) throws {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: name.breaker)
    }

    func keyEntries(of breaker: String) throws -> [KeyEntry] {
        throw NetworkPluginUnavailable(plugin: plugin, breaker: breaker)
    }
}
