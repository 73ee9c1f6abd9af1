import BreakerRunKit
import PostgresNIO

/// The store's tables, created on first use and migrated forward.
extension PostgresStateStore {
    /// Creates the schema's tables, or migrates them forward, once per
    /// connection: a cheap version read when they are current.
    func migrate(_ connection: PostgresConnection) throws {
        let found: Int?
        do {
            let rows = try query(connection, "SELECT max(version) FROM \(schema).schema_version", "reading the schema version")
            found = try rows.first?.decode(Int?.self) ?? nil
        } catch PostgresStateStoreError.queryFailed {
            found = nil
        }
        if let found, found == Self.schemaVersion { return }
        if let found, found > Self.schemaVersion {
            throw PostgresStateStoreError.newerSchema(url: settings.url, schema: schema, found: found, highestSupported: Self.schemaVersion)
        }
        try execute(connection, "BEGIN", "BEGIN")
        do {
            try execute(connection, "SELECT pg_advisory_xact_lock(hashtext($1), 0)", "locking the migration", ["\(schema)/migrate"])
            try execute(connection, "CREATE SCHEMA IF NOT EXISTS \(schema)", "creating the schema")
            try execute(connection, "CREATE TABLE IF NOT EXISTS \(schema).schema_version (version int NOT NULL)", "creating schema_version")
            let rows = try query(connection, "SELECT max(version) FROM \(schema).schema_version", "reading the schema version")
            let current = try rows.first?.decode(Int?.self) ?? 0
            for (version, statements) in Self.migrations.enumerated() where version + 1 > current {
                for statement in statements {
                    try execute(connection, statement.replacing("SCHEMA.", with: "\(schema)."), "migrating to version \(version + 1)")
                }
                try execute(connection, "INSERT INTO \(schema).schema_version (version) VALUES ($1::int4)", "recording the schema version", [String(version + 1)])
            }
            try execute(connection, "COMMIT", "COMMIT")
        } catch {
            _ = try? execute(connection, "ROLLBACK", "ROLLBACK")
            throw error
        }
    }

    /// The statements of each schema version, in order: version N is
    /// `migrations[N - 1]`. Add a version by appending; never edit one.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE IF NOT EXISTS SCHEMA.breakers (
                name text PRIMARY KEY,
                state jsonb,
                updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                updated_by text NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS SCHEMA.events (
                id bigserial PRIMARY KEY,
                breaker text NOT NULL,
                at timestamptz NOT NULL,
                host text NOT NULL,
                from_state text NOT NULL,
                to_state text NOT NULL,
                reason text NOT NULL,
                actor text NOT NULL DEFAULT ''
            )
            """,
            "CREATE INDEX IF NOT EXISTS events_breaker_at ON SCHEMA.events (breaker, at)",
        ],
        // Version 2, keyed breakers (issue 19): the key index. A key's state
        // document is the `breakers` row named `NAME/KEY`; `keys` holds one
        // row per tracked key, its recorded circuit state and its last use
        // (the LRU order), and `keyed_breakers` how many keys each keyed
        // breaker tracks, whose row lock serializes the registrations of
        // new keys of that breaker.
        [
            """
            CREATE TABLE IF NOT EXISTS SCHEMA.keys (
                breaker text NOT NULL,
                key text NOT NULL,
                state smallint NOT NULL DEFAULT 0,
                opened_at timestamptz,
                next_trial_at timestamptz,
                reason text,
                last_used timestamptz NOT NULL DEFAULT clock_timestamp(),
                PRIMARY KEY (breaker, key)
            )
            """,
            "CREATE INDEX IF NOT EXISTS keys_breaker_last_used ON SCHEMA.keys (breaker, last_used, key)",
            """
            CREATE TABLE IF NOT EXISTS SCHEMA.keyed_breakers (
                breaker text PRIMARY KEY,
                tracked int NOT NULL DEFAULT 0
            )
            """,
        ],
    ]
}
