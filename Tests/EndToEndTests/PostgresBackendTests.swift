import Foundation
import Testing

/// The PostgreSQL state backend end to end, against a real server started
/// by each test (`PostgresServer`): "hosts" are processes with separate
/// state directories sharing one database, as separate machines would.
///
/// Skipped, with the reason, only where the server binaries are absent and
/// not in CI (`CI=true` runs them and fails without a server).
@Suite("PostgreSQL backend", .enabled(if: PostgresServer.isUsable, "PostgreSQL server binaries not found: install Debian's postgresql"))
struct PostgresBackendTests {
    /// One configuration shared by all hosts; each host has its own state
    /// directory (`--state-dir`).
    static func config(_ server: PostgresServer, breaker: String, state: String? = nil) -> String {
        """
        version: 1
        state: \(state ?? server.stateYAML())
        breakers:
          alpha:
        \(breaker)
        """
    }

    static let environment = ["PGPASSWORD": PostgresServer.password]

    /// Runs `arguments` as host `host` (its own state directory).
    static func run(_ sandbox: Sandbox, host: Int, _ arguments: [String], environment: [String: String] = [:]) throws -> Invocation {
        var full = arguments
        full.insert(contentsOf: ["--state-dir", sandbox.path("host\(host)")], at: 1)
        return try sandbox.run(full, environment: Self.environment.merging(environment) { $1 })
    }

    static func start(_ sandbox: Sandbox, host: Int, _ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        var full = arguments
        full.insert(contentsOf: ["--state-dir", sandbox.path("host\(host)")], at: 1)
        return try sandbox.start(full, environment: Self.environment.merging(environment) { $1 })
    }

    static func status(_ sandbox: Sandbox, host: Int) throws -> [String: Any] {
        let result = try run(sandbox, host: host, ["status", "--json", "alpha"])
        #expect(result.status == 0, "status failed: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require((object?["breakers"] as? [[String: Any]])?.first)
    }

    /// Starts `script` with `/bin/sh -c`, `$0` the binary, PGPASSWORD set,
    /// its stderr in `errors-INDEX` of the sandbox. Niced, so that the rest
    /// of the suite, run beside it, keeps the CPU its timing needs on a
    /// 2-core machine.
    static func startNiced(_ sandbox: Sandbox, script: String, index: Int) throws -> Running {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/nice")
        shell.arguments = ["-n", "10", "/bin/sh", "-c", script, Sandbox.binary]
        shell.environment = ProcessInfo.processInfo.environment.merging(Self.environment) { $1 }
        let errors = sandbox.path("errors-\(index)")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        shell.standardError = FileHandle(forWritingAtPath: errors)
        shell.standardOutput = FileHandle.nullDevice
        try shell.run()
        return Running(process: shell, out: "/dev/null", err: errors, stopwatch: Stopwatch())
    }

    /// 4 hosts x 8 processes x 50 failing calls: the lifetime count is
    /// exact, the schema is created once at its latest version, and every host sees
    /// the same state.
    @Test func fourHostsOfEightProcessesCountEveryFailureExactly() throws {
        let server = try PostgresServer()
        // A generous connect_timeout: 32 processes queue for one row lock on a
        // loaded 2-core machine, and this test counts, it does not inject faults.
        let sandbox = try Sandbox(config: Self.config(server, breaker: "    fail_max: 100000", state: server.stateYAML(connectTimeout: "60s")))
        var loops: [Running] = []
        for process in 0..<32 {
            let host = process % 4
            let script = """
                i=0; while [ $i -lt 50 ]; do
                  "$0" --config '\(sandbox.configPath)' --state-dir '\(sandbox.path("host\(host)"))' run alpha -- false
                  [ $? -eq 1 ] || echo "unexpected status" >&2
                  i=$((i+1)); done
                """
            loops.append(try Self.startNiced(sandbox, script: script, index: process))
        }
        for loop in loops {
            let result = loop.wait()
            #expect(result.status == 0)
            #expect(!result.stderr.contains("unexpected status"), "\(result.stderr.prefix(500))")
            #expect(!result.stderr.contains("unguarded"), "no call may run unguarded: \(result.stderr.prefix(500))")
        }
        for host in 0..<4 {
            let status = try Self.status(sandbox, host: host)
            #expect((status["counts"] as? [String: Int])?["failures"] == 1600, "host \(host)")
            #expect(status["consecutive_failures"] as? Int == 1600, "host \(host)")
        }
        #expect(try server.psql("SELECT max(version) FROM breaker_run.schema_version") == "2")
        #expect(try server.psql("SELECT count(*) FROM breaker_run.breakers") == "1")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.path("host0"))) ?? []
        #expect(!files.contains("alpha"), "no local state for a PostgreSQL breaker: \(files)")
    }

    /// With the breaker open and its reset timeout passed, 32 simultaneous
    /// calls from 4 hosts run exactly one trial; each transition runs the
    /// hook once across the fleet, and the event log names the hosts.
    @Test func thirtyTwoSimultaneousCallsRunExactlyOneTrial() throws {
        let server = try PostgresServer()
        let hooks = "hooks"
        let sandbox = try Sandbox()
        // Opened for 2s by the trip; reopened for 10m by the failed trial,
        // so that late arrivals are rejected however slow the machine is.
        // A generous connect_timeout, as above: 32 processes wait for one row
        // lock, and a call let through unguarded by a slow machine would
        // count as a second trial.
        try sandbox.write(config: Self.config(server, breaker: """
                reset_timeout: 10m
                on_transition: {shell: 'echo "$BREAKER_FROM->$BREAKER_TO" >> \(sandbox.path(hooks))'}
            """, state: server.stateYAML(connectTimeout: "60s")))
        let trip = try Self.run(sandbox, host: 0, ["trip", "alpha", "--for", "2s"])
        #expect(trip.status == 0, "\(trip.stderr)")
        // The server's clock decides; wait for it rather than for ours.
        #expect(try eventually(within: 10) { try Self.status(sandbox, host: 1)["state"] as? String == "half-open" })

        let trials = sandbox.path("trials")
        var calls: [Running] = []
        for process in 0..<32 {
            calls.append(try Self.start(sandbox, host: process % 4, ["run", "alpha", "--", "sh", "-c", "echo x >> '\(trials)'; sleep 0.5; exit 1"]))
        }
        let results = calls.map { $0.wait() }
        let ran = (try? String(contentsOfFile: trials, encoding: .utf8)) ?? ""
        #expect(ran == "x\n", "exactly one trial ran")
        #expect(results.filter { $0.status == 1 }.count == 1)
        #expect(results.filter { $0.status == 75 }.count == 31, "\(results.map(\.status))")
        let status = try Self.status(sandbox, host: 2)
        #expect(status["state"] as? String == "open", "the failed trial reopened it")
        #expect((status["counts"] as? [String: Int])?["rejected"] == 31)
        let hookLines = try String(contentsOfFile: sandbox.path(hooks), encoding: .utf8)
        #expect(hookLines == "closed->open\nopen->half-open\nhalf-open->open\n", "one hook per transition across the fleet")
        let hosts = try server.psql("SELECT DISTINCT host FROM breaker_run.events")
        let hostname = try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hosts == hostname)
        #expect(try server.psql("SELECT string_agg(from_state || '->' || to_state, ',' ORDER BY id) FROM breaker_run.events")
                == "closed->open,open->half-open,half-open->open")
    }

    /// A trial whose process is killed with SIGKILL frees its permit (the
    /// server ends the dead connection's session, and with it the advisory
    /// lock); the next call, from another host, is the trial.
    @Test func aKilledTrialFreesItsPermitForAnotherHost() throws {
        let server = try PostgresServer()
        let sandbox = try Sandbox(config: Self.config(server, breaker: "    reset_timeout: 1s"))
        #expect(try Self.run(sandbox, host: 0, ["trip", "alpha"]).status == 0)
        #expect(try eventually(within: 10) { try Self.status(sandbox, host: 0)["state"] as? String == "half-open" })
        let started = sandbox.path("started")
        let trial = try Self.start(sandbox, host: 0, ["run", "alpha", "--", "sh", "-c", "echo $$ > '\(started).tmp'; mv '\(started).tmp' '\(started)'; exec sleep 30"])
        #expect(eventually(within: 10) { FileManager.default.fileExists(atPath: started) })
        let call = try #require(Int32(String(contentsOfFile: started, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let meanwhile = try Self.run(sandbox, host: 1, ["run", "alpha", "--", "true"])
        #expect(meanwhile.status == 75, "the trial permit is held across hosts: \(meanwhile.stderr)")

        kill(trial.pid, SIGKILL)
        _ = trial.wait()
        // The orphaned call (its own process group) is not the test's subject.
        kill(call, SIGKILL)

        var next = try Self.run(sandbox, host: 2, ["run", "alpha", "--", "true"])
        if next.status == 75 {
            // The server may take a moment to notice the dead connection.
            _ = eventually(within: 5) { (try? Self.run(sandbox, host: 2, ["run", "alpha", "--", "true"]))?.status == 0 }
            next = try Self.run(sandbox, host: 3, ["run", "alpha", "--", "true"])
        }
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try Self.status(sandbox, host: 1)["state"] as? String == "closed")
    }

    /// A host whose clock is an hour ahead agrees with the others: it
    /// neither lets a trial through early nor keeps the breaker open after
    /// the reset timeout of the server's clock. The host's clock is put an
    /// hour ahead with a time namespace (`unshare --time`, CLOCK_BOOTTIME and
    /// CLOCK_MONOTONIC, the clocks the file store decides by): libfaketime's
    /// LD_PRELOAD empties a Swift program's CommandLine.arguments.
    @Test(.enabled(if: PostgresBackendTests.canSkewClocks, "unshare --time is not permitted here"))
    func aHostWithItsClockAnHourAheadAgrees() throws {
        let server = try PostgresServer()
        let sandbox = try Sandbox(config: Self.config(server, breaker: "    reset_timeout: 10m"))
        func ahead(_ arguments: [String]) throws -> Invocation {
            try sandbox.run(["--time", "--boottime", "3600", "--monotonic", "3600", Sandbox.binary, arguments[0],
                             "--config", sandbox.configPath, "--state-dir", sandbox.path("host1")] + arguments.dropFirst(),
                            environment: Self.environment, binary: "/usr/bin/unshare")
        }
        #expect(try Self.run(sandbox, host: 0, ["trip", "alpha"]).status == 0)
        let skewed = try ahead(["run", "alpha", "--", "true"])
        #expect(skewed.status == 75, "an hour of local clock is not the 10m reset timeout: \(skewed.stderr)")

        // Opened by the skewed host for 1s: the others see the trial allowed
        // after 1s of the server's clock, not an hour later.
        let trip = try ahead(["trip", "alpha", "--for", "1s"])
        #expect(trip.status == 0, "\(trip.stderr)")
        #expect(try eventually(within: 10) { try Self.status(sandbox, host: 0)["state"] as? String == "half-open" })
        #expect(try Self.run(sandbox, host: 0, ["run", "alpha", "--", "true"]).status == 0)
        #expect(try Self.status(sandbox, host: 2)["state"] as? String == "closed")
    }

    /// Whether this machine lets root make a time namespace.
    static let canSkewClocks = PostgresServer.sh("unshare --time --boottime 3600 true 2>/dev/null") == 0

    /// The server stopped, or hung: fail-open runs the call with one warning
    /// line, fail-closed exits 74 without running it, both within
    /// connect_timeout + 1 s. The second is breaker-run's own margin: what
    /// the same call takes on a breaker of the file store, measured just
    /// before, is added, so that a machine slowed by the rest of the suite
    /// does not fail the bound (a hang past connect_timeout still does).
    @Test func aStoppedOrHungServerAppliesOnStateErrorWithinConnectTimeout() throws {
        let server = try PostgresServer()
        let sandbox = try Sandbox()
        let state = server.stateYAML(connectTimeout: "1s")
        try sandbox.write(config: """
            version: 1
            state: \(state)
            breakers:
              open:
                on_state_error: fail-open
              closed:
                on_state_error: fail-closed
              local:
                state: {backend: file}
            """)
        #expect(try Self.run(sandbox, host: 0, ["run", "open", "--", "true"]).status == 0)
        // connect_timeout + 1 s + what a file-store run of `command` takes now.
        func bound(_ command: [String]) throws -> Double {
            let baseline = try Self.run(sandbox, host: 1, ["run", "local", "--"] + command)
            return 2.0 + baseline.seconds
        }

        for fault in ["stopped", "hung"] {
            let postmaster = server.pid
            if fault == "stopped" { server.stop() } else { kill(postmaster!, SIGSTOP) }
            defer { if fault == "hung" { kill(postmaster!, SIGCONT) } }
            let marker = sandbox.path("ran-\(fault)")
            let openBound = try bound(["sh", "-c", "exit 4"])
            let open = try Self.run(sandbox, host: 1, ["run", "open", "--", "sh", "-c", "echo x > '\(marker)'; exit 4"])
            #expect(open.status == 4, "\(fault): \(open.stderr)")
            #expect(FileManager.default.fileExists(atPath: marker))
            #expect(open.stderr.split(separator: "\n").count == 1, "\(fault): one warning line: \(open.stderr)")
            #expect(open.stderr.contains("running the call unguarded"))
            #expect(open.seconds < openBound, "\(fault): \(open.seconds)s")

            let closedBound = try bound(["true"])
            let closed = try Self.run(sandbox, host: 1, ["run", "closed", "--", "touch", marker + "-closed"])
            #expect(closed.status == 74, "\(fault): \(closed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: marker + "-closed"))
            #expect(closed.seconds < closedBound, "\(fault): \(closed.seconds)s")
            if fault == "stopped" { try server.start() }
        }
        #expect(try Self.run(sandbox, host: 0, ["run", "open", "--", "true"]).status == 0)
        let status = try Self.status(sandbox, host: 0, name: "open")
        #expect((status["counts"] as? [String: Int])?["successes"] == 2, "the unguarded runs were not counted; the others were")
    }

    static func status(_ sandbox: Sandbox, host: Int, name: String) throws -> [String: Any] {
        let result = try run(sandbox, host: host, ["status", "--json", name])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require((object?["breakers"] as? [[String: Any]])?.first)
    }

    /// The password comes from password_file (or PGPASSWORD); a wrong one is
    /// a state fault naming the server; status shows the backend and where,
    /// without the password; metrics read the shared state.
    @Test func passwordFileStatusAndMetrics() throws {
        let server = try PostgresServer()
        let sandbox = try Sandbox()
        let passwordFile = sandbox.path("pgpass")
        try (PostgresServer.password + "\n").write(toFile: passwordFile, atomically: false, encoding: .utf8)
        try sandbox.write(config: Self.config(server, breaker: "    fail_max: 1",
                                              state: server.stateYAML(schema: "fleet", extra: ", password_file: '\(passwordFile)'")))
        let noEnvironment = ["PGPASSWORD": ""]
        let failing = try Self.run(sandbox, host: 0, ["run", "alpha", "--", "false"], environment: noEnvironment)
        #expect(failing.status == 1)
        #expect(!failing.stderr.contains("unguarded"), "\(failing.stderr)")
        #expect(try server.psql("SELECT state->'counts'->>'failures' FROM fleet.breakers WHERE name = 'alpha'") == "1")

        let text = try Self.run(sandbox, host: 1, ["status", "alpha"], environment: noEnvironment)
        #expect(text.stdout.contains("state backend: postgresql \(server.url) (schema fleet)"), "\(text.stdout)")
        #expect(!text.stdout.contains(PostgresServer.password))
        let metrics = try Self.run(sandbox, host: 1, ["metrics"], environment: noEnvironment)
        #expect(metrics.stdout.contains("breaker_run_state{breaker=\"alpha\",state=\"open\"} 1"), "\(metrics.stdout)")

        try "wrong\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
        let wrong = try Self.run(sandbox, host: 1, ["run", "alpha", "--", "true"], environment: noEnvironment)
        #expect(wrong.status == 0, "fail-open runs the call")
        #expect(wrong.stderr.contains("cannot connect to PostgreSQL at \(server.url)"), "\(wrong.stderr)")
        #expect(try Self.run(sandbox, host: 1, ["reset", "alpha"], environment: noEnvironment).status == 74)
    }
}
