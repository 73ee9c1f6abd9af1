import BreakerRunKit
import CircuitBreaker
import Logging
import Testing

/// Which breakers need a network plugin, and what BreakerRunKit does with a
/// registry that has none (this test bundle links no BreakerRunNetwork):
/// nothing runs, nothing is read as if it were state.
@Suite struct NetworkPluginsTests {
    static let breakers: [String: BreakerConfiguration] = {
        let yaml = """
            version: 1
            breakers:
              api:
                http: {url: 'http://127.0.0.1:1/'}
              probed:
                command: [/bin/true]
                probe: {http: {url: 'http://127.0.0.1:1/health'}}
              fleet:
                command: [/bin/true]
                state: {backend: postgresql, url: 'postgresql://breaker@127.0.0.1:1/ops'}
              port:
                tcp: {host: 127.0.0.1, port: 1}
              job:
                command: [/bin/true]
            """
        return (try? ConfigurationLoader.parse(yaml: yaml, file: "/etc/breaker-run/b.yaml").breakers) ?? [:]
    }()

    @Test(arguments: [
        ("api", NetworkPlugin.http, true), ("api", .postgresql, false),
        ("probed", .http, true), ("probed", .postgresql, false),
        ("fleet", .http, false), ("fleet", .postgresql, true),
        ("port", .http, false), ("port", .postgresql, false),
        ("job", .http, false), ("job", .postgresql, false),
    ])
    func aBreakerNeedsAPluginForAnHTTPCallOrProbeOrAPostgreSQLState(name: String, plugin: NetworkPlugin, needs: Bool) throws {
        let breaker = try #require(Self.breakers[name])
        #expect(breaker.needsPlugin(plugin) == needs)
        // Reading or changing the state alone needs only the PostgreSQL one.
        #expect(breaker.needsPlugin(plugin, runningCalls: false) == (needs && plugin == .postgresql))
    }

    @Test func theFirstMissingPluginNamesTheBreakerThatNeedsIt() throws {
        let breakers = Self.breakers
        let registry = KindRegistry.builtIn
        #expect(registry.http == nil && registry.postgresql == nil)
        let job = try #require(breakers["job"])
        let port = try #require(breakers["port"])
        let fleet = try #require(breakers["fleet"])
        #expect(registry.firstMissing(for: [job, port]) == nil)
        let missing = try #require(registry.firstMissing(for: [job, fleet]))
        #expect(missing.plugin == .postgresql && missing.breaker == "fleet")
        let api = try #require(breakers["api"])
        #expect(registry.firstMissing(for: [api])?.plugin == .http)
        #expect(registry.firstMissing(for: [api], runningCalls: false) == nil, "its state is in files")
    }

    @Test func anHTTPCallWithoutItsPluginRunsNothingAndExits69WithoutCounting() throws {
        let breaker = try #require(Self.breakers["api"])
        let call = try #require(breaker.call).makeCall(registry: .builtIn)
        let result = call.run(CallContext(breaker: breaker, environment: [:], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }))
        #expect(result.outcome == .ignored(reason: "the http plugin is missing"))
        guard case .ran(let run) = result.ending else {
            Issue.record("expected a call record, got \(result.ending)")
            return
        }
        #expect(run.termination == .exited(ExitStatus.unavailable.rawValue))
    }

    @Test func aPostgreSQLBreakerWithoutItsPluginHasNoStateToReadOrChange() throws {
        let directory = "/nonexistent-\(UInt64.random(in: 0...UInt64.max))"
        let file = FileStateStore(directory: directory, clock: SystemClock()) { _ in }
        let router = StateRouter(file: file, breakers: Array(Self.breakers.values), environment: [:], postgresql: KindRegistry.builtIn.postgresql)
        let unavailable = NetworkPluginUnavailable(plugin: .postgresql, breaker: "fleet")
        #expect(throws: unavailable) { try router.read("fleet") }
        #expect(throws: unavailable) { try router.update("fleet") { _, _ in () } }
        #expect(throws: unavailable) { try router.takePermit("fleet", slots: 1) }
        #expect(router.location(of: "fleet") == "postgresql (plugin missing)")
        #expect(unavailable.description == "breaker fleet needs the postgresql plugin, which this binary lacks: run it with breaker-run-full")
    }
}
