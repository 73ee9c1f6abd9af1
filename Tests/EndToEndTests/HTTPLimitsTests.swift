import Foundation
import Testing

/// `body_file`, and curl's statuses for a body over `max_body` (63) and too
/// many redirects (47), against a real HTTP server on 127.0.0.1.
@Suite("HTTP body_file, max_body and redirects")
struct HTTPLimitsTests {
    func breaker(_ sandbox: Sandbox, _ http: String) throws {
        try sandbox.write(config: """
            version: 1
            breakers:
              vendor:
                http: \(http)
                timeout: 5s
                fail_max: 5
            """)
    }

    @Test func bodyFileIsReadAtCallTimeAndSentByteForByte() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/sync": ["status": 200, "body": "ok"]])
        let bodyPath = sandbox.path("query.json")
        try breaker(sandbox, "{url: '\(server.url("/sync"))', method: POST, body_file: '\(bodyPath)'}")
        try "{\"since\": \"${NOT_INTERPOLATED}\", \"n\": 1}\n".write(toFile: bodyPath, atomically: true, encoding: .utf8)
        let first = try sandbox.run(["run", "vendor"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "ok")
        // Changed between calls: the next call sends the new contents.
        try "second".write(toFile: bodyPath, atomically: true, encoding: .utf8)
        #expect(try sandbox.run(["run", "vendor"]).status == 0)
        let bodies = server.requests().map { $0["body"] as? String }
        #expect(bodies == ["{\"since\": \"${NOT_INTERPOLATED}\", \"n\": 1}\n", "second"])
        let printed = try sandbox.run(["validate", "--print"])
        #expect(printed.stdout.contains("body_file: \(bodyPath)"), "\(printed.stdout)")
    }

    @Test func aMissingBodyFileIsAClearErrorNamingItAndNoFailureOfTheService() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/sync": ["status": 200, "body": "ok"]])
        let missing = sandbox.path("no-such-query.json")
        try breaker(sandbox, "{url: '\(server.url("/sync"))', method: POST, body_file: '\(missing)'}")
        let result = try sandbox.run(["run", "vendor"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("cannot read body_file '\(missing)': No such file or directory"), "\(result.stderr)")
        #expect(server.requests().isEmpty)
        #expect(try sandbox.counts("vendor")["failures"] == 0)
    }

    @Test func bodyAndBodyFileExcludeEachOther() throws {
        let sandbox = try Sandbox()
        try breaker(sandbox, "{url: 'http://127.0.0.1:9/x', body: 'a', body_file: /tmp/b}")
        let result = try sandbox.run(["validate"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("breakers.yaml:4:"), "\(result.stderr)")
        #expect(result.stderr.contains("has both 'body' and 'body_file'; keep one"), "\(result.stderr)")
    }

    @Test func aBodyOverMaxBodyIsAFailureWithCurlsStatus63() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/big": ["status": 200, "body": String(repeating: "x", count: 2048)]])
        try breaker(sandbox, "{url: '\(server.url("/big"))', max_body: 1KiB}")
        let result = try sandbox.run(["run", "vendor"])
        #expect(result.status == 63, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("larger than max_body (1024 bytes)"))
        #expect(try sandbox.counts("vendor")["failures"] == 1)
    }

    @Test func tooManyRedirectsFailWithCurlsStatus47() throws {
        let sandbox = try Sandbox()
        var routes: [String: Any] = [:]
        for hop in 1...7 { routes["/hop\(hop)"] = ["status": 302, "headers": ["Location": "/hop\(hop + 1)"]] }
        routes["/hop8"] = ["status": 200, "body": "arrived"]
        routes["/loop"] = ["status": 302, "headers": ["Location": "/loop"]]
        routes["/short"] = ["status": 302, "headers": ["Location": "/hop8"]]
        let server = try HTTPServer(in: sandbox.directory, routes: routes)
        try breaker(sandbox, "{url: '\(server.url("/hop1"))', follow_redirects: true}")
        let long = try sandbox.run(["run", "vendor"])
        #expect(long.status == 47, "\(long.stderr)")
        #expect(long.stderr.contains("more than 5 redirects"))
        try breaker(sandbox, "{url: '\(server.url("/loop"))', follow_redirects: true}")
        let loop = try sandbox.run(["run", "vendor"])
        #expect(loop.status == 47, "\(loop.stderr)")
        try breaker(sandbox, "{url: '\(server.url("/short"))', follow_redirects: true}")
        let short = try sandbox.run(["run", "vendor"])
        #expect(short.status == 0 && short.stdout == "arrived", "\(short.stderr)")
    }
}
