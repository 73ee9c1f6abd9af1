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
