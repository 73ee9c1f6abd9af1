import BreakerRunKit
import Testing

/// `state:` and `on_state_error`: where a breaker's state lives and what a
/// fault of it does, from YAML to the typed model.
@Suite struct StateBackendConfigurationTests {
    static func breakers(_ yaml: String) throws -> [String: BreakerConfiguration] {
        try ConfigurationLoader.parse(yaml: "version: 1\n" + yaml, file: "/etc/breaker-run/b.yaml").breakers
    }

    @Test func anEmptyBreakerFailsOpenOnFiles() throws {
        let breaker = try #require(try Self.breakers("breakers:\n  a:\n")["a"])
        #expect(breaker.onStateError == .failOpen)
        #expect(breaker.state == .file)
    }

    @Test func theTopLevelStateAppliesUnlessDefaultsOrTheBreakerSayOtherwise() throws {
        let breakers = try Self.breakers("""
            state: {backend: postgresql, url: 'postgresql://breaker@db.internal/ops'}
            defaults:
              on_state_error: fail-closed
            breakers:
              shared:
              local:
                state: {backend: file}
                on_state_error: fail-open
            """)
        #expect(breakers["shared"]?.state == .postgresql(PostgreSQLSettings(host: "db.internal", user: "breaker", database: "ops")))
        #expect(breakers["shared"]?.onStateError == .failClosed)
        #expect(breakers["local"]?.state == .file)
        #expect(breakers["local"]?.onStateError == .failOpen)
    }

    @Test func everyPostgreSQLKeyIsRead() throws {
        let breakers = try Self.breakers("""
            breakers:
              a:
                state:
                  backend: postgresql
                  url: postgres://ops%2Dbot@[::1]:6432/fleet
                  schema: cb_state
                  password_file: pgpass
                  sslmode: verify-full
                  ca_file: /etc/ssl/db.pem
                  connect_timeout: 1500ms
            """)
        let expected = PostgreSQLSettings(host: "::1", port: 6432, user: "ops-bot", database: "fleet", schema: "cb_state",
                                          passwordFile: "/etc/breaker-run/pgpass", sslMode: .verifyFull, caFile: "/etc/ssl/db.pem",
                                          connectTimeout: .milliseconds(1500))
        #expect(breakers["a"]?.state == .postgresql(expected))
        #expect(expected.url == "postgresql://ops-bot@[::1]:6432/fleet")
    }

    @Test(arguments: [
        ("postgresql://u:pw@h/d", "contains a password"),
        ("mysql://u@h/d", "must start with postgresql://"),
        ("postgresql://h/d", "names no user"),
        ("postgresql://u@h:99999/d", "invalid port"),
        ("postgresql://u@/d", "names no host"),
        ("postgresql://u@h/d?sslmode=require", "has parameters"),
    ])
    func badURLsAreRefusedWithTheReason(url: String, reason: String) throws {
        #expect(throws: PostgreSQLSettings.URLProblem.self) { try PostgreSQLSettings.parseURL(url) }
        do {
            _ = try PostgreSQLSettings.parseURL(url)
        } catch let problem as PostgreSQLSettings.URLProblem {
            #expect(problem.message.contains(reason), "\(problem.message)")
        }
    }

    @Test func theEffectiveConfigurationPrintsTheBackendWithoutAPasswordAndLoadsBack() throws {
        let yaml = """
            version: 1
            breakers:
              a:
                on_state_error: fail-closed
                state: {backend: postgresql, url: 'postgresql://breaker@db:5433/ops', schema: s1, sslmode: require, connect_timeout: 2s}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/b.yaml")
        let printed = configuration.effectiveYAML()
        #expect(printed.contains("    on_state_error: fail-closed\n"))
        #expect(printed.contains("    state: {backend: postgresql, url: \"postgresql://breaker@db:5433/ops\", schema: s1, sslmode: require, connect_timeout: 2s}\n")
                || printed.contains("    state: {backend: postgresql, url: postgresql://breaker@db:5433/ops, schema: s1, sslmode: require, connect_timeout: 2s}\n"),
                "\(printed)")
        let reloaded = try ConfigurationLoader.parse(yaml: printed, file: "/etc/b.yaml")
        #expect(reloaded.breakers["a"]?.state == configuration.breakers["a"]?.state)
        #expect(reloaded.breakers["a"]?.onStateError == .failClosed)
    }
}
