import Foundation
import Testing

/// The core binary and `breaker-run-full`: a breaker that needs a network
/// plugin is handed over to the full binary before anything runs; without
/// the full binary it exits 69 (EX_UNAVAILABLE) and runs nothing, while the
/// breakers that need no plugin still run.
@Suite("hand-over from the core binary to breaker-run-full")
struct PluginHandoverTests {
    static func configuration(_ url: String) -> String {
        """
        version: 1
        breakers:
          api:
            http: {url: '\(url)'}
            timeout: 5s
          job:
            command: [/bin/echo, job ran]
          fleet:
            command: [/bin/echo, fleet ran]
            state: {backend: postgresql, url: 'postgresql://breaker@127.0.0.1:1/ops'}
        """
    }

    /// The core binary copied alone into the sandbox, where no
    /// `breaker-run-full` is beside it or in `../libexec/breaker-run`.
    func lonelyCore(in sandbox: Sandbox) throws -> String {
        let directory = sandbox.path("prefix/bin")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let binary = directory + "/breaker-run"
        try FileManager.default.copyItem(atPath: Sandbox.binary, toPath: binary)
        return binary
    }

    @Test func anHTTPBreakerRunThroughTheCoreIsHandedOverAndAnswers() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/ok": ["status": 200, "body": "pong"]])
        try sandbox.write(config: Self.configuration(server.url("/ok")))
        let result = try sandbox.run(["run", "-vv", "api"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "pong")
        let full = URL(fileURLWithPath: Sandbox.binary).deletingLastPathComponent().appendingPathComponent("breaker-run-full").path
        #expect(result.stderr.contains("handing over to \(full): breaker api needs the http plugin"), "\(result.stderr)")
        #expect(server.requests().count == 1)
        #expect(try sandbox.counts("api")["successes"] == 1)
    }

    @Test func aCommandBreakerRunsInTheCoreWithoutHandingOver() throws {
        let sandbox = try Sandbox(config: Self.configuration("http://127.0.0.1:1/"))
        let result = try sandbox.run(["run", "-vv", "job"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "job ran\n")
        #expect(!result.stderr.contains("handing over"), "\(result.stderr)")
    }

    @Test func withoutTheFullBinaryAPluginBreakerExits69AndRunsNothing() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/ok": ["status": 200, "body": "pong"]])
        try sandbox.write(config: Self.configuration(server.url("/ok")))
        let core = try lonelyCore(in: sandbox)
        let prefix = sandbox.path("prefix")

        let http = try sandbox.run(["run", "api"], binary: core)
        #expect(http.status == 69)
        #expect(http.stdout == "")
        #expect(http.stderr == "breaker-run: breaker api needs the http plugin, which this binary lacks, and breaker-run-full is not at "
            + "\(prefix)/libexec/breaker-run/breaker-run-full nor \(prefix)/bin/breaker-run-full: "
            + "install it (make install) or run breaker-run-full directly\n")
        #expect(server.requests().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/api"))

        let postgres = try sandbox.run(["run", "fleet"], binary: core)
        #expect(postgres.status == 69)
        #expect(postgres.stdout == "", "the command must not run unguarded")
        #expect(postgres.stderr.contains("breaker fleet needs the postgresql plugin"), "\(postgres.stderr)")

        // Every breaker: status and metrics need the PostgreSQL plugin for
        // fleet's state.
        #expect(try sandbox.run(["status"], binary: core).status == 69)
        #expect(try sandbox.run(["metrics"], binary: core).status == 69)
        // The http breaker's state is in files: reading or changing it needs
        // no plugin, only running its call does.
        #expect(try sandbox.run(["trip", "api"], binary: core).status == 0)
        let apiStatus = try sandbox.run(["status", "api"], binary: core)
        #expect(apiStatus.status == 0, "\(apiStatus.stderr)")
        #expect(apiStatus.stdout.contains("open"))
        #expect(try sandbox.run(["reset", "api"], binary: core).status == 0)
        #expect(server.requests().isEmpty)

        // What needs no plugin still works.
        let job = try sandbox.run(["run", "job"], binary: core)
        #expect(job.status == 0, "\(job.stderr)")
        #expect(job.stdout == "job ran\n")
        let status = try sandbox.run(["status", "job"], binary: core)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("closed"))
        let validate = try sandbox.run(["validate"], binary: core)
        #expect(validate.status == 0, "\(validate.stderr)")
    }

    @Test func theInstalledLayoutIsFoundFirst() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/ok": ["status": 200, "body": "pong"]])
        try sandbox.write(config: Self.configuration(server.url("/ok")))
        let core = try lonelyCore(in: sandbox)
        let libexec = sandbox.path("prefix/libexec/breaker-run")
        try FileManager.default.createDirectory(atPath: libexec, withIntermediateDirectories: true)
        let full = URL(fileURLWithPath: Sandbox.binary).deletingLastPathComponent().appendingPathComponent("breaker-run-full").path
        try FileManager.default.createSymbolicLink(atPath: libexec + "/breaker-run-full", withDestinationPath: full)

        let result = try sandbox.run(["run", "-vv", "api"], binary: core)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "pong")
        #expect(result.stderr.contains("handing over to \(sandbox.path("prefix"))/libexec/breaker-run/breaker-run-full"), "\(result.stderr)")
    }
}
