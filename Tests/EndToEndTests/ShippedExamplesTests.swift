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
        for line in crontab.split(separator: "\n") where line.contains("breaker-run -q run") {
            #expect(line.split(separator: " ", omittingEmptySubsequences: true)[5] == "root")
        }
    }

    /// The crontab's command, as cron's /bin/sh runs it, with the installed
    /// paths moved into `sandbox` and `import-stock` played by `cat`.
    func cronCommand(_ sandbox: Sandbox) throws -> String {
        let line = try #require(try text("cron/crontab").split(separator: "\n").first { $0.contains("breaker-run -q run") })
        let command = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true)[6]
        let config = Self.examples.appendingPathComponent("cron/breakers.yaml").path
        return String(command)
            .replacingOccurrences(of: "/etc/vendor-sync/env", with: sandbox.path("env"))
            .replacingOccurrences(of: "/var/cache/vendor-sync", with: sandbox.path("cache"))
            .replacingOccurrences(of: "breaker-run -q run", with: "'\(Sandbox.binary)' --config '\(config)' --state-dir '\(sandbox.stateDirectory)' -q run")
            .replacingOccurrences(of: "import-stock ", with: "cat ")
    }

    @Test func theNightlySyncImportsTheCachedAnswerOnceTheVendorIsDown() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/api/v1/stock": [
            ["status": 200, "body": "{\"sku-1\": 42}"],
            ["status": 503, "body": "maintenance"],
        ]])
        try FileManager.default.createDirectory(atPath: sandbox.path("cache"), withIntermediateDirectories: true)
        try "VENDOR_API=\(server.url("/api"))\nVENDOR_TOKEN=t0ken\nexport VENDOR_API VENDOR_TOKEN\n".write(toFile: sandbox.path("env"), atomically: true, encoding: .utf8)
        let command = try cronCommand(sandbox)
        func night() throws -> Invocation {
            try sandbox.run(["-c", command], binary: "/bin/sh")
        }
        let first = try night()
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "{\"sku-1\": 42}", "the import read the vendor's answer")
        #expect(first.stderr.isEmpty, "a plain success mails nothing")
        #expect((server.requests().first?["headers"] as? [String: String])?["Authorization"] == "Bearer t0ken")
        // Three failed nights (fail_max: 3): nothing imported, stock.json kept.
        for _ in 0..<3 {
            let failed = try night()
            #expect(failed.status == 22, "\(failed.stderr)")
            #expect(failed.stdout.isEmpty)
        }
        #expect(try String(contentsOfFile: sandbox.path("cache/stock.json"), encoding: .utf8) == "{\"sku-1\": 42}")
        // The breaker is open: the vendor is left alone and the last good
        // answer is imported again.
        let cached = try night()
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(cached.stdout == "{\"sku-1\": 42}")
        #expect(server.requests().count == 4)
        let status = try sandbox.run(["status", "--json", "--config", Self.examples.appendingPathComponent("cron/breakers.yaml").path, "vendor-sync"])
        #expect(status.stdout.contains("\"state\" : \"open\""), "\(status.stdout)")
    }

    @Test func theServiceMapsTheRejectionStatusToSuccess() throws {
        let service = try text("systemd/breaker-run-report.service")
        #expect(runBreakers(in: service) == ["warehouse-report"])
        #expect(try breakers(in: "systemd/breakers.yaml") == ["warehouse-report"])
        #expect(service.contains("\nSuccessExitStatus=75\n"))
        #expect(try text("systemd/breakers.yaml").contains("open_exit_code: 75"))
        #expect(service.contains("\nType=oneshot\n"))
        let timer = try text("systemd/breaker-run-report.timer")
        #expect(timer.contains("OnCalendar="))
        #expect(timer.contains("WantedBy=timers.target"))
    }

    @Test func theLegacyCLIsFallbackSpoolsTheRejectedJob() throws {
        let sandbox = try Sandbox()
        let config = Self.examples.appendingPathComponent("legacy-cli/breakers.yaml").path
        let spool = sandbox.path("spool")
        let environment = ["LEDGER_SPOOL": spool]
        // Five failures trip it (fail_max: 5).
        for _ in 0..<5 {
            #expect(try sandbox.run(["run", "--config", config, "ledger", "--", "/bin/false"], environment: environment).status == 1)
        }
        let rejected = try sandbox.run(["run", "--config", config, "ledger", "--", "/bin/echo", "post", "--amount", "12.50", "it's"], environment: environment)
        #expect(rejected.status == 0, "\(rejected.stderr)")
        #expect(rejected.stderr.contains("job spooled to \(spool)/ledger.queue"))
        let queue = try String(contentsOfFile: spool + "/ledger.queue", encoding: .utf8)
        #expect(queue.hasPrefix("/bin/echo post --amount 12.50 "))
        #expect(queue.split(separator: "\n").count == 1)
        // Replayed through a shell, the spooled line is the same command.
        let replay = Process()
        replay.executableURL = URL(fileURLWithPath: "/bin/sh")
        replay.arguments = ["-c", "eval \"$(cat \"$1\")\" > \"$1.out\"", "sh", spool + "/ledger.queue"]
        try replay.run()
        replay.waitUntilExit()
        #expect(try String(contentsOfFile: spool + "/ledger.queue.out", encoding: .utf8) == "post --amount 12.50 it's\n")
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
