import Foundation
import Testing

/// The cron, systemd, runbook and legacy-CLI examples do what they say.
@Suite("The operator examples")
struct ShippedExamplesTests {
    static let examples = ExamplesTests.root.appendingPathComponent("examples")

    func text(_ path: String) throws -> String {
        try String(contentsOf: Self.examples.appendingPathComponent(path), encoding: .utf8)
    }

    /// The breakers that `config` defines, from `validate --print`.
    func breakers(in config: String) throws -> Set<String> {
        let sandbox = try Sandbox()
        let printed = try sandbox.run(["validate", "--print", "--config", Self.examples.appendingPathComponent(config).path])
        #expect(printed.status == 0, "\(printed.stderr)")
        var names: Set<String> = []
        // "  NAME:  # defined at FILE:LINE:COLUMN"
        for line in printed.stdout.split(separator: "\n") where line.hasPrefix("  ") && !line.hasPrefix("   ") && line.contains(":  # defined at ") {
            names.insert(String(line.dropFirst(2).prefix { $0 != ":" }))
        }
        return names
    }

    /// The breaker names after `breaker-run [-q] run` in `text`.
    func runBreakers(in text: String) -> [String] {
        var names: [String] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let words = line.split(separator: " ")
            guard let run = words.firstIndex(of: "run"), run > 0, words[..<run].contains(where: { $0.hasSuffix("breaker-run") }) else { continue }
            if let name = words[(run + 1)...].first(where: { !$0.hasPrefix("-") }) { names.append(String(name)) }
        }
        return names
    }

    @Test func theCrontabRunsBreakersOfItsConfiguration() throws {
        let crontab = try text("cron/crontab")
        let names = runBreakers(in: crontab)
        #expect(names == ["vendor-sync"])
        #expect(try breakers(in: "cron/breakers.yaml").isSuperset(of: names))
        // Five time fields and a user before each command (an /etc/cron.d file).
        for line in crontab.split(separator: "\n") where line.contains("breaker-run run") {
            #expect(line.split(separator: " ", omittingEmptySubsequences: true)[5] == "root")
            // -q would drop the lines that make cron mail about an outage.
            #expect(!line.contains(" -q"), "\(line)")
        }
    }

    /// The crontab's command, as cron's /bin/sh runs it, with the installed
    /// paths moved into `sandbox` and `import-stock` played by `cat`.
    func cronCommand(_ sandbox: Sandbox) throws -> String {
        let line = try #require(try text("cron/crontab").split(separator: "\n").first { $0.contains("breaker-run run") })
        let command = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true)[6]
        let config = Self.examples.appendingPathComponent("cron/breakers.yaml").path
        return String(command)
            .replacingOccurrences(of: "/etc/vendor-sync/env", with: sandbox.path("env"))
            .replacingOccurrences(of: "/var/cache/vendor-sync", with: sandbox.path("cache"))
            .replacingOccurrences(of: "breaker-run run", with: "'\(Sandbox.binary)' --config '\(config)' --state-dir '\(sandbox.stateDirectory)' run")
            .replacingOccurrences(of: "import-stock ", with: "cat ")
    }

    /// The lines of `text` (stderr), without empty ones.
    func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: true)
    }

    /// Sets up the vendor (`answers`, served in turn, the last repeating), the
    /// env file and the cache directory of the crontab's command.
    func vendor(_ sandbox: Sandbox, answers: [[String: Any]]) throws -> HTTPServer {
        let server = try HTTPServer(in: sandbox.directory, routes: ["/api/v1/stock": answers])
        try FileManager.default.createDirectory(atPath: sandbox.path("cache"), withIntermediateDirectories: true)
        try "VENDOR_API=\(server.url("/api"))\nVENDOR_TOKEN=t0ken\nexport VENDOR_API VENDOR_TOKEN\n".write(toFile: sandbox.path("env"), atomically: true, encoding: .utf8)
        return server
    }

    /// Each night mails what the crontab's comments promise: nothing for a
    /// success, one line for a failed night, for the trip and for the cached
    /// answer served.
    @Test func theNightlySyncImportsTheCachedAnswerOnceTheVendorIsDown() throws {
        let sandbox = try Sandbox()
        let server = try vendor(sandbox, answers: [
            ["status": 200, "body": "{\"sku-1\": 42}"],
            ["status": 503, "body": "maintenance"],
        ])
        let command = try cronCommand(sandbox)
        func night() throws -> Invocation {
            try sandbox.run(["-c", command], binary: "/bin/sh")
        }
        let first = try night()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "{\"sku-1\": 42}", "the import read the vendor's answer")
        #expect(first.stderr.isEmpty, "a plain success mails nothing")
        #expect((server.requests().first?["headers"] as? [String: String])?["Authorization"] == "Bearer t0ken")
        // Two failed nights: nothing imported, one line saying why.
        for _ in 0..<2 {
            let failed = try night()
            #expect(failed.status == 22, "\(failed.stderr)")
            #expect(failed.stdout.isEmpty)
            #expect(lines(failed.stderr).count == 1, "\(failed.stderr)")
            #expect(failed.stderr.hasPrefix("breaker-run: vendor-sync: call failed: HTTP 503"), "\(failed.stderr)")
            #expect(!failed.stderr.contains("t0ken"))
        }
        // The third (fail_max: 3) trips the breaker: the one line is the
        // opening, with the reason.
        let tripped = try night()
        #expect(tripped.status == 22, "\(tripped.stderr)")
        #expect(lines(tripped.stderr) == ["breaker-run: vendor-sync: closed -> open (3 consecutive failures; last: HTTP 503, expected [200])"],
                "\(tripped.stderr)")
        #expect(try String(contentsOfFile: sandbox.path("cache/stock.json"), encoding: .utf8) == "{\"sku-1\": 42}")
        // The breaker is open: the vendor is left alone and the last good
        // answer is imported again, with one line saying so.
        let cached = try night()
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(cached.stdout == "{\"sku-1\": 42}")
        #expect(lines(cached.stderr).count == 1, "\(cached.stderr)")
        #expect(cached.stderr.hasPrefix("breaker-run: vendor-sync: rejected, breaker is open (next trial in "), "\(cached.stderr)")
        #expect(cached.stderr.contains("; answered from the cache ("), "\(cached.stderr)")
        #expect(server.requests().count == 4)
        let status = try sandbox.run(["status", "--json", "--config", Self.examples.appendingPathComponent("cron/breakers.yaml").path, "vendor-sync"])
        #expect(status.stdout.contains("\"state\" : \"open\""), "\(status.stdout)")
    }

    /// With no good answer ever fetched, an open breaker has nothing to
    /// serve: exit 75 and a line that cron mails.
    @Test func theNightlySyncWithNoCachedAnswerExits75AndSaysSo() throws {
        let sandbox = try Sandbox()
        let server = try vendor(sandbox, answers: [["status": 500, "body": "down"]])
        let command = try cronCommand(sandbox)
        for _ in 0..<3 {
            let failed = try sandbox.run(["-c", command], binary: "/bin/sh")
            #expect(failed.status == 22)
            #expect(lines(failed.stderr).count == 1, "\(failed.stderr)")
        }
        let rejected = try sandbox.run(["-c", command], binary: "/bin/sh")
        #expect(rejected.status == 75, "\(rejected.stderr)")
        #expect(rejected.stdout.isEmpty)
        #expect(lines(rejected.stderr).count == 1, "\(rejected.stderr)")
        #expect(rejected.stderr.hasPrefix("breaker-run: vendor-sync: rejected, breaker is open"), "\(rejected.stderr)")
        #expect(rejected.stderr.hasSuffix("; exiting 75\n"), "\(rejected.stderr)")
        #expect(server.requests().count == 3)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("cache/stock.json")), "nothing was imported")
    }

    /// The values of `key=` lines in a unit file, in order.
    func unitValues(_ key: String, in unit: String) -> [String] {
        unit.split(separator: "\n").filter { $0.hasPrefix("\(key)=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// The exit statuses of a unit's space-separated list setting.
    func statuses(_ key: String, in unit: String) -> Set<Int32> {
        Set(unitValues(key, in: unit).flatMap { $0.split(separator: " ").compactMap { Int32($0) } })
    }

    @Test func theServiceAndTimerAreWhatSystemdExpects() throws {
        let service = try text("systemd/breaker-run-report.service")
        #expect(runBreakers(in: service) == ["warehouse-report"])
        #expect(try breakers(in: "systemd/breakers.yaml") == ["warehouse-report"])
        #expect(unitValues("Type", in: service) == ["oneshot"])
        #expect(statuses("SuccessExitStatus", in: service) == [75])
        #expect(try text("systemd/breakers.yaml").contains("open_exit_code: 75"))
        // RestartPreventExitStatus= does nothing without a Restart= that restarts.
        #expect(!statuses("RestartPreventExitStatus", in: service).isEmpty)
        #expect(unitValues("Restart", in: service) == ["on-failure"])
        let timer = try text("systemd/breaker-run-report.timer")
        #expect(!unitValues("OnCalendar", in: timer).isEmpty)
        #expect(unitValues("WantedBy", in: timer) == ["timers.target"])
    }

    /// The service's ExecStart, run as systemd would run it (argv split on
    /// spaces, no shell) with the binary and the report moved into the test's
    /// directory: each exit status lands on the side of SuccessExitStatus=
    /// and RestartPreventExitStatus= that the unit's comments say.
    @Test func theServicesExecStartExitsWithTheStatusesTheUnitMaps() throws {
        let service = try text("systemd/breaker-run-report.service")
        let success = statuses("SuccessExitStatus", in: service).union([0])
        let noRestart = statuses("RestartPreventExitStatus", in: service)
        let execStart = try #require(unitValues("ExecStart", in: service).first)
        var argv = execStart.split(separator: " ").map(String.init)
        #expect(argv.first == "/usr/local/bin/breaker-run")
        argv.removeFirst()
        let sandbox = try Sandbox()
        let report = sandbox.path("warehouse-report")
        try "#!/bin/sh\nexit ${REPORT_STATUS:-0}\n".write(toFile: report, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: report)
        try sandbox.write(config: try text("systemd/breakers.yaml").replacingOccurrences(of: "/usr/local/bin/warehouse-report", with: report))
        func start(reportStatus: Int) throws -> Int32 {
            // Sandbox.run puts --config and --state-dir after the subcommand.
            try sandbox.run(argv, environment: ["REPORT_STATUS": String(reportStatus)]).status
        }
        // A good report: success.
        #expect(try start(reportStatus: 0) == 0)
        // A failed report is a failure systemd restarts (fail_max: 3).
        for _ in 0..<3 {
            let status = try start(reportStatus: 1)
            #expect(status == 1)
            #expect(!success.contains(status) && !noRestart.contains(status))
        }
        // The breaker is open: rejected, nothing ran, a success for systemd,
        // so the restarts stop.
        let rejected = try start(reportStatus: 0)
        #expect(rejected == 75)
        #expect(success.contains(rejected))
        // A broken configuration: 78, which no restart heals.
        try sandbox.write(config: "version: 1\nbreakers: {warehouse-report: {fail_maxx: 3}}\n")
        let broken = try start(reportStatus: 0)
        #expect(broken == 78)
        #expect(!success.contains(broken) && noRestart.contains(broken))
        // A usage error: 64, likewise.
        let usage = try sandbox.run(argv + ["--no-such-option"]).status
        #expect(usage == 64)
        #expect(noRestart.contains(usage))
    }

    static let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// `systemd-analyze verify` accepts the units as shipped, with the
    /// binary's path moved to the built one and the man pages of
    /// Documentation= in a MANPATH of the test's own: no error and no
    /// warning (verify exits 0 on an unknown key, so stderr must be empty).
    @Test(.enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed"))
    func systemdAnalyzeVerifiesTheUnits() throws {
        let sandbox = try Sandbox()
        let units = sandbox.path("units")
        let manual = sandbox.path("man")
        for section in ["man1", "man5"] {
            try FileManager.default.createDirectory(atPath: manual + "/" + section, withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: true)
        for (page, section) in [("breaker-run.1", "man1"), ("breaker-run.yaml.5", "man5")] {
            try FileManager.default.copyItem(atPath: ExamplesTests.root.appendingPathComponent("man/\(page)").path, toPath: "\(manual)/\(section)/\(page)")
        }
        let service = try text("systemd/breaker-run-report.service").replacingOccurrences(of: "/usr/local/bin/breaker-run", with: Sandbox.binary)
        try service.write(toFile: units + "/breaker-run-report.service", atomically: true, encoding: .utf8)
        try text("systemd/breaker-run-report.timer").write(toFile: units + "/breaker-run-report.timer", atomically: true, encoding: .utf8)
        // The queue's drain units, templates verified as an instance.
        let drain = try text("legacy-cli/breaker-run-drain@.service").replacingOccurrences(of: "/usr/local/bin/breaker-run", with: Sandbox.binary)
        try drain.write(toFile: units + "/breaker-run-drain@ledger.service", atomically: true, encoding: .utf8)
        try text("legacy-cli/breaker-run-drain@.timer").write(toFile: units + "/breaker-run-drain@ledger.timer", atomically: true, encoding: .utf8)
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: try #require(Self.systemdAnalyze))
        verify.arguments = ["verify", units + "/breaker-run-report.service", units + "/breaker-run-report.timer",
                            units + "/breaker-run-drain@ledger.service", units + "/breaker-run-drain@ledger.timer"]
        verify.currentDirectoryURL = URL(fileURLWithPath: units)
        var environment = ProcessInfo.processInfo.environment
        environment["MANPATH"] = manual
        verify.environment = environment
        let output = Pipe()
        verify.standardOutput = output
        verify.standardError = output
        try verify.run()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        verify.waitUntilExit()
        #expect(verify.terminationStatus == 0, "\(said)")
        #expect(said.isEmpty, "\(said)")
    }

    @Test func theLegacyCLIsQueueKeepsTheRejectedJobAndADrainReplaysIt() throws {
        let sandbox = try Sandbox()
        let config = Self.examples.appendingPathComponent("legacy-cli/breakers.yaml").path
        // Five failures trip it (fail_max: 5).
        for _ in 0..<5 {
            #expect(try sandbox.run(["run", "--config", config, "ledger", "--", "/bin/false"]).status == 1)
        }
        let out = sandbox.path("posted")
        let rejected = try sandbox.run(["run", "--config", config, "ledger", "--", "/bin/sh", "-c", "cat > \"$1\"", "sh", out], stdin: "batch 4711 12.50\n")
        #expect(rejected.status == 0, "\(rejected.stderr)")
        #expect(rejected.stderr.hasSuffix("queued as item 1 of 1 waiting\n"), "\(rejected.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing ran")
        // The ledger is back (reset stands for the 5 minutes' trial), and
        // the timer's or crontab's drain replays the job with its input.
        #expect(try sandbox.run(["reset", "--config", config, "ledger"]).status == 0)
        let drained = try sandbox.run(["drain", "--config", config, "ledger"])
        #expect(drained.status == 0, "\(drained.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "batch 4711 12.50\n")
        #expect(try sandbox.run(["queue", "list", "--config", config, "ledger"]).stdout == "0 waiting, 0 dead\n")
    }

    @Test func everyBreakerRunLineOfTheRunbookWorksOnTheQuickstart() throws {
        let runbook = try text("runbook.md")
        let sandbox = try Sandbox(config: try text("quickstart.yaml"))
        var inShellBlock = false
        var ran = 0
        for line in runbook.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inShellBlock = line == "```sh"; continue }
            guard inShellBlock, line.hasPrefix("breaker-run ") else { continue }
            let words = try shellWords(String(line.dropFirst("breaker-run ".count)))
            let result = try sandbox.run(words)
            #expect(result.status == 0, "\(line): \(result.stderr)")
            ran += 1
        }
        #expect(ran >= 8)
        // The runbook ends with the breaker reset and then tried by force.
        #expect(try sandbox.status("payment-gateway")["state"] as? String == "closed")
    }

    /// Splits a simple shell line: words, and double-quoted strings.
    func shellWords(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            if character == "\"" { quoted.toggle(); continue }
            if character == " " && !quoted {
                if !current.isEmpty { words.append(current); current = "" }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
