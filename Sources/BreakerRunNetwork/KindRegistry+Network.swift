import BreakerRunKit

extension PostgresStateStore: PluginStateBackend {}

extension KindRegistry {
    /// Registers this module's plugins: the runner of `http` calls and
    /// probes (`HTTPCall`) and the `postgresql` state backend
    /// (`PostgresStateStore`). The `breaker-run-full` executable does, on
    /// the registry it builds at start-up.
    public mutating func registerNetworkPlugins() {
        http = { HTTPCall(specification: $0) }
        postgresql = { PostgresStateStore(settings: $0, local: $1, environment: $2) }
    }
}
