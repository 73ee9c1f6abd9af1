import Foundation
import Testing

/// `http` and `tcp` calls, `Retry-After`, and the `cached` fallback, end to
/// end against a real HTTP server on 127.0.0.1.
@Suite("HTTP and TCP calls, Retry-After and the cached fallback")
struct HTTPCallTests {
    @Test func aSuccessPassesTheBodyThroughByteForByteAndSendsTheInterpolatedHeader() throws {
        let sandbox = try Sandbox()
        let body = "{\"stock\": 42}\n\tünïcødé ✓\r\nno newline at the end"
        let server = try HTTPServer(in: sandbox.directory, routes: ["/stock": ["status": 200, "body": body]])
        try sandbox.write(config: """
            version: 1
            breakers:
              inventory:
                http:
                  url: \(server.url("/stock"))?key=${API_KEY}
                  method: POST
                  headers: {Authorization: "Bearer ${API_TOKEN}"}
                  body: '{"q": "${API_KEY}"}'
                timeout: 5s
            """)
        let result = try sandbox.run(["run", "inventory"], environment: ["API_TOKEN": "s3cret-token", "API_KEY": "k1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == body)
        let request = try #require(server.requests().first)
        #expect(request["method"] as? String == "POST")
        #expect(request["path"] as? String == "/stock?key=k1")
        #expect((request["headers"] as? [String: String])?["Authorization"] == "Bearer s3cret-token")
        #expect(request["body"] as? String == "{\"q\": \"k1\"}")
        let state = try String(contentsOfFile: sandbox.stateDirectory + "/inventory/state.json", encoding: .utf8)
        #expect(!state.contains("s3cret"))
    }

    @Test func threeFailuresOpenTheBreakerAndTheNextCallIsServedFromTheCache() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/api": [
            ["status": 200, "body": "[1, 2, 3]"],
            ["status": 503, "body": "down"],
        ]])
        try sandbox.write(config: """
            version: 1
            breakers:
              api:
                http: {url: '\(server.url("/api"))'}
                timeout: 5s
                fail_max: 3
                reset_timeout: 1m
                fallback: {cached: {max_age: 1h}}
            """)
        let first = try sandbox.run(["run", "api"])
        #expect(first.status == 0 && first.stdout == "[1, 2, 3]", "\(first.stderr)")
        for _ in 0..<3 {
            let failed = try sandbox.run(["run", "api"])
            #expect(failed.status == 22)
            #expect(failed.stdout == "")
            #expect(failed.stderr.contains("HTTP 503"))
        }
        #expect(try sandbox.status("api")["state"] as? String == "open")
        let served = try sandbox.run(["run", "api"])
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdout == "[1, 2, 3]")
        #expect(served.stderr.contains("answered from the cache"))
        #expect(server.requests().count == 4)
        let cache = sandbox.stateDirectory + "/api/cache"
        let mode = try FileManager.default.attributesOfItem(atPath: cache)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func anIgnoredStatusIsNeitherSuccessNorFailure() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/item": ["status": 404, "body": "gone"]])
        try sandbox.write(config: """
            version: 1
            breakers:
              items:
                http: {url: '\(server.url("/item"))', expect_status: [200-299], ignore_status: [404]}
                fail_max: 1
            """)
        let result = try sandbox.run(["run", "items"])
        #expect(result.status == 22)
        let status = try sandbox.status("items")
        #expect(status["state"] as? String == "closed")
        #expect(try sandbox.counts("items")["ignored"] == 1)
        #expect(try sandbox.counts("items")["failures"] == 0)
    }

    @Test func retryAfterOfA429SetsTheOpenInterval() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/rate": ["status": 429, "headers": ["Retry-After": "7"]]])
        try sandbox.write(config: """
            version: 1
            breakers:
              rated:
                http: {url: '\(server.url("/rate"))'}
                fail_max: 1
                reset_timeout: 10m
            """)
        let result = try sandbox.run(["run", "rated"])
        #expect(result.status == 22)
        let status = try sandbox.status("rated")
        #expect(status["state"] as? String == "open")
        let retryAfter = try #require(status["retry_after_seconds"] as? Int)
        #expect((6...7).contains(retryAfter))
    }

    @Test func expectBodyMustMatch() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/health": ["status": 200, "body": "{\"status\": \"degraded\"}"]])
        try sandbox.write(config: """
            version: 1
            breakers:
              health:
                http: {url: '\(server.url("/health"))', expect_body: '"status": *"ok"'}
            """)
        let result = try sandbox.run(["run", "health"])
        #expect(result.status == 22)
        #expect(result.stderr.contains("body does not match expect_body"))
    }

    @Test func aRefusedConnectionFailsAtOnceWithStatus7() throws {
        let port = closedPort()
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              down:
                http: {url: 'http://127.0.0.1:\(port)/'}
                timeout: 10s
            """)
        let result = try sandbox.run(["run", "down"])
        #expect(result.status == 7, "\(result.stderr)")
        #expect(result.seconds < 3)
        // Worded as a tcp call's refusal: the host and the port.
        #expect(result.stderr.contains("could not connect to 127.0.0.1 port \(port): Connection refused"), "\(result.stderr)")
    }

    @Test func anUnknownHostFailsWithStatus6() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              nowhere:
                http: {url: 'http://no-such-host.invalid/'}
                timeout: 10s
            """)
        let result = try sandbox.run(["run", "nowhere"])
        #expect(result.status == 6, "\(result.stderr)")
        #expect(result.stderr.contains("could not resolve host no-such-host.invalid"), "\(result.stderr)")
        // Without the network library's internals.
        for leak in ["SocketAddressError", "UnknownHost", "error -"] {
            #expect(!result.stderr.contains(leak), "\(result.stderr)")
        }
        #expect(result.seconds < 5, "an unknown host is an answer, well within the 10 s timeout: \(result.seconds) s")
    }

    @Test func aServerThatNeverAnswersTimesOutWith124() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/slow": ["status": 200, "sleep": 30]])
        try sandbox.write(config: """
            version: 1
            breakers:
              slow:
                http: {url: '\(server.url("/slow"))'}
                timeout: 1s
            """)
        let result = try sandbox.run(["run", "slow"])
        #expect(result.status == 124, "\(result.stderr)")
        #expect(result.seconds < 4)
        #expect(result.stderr.contains("slow: call timed out after 1s"), "\(result.stderr)")
    }

    @Test func aStaleCacheIsNotServedAndTheListFallsThroughToTheStaticAnswer() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/api": [
            ["status": 200, "body": "fresh"],
            ["status": 500],
        ]])
        try sandbox.write(config: """
            version: 1
            breakers:
              api:
                http: {url: '\(server.url("/api"))'}
                fail_max: 1
                reset_timeout: 1m
                fallback: [{cached: {max_age: 1s}}, {output: "[]", exit_code: 0}]
            """)
        #expect(try sandbox.run(["run", "api"]).stdout == "fresh")
        #expect(try sandbox.run(["run", "api"]).status == 22)
        usleep(1_300_000)
        let served = try sandbox.run(["run", "api"])
        #expect(served.status == 0)
        #expect(served.stdout == "[]")
    }

    @Test func anHTTPProbeClosesTheBreakerWhenTheServiceIsBack() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/health": ["status": 503]])
        try sandbox.write(config: """
            version: 1
            breakers:
              svc:
                fail_max: 1
                reset_timeout: 300ms
                probe: {http: {url: '\(server.url("/health"))'}, timeout: 2s}
            """)
        #expect(try sandbox.run(["run", "svc", "--", "false"]).status == 1)
        #expect(try eventually { try sandbox.status("svc")["state"] as? String == "half-open" })
        let failedProbe = try sandbox.run(["run", "svc", "--", "echo", "ran"])
        #expect(failedProbe.status == 75)
        #expect(failedProbe.stdout.isEmpty, "the call did not run")
        // The failed probe reopened the breaker: open now, or half-open again
        // if 300 ms have passed on a busy machine; either way it was counted.
        let reopened = try sandbox.status("svc")
        #expect((reopened["counts"] as? [String: Int])?["failures"] == 2, "the call and the probe")
        #expect(reopened["consecutive_failures"] as? Int == 2)
        try server.set(routes: ["/health": ["status": 200, "body": "ok"]])
        #expect(try eventually { try sandbox.status("svc")["state"] as? String == "half-open" })
        let passed = try sandbox.run(["run", "svc", "--", "echo", "ran"])
        #expect(passed.status == 0, "\(passed.stderr)")
        #expect(passed.stdout == "ran\n", "the probe's body does not reach stdout")
        #expect(try sandbox.status("svc")["state"] as? String == "closed")
    }

    @Test func tcpSucceedsOnAnOpenPortAndFailsWith7OnAClosedOne() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: [:])
        try sandbox.write(config: """
            version: 1
            breakers:
              open-port:
                tcp: {host: 127.0.0.1, port: \(server.port)}
                timeout: 2s
              closed-port:
                tcp: {host: localhost, port: \(closedPort())}
                timeout: 10s
              no-host:
                tcp: {host: no-such-host.invalid, port: 80}
                timeout: 10s
            """)
        #expect(try sandbox.run(["run", "open-port"]).status == 0)
        let closed = try sandbox.run(["run", "closed-port"])
        #expect(closed.status == 7)
        #expect(closed.stderr.contains("refused"), "\(closed.stderr)")
        #expect(closed.seconds < 5, "refused at once, well within the 10 s timeout: \(closed.seconds) s")
        let noHost = try sandbox.run(["run", "no-host"])
        #expect(noHost.status == 6, "\(noHost.stderr)")
        #expect(noHost.seconds < 5, "well within the 10 s timeout: \(noHost.seconds) s")
    }

    @Test func aRedirectIsNotFollowedByDefaultAndIsJudgedByExpectStatus() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: [
            "/old": ["status": 302, "headers": ["Location": "/new"], "body": "moved"],
            "/new": ["status": 200, "body": "arrived"],
        ])
        try sandbox.write(config: """
            version: 1
            breakers:
              any-3xx:
                http: {url: '\(server.url("/old"))'}
                timeout: 5s
              only-2xx:
                http: {url: '\(server.url("/old"))', expect_status: [200-299]}
                timeout: 5s
            """)
        // The default expect_status, 200-399, takes the 302 itself.
        let accepted = try sandbox.run(["run", "any-3xx"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout == "moved", "the 302's own body, not the target's")
        let refused = try sandbox.run(["run", "only-2xx"])
        #expect(refused.status == 22, "\(refused.stderr)")
        #expect(refused.stderr.contains("HTTP 302"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        #expect(server.requests().map { $0["path"] as? String } == ["/old", "/old"], "/new was never asked for")
    }

    @Test func validatePrintShowsTheHTTPKeysWithoutSecrets() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              api:
                http:
                  url: https://api.example/v1
                  headers: {Authorization: "Bearer ${TOKEN}"}
                  expect_status: [200-299]
                fallback: [{cached: {max_age: 1h}}, {output: "[]"}]
            """)
        let result = try sandbox.run(["validate", "--print"], environment: ["TOKEN": "s3cret"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("url: https://api.example/v1"))
        #expect(result.stdout.contains("Authorization: 'Bearer ${TOKEN}'"))
        #expect(result.stdout.contains("expect_status: [200-299]"))
        #expect(result.stdout.contains("cached: {max_age: 1h"))
        #expect(!result.stdout.contains("s3cret"))
        try sandbox.write(config: result.stdout)
        #expect(try sandbox.run(["validate"], environment: ["TOKEN": "x"]).status == 0)
    }

    @Test func aCommandsOutputIsForwardedAsItComesAndCachedForTheFallback() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                fail_max: 1
                reset_timeout: 1m
                fallback: {cached: {}}
            """)
        let running = try sandbox.start(["run", "job", "--", "/bin/sh", "-c", "echo first; sleep 1; printf 'second'"])
        #expect(eventually(within: 0.8) { (try? String(contentsOfFile: running.out, encoding: .utf8)) == "first\n" },
                "the first line reaches the caller before the call ends")
        let result = running.wait()
        #expect(result.status == 0)
        #expect(result.stdout == "first\nsecond")
        #expect(try sandbox.run(["run", "job", "--", "false"]).status == 1)
        // The same call, rejected: its own last answer is served.
        let served = try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "echo first; sleep 1; printf 'second'"])
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdout == "first\nsecond")
    }

    @Test func anOutputOverMaxSizeIsNotCached() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                fail_max: 1
                fallback: {cached: {max_size: 4}}
            """)
        let result = try sandbox.run(["run", "job", "--", "echo", "too long"])
        #expect(result.stdout == "too long\n")
        #expect(result.stderr.contains("not cached"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/job/cache"))
    }

    /// A test CA and a certificate for 127.0.0.1 that it signed, made with openssl.
    private func makeCertificates(in sandbox: Sandbox) throws -> (ca: String, certificate: String, key: String) {
        let script = """
            set -e
            cd "$1"
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=breaker-run-test-ca
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
            printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, "sh", sandbox.directory.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl failed")
        return (sandbox.path("ca.pem"), sandbox.path("server.pem"), sandbox.path("server.key"))
    }

    @Test func tlsWithTheTestCAPassesAndWithoutItTheCertificateIsUntrusted() throws {
        let sandbox = try Sandbox()
        let files = try makeCertificates(in: sandbox)
        let server = try HTTPServer(in: sandbox.directory, routes: ["/secure": ["status": 200, "body": "secret stock"]],
                                    certificate: files.certificate, key: files.key)
        let url = server.url("/secure", scheme: "https")
        try sandbox.write(config: """
            version: 1
            breakers:
              trusted:
                http: {url: '\(url)', ca_file: '\(files.ca)'}
                timeout: 5s
              untrusted:
                http: {url: '\(url)'}
                timeout: 5s
              insecure:
                http: {url: '\(url)', insecure: true}
                timeout: 5s
            """)
        let trusted = try sandbox.run(["run", "trusted"])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(trusted.stdout == "secret stock")
        let untrusted = try sandbox.run(["run", "untrusted"])
        #expect(untrusted.status == 60, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("untrusted certificate"))
        #expect(untrusted.seconds < 4, "a TLS failure is not retried until the deadline")
        #expect(try sandbox.run(["run", "insecure"]).status == 0)
    }

    @Test func aTLSHandshakeWithAPlainHTTPServerFailsWith35() throws {
        let sandbox = try Sandbox()
        let plain = try HTTPServer(in: sandbox.directory, routes: [:])
        try sandbox.write(config: """
            version: 1
            breakers:
              not-tls:
                http: {url: 'https://127.0.0.1:\(plain.port)/'}
                timeout: 5s
            """)
        let result = try sandbox.run(["run", "not-tls"])
        #expect(result.status == 35, "\(result.stderr)")
        #expect(result.seconds < 4)
    }
}
