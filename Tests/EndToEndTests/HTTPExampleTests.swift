import Foundation
import Testing

/// examples/http.yaml does what its comments say, against a real HTTP server
/// and port on 127.0.0.1.
@Suite("The http example")
struct HTTPExampleTests {
    /// The example with its URL and database port moved to 127.0.0.1.
    func configuration(url: String, databasePort: Int) throws -> String {
        var text = try String(contentsOf: ShippedExamplesTests.examples.appendingPathComponent("http.yaml"), encoding: .utf8)
        for (from, to) in [
            ("https://inventory.example/api/v2/stock", url),
            ("tcp: {host: localhost, port: 5432}", "tcp: {host: 127.0.0.1, port: \(databasePort)}"),
        ] {
            #expect(text.contains(from), "the example no longer has \(from)")
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    @Test func theInventoryAPIServesTheLastGoodAnswerOnceTheFailureRateOpensIt() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/api/v2/stock": [
            ["status": 200, "body": "{\"items\": [7]}"],
            ["status": 404, "body": "no such item"],
            ["status": 500, "body": "oops"],
        ]])
        try sandbox.write(config: try configuration(url: server.url("/api/v2/stock"), databasePort: closedPort()))
        let environment = ["INVENTORY_TOKEN": "tok"]
        let good = try sandbox.run(["run", "inventory-api"], environment: environment)
        #expect(good.status == 0 && good.stdout == "{\"items\": [7]}", "\(good.stderr)")
        // "an unknown item is not an outage"
        #expect(try sandbox.run(["run", "inventory-api"], environment: environment).status == 22)
        #expect(try sandbox.counts("inventory-api")["ignored"] == 1)
        // failure_rate 50% over at least 6 calls: 1 success and 5 failures open it.
        for _ in 0..<5 { #expect(try sandbox.run(["run", "inventory-api"], environment: environment).status == 22) }
        #expect(try sandbox.status("inventory-api")["state"] as? String == "open")
        let served = try sandbox.run(["run", "inventory-api"], environment: environment)
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stdout == "{\"items\": [7]}", "the cached answer")
        #expect(server.requests().count == 7)
    }

    @Test func theOrdersDatabaseIsAConnectionToItsPort() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: [:])
        try sandbox.write(config: try configuration(url: server.url("/"), databasePort: server.port))
        #expect(try sandbox.run(["run", "orders-db"]).status == 0)
        let batch = try sandbox.run(["run", "orders-db", "--", "/bin/echo", "batch"])
        #expect(batch.status == 0 && batch.stdout == "batch\n")
        try sandbox.write(config: try configuration(url: server.url("/"), databasePort: closedPort()))
        let refused = try sandbox.run(["run", "orders-db"])
        #expect(refused.status == 7)
        #expect(refused.stderr.contains("could not connect to 127.0.0.1 port"))
    }
}
