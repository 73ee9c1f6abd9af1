import Foundation
import Testing

/// SIGINT or SIGTERM during an http or tcp call: the call is cancelled and
/// ignored, as an interrupted process call is, and breaker-run ends by the
/// same signal (128 + n to its shell).
@Suite("Signals during network calls")
struct NetworkInterruptionTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalDuringAnHTTPCallCancelsItAndEndsBreakerRunByTheSameSignal(signal: Int32) throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/slow": ["status": 200, "body": "late", "sleep": 30]])
        try sandbox.write(config: """
            version: 1
            breakers:
              vendor:
                http: {url: '\(server.url("/slow"))'}
                timeout: 25s
                fail_max: 1
            """)
        let running = try sandbox.start(["run", "vendor"])
        #expect(eventually { server.requests().count == 1 }, "the request reached the server")
        kill(running.pid, signal)
        let result = running.wait()
        #expect(result.signal == signal, "\(result.stderr)")
        #expect(result.status == 128 + signal)
        #expect(result.seconds < 20, "cancelled, not waited out")
        #expect(result.stdout.isEmpty)
        let counts = try sandbox.counts("vendor")
        #expect(counts["ignored"] == 1 && counts["failures"] == 0, "\(counts)")
        #expect(try sandbox.status("vendor")["state"] as? String == "closed")
    }

    @Test func aSignalDuringATCPConnectEndsItTheSameWay() throws {
        let sandbox = try Sandbox()
        // A listener whose zero-length backlog is full: the kernel drops new
        // SYNs, so a connection hangs.
        let ready = sandbox.path("port")
        let stall = Process()
        stall.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        stall.arguments = ["python3", "-c", """
            import os, socket, sys, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
            port = s.getsockname()[1]
            fillers = []
            for _ in range(2):
                c = socket.socket(); c.setblocking(False)
                try: c.connect(("127.0.0.1", port))
                except BlockingIOError: pass
                fillers.append(c)
            time.sleep(0.1)
            open(sys.argv[1] + ".tmp", "w").write(str(port)); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
            time.sleep(60)
            """, ready]
        try stall.run()
        defer { kill(stall.processIdentifier, SIGKILL); stall.waitUntilExit() }
        #expect(eventually { FileManager.default.fileExists(atPath: ready) })
        let port = try String(contentsOfFile: ready, encoding: .utf8)
        try sandbox.write(config: """
            version: 1
            breakers:
              db:
                tcp: {host: 127.0.0.1, port: \(port)}
                timeout: 25s
                fail_max: 1
            """)
        let running = try sandbox.start(["run", "db"])
        // Connecting: breaker-run holds a socket.
        #expect(eventually {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(running.pid)/fd")) ?? []
            return fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(running.pid)/fd/\($0)"))?.hasPrefix("socket:") == true }
        })
        kill(running.pid, SIGINT)
        let result = running.wait()
        #expect(result.signal == SIGINT, "\(result.stderr)")
        #expect(result.seconds < 20)
        let counts = try sandbox.counts("db")
        #expect(counts["ignored"] == 1 && counts["failures"] == 0, "\(counts)")
    }
}
