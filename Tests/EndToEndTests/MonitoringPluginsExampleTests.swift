import Foundation
import Testing

private let plugins = "/usr/lib/nagios/plugins"
private let hasPlugins = FileManager.default.isExecutableFile(atPath: plugins + "/check_tcp")
    && FileManager.default.isExecutableFile(atPath: plugins + "/check_http")

/// examples/monitoring-plugins: Debian's check_tcp and check_http as probes,
/// against a real port and HTTP server on 127.0.0.1; their exit codes 0, 1
/// and 2 are a success, ignored and a failure.
@Suite("The monitoring-plugins example", .enabled(if: hasPlugins, "needs monitoring-plugins-basic (scripts/install-deps.sh)"))
struct MonitoringPluginsExampleTests {
    /// The shipped example with its hosts and ports moved to 127.0.0.1, plain
    /// HTTP, and reset timeouts short enough for a test.
    func configuration(tcpPort: Int, httpPort: Int) throws -> String {
        let path = ShippedExamplesTests.examples.appendingPathComponent("monitoring-plugins/breakers.yaml").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        for (from, to) in [
            ("-H, smtp.example.com, -p, \"25\"", "-H, 127.0.0.1, -p, \"\(tcpPort)\""),
            ("-H, inventory.example.com, -p, \"443\"", "-H, 127.0.0.1, -p, \"\(httpPort)\""),
            (", --ssl]", "]"),
            ("reset_timeout: 1m", "reset_timeout: 300ms"),
            ("reset_timeout: 2m", "reset_timeout: 300ms"),
        ] {
            #expect(text.contains(from), "the example no longer has \(from)")
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    /// Trips `name` with three failures (the plugins' 2) and waits for its
    /// reset timeout, then runs the job, which touches a marker.
    func trialAfterTripping(_ name: String, _ sandbox: Sandbox) throws -> (result: Invocation, jobRan: Bool) {
        for _ in 0..<3 { #expect(try sandbox.run(["run", name, "--", "/bin/sh", "-c", "exit 2"]).status == 2) }
        #expect(try eventually { try sandbox.status(name)["state"] as? String == "half-open" })
        let marker = sandbox.path("job-ran-\(UUID().uuidString)")
        let result = try sandbox.run(["run", name, "--", "/usr/bin/touch", marker])
        return (result, FileManager.default.fileExists(atPath: marker))
    }

    @Test func checkTCPOnAnOpenPortClosesTheBreakerAndOnAClosedOneKeepsItOpen() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/healthz": ["status": 200, "body": "ok"]])
        try sandbox.write(config: try configuration(tcpPort: closedPort(), httpPort: server.port))
        let refused = try trialAfterTripping("smtp-relay", sandbox)
        #expect(refused.result.status == 75, "check_tcp's CRITICAL (2) failed the trial: \(refused.result.stderr)")
        #expect(!refused.jobRan)
        // Reopened (and half-open again once 300 ms have passed on a slow machine).
        #expect(try sandbox.status("smtp-relay")["state"] as? String != "closed")

        try sandbox.write(config: try configuration(tcpPort: server.port, httpPort: server.port))
        #expect(try eventually { try sandbox.status("smtp-relay")["state"] as? String == "half-open" })
        let open = try sandbox.run(["run", "smtp-relay", "--", "/bin/true"])
        #expect(open.status == 0, "check_tcp's OK (0) closed it: \(open.stderr)")
        #expect(open.stderr.contains("half-open -> closed"))
        #expect(try sandbox.status("smtp-relay")["state"] as? String == "closed")
    }

    @Test(arguments: [
        (200, "closed", 0, true),   // OK: the probe closes it, the job runs.
        (404, "closed", 0, true),   // WARNING: ignored, the job is the trial.
        (500, "not closed", 75, false),   // CRITICAL: the trial failed, rejected (reopened).
    ])
    func checkHTTPsExitCodesMapToSuccessIgnoredAndFailure(status: Int, state: String, exitStatus: Int32, jobRuns: Bool) throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/healthz": ["status": status, "body": "health"]])
        try sandbox.write(config: try configuration(tcpPort: server.port, httpPort: server.port))
        let trial = try trialAfterTripping("inventory-api", sandbox)
        #expect(trial.result.status == exitStatus, "\(trial.result.stderr)")
        #expect(trial.jobRan == jobRuns)
        let after = try sandbox.status("inventory-api")
        if state == "closed" {
            #expect(after["state"] as? String == "closed")
        } else {
            // Reopened; half-open again once 300 ms have passed on a slow machine.
            #expect(after["state"] as? String != "closed")
        }
        #expect(server.requests().contains { $0["path"] as? String == "/healthz" }, "check_http asked the server")
        if status == 404 {
            #expect((after["counts"] as? [String: Int])?["ignored"] == 1, "the probe's WARNING is ignored")
        }
    }
}
