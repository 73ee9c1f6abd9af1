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
            ("/var/lib/breaker-run", 0o700),
        ]
        for (path, expected) in files {
            #expect(mode(destination + path) == expected, "\(path)")
        }
        let bash = try String(contentsOfFile: destination + "/usr/local/share/bash-completion/completions/breaker-run", encoding: .utf8)
        #expect(bash.contains("---completion reset"))
        let tmpfiles = try String(contentsOfFile: destination + "/usr/local/lib/tmpfiles.d/breaker-run.conf", encoding: .utf8)
        #expect(tmpfiles.contains("d      /var/lib/breaker-run 0700 root root"))

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
}
