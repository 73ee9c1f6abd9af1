/// What a breaker does when its state cannot be read or written
/// (`on_state_error`): a full disk, a state directory it may not write, a
/// PostgreSQL server that is down or slower than `connect_timeout`.
public enum StateErrorPolicy: String, Sendable, Equatable, CaseIterable {
    /// Run the call unguarded, as if there were no breaker, after one warning
    /// line on standard error. The default: a broken breaker must not stop
    /// the job it guards.
    case failOpen = "fail-open"
    /// Do not run the call: exit 74 (EX_IOERR, sysexits.h) with an error line.
    case failClosed = "fail-closed"
}

/// Where a breaker's state lives (`state:`): the state directory's files, or
/// a PostgreSQL database shared by a fleet of hosts.
public enum StateBackendConfiguration: Sendable, Equatable {
    /// Files under the state directory (the default).
    case file
    /// A PostgreSQL database.
    case postgresql(PostgreSQLSettings)

    /// The name used by `backend:` in YAML.
    public var name: String {
        switch self {
        case .file: "file"
        case .postgresql: "postgresql"
        }
    }
}

/// The settings of the PostgreSQL state backend: where the server is, how to
/// authenticate and encrypt, and how long to wait for it.
public struct PostgreSQLSettings: Sendable, Hashable {
    /// How TLS is used, as libpq's `sslmode` names it
    /// (https://www.postgresql.org/docs/current/libpq-ssl.html); `allow` and
    /// `verify-ca` are not offered.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS: a server that accepts only `hostssl` refuses the login.
        case disable
        /// TLS if the server offers it, else plain (libpq's default); the
        /// certificate is not checked.
        case prefer
        /// TLS or no connection; the certificate is not checked, so it
        /// protects against eavesdropping only.
        case require
        /// TLS, the certificate's chain checked against `ca_file` (else the
        /// system's CA certificates) and its names against the url's host
        /// (libpq's `verify-full`). Unlike libpq, an IP address among the
        /// certificate's names also matches when it is the address connected
        /// to, whatever name the url gives (swift-nio-ssl's rule).
        case verifyFull = "verify-full"
    }

    /// The host name or address of the server.
    public var host: String
    /// The TCP port. Default 5432.
    public var port: Int
    /// The role to connect as.
    public var user: String
    /// The database; default the user's name, as libpq does.
    public var database: String
    /// The schema that holds breaker-run's tables. Default `breaker_run`.
    public var schema: String
    /// A file whose first line is the password (`password_file`); nil to
    /// read `PGPASSWORD` from the environment, or to use none.
    public var passwordFile: String?
    /// How TLS is used. Default `prefer`, as libpq.
    public var sslMode: SSLMode
    /// The CA certificates (PEM) that `verify-full` trusts (`ca_file`); nil
    /// for the system's. Read when connecting, as `password_file` is, not
    /// when the configuration is loaded: a missing or non-PEM file is a
    /// state fault naming it (`on_state_error` applies).
    public var caFile: String?
    /// The longest wait for the server: to connect, and for each statement
    /// (`connect_timeout`). Default 5 seconds.
    public var connectTimeout: Duration

    /// Creates settings; every parameter but the host and user has the
    /// documented default.
    /// - Parameters:
    ///   - host: the server's host name or address.
    ///   - port: the TCP port.
    ///   - user: the role.
    ///   - database: the database; nil for the user's name.
    ///   - schema: the schema of breaker-run's tables.
    ///   - passwordFile: the password file, if any.
    ///   - sslMode: how TLS is used.
    ///   - caFile: the CA file for `verify-full`, if any.
    ///   - connectTimeout: the longest wait for the server.
    public init(host: String, port: Int = 5432, user: String, database: String? = nil, schema: String = "breaker_run",
                passwordFile: String? = nil, sslMode: SSLMode = .prefer, caFile: String? = nil,
                connectTimeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database ?? user
        self.schema = schema
        self.passwordFile = passwordFile
        self.sslMode = sslMode
        self.caFile = caFile
        self.connectTimeout = connectTimeout
    }

    /// The server as a URL without any password, for `status` and messages:
    /// `postgresql://USER@HOST:PORT/DATABASE`.
    public var url: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(user)@\(shownHost):\(port)/\(database)"
    }

    /// What is wrong with a `url`, in words for a configuration error.
    public struct URLProblem: Error, Equatable {
        /// One sentence.
        public var message: String
    }

    /// Parses `postgresql://USER@HOST[:PORT][/DATABASE]` (or `postgres://`)
    /// into host, port, user and database, as libpq's connection URIs are
    /// written (https://www.postgresql.org/docs/current/libpq-connect.html).
    /// A password in the URL is refused: it belongs in `PGPASSWORD` or
    /// `password_file`, not in a configuration file others may read.
    /// Percent-escapes are decoded in the user and database.
    /// - Parameter text: the URL.
    /// - Returns: host, port (nil when absent), user and database (nil when absent).
    /// - Throws: `URLProblem` naming what is wrong.
    public static func parseURL(_ text: String) throws -> (host: String, port: Int?, user: String, database: String?) {
        var rest: Substring
        if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else {
            throw URLProblem(message: "must start with postgresql://, as in postgresql://breaker@db.internal/ops")
        }
        if let query = rest.firstIndex(of: "?") {
            throw URLProblem(message: "has parameters ('\(rest[query...])'); use the keys sslmode, ca_file and connect_timeout beside url instead")
        }
        var database: String?
        if let slash = rest.firstIndex(of: "/") {
            let name = rest[rest.index(after: slash)...]
            database = name.isEmpty ? nil : try percentDecoded(name)
            rest = rest[..<slash]
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw URLProblem(message: "names no user; write the role before the host, as in postgresql://breaker@db.internal/ops")
        }
        let userInfo = rest[..<at]
        if userInfo.contains(":") {
            throw URLProblem(message: "contains a password; remove it and give it in PGPASSWORD or a password_file that only breaker-run's user can read")
        }
        let user = try percentDecoded(userInfo)
        if user.isEmpty { throw URLProblem(message: "names no user; write the role before the host, as in postgresql://breaker@db.internal/ops") }
        var hostPart = rest[rest.index(after: at)...]
        var port: Int?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw URLProblem(message: "has an unclosed '[' in its host") }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 } else if !after.isEmpty { port = -1 }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            port = Int(hostPart[hostPart.index(after: colon)...]) ?? -1
            hostPart = hostPart[..<colon]
        }
        if let port, !(1...65535).contains(port) {
            throw URLProblem(message: "has an invalid port; use a number from 1 to 65535, as in postgresql://breaker@db.internal:5432/ops")
        }
        if hostPart.isEmpty { throw URLProblem(message: "names no host, as in postgresql://breaker@db.internal/ops") }
        return (String(hostPart), port, user, database)
    }

    private static func percentDecoded(_ text: Substring) throws -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                    throw URLProblem(message: "has a bad percent-escape in '\(text)'")
                }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StateBackendConfiguration {
    /// The value of `state:` as a YAML flow mapping, for `validate --print`;
    /// it loads back as the same backend. Never contains a password.
    var effectiveYAML: String {
        switch self {
        case .file:
            return "{backend: file}"
        case .postgresql(let settings):
            var parts = ["backend: postgresql", "url: \(YAMLText.flowScalar(settings.url))", "schema: \(settings.schema)"]
            if let passwordFile = settings.passwordFile { parts.append("password_file: \(YAMLText.flowScalar(passwordFile))") }
            parts.append("sslmode: \(settings.sslMode.rawValue)")
            if let caFile = settings.caFile { parts.append("ca_file: \(YAMLText.flowScalar(caFile))") }
            parts.append("connect_timeout: \(YAMLText.duration(settings.connectTimeout))")
            return "{" + parts.joined(separator: ", ") + "}"
        }
    }
}
