import Foundation
import Testing

/// Keyed breakers (`per_key`, issue 19) on the PostgreSQL backend, end to
/// end through the built binary: `run NAME --key KEY -- COMMAND`,
/// `status NAME --key KEY --json` (one key, as a plain breaker's status),
/// `reset NAME --key KEY`.
@Suite("PostgreSQL keyed breakers", .enabled(if: PostgresServer.isUsable, "PostgreSQL server binaries not found: install Debian's postgresql"))
struct PostgresKeyedEndToEndTests {
    static let environment = ["PGPASSWORD": PostgresServer.password]

    /// A configuration whose breaker `alpha` is keyed and kept in `server`.
    static func sandbox(_ server: PostgresServer, alpha: String) throws -> Sandbox {
        try Sandbox(config: """
            version: 1
            state: \(server.stateYAML(connectTimeout: "60s"))
            breakers:
              alpha:
            \(alpha)
            """)
    }

    static func run(_ sandbox: Sandbox, _ arguments: [String]) throws -> Invocation {
        try sandbox.run(arguments, environment: environment)
    }

    /// `status alpha --key KEY --json`'s one entry.
    static func status(_ sandbox: Sandbox, key: String) throws -> [String: Any] {
        let result = try run(sandbox, ["status", "alpha", "--key", key, "--json"])
        #expect(result.status == 0, "status failed: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require((object?["breakers"] as? [[String: Any]])?.first)
    }

    /// The keys the `keys` table tracks for alpha, in order, comma-separated.
    static func trackedKeys(_ server: PostgresServer) throws -> String {
        try server.psql("SELECT coalesce(string_agg(key, ',' ORDER BY key), '') FROM breaker_run.keys WHERE breaker = 'alpha'")
    }

    /// Key a fails and opens; key b of the same breaker still runs. a's
    /// next call goes to the fallback, which is told the key.
    @Test func twoKeysTripApartAndTheFallbackIsToldTheKey() throws {
        let server = try PostgresServer()
        let sandbox = try Self.sandbox(server, alpha: """
                fail_max: 1
                reset_timeout: 10m
                per_key: {max_keys: 10}
                fallback: {shell: 'echo "fallback for $BREAKER_NAME key $BREAKER_KEY"'}
            """)
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "a", "--", "false"]).status == 1)
        let rejected = try Self.run(sandbox, ["run", "alpha", "--key", "a", "--", "echo", "ran"])
        #expect(rejected.status == 0, "\(rejected.stderr)")
        #expect(rejected.stdout == "fallback for alpha key a\n")
        let other = try Self.run(sandbox, ["run", "alpha", "--key", "b", "--", "echo", "ran"])
        #expect(other.status == 0 && other.stdout == "ran\n", "\(other.stderr)")

        #expect(try Self.status(sandbox, key: "a")["state"] as? String == "open")
        #expect(try Self.status(sandbox, key: "b")["state"] as? String == "closed")
        #expect((try Self.status(sandbox, key: "a")["counts"] as? [String: Int])?["failures"] == 1)
        #expect((try Self.status(sandbox, key: "b")["counts"] as? [String: Int])?["successes"] == 1)
        #expect(try server.psql("SELECT string_agg(key || '=' || state, ',' ORDER BY key) FROM breaker_run.keys") == "a=1,b=0")
    }

    /// `reset alpha --key a` closes a alone.
    @Test func resetOfOneKeyClosesThatKeyAlone() throws {
        let server = try PostgresServer()
        let sandbox = try Self.sandbox(server, alpha: """
                fail_max: 1
                reset_timeout: 10m
                per_key: {max_keys: 10}
            """)
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "a", "--", "false"]).status == 1)
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "b", "--", "false"]).status == 1)
        let reset = try Self.run(sandbox, ["reset", "alpha", "--key", "a"])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(try Self.status(sandbox, key: "a")["state"] as? String == "closed")
        #expect(try Self.status(sandbox, key: "b")["state"] as? String == "open")
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "a", "--", "true"]).status == 0)
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "b", "--", "true"]).status == 75)
        #expect(try server.psql("SELECT string_agg(key || '=' || state, ',' ORDER BY key) FROM breaker_run.keys") == "a=0,b=1")
    }

    /// `max_keys: 2`: a third key forgets the least recently used closed
    /// key; an open key is never forgotten; with both keys open a new key
    /// is rejected (75) without running its call.
    @Test func maxKeysForgetsTheLeastRecentlyUsedClosedKey() throws {
        let server = try PostgresServer()
        let sandbox = try Self.sandbox(server, alpha: """
                fail_max: 1
                reset_timeout: 10m
                per_key: {max_keys: 2}
            """)
        for key in ["a", "b", "a", "c"] {
            #expect(try Self.run(sandbox, ["run", "alpha", "--key", key, "--", "true"]).status == 0)
        }
        #expect(try Self.trackedKeys(server) == "a,c", "b was the least recently used")
        #expect(try server.psql("SELECT count(*) FROM breaker_run.breakers WHERE name = 'alpha/b'") == "0")
        #expect((try Self.status(sandbox, key: "a")["counts"] as? [String: Int])?["successes"] == 2)

        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "a", "--", "false"]).status == 1)
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "d", "--", "true"]).status == 0)
        #expect(try Self.trackedKeys(server) == "a,d", "c, closed, was forgotten; a, open and older, was not")
        #expect(try Self.run(sandbox, ["run", "alpha", "--key", "d", "--", "false"]).status == 1)

        let marker = sandbox.path("ran")
        let full = try Self.run(sandbox, ["run", "alpha", "--key", "e", "--", "touch", marker])
        #expect(full.status == 75, "\(full.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(try Self.trackedKeys(server) == "a,d")
    }

    /// 8 processes x 50 failing calls over 4 keys: each key counts exactly
    /// its 100 failures, and the whole is 400.
    @Test func eightProcessesOverFourKeysCountEachKeyExactly() throws {
        let server = try PostgresServer()
        let sandbox = try Self.sandbox(server, alpha: """
                fail_max: 100000
                per_key: {max_keys: 10}
            """)
        var loops: [Running] = []
        for process in 0..<8 {
            let script = """
                i=0; while [ $i -lt 50 ]; do
                  "$0" --config '\(sandbox.configPath)' --state-dir '\(sandbox.stateDirectory)' run alpha --key "k$(( (i + \(process)) % 4 ))" -- false
                  [ $? -eq 1 ] || echo "unexpected status" >&2
                  i=$((i+1)); done
                """
            loops.append(try PostgresBackendTests.startNiced(sandbox, script: script, index: process))
        }
        for loop in loops {
            let result = loop.wait()
            #expect(result.status == 0)
            #expect(!result.stderr.contains("unexpected status"), "\(result.stderr.prefix(500))")
            #expect(!result.stderr.contains("unguarded"), "no call may run unguarded: \(result.stderr.prefix(500))")
        }
        var total = 0
        for key in 0..<4 {
            let failures = (try Self.status(sandbox, key: "k\(key)")["counts"] as? [String: Int])?["failures"]
            #expect(failures == 100, "k\(key)")
            total += failures ?? 0
        }
        #expect(total == 400)
        #expect(try server.psql("SELECT sum((state->'counts'->>'failures')::int) FROM breaker_run.breakers WHERE name LIKE 'alpha/%'") == "400")
        #expect(try Self.trackedKeys(server) == "k0,k1,k2,k3")
    }
}
