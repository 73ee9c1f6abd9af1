import BreakerRunKit

extension PostgresStateStore: PluginStateBackend {}

extension NetworkPlugins {
    /// Registers this module's plugins: the `http` call kind (`HTTPCall`)
    /// and the `postgresql` state backend (`PostgresStateStore`). Call it
    /// once at start-up, before any configuration is loaded; the
    /// `breaker-run-full` executable does.
    public static func registerAll() {
        register(http: { HTTPCall(specification: $0) })
        register(postgresql: { PostgresStateStore(settings: $0, local: $1, environment: $2) })
    }
}
