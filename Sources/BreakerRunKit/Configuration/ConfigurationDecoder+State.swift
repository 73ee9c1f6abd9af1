import CircuitBreaker

extension ConfigurationDecoder {
    /// The keys of `state:`.
    static let stateKeys = ["backend", "url", "schema", "password_file", "sslmode", "ca_file", "connect_timeout"]

    /// Reads `on_state_error: fail-open | fail-closed`.
    mutating func stateErrorPolicy(_ node: YAMLNode, key: String) -> StateErrorPolicy? {
        guard let text = string(node, key: key, example: "fail-closed") else { return nil }
        guard let policy = StateErrorPolicy(rawValue: text) else {
            report(at: node.location, "'\(key)' must be fail-open or fail-closed, not '\(text)'")
            return nil
        }
        return policy
    }

    /// Reads `state: {backend: file}` or
    /// `state: {backend: postgresql, url: ..., schema: ..., password_file: ..., sslmode: ..., ca_file: ..., connect_timeout: ...}`.
    mutating func stateBackend(_ node: YAMLNode, key: String) -> StateBackendConfiguration? {
        let example = "{backend: postgresql, url: 'postgresql://breaker@db.internal/ops'}"
        guard let pairs = mapping(node, key: key, example: example) else { return nil }
        var backend: String?
        var url: (text: String, location: SourceLocation)?
        var schema: String?
        var passwordFile: String?
        var sslMode: PostgreSQLSettings.SSLMode?
        var caFile: String?
        var connectTimeout: Duration?
        var isValid = true
        var postgresOnly: YAMLPair?
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            if pair.key != "backend", postgresOnly == nil { postgresOnly = pair }
            switch pair.key {
            case "backend":
                backend = string(pair.value, key: name, example: "postgresql")
                if let value = backend, value != "file", value != "postgresql" {
                    report(at: pair.value.location, "'\(name)' must be file or postgresql, not '\(value)'")
                    isValid = false
                }
                if backend == nil { isValid = false }
            case "url":
                if let text = nonEmptyString(pair.value, key: name, example: "'postgresql://breaker@db.internal/ops'") {
                    url = (text, pair.value.location)
                } else { isValid = false }
            case "schema":
                schema = nonEmptyString(pair.value, key: name, example: "breaker_run")
                if let value = schema, !Self.isPlainIdentifier(value) {
                    report(at: pair.value.location, "'\(name)' must be a plain SQL name (letters, digits and '_', starting with a letter or '_', at most 63), not '\(value)'")
                    isValid = false
                }
                if schema == nil { isValid = false }
            case "password_file":
                passwordFile = nonEmptyString(pair.value, key: name, example: "/etc/breaker-run/pgpass")
                if passwordFile == nil { isValid = false }
            case "sslmode":
                if let text = string(pair.value, key: name, example: "verify-full") {
                    sslMode = PostgreSQLSettings.SSLMode(rawValue: text)
                    if sslMode == nil {
                        report(at: pair.value.location, "'\(name)' must be disable, prefer, require or verify-full (libpq's sslmode), not '\(text)'")
                        isValid = false
                    }
                } else { isValid = false }
            case "ca_file":
                caFile = nonEmptyString(pair.value, key: name, example: "/etc/ssl/certs/db-ca.pem")
                if caFile == nil { isValid = false }
            case "connect_timeout":
                connectTimeout = duration(pair.value, key: name, allowsZero: false)
                if connectTimeout == nil { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.stateKeys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        switch backend {
        case "file":
            if let extra = postgresOnly {
                report(at: extra.keyLocation, "'\(key).\(extra.key)' applies only with backend: postgresql; remove it")
                return nil
            }
            return .file
        case "postgresql":
            guard let url else {
                report(at: node.location, "'\(key)' with backend: postgresql needs 'url', such as \(example)")
                return nil
            }
            let parsed: (host: String, port: Int?, user: String, database: String?)
            do {
                parsed = try PostgreSQLSettings.parseURL(url.text)
            } catch let problem as PostgreSQLSettings.URLProblem {
                report(at: url.location, "'\(key).url' \(problem.message)")
                return nil
            } catch {
                return nil
            }
            if caFile != nil, sslMode != .verifyFull {
                report(at: node.location, "'\(key).ca_file' is used only with sslmode: verify-full; set it, or remove ca_file")
                return nil
            }
            // The keys not written keep the defaults of `PostgreSQLSettings.init`.
            var settings = PostgreSQLSettings(host: parsed.host, user: parsed.user, database: parsed.database,
                                              passwordFile: passwordFile.map { absolutePath($0) }, caFile: caFile.map { absolutePath($0) })
            if let port = parsed.port { settings.port = port }
            if let schema { settings.schema = schema }
            if let sslMode { settings.sslMode = sslMode }
            if let connectTimeout { settings.connectTimeout = connectTimeout }
            return .postgresql(settings)
        default:
            report(at: node.location, "'\(key)' needs 'backend: file' or 'backend: postgresql', such as \(example)")
            return nil
        }
    }

    /// Whether `text` is a SQL identifier that needs no quoting.
    static func isPlainIdentifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (byte >= 97 && byte <= 122) || byte == 95 }
        return isLetter(first) && bytes.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) }
    }
}
