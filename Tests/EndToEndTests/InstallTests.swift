import Foundation
import Testing

/// `make install DESTDIR=...` with the binary under test (`BIN=`, so no
/// release build is needed; `breaker-run-full` is taken from beside it),
/// then the installed binary on the installed example.
@Suite("make install and uninstall", .serialized)
struct InstallTests {
    static let root = ExamplesTests.root

    func make(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["make", "-s", "-C", Self.root.path] + arguments + ["BIN=\(Sandbox.binary)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    @Test func installsTheTreeKeepsTheConfigurationAndUninstalls() throws {
        let sandbox = try Sandbox()
        let destination = sandbox.path("root")
        let install = try make(["install", "DESTDIR=\(destination)"])
        #expect(install.status == 0, "\(install.output)")

        let files: [(String, Int)] = [
            ("/usr/local/bin/breaker-run", 0o755),
            ("/usr/local/libexec/breaker-run/breaker-run-full", 0o755),
            ("/usr/local/share/man/man1/breaker-run.1", 0o644),
            ("/usr/local/share/man/man5/breaker-run.yaml.5", 0o644),
            ("/usr/local/share/bash-completion/completions/breaker-run", 0o644),
            ("/usr/local/share/zsh/site-functions/_breaker-run", 0o644),
            ("/usr/local/share/fish/vendor_completions.d/breaker-run.fish", 0o644),
            ("/usr/local/lib/tmpfiles.d/breaker-run.conf", 0o644),
            ("/etc/breaker-run/breakers.yaml", 0o644),
            ("/var/lib/breaker-run", 0o2770),
        ]
        for (path, expected) in files {
            #expect(mode(destination + path) == expected, "\(path)")
        }
        let bash = try String(contentsOfFile: destination + "/usr/local/share/bash-completion/completions/breaker-run", encoding: .utf8)
        #expect(bash.contains("---completion reset"))
        let tmpfiles = try String(contentsOfFile: destination + "/usr/local/lib/tmpfiles.d/breaker-run.conf", encoding: .utf8)
        #expect(tmpfiles.contains("d      /var/lib/breaker-run 2770 root breaker-run -"))

        // The installed binary accepts the installed example and runs a breaker of it.
        let binary = destination + "/usr/local/bin/breaker-run"
        let config = destination + "/etc/breaker-run/breakers.yaml"
        let state = destination + "/var/lib/breaker-run"
        let validate = try sandbox.run(["--config", config, "validate"], binary: binary)
        #expect(validate.status == 0, "\(validate.stderr)")
        #expect(validate.stdout.contains("OK"))
        let run = try sandbox.run(["--config", config, "--state-dir", state, "run", "payment-gateway"], binary: binary)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "charging cards\n")

        // A second install keeps the operator's configuration.
        try "# mine\nversion: 1\nbreakers: {}\n".write(toFile: config, atomically: false, encoding: .utf8)
        let again = try make(["install", "DESTDIR=\(destination)"])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("keeping the existing"))
        #expect(try String(contentsOfFile: config, encoding: .utf8).hasPrefix("# mine"))

        let uninstall = try make(["uninstall", "DESTDIR=\(destination)"])
        #expect(uninstall.status == 0, "\(uninstall.output)")
        #expect(!FileManager.default.fileExists(atPath: binary))
        #expect(!FileManager.default.fileExists(atPath: destination + "/usr/local/libexec/breaker-run"))
        #expect(!FileManager.default.fileExists(atPath: destination + "/usr/local/share/man/man1/breaker-run.1"))
        #expect(!FileManager.default.fileExists(atPath: destination + "/usr/local/share/zsh/site-functions/_breaker-run"))
        #expect(FileManager.default.fileExists(atPath: config))
        #expect(FileManager.default.fileExists(atPath: state))
    }

    /// Another PREFIX moves everything but the configuration and the state
    /// (which stay where breaker-run looks for them), and the installed core
    /// still finds its breaker-run-full in PREFIX/libexec.
    @Test func installsUnderAnotherPrefixAndTheInstalledBinaryRuns() throws {
        let sandbox = try Sandbox()
        let destination = sandbox.path("root")
        let install = try make(["install", "PREFIX=/opt/x", "DESTDIR=\(destination)"])
        #expect(install.status == 0, "\(install.output)")
        let files: [(String, Int)] = [
            ("/opt/x/bin/breaker-run", 0o755),
            ("/opt/x/libexec/breaker-run/breaker-run-full", 0o755),
            ("/opt/x/share/man/man1/breaker-run.1", 0o644),
            ("/opt/x/share/man/man5/breaker-run.yaml.5", 0o644),
            ("/opt/x/share/bash-completion/completions/breaker-run", 0o644),
            ("/opt/x/share/zsh/site-functions/_breaker-run", 0o644),
            ("/opt/x/share/fish/vendor_completions.d/breaker-run.fish", 0o644),
            ("/opt/x/share/doc/breaker-run/examples/cron/crontab", 0o644),
            // systemd-tmpfiles never reads /opt/x/lib/tmpfiles.d.
            ("/etc/tmpfiles.d/breaker-run.conf", 0o644),
            ("/etc/breaker-run/breakers.yaml", 0o644),
            ("/var/lib/breaker-run", 0o2770),
        ]
        for (path, expected) in files {
            #expect(mode(destination + path) == expected, "\(path)")
        }
        #expect(!FileManager.default.fileExists(atPath: destination + "/usr"), "nothing goes under /usr with PREFIX=/opt/x")
        #expect(!FileManager.default.fileExists(atPath: destination + "/opt/x/lib/tmpfiles.d"))

        let binary = destination + "/opt/x/bin/breaker-run"
        let config = destination + "/etc/breaker-run/breakers.yaml"
        let state = destination + "/var/lib/breaker-run"
        let validate = try sandbox.run(["--config", config, "validate"], binary: binary)
        #expect(validate.status == 0, "\(validate.stderr)")
        let run = try sandbox.run(["--config", config, "--state-dir", state, "run", "payment-gateway"], binary: binary)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "charging cards\n")
        // An http call needs the plugins: the core hands over to the
        // breaker-run-full installed beside it, under /opt/x/libexec.
        let server = try HTTPServer(in: sandbox.directory, routes: ["/ping": ["status": 200, "body": "pong"]])
        let http = sandbox.path("http.yaml")
        try "version: 1\nbreakers:\n  api: {http: {url: \"\(server.url("/ping"))\"}, timeout: 5s}\n".write(toFile: http, atomically: true, encoding: .utf8)
        let handedOver = try sandbox.run(["--config", http, "--state-dir", state, "-vv", "run", "api"], binary: binary)
        #expect(handedOver.status == 0, "\(handedOver.stderr)")
        #expect(handedOver.stdout == "pong")
        #expect(handedOver.stderr.contains(destination + "/opt/x/libexec/breaker-run/breaker-run-full"), "\(handedOver.stderr)")

        let uninstall = try make(["uninstall", "PREFIX=/opt/x", "DESTDIR=\(destination)"])
        #expect(uninstall.status == 0, "\(uninstall.output)")
        for (path, _) in files where !path.hasPrefix("/etc/breaker-run") && !path.hasPrefix("/var/lib") {
            #expect(!FileManager.default.fileExists(atPath: destination + path), "\(path) left after uninstall")
        }
        #expect(FileManager.default.fileExists(atPath: config))
    }
}
