import Foundation
import Testing

/// What breaker-run says on stderr at the default level: at most one line per
/// invocation, and nothing for a plain success, so cron mails stay quiet
/// unless something happened.
@Suite("Logging at the default level, and to syslog")
struct LoggingEndToEndTests {
    static let config = """
        version: 1
        breakers:
          db:
            fail_max: 2
            reset_timeout: 1s
          queued:
            fail_max: 1
            reset_timeout: 1s
            fallback: {shell: 'echo queued'}
        """

    func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: true)
    }

    @Test func aPlainSuccessAndACountedFailurePrintNothing() throws {
        let sandbox = try Sandbox(config: Self.config)
        let success = try sandbox.run(["run", "db", "--", "/bin/true"])
        #expect(success.status == 0)
        #expect(success.stderr.isEmpty)
        let failure = try sandbox.run(["run", "db", "--", "/bin/false"])
        #expect(failure.status == 1)
        #expect(failure.stderr.isEmpty, "a failure that does not trip is the call's own business: \(failure.stderr)")
    }

    @Test func everyStepOfAnOutagePrintsExactlyOneLine() throws {
        let sandbox = try Sandbox(config: Self.config)
        _ = try sandbox.run(["run", "db", "--", "/bin/false"])
        let trip = try sandbox.run(["run", "db", "--", "/bin/false"])
        #expect(trip.status == 1)
        #expect(lines(trip.stderr) == ["breaker-run: db: closed -> open (2 consecutive failures)"])
        let rejected = try sandbox.run(["run", "db", "--", "/bin/true"])
        #expect(rejected.status == 75)
        #expect(lines(rejected.stderr).count == 1)
        #expect(rejected.stderr.contains("rejected"))
        usleep(1_100_000)
        // A trial goes open -> half-open -> closed: only the outcome is said.
        let trial = try sandbox.run(["run", "db", "--", "/bin/true"])
        #expect(trial.status == 0)
        #expect(lines(trial.stderr) == ["breaker-run: db: half-open -> closed (trial succeeded)"])
        // With -v the step into half-open is shown too.
        _ = try sandbox.run(["trip", "db", "--for", "1s"])
        usleep(1_100_000)
        let verbose = try sandbox.run(["run", "-v", "db", "--", "/bin/true"])
        #expect(verbose.stderr.contains("db: open -> half-open"))
        #expect(verbose.stderr.contains("db: half-open -> closed"))
    }

    @Test func aFallbackAfterATripPrintsOneLinePerInvocation() throws {
        let sandbox = try Sandbox(config: Self.config)
        let trip = try sandbox.run(["run", "queued", "--", "/bin/false"])
        #expect(lines(trip.stderr) == ["breaker-run: queued: closed -> open (1 failure)"])
        let fellBack = try sandbox.run(["run", "queued", "--", "/bin/true"])
        #expect(fellBack.stdout == "queued\n")
        #expect(lines(fellBack.stderr).count == 1)
        let quiet = try sandbox.run(["run", "-q", "queued", "--", "/bin/true"])
        #expect(quiet.stderr.isEmpty)
    }

    /// An `http` or `tcp` call has no program of its own to say why it
    /// failed: the reason is the invocation's one line, or part of the
    /// opening's line; `-v` shows the call's own lines as well.
    static func networkConfig(_ server: HTTPServer) -> String {
        """
        version: 1
        breakers:
          h-ok: {http: {url: "\(server.url("/ok"))"}, timeout: 5s}
          h-fail: {http: {url: "\(server.url("/down"))"}, timeout: 5s, fail_max: 3}
          h-trip: {http: {url: "\(server.url("/down"))"}, timeout: 5s, fail_max: 1}
          h-slow: {http: {url: "\(server.url("/slow"))"}, timeout: 1s, fail_max: 5}
          h-retry:
            http: {url: "\(server.url("/down"))"}
            timeout: 5s
            fail_max: 2
            retry: {attempts: 2, delay: 10ms}
          t-ok: {tcp: {host: 127.0.0.1, port: \(server.port)}, timeout: 5s}
          t-fail: {tcp: {host: 127.0.0.1, port: 1}, timeout: 5s, fail_max: 3}
          t-trip: {tcp: {host: 127.0.0.1, port: 1}, timeout: 5s, fail_max: 1}
        """
    }

    nonisolated(unsafe) static let routes: [String: Any] = [
        "/ok": ["status": 200, "body": "fine"],
        "/down": ["status": 500, "body": "broken"],
        "/slow": ["status": 200, "body": "late", "sleep": 3],
    ]

    /// A sandbox with the network breakers, and the server they call.
    func networkSandbox() throws -> (Sandbox, HTTPServer) {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: Self.routes)
        try sandbox.write(config: Self.networkConfig(server))
        return (sandbox, server)
    }

    @Test func aNetworkCallPrintsNothingForASuccessAndOneLineForAFailure() throws {
        let (sandbox, server) = try networkSandbox()
        for name in ["h-ok", "t-ok"] {
            let success = try sandbox.run(["run", name])
            #expect(success.status == 0, "\(name): \(success.stderr)")
            #expect(success.stderr.isEmpty, "\(name): \(success.stderr)")
        }
        let http = try sandbox.run(["run", "h-fail"])
        #expect(http.status == 22)
        #expect(lines(http.stderr) == ["breaker-run: h-fail: call failed: HTTP 500, expected [200-399]"], "\(http.stderr)")
        let tcp = try sandbox.run(["run", "t-fail"])
        #expect(tcp.status == 7)
        #expect(lines(tcp.stderr).count == 1, "\(tcp.stderr)")
        #expect(tcp.stderr.hasPrefix("breaker-run: t-fail: call failed: "), "\(tcp.stderr)")
        #expect(tcp.stderr.contains("127.0.0.1"), "the reason names where: \(tcp.stderr)")
        // -v: the call's own line, with the method and URL, as well.
        let verbose = try sandbox.run(["run", "-v", "h-fail"])
        #expect(verbose.stderr.contains("h-fail: call: GET \(server.url("/down")): HTTP 500"), "\(verbose.stderr)")
        #expect(verbose.stderr.contains("h-fail: call failed: HTTP 500"), "\(verbose.stderr)")
    }

    @Test func aNetworkCallThatTripsPrintsOnlyTheOpeningWithItsReason() throws {
        let (sandbox, server) = try networkSandbox()
        let http = try sandbox.run(["run", "h-trip"])
        #expect(http.status == 22)
        #expect(lines(http.stderr) == ["breaker-run: h-trip: closed -> open (1 failure; last: HTTP 500, expected [200-399])"], "\(http.stderr)")
        let tcp = try sandbox.run(["run", "t-trip"])
        #expect(tcp.status == 7)
        #expect(lines(tcp.stderr).count == 1, "\(tcp.stderr)")
        #expect(tcp.stderr.hasPrefix("breaker-run: t-trip: closed -> open (1 failure; last: "), "\(tcp.stderr)")
        // The retried attempt is not a line; the opening on the last one is.
        let retried = try sandbox.run(["run", "h-retry"])
        #expect(retried.status == 22)
        #expect(lines(retried.stderr) == ["breaker-run: h-retry: closed -> open (2 consecutive failures; last: HTTP 500, expected [200-399])"],
                "\(retried.stderr)")
        #expect(server.requests().filter { ($0["path"] as? String) == "/down" }.count == 3)
        // -v keeps the failure's own line too.
        let verbose = try sandbox.run(["run", "-v", "t-trip", "--force"])
        #expect(verbose.stderr.contains("t-trip: call failed: "), "\(verbose.stderr)")
    }

    @Test func aNetworkCallThatTimesOutSaysSoOnceAndKillsNothing() throws {
        let (sandbox, server) = try networkSandbox()
        defer { withExtendedLifetime(server) {} }
        let slow = try sandbox.run(["run", "h-slow"])
        #expect(slow.status == 124)
        #expect(lines(slow.stderr) == ["breaker-run: h-slow: call timed out after 1s"], "\(slow.stderr)")
        #expect(!slow.stderr.contains("killed"))
    }

    /// With `log: syslog`, transitions reach syslog(3) too. The test listens
    /// on /dev/log itself, so it runs only where nothing else does (a
    /// container without a syslog daemon) and as root.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/dev/log") && getuid() == 0))
    func syslogGetsTheTransitionWithTheBreakerName() throws {
        let sandbox = try Sandbox(config: Self.config.replacingOccurrences(of: "version: 1", with: "version: 1\nlog: syslog"))
        let received = sandbox.path("syslog")
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        listener.arguments = ["python3", "-c", """
            import socket, sys, os
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                s.bind("/dev/log")
            except OSError:
                open(sys.argv[1] + ".busy", "w").close()
                sys.exit(0)
            s.settimeout(10)
            try:
                # Other programs log too while the suite runs (runuser, for
                # the PostgreSQL tests): keep breaker-run's message only.
                while True:
                    data = s.recv(4096)
                    if b"breaker-run[" in data:
                        open(sys.argv[1], "wb").write(data)
                        break
            finally:
                os.unlink("/dev/log")
            """, received]
        try listener.run()
        defer { if listener.isRunning { listener.terminate() } }
        #expect(eventually { FileManager.default.fileExists(atPath: "/dev/log") })
        // Another test run on this machine may be listening there right now.
        if FileManager.default.fileExists(atPath: received + ".busy") { return }
        let trip = try sandbox.run(["trip", "db", "--reason", "maintenance"])
        #expect(trip.status == 0)
        // stderr keeps its own line.
        #expect(trip.stderr.contains("db: closed -> open (maintenance)"))
        listener.waitUntilExit()
        if FileManager.default.fileExists(atPath: received + ".busy") { return }
        let message = try String(contentsOfFile: received, encoding: .utf8)
        // <12>: facility user (1 * 8) + warning (4), for an opening.
        #expect(message.hasPrefix("<12>"), "\(message)")
        #expect(message.contains("breaker-run["))
        #expect(message.contains(#"breaker=db from=closed to=open reason="maintenance""#))
    }
}
