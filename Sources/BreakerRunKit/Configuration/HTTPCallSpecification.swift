/// An `http` call: one request, whose response decides the outcome.
///
/// The url, header values and body may read the environment (`${VAR}`); they
/// are resolved only when the call runs, so that a secret never reaches a
/// message, `status` or the state files.
public struct HTTPCallSpecification: Sendable, Equatable {
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
}
