import Foundation
import Testing

/// `${VAR}` values of an `http` call never appear in messages, `status` or
/// the state files (issue 6: "secrets never appear in messages, status or
/// state files"), whatever part of the request holds them and however the
/// call fails.
@Suite("Secrets read by an http call stay out of messages, status and state")
struct HTTPSecretTests {
    /// Everything a secret could leak into after `run`: its stderr, `status`
    /// as text and as JSON, and every file in the breaker's state directory.
    func leaks(of secrets: [String], breaker: String, in sandbox: Sandbox, run: Invocation) throws -> [String] {
        let statusText = try sandbox.run(["status", breaker])
        let statusJSON = try sandbox.run(["status", "--json", breaker])
        #expect(statusJSON.status == 0, "\(statusJSON.stderr)")
        var places = ["run's stderr": run.stderr, "status": statusText.stdout + statusText.stderr,
                      "status --json": statusJSON.stdout + statusJSON.stderr]
        let directory = sandbox.stateDirectory + "/" + breaker
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
            places[file] = (try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)) ?? ""
        }
        #expect(places["state.json"] != nil, "the run recorded its outcome")
        return places.compactMap { place, text in
            secrets.contains { text.lowercased().contains($0.lowercased()) } ? "\(place): \(text)" : nil
        }
    }

    @Test func aSecretInAnUnresolvableHostIsNotShown() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              vendor:
                http: {url: "http://${TOK}.invalid/"}
                timeout: 5s
                fail_max: 1
            """)
        let result = try sandbox.run(["run", "-v", "vendor"], environment: ["TOK": "SeCrEt42"])
        #expect(result.status == 6, "\(result.stderr)")
        #expect(result.stderr.contains("could not resolve host ${TOK}.invalid"), "the reason still names the host: \(result.stderr)")
        let status = try sandbox.status("vendor")
        #expect(status["state"] as? String == "open")
        #expect((status["last_failure"] as? String)?.contains("${TOK}.invalid") == true, "\(status)")
        #expect(try leaks(of: ["SeCrEt42"], breaker: "vendor", in: sandbox, run: result) == [])
    }

    @Test func secretsInThePathAndAHeaderOfAFailingRequestAreNotShown() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/v1/pathsecret77/stock": ["status": 503, "body": "down"]])
        try sandbox.write(config: """
            version: 1
            breakers:
              vendor:
                http:
                  url: '\(server.url("/v1/${PATH_TOKEN}/stock"))'
                  headers: {Authorization: "Bearer ${HEADER_TOKEN}"}
                  body: '{"key": "${BODY_TOKEN}"}'
                  method: POST
                timeout: 5s
                fail_max: 1
            """)
        let secrets = ["PATH_TOKEN": "pathsecret77", "HEADER_TOKEN": "headersecret88", "BODY_TOKEN": "bodysecret99"]
        let result = try sandbox.run(["run", "-v", "vendor"], environment: secrets)
        #expect(result.status == 22, "\(result.stderr)")
        #expect(result.stderr.contains("HTTP 503"), "\(result.stderr)")
        // The secrets were sent: the request that failed carried them.
        let request = try #require(server.requests().first)
        #expect(request["path"] as? String == "/v1/pathsecret77/stock")
        #expect((request["headers"] as? [String: String])?["Authorization"] == "Bearer headersecret88")
        #expect(try sandbox.status("vendor")["state"] as? String == "open")
        #expect(try leaks(of: Array(secrets.values), breaker: "vendor", in: sandbox, run: result) == [])
    }

    @Test func aSecretInTheURLOfARefusedConnectionIsNotShown() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              vendor:
                http: {url: "http://127.0.0.1:\(closedPort())/${PATH_TOKEN}"}
                timeout: 5s
                fail_max: 1
            """)
        let result = try sandbox.run(["run", "-v", "vendor"], environment: ["PATH_TOKEN": "refusedsecret55"])
        #expect(result.status == 7, "\(result.stderr)")
        #expect(try leaks(of: ["refusedsecret55"], breaker: "vendor", in: sandbox, run: result) == [])
    }
}
