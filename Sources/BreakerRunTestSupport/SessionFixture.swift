import BreakerRunKit
import CircuitBreaker
import Foundation
import Logging

/// An in-process session for specs of the use cases: the configuration from
/// a YAML string, the in-memory state backend, a clock the spec moves, a
/// recorded log and recorded streams, pauses recorded instead of slept, and
/// a fixed jitter. Nothing touches the disk, and nothing sleeps.
public struct SessionFixture {
    /// The session the use cases run in.
    public var session: Session
    /// Its state backend.
    public let store: InMemoryStateBackend
    /// Its clock.
    public let clock: ManualClock
    /// Its log.
    public let log: LogRecorder
    /// Its standard output and error.
    public let streams: RecordingStreams
    /// The pauses the run asked for (between attempts), in order.
    public var pauses: [Duration] { pauseLog.elements }

    private let pauseLog = LockedList<Duration>()

    /// The registry specs use: the built-in kinds and `ScriptedCall`.
    public static var registry: KindRegistry {
        var registry = KindRegistry.builtIn
        registry.register(call: ScriptedCall.self)
        return registry
    }

    /// Opens a session on `yaml`.
    /// - Parameters:
    ///   - yaml: the configuration.
    ///   - registry: the kinds it is read with; `SessionFixture.registry` by default.
    ///   - clock: the clock; a `ManualClock` at `t(0)` by default.
    /// - Throws: `ConfigurationError` when the YAML is not a valid configuration.
    public init(yaml: String, registry: KindRegistry = SessionFixture.registry, clock: ManualClock = ManualClock()) throws {
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/breaker-run/breakers.yaml", registry: registry)
        self.clock = clock
        store = InMemoryStateBackend(clock: clock)
        log = LogRecorder()
        streams = RecordingStreams()
        session = Session(configuration: configuration, stateDirectory: "/var/lib/breaker-run", store: store, clock: clock,
                          environment: [:], logger: log.logger, streams: streams.streams, registry: registry)
        session.random = { 0.5 }
        session.pause = { [pauseLog] in pauseLog.append($0) }
    }

    /// The script of breaker `name`'s configured `scripted` call.
    /// - Parameter name: the breaker's name.
    /// - Returns: the script; a failed expectation when the call is not scripted.
    public func script(of name: String) -> CallScript? {
        (session.configuration.breakers[name]?.call?.kind as? ScriptedCall)?.script
    }

    /// The script of breaker `name`'s `scripted` probe.
    /// - Parameter name: the breaker's name.
    /// - Returns: the script, or nil when the probe is not scripted.
    public func probeScript(of name: String) -> CallScript? {
        (session.configuration.breakers[name]?.probe?.call.kind as? ScriptedCall)?.script
    }

    /// Breaker `name`'s state and circuit state as of now.
    /// - Parameter name: the breaker's name.
    /// - Returns: the stored state, and its effective circuit state's name.
    /// - Throws: what the backend throws.
    public func state(of name: String) throws -> (state: BreakerRecord, circuitState: CircuitState.Name) {
        let (state, now) = try store.read(name)
        return (state, state.effectiveCircuitState(at: now).name)
    }
}
