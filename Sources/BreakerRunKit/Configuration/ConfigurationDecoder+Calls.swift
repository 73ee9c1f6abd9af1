/// The values of the network call kinds (`http`, `tcp`) and of the
/// `cached` fallback.
extension ConfigurationDecoder {
    static let httpKeys = [
        "url", "method", "headers", "body", "body_file", "expect_status", "ignore_status", "expect_body",
        "ca_file", "insecure", "follow_redirects", "max_body", "max_retry_after", "honor_retry_after",
    ]
    static let tcpKeys = ["host", "port"]
    /// The largest size any key takes (`max_body`, `cached.max_size`), in
    /// bytes: 1 GiB.
    static let largestSize = 1 << 30
    /// The ports a `tcp` call may name.
    static let portRange = 1...65535
    static let cachedKeys = ["max_age", "max_size"]

    /// Reads `http: {url: ..., method: GET, headers: {...}, ...}`; only `url` is required.
    mutating func httpCall(_ node: YAMLNode, key: String) -> HTTPCallSpecification? {
        let example = "{url: 'https://inventory.internal/health'}"
        guard let pairs = mapping(node, key: key, example: example) else { return nil }
        var call = HTTPCallSpecification(url: InterpolatedString(segments: [], location: node.location))
        var hasURL = false
        var isValid = true
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            switch pair.key {
            case "url":
                if let url = interpolated(pair.value, key: name, example: "'https://host/health'") {
                    let prefix = url.description.lowercased()
                    if prefix.hasPrefix("http://") || prefix.hasPrefix("https://") || url.segments.first.map({ if case .variable = $0 { true } else { false } }) == true {
                        call.url = url
                        hasURL = true
                    } else {
                        report(at: pair.value.location, "'\(name)' must start with http:// or https://, not '\(url)'")
                        isValid = false
                    }
                } else { isValid = false }
            case "method":
                if let method = nonEmptyString(pair.value, key: name, example: "GET"),
                   method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
                    call.method = method
                } else {
                    if case .scalar = pair.value.content, !pair.value.isNull {
                        report(at: pair.value.location, "'\(name)' must be an HTTP method in capitals, such as GET or POST")
                    }
                    isValid = false
                }
            case "headers":
                guard let headerPairs = mapping(pair.value, key: name, example: "{Authorization: 'Bearer ${TOKEN}'}") else {
                    isValid = false
                    continue
                }
                for header in headerPairs {
                    guard !header.key.isEmpty, header.key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                        report(at: header.keyLocation, "'\(header.key)' is not a valid header name")
                        isValid = false
                        continue
                    }
                    if let value = interpolated(header.value, key: "\(name).\(header.key)", example: "'value'") {
                        call.headers.append(.init(name: header.key, value: value))
                    } else { isValid = false }
                }
            case "body":
                if let body = interpolated(pair.value, key: name, example: "'{\"q\": 1}'") { call.body = body } else { isValid = false }
            case "body_file":
                if let path = nonEmptyString(pair.value, key: name, example: "/etc/vendor-sync/query.json") { call.bodyFile = path } else { isValid = false }
            case "expect_status":
                if let set = exitCodes(pair.value, key: name, allowsEmpty: false, maximum: 599) { call.expectStatus = set } else { isValid = false }
            case "ignore_status":
                if let set = exitCodes(pair.value, key: name, allowsEmpty: true, maximum: 599) { call.ignoreStatus = set } else { isValid = false }
            case "expect_body":
                if let pattern = nonEmptyString(pair.value, key: name, example: "'\"status\": *\"ok\"'") {
                    do {
                        _ = try Regex(pattern)
                        call.expectBody = pattern
                    } catch {
                        report(at: pair.value.location, "'\(name)' is not a valid regular expression: \(error)")
                        isValid = false
                    }
                } else { isValid = false }
            case "ca_file":
                if let path = nonEmptyString(pair.value, key: name, example: "/etc/ssl/internal-ca.pem") { call.caFile = path } else { isValid = false }
            case "insecure":
                if let value = boolean(pair.value, key: name) { call.isInsecure = value } else { isValid = false }
            case "follow_redirects":
                if let value = boolean(pair.value, key: name) { call.followsRedirects = value } else { isValid = false }
            case "max_body":
                if let size = size(pair.value, key: name, example: "10MiB") { call.maxBody = size } else { isValid = false }
            case "max_retry_after":
                if let limit = duration(pair.value, key: name, allowsZero: true) { call.maxRetryAfter = limit } else { isValid = false }
            case "honor_retry_after":
                if let value = boolean(pair.value, key: name) { call.honorsRetryAfter = value } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.httpKeys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard hasURL else {
            report(at: node.location, "'\(key)' needs 'url', such as \(example)")
            return nil
        }
        if call.body != nil && call.bodyFile != nil {
            report(at: node.location, "'\(key)' has both 'body' and 'body_file'; keep one")
            return nil
        }
        if call.caFile != nil && call.isInsecure {
            report(at: node.location, "'\(key)' has both 'ca_file' and 'insecure: true'; keep one")
            return nil
        }
        return call
    }

    /// Reads `tcp: {host: db.internal, port: 5432}`.
    mutating func tcpCall(_ node: YAMLNode, key: String) -> CallSpecification? {
        let example = "{host: db.internal, port: 5432}"
        guard let pairs = mapping(node, key: key, example: example) else { return nil }
        var host: InterpolatedString?
        var port: InterpolatedString?
        var isValid = true
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            switch pair.key {
            case "host":
                host = interpolated(pair.value, key: name, example: "db.internal")
                if host?.description.isEmpty == true {
                    report(at: pair.value.location, "'\(name)' is empty; write a string such as db.internal")
                    host = nil
                }
                if host == nil { isValid = false }
            case "port":
                // `${DBPORT}` is read when the breaker runs; a number now.
                if case let .scalar(text, _) = pair.value.content, text.contains("$") {
                    port = interpolated(pair.value, key: name, example: "5432")
                } else {
                    port = integer(pair.value, key: name, in: Self.portRange, example: "5432")
                        .map { InterpolatedString(segments: [.literal(String($0))], location: pair.value.location) }
                }
                if port == nil { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.tcpKeys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let host, let port else {
            report(at: node.location, "'\(key)' needs 'host' and 'port', such as \(example)")
            return nil
        }
        return .tcp(host: host, port: port)
    }

    /// Reads `cached: {max_age: 1h, max_size: 10MiB}`; both are optional
    /// (any age; 10 MiB).
    mutating func cachedFallback(_ node: YAMLNode) -> FallbackSpecification? {
        guard let pairs = mapping(node, key: "cached", example: "{max_age: 1h}") else { return nil }
        var maxAge: Duration?
        var maxSize = 10 << 20
        var isValid = true
        for pair in pairs {
            let name = "cached.\(pair.key)"
            switch pair.key {
            case "max_age":
                maxAge = duration(pair.value, key: name, allowsZero: false)
                if maxAge == nil { isValid = false }
            case "max_size":
                if let size = size(pair.value, key: name, example: "10MiB") { maxSize = size } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.cachedKeys, future: [], context: "'cached'")
                isValid = false
            }
        }
        return isValid ? .cached(maxAge: maxAge, maxSize: maxSize, exitCode: 0) : nil
    }

    /// Reads `true` or `false`, plain; anything else is an error.
    mutating func boolean(_ node: YAMLNode, key: String) -> Bool? {
        if case let .scalar(text, true) = node.content, text == "true" || text == "false" { return text == "true" }
        report(at: node.location, "'\(key)' must be true or false, not \(describe(node))")
        return nil
    }

    /// Reads a size in bytes: a whole number, or one with `KiB`, `MiB` or `GiB`.
    mutating func size(_ node: YAMLNode, key: String, example: String) -> Int? {
        guard let (text, _) = scalarText(node, key: key, expected: "a size such as \(example)") else { return nil }
        var digits = Substring(text)
        var unit = 1
        for (suffix, factor) in [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)] where text.hasSuffix(suffix) {
            digits = text.dropLast(suffix.count)
            unit = factor
        }
        guard case let .success(value) = Self.parseInteger(String(digits)), value > 0, value <= Self.largestSize / unit else {
            report(at: node.location, "'\(key)' must be a size from 1 byte to 1GiB such as \(example) or 65536, not '\(text)'")
            return nil
        }
        return value * unit
    }
}
