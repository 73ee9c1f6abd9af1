/// An `http` call: one request, whose response decides the outcome.
///
/// The url, header values and body may read the environment (`${VAR}`); they
/// are resolved only when the call runs, so that a secret never reaches a
/// message, `status` or the state files.
public struct HTTPCallSpecification: CallKind {
    package static let key = "http"
    package static let plugin: NetworkPlugin? = .http
    /// The keys of its mapping.
    static let keys = [
        "url", "method", "headers", "body", "body_file", "expect_status", "ignore_status", "expect_body",
        "ca_file", "insecure", "follow_redirects", "max_body", "max_retry_after", "honor_retry_after",
    ]

    /// One request header, in the order written.
    public struct Header: Sendable, Equatable {
        /// The header's name, as written.
        public var name: String
        /// The header's value, which may read the environment.
        public var value: InterpolatedString

        /// Creates a header.
        /// - Parameters:
        ///   - name: the header's name.
        ///   - value: its value.
        public init(name: String, value: InterpolatedString) {
            self.name = name
            self.value = value
        }
    }

    /// The request's URL (`url`), `http://` or `https://`.
    public var url: InterpolatedString
    /// The request method (`method`). Default `GET`.
    public var method: String
    /// Request headers (`headers`), in the order written.
    public var headers: [Header]
    /// The request body (`body`); nil for none.
    public var body: InterpolatedString?
    /// A file whose bytes are the request body (`body_file`), read when the
    /// call runs, sent as they are (no `${VAR}` interpolation); nil for none.
    /// A relative path is relative to the working directory, as `ca_file`'s.
    /// Excludes `body`.
    public var bodyFile: String?
    /// Response statuses that count as success (`expect_status`). Default 200-399.
    public var expectStatus: ExitCodeSet
    /// Response statuses that count as neither success nor failure
    /// (`ignore_status`). Default none.
    public var ignoreStatus: ExitCodeSet
    /// A regular expression the body must match for a success
    /// (`expect_body`, Swift `Regex` syntax); nil for any body.
    public var expectBody: String?
    /// A PEM file of the certificate authorities to trust instead of the
    /// system's (`ca_file`); nil for the system's.
    public var caFile: String?
    /// Whether the server's certificate goes unchecked (`insecure`). Default false.
    public var isInsecure: Bool
    /// Whether redirects are followed, up to 5 (`follow_redirects`). Default false.
    public var followsRedirects: Bool
    /// The largest response body accepted, in bytes (`max_body`); a larger
    /// one is a failure. Default 10 MiB.
    public var maxBody: Int
    /// The longest open interval a `Retry-After` header may set
    /// (`max_retry_after`). Default 1 hour.
    public var maxRetryAfter: Duration
    /// Whether a 429 or 503 with `Retry-After` opens the breaker at once for
    /// that long (`honor_retry_after`); false makes it an ordinary failure.
    /// Default true.
    public var honorsRetryAfter: Bool

    /// Creates an http call; every parameter but the url defaults to DESIGN's default.
    /// - Parameters:
    ///   - url: the URL.
    ///   - method: the method.
    ///   - headers: the request headers.
    ///   - body: the request body, if any.
    ///   - bodyFile: a file holding the request body, if any.
    ///   - expectStatus: statuses that are a success.
    ///   - ignoreStatus: statuses that are ignored.
    ///   - expectBody: a regular expression the body must match, if any.
    ///   - caFile: a PEM file of trusted authorities, if any.
    ///   - isInsecure: skip certificate verification.
    ///   - followsRedirects: follow redirects.
    ///   - maxBody: the largest body accepted, in bytes.
    ///   - maxRetryAfter: the longest open interval a `Retry-After` sets.
    ///   - honorsRetryAfter: whether a `Retry-After` opens the breaker.
    public init(
        url: InterpolatedString,
        method: String = "GET",
        headers: [Header] = [],
        body: InterpolatedString? = nil,
        bodyFile: String? = nil,
        expectStatus: ExitCodeSet = ExitCodeSet([200...399]),
        ignoreStatus: ExitCodeSet = ExitCodeSet([]),
        expectBody: String? = nil,
        caFile: String? = nil,
        isInsecure: Bool = false,
        followsRedirects: Bool = false,
        maxBody: Int = 10 << 20,
        maxRetryAfter: Duration = .seconds(3600),
        honorsRetryAfter: Bool = true
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.bodyFile = bodyFile
        self.expectStatus = expectStatus
        self.ignoreStatus = ignoreStatus
        self.expectBody = expectBody
        self.caFile = caFile
        self.isInsecure = isInsecure
        self.followsRedirects = followsRedirects
        self.maxBody = maxBody
        self.maxRetryAfter = maxRetryAfter
        self.honorsRetryAfter = honorsRetryAfter
    }

    /// Every value that may read the environment, with the key it is
    /// written under (`http.url`, `http.headers.NAME`, `http.body`).
    public var interpolatedValues: [(key: String, value: InterpolatedString)] {
        var values: [(key: String, value: InterpolatedString)] = [("http.url", url)]
        values += headers.map { ("http.headers.\($0.name)", $0.value) }
        if let body { values.append(("http.body", body)) }
        return values
    }

    /// Reads `http: {url: ..., method: GET, headers: {...}, ...}`; only `url` is required.
    package static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> HTTPCallSpecification? {
        let example = "{url: 'https://inventory.internal/health'}"
        guard let pairs = decoder.mapping(node, key: key, example: example) else { return nil }
        var call = HTTPCallSpecification(url: InterpolatedString(segments: [], location: node.location))
        var hasURL = false
        var isValid = true
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            switch pair.key {
            case "url":
                if let url = decoder.interpolated(pair.value, key: name, example: "'https://host/health'") {
                    let prefix = url.description.lowercased()
                    if prefix.hasPrefix("http://") || prefix.hasPrefix("https://") || url.segments.first.map({ if case .variable = $0 { true } else { false } }) == true {
                        call.url = url
                        hasURL = true
                    } else {
                        decoder.report(at: pair.value.location, "'\(name)' must start with http:// or https://, not '\(url)'")
                        isValid = false
                    }
                } else { isValid = false }
            case "method":
                if let method = decoder.nonEmptyString(pair.value, key: name, example: "GET"),
                   method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) {
                    call.method = method
                } else {
                    if case .scalar = pair.value.content, !pair.value.isNull {
                        decoder.report(at: pair.value.location, "'\(name)' must be an HTTP method in capitals, such as GET or POST")
                    }
                    isValid = false
                }
            case "headers":
                guard let headerPairs = decoder.mapping(pair.value, key: name, example: "{Authorization: 'Bearer ${TOKEN}'}") else {
                    isValid = false
                    continue
                }
                for header in headerPairs {
                    guard !header.key.isEmpty, header.key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                        decoder.report(at: header.keyLocation, "'\(header.key)' is not a valid header name")
                        isValid = false
                        continue
                    }
                    if let value = decoder.interpolated(header.value, key: "\(name).\(header.key)", example: "'value'") {
                        call.headers.append(.init(name: header.key, value: value))
                    } else { isValid = false }
                }
            case "body":
                if let body = decoder.interpolated(pair.value, key: name, example: "'{\"q\": 1}'") { call.body = body } else { isValid = false }
            case "body_file":
                if let path = decoder.nonEmptyString(pair.value, key: name, example: "/etc/vendor-sync/query.json") { call.bodyFile = path } else { isValid = false }
            case "expect_status":
                if let set = decoder.exitCodes(pair.value, key: name, allowsEmpty: false, maximum: 599) { call.expectStatus = set } else { isValid = false }
            case "ignore_status":
                if let set = decoder.exitCodes(pair.value, key: name, allowsEmpty: true, maximum: 599) { call.ignoreStatus = set } else { isValid = false }
            case "expect_body":
                if let pattern = decoder.nonEmptyString(pair.value, key: name, example: "'\"status\": *\"ok\"'") {
                    do {
                        _ = try Regex(pattern)
                        call.expectBody = pattern
                    } catch {
                        decoder.report(at: pair.value.location, "'\(name)' is not a valid regular expression: \(error)")
                        isValid = false
                    }
                } else { isValid = false }
            case "ca_file":
                if let path = decoder.nonEmptyString(pair.value, key: name, example: "/etc/ssl/internal-ca.pem") { call.caFile = path } else { isValid = false }
            case "insecure":
                if let value = decoder.boolean(pair.value, key: name) { call.isInsecure = value } else { isValid = false }
            case "follow_redirects":
                if let value = decoder.boolean(pair.value, key: name) { call.followsRedirects = value } else { isValid = false }
            case "max_body":
                if let size = decoder.size(pair.value, key: name, example: "10MiB") { call.maxBody = size } else { isValid = false }
            case "max_retry_after":
                if let limit = decoder.duration(pair.value, key: name, allowsZero: true) { call.maxRetryAfter = limit } else { isValid = false }
            case "honor_retry_after":
                if let value = decoder.boolean(pair.value, key: name) { call.honorsRetryAfter = value } else { isValid = false }
            default:
                decoder.unknownOrFuture(pair, known: keys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard hasURL else {
            decoder.report(at: node.location, "'\(key)' needs 'url', such as \(example)")
            return nil
        }
        if call.body != nil && call.bodyFile != nil {
            decoder.report(at: node.location, "'\(key)' has both 'body' and 'body_file'; keep one")
            return nil
        }
        if call.caFile != nil && call.isInsecure {
            decoder.report(at: node.location, "'\(key)' has both 'ca_file' and 'insecure: true'; keep one")
            return nil
        }
        return call
    }

    /// The lines of an `http` mapping in `Configuration.effectiveYAML`:
    /// values that read variables as written (`${TOKEN}`), never resolved.
    func effectiveYAMLLines(key: String, indent: String) -> [String] {
        let inner = indent + "  "
        var lines = ["\(indent)\(key):", "\(inner)url: \(YAMLText.scalar(url.description))", "\(inner)method: \(method)"]
        if headers.isEmpty {
            lines.append("\(inner)headers: {}")
        } else {
            lines.append("\(inner)headers:")
            lines += headers.map { "\(inner)  \(YAMLText.scalar($0.name)): \(YAMLText.scalar($0.value.description))" }
        }
        if let body { lines.append("\(inner)body: \(YAMLText.scalar(body.description))") } else { lines.append("\(inner)# body: not set (none)") }
        if let bodyFile { lines.append("\(inner)body_file: \(YAMLText.scalar(bodyFile))") } else { lines.append("\(inner)# body_file: not set (none)") }
        lines.append("\(inner)expect_status: \(expectStatus)")
        lines.append("\(inner)ignore_status: \(ignoreStatus)")
        if let expectBody { lines.append("\(inner)expect_body: \(YAMLText.scalar(expectBody))") } else { lines.append("\(inner)# expect_body: not set (any body)") }
        if let caFile { lines.append("\(inner)ca_file: \(YAMLText.scalar(caFile))") } else { lines.append("\(inner)# ca_file: not set (the system's authorities)") }
        lines.append("\(inner)insecure: \(isInsecure)")
        lines.append("\(inner)follow_redirects: \(followsRedirects)")
        lines.append("\(inner)max_body: \(maxBody)")
        lines.append("\(inner)max_retry_after: \(YAMLText.duration(maxRetryAfter))")
        lines.append("\(inner)honor_retry_after: \(honorsRetryAfter)")
        return lines
    }

    package func effectiveYAMLLines() -> [String] {
        effectiveYAMLLines(key: Self.key, indent: "")
    }

    package func makeCall(arguments: [String]?, registry: KindRegistry) -> any Call {
        registry.http?(self) ?? UnavailableCall(plugin: .http)
    }
}

extension CallSpecification {
    /// An `http` call.
    /// - Parameter specification: the request and its rules.
    /// - Returns: the call.
    public static func http(_ specification: HTTPCallSpecification) -> CallSpecification {
        CallSpecification(specification)
    }
}
