import BreakerRunKit
import CircuitBreaker
import Testing

/// `http`, `tcp` and the `cached` fallback: typed values in, or precise
/// errors out.
@Suite("Network call keys and the cached fallback")
struct CallKeysTests {
    @Test func anHTTPCallTakesDefaultsForEverythingButTheURL() throws {
        let x = try oneBreaker("http: {url: 'https://h/health'}")
        guard let http = x.call?.kind as? HTTPCallSpecification else { Issue.record("not http: \(String(describing: x.call))"); return }
        #expect(http.url.description == "https://h/health")
        #expect(http.method == "GET")
        #expect(http.expectStatus == ExitCodeSet([200...399]))
        #expect(http.ignoreStatus == ExitCodeSet([]))
        #expect(!http.isInsecure && !http.followsRedirects)
        #expect(http.maxBody == 10 << 20)
        #expect(http.maxRetryAfter == .seconds(3600))
    }

    @Test func everyHTTPKeyIsRead() throws {
        let x = try oneBreaker("""
            http:
              url: 'https://h/${PATH_PART}'
              method: POST
              headers: {Authorization: 'Bearer ${TOKEN}', Accept: application/json}
              body: '{"a": 1}'
              expect_status: [200-299, 304]
              ignore_status: [404]
              expect_body: 'ok|fine'
              ca_file: /etc/ca.pem
              follow_redirects: true
              max_body: 512KiB
              max_retry_after: 10m
            """)
        guard let http = x.call?.kind as? HTTPCallSpecification else { Issue.record("not http"); return }
        #expect(http.method == "POST")
        #expect(http.headers.map(\.name) == ["Authorization", "Accept"])
        #expect(http.headers[0].value.variables == ["TOKEN"])
        #expect(http.expectStatus == ExitCodeSet([200...299, 304...304]))
        #expect(http.ignoreStatus == ExitCodeSet([404...404]))
        #expect(http.expectBody == "ok|fine")
        #expect(http.caFile == "/etc/ca.pem")
        #expect(http.followsRedirects)
        #expect(http.maxBody == 512 * 1024)
        #expect(http.maxRetryAfter == .seconds(600))
        #expect(x.unsetVariables(in: ["TOKEN": "t"]).map(\.key) == ["http.url"])
    }

    @Test func aTCPCallAndACachedFallbackAreRead() throws {
        let x = try oneBreaker("tcp: {host: db, port: 5432}\nfallback: [{cached: {max_age: 1h, max_size: 1MiB}, exit_code: 3}, {output: '[]'}]")
        guard let tcp = x.call?.kind as? TCPCallSpecification else { Issue.record("not a tcp call: \(String(describing: x.call))"); return }
        let (host, port) = (tcp.host, tcp.port)
        #expect(host.literalValue == "db")
        #expect(port.literalValue == "5432")
        #expect(x.fallbacks == [.cached(maxAge: .seconds(3600), maxSize: 1 << 20, exitCode: 3), .fixed(output: "[]", exitCode: 0)])
    }

    @Test func aTCPHostAndPortReadTheEnvironmentWhenTheBreakerRuns() throws {
        let x = try oneBreaker("tcp: {host: '${DBHOST}', port: '${DBPORT}'}")
        #expect(x.unsetVariables(in: [:]).map(\.key) == ["tcp.host", "tcp.port"])
        let resolved = try x.resolved(in: ["DBHOST": "db.internal", "DBPORT": "6432"])
        guard let tcp = resolved.call?.kind as? TCPCallSpecification else { Issue.record("not a tcp call"); return }
        let (host, port) = (tcp.host, tcp.port)
        #expect(host.literalValue == "db.internal")
        #expect(port.literalValue == "6432")
    }

    @Test func aTCPPortReadFromTheEnvironmentMustBeAPort() throws {
        let x = try oneBreaker("tcp: {host: db, port: '${DBPORT}'}")
        #expect(throws: ConfigurationError.self) { try x.resolved(in: ["DBPORT": "http"]) }
        let error = #expect(throws: ConfigurationError.self) { try x.resolved(in: ["DBPORT": "70000"]) }
        #expect(error.map(String.init(describing:))?.contains("b.yaml:4:27: 'tcp.port' is '${DBPORT}', which reads '70000': not a port from 1 to 65535") == true)
    }

    @Test func aDollarInACommandElementIsAWarningPointingToShellOrEnv() throws {
        let configuration = try ConfigurationLoader.parse(yaml: "version: 1\nbreakers:\n  x:\n    command: [curl, '${URL}']\n", file: "b.yaml")
        #expect(configuration.warnings.map(\.description) == [
            "b.yaml:4:21: 'command' element '${URL}' is passed as it is, '${' and all: a command runs with no shell; use 'shell:' for a shell to expand it, or set the value in 'env:' and let the program read it",
        ])
    }

    @Test(arguments: [
        ("http: {method: GET}", "b.yaml:4:11: 'http' needs 'url'"),
        ("http: {url: 'ftp://h/'}", "b.yaml:4:17: 'http.url' must start with http:// or https://"),
        ("http: {url: 'http://h/', expect_status: [200-700]}", "b.yaml:4:46: statuses in 'http.expect_status' are between 0 and 599, not 700"),
        ("http: {url: 'http://h/', expect_body: '(unclosed'}", "b.yaml:4:43: 'http.expect_body' is not a valid regular expression"),
        ("http: {url: 'http://h/', insecure: yes}", "b.yaml:4:40: 'http.insecure' must be true or false"),
        ("http: {url: 'http://h/', insecure: true, ca_file: /x}", "b.yaml:4:11: 'http' has both 'ca_file' and 'insecure: true'; keep one"),
        ("http: {url: 'http://h/', max_bdy: 1}", "b.yaml:4:30: unknown key 'max_bdy' in 'http'; did you mean 'max_body'?"),
        ("http: {url: 'http://h/', max_body: 10MB}", "b.yaml:4:40: 'http.max_body' must be a size"),
        ("command: [a]\nhttp: {url: 'http://h/'}", "b.yaml:5:5: breaker 'x' has both 'command' (line 4) and 'http'; keep one"),
        ("tcp: {host: db}", "b.yaml:4:10: 'tcp' needs 'host' and 'port'"),
        ("tcp: {host: db, port: 70000}", "b.yaml:4:27: 'tcp.port' must be between 1 and 65535, not 70000"),
        ("on_transition: {tcp: {host: a, port: 1}}", "unknown key 'tcp' in 'on_transition'"),
    ])
    func badValuesAreReportedWithTheirPlace(body: String, expected: String) {
        let message = loadError(body)
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
    }

    @Test func retryAfterReadsSecondsAndHTTPDates() {
        #expect(RetryAfter.parse("7", now: 0) == .seconds(7))
        #expect(RetryAfter.parse(" 120 ", now: 0) == .seconds(120))
        // 2026-11-30T01:00:00Z is 1_796_000_400 s after the epoch.
        #expect(RetryAfter.parse("Mon, 30 Nov 2026 01:00:30 GMT", now: 1_796_000_400) == .seconds(30))
        #expect(RetryAfter.parse("Mon, 30 Nov 2026 00:59:00 GMT", now: 1_796_000_400) == .zero)
        #expect(RetryAfter.parse("soon", now: 0) == nil)
        #expect(RetryAfter.parse("-5", now: 0) == nil)
    }
}
