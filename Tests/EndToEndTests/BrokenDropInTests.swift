import Foundation
import Testing

/// A broken file stops only itself (issue 16, breaker-run.yaml(5) "Files"):
/// the system configuration, `/etc/breaker-run/breakers.yaml` and its
/// `breakers.d`, found as root would find it. Each invocation runs as root
/// in a private mount namespace (`unshare -m`) whose `/etc` is an overlay
/// with this sandbox's files on top, so the machine's `/etc` is untouched
/// and tests run in parallel.
@Suite struct BrokenDropInTests {
    /// A sandbox whose `etc` is the overlay's upper layer.
    struct System {
        let sandbox: Sandbox
        var etc: String { sandbox.path("etc-up/breaker-run") }

        init(main: String, dropIns: [String: String]) throws {
            sandbox = try Sandbox()
            try FileManager.default.createDirectory(atPath: sandbox.path("etc-work"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: etc + "/breakers.d", withIntermediateDirectories: true)
            try write("breakers.yaml", main)
            for (name, text) in dropIns { try write("breakers.d/" + name, text) }
        }

        /// Writes a file of the configuration, 0644 (root's, as the tests run as root).
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: etc + "/" + name, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: etc + "/" + name)
        }

        func remove(_ name: String) throws {
            try FileManager.default.removeItem(atPath: etc + "/" + name)
        }

        /// `breaker-run ARGUMENTS --state-dir SANDBOX/state`, with `/etc`
        /// overlaid in a mount namespace of its own.
        func run(_ arguments: [String]) throws -> Invocation {
            let script = """
                mount -t overlay overlay -o lowerdir=/etc,upperdir="$1",workdir="$2" /etc || exit 99
                shift 2; exec "$@"
                """
            return try sandbox.run(
                ["-m", "--propagation", "private", "sh", "-c", script, "sh", sandbox.path("etc-up"), sandbox.path("etc-work"),
                 Sandbox.binary, "--state-dir", sandbox.stateDirectory] + arguments,
                binary: "/usr/bin/unshare")
        }
    }

    static let main = """
        version: 1
        defaults: {fail_max: 3}
        breakers:
          main-job: {}

        """

    /// A typo in one drop-in, one cut short, a name defined in two others,
    /// and two files skipped because of their name.
    static let dropIns = [
        "10-typo.yaml": "version: 1\nbreakers:\n  typo-job:\n    tiemout: 5s\n",
        "20-cut.yaml": "version: 1\nbreakers:\n  cut-job: {fail_max: 3\n",
        "30-dup-a.yaml": "version: 1\nbreakers:\n  dup-job: {}\n",
        "40-dup-b.yaml": "version: 1\nbreakers:\n  dup-job: {fail_max: 2}\n",
        "50-extra.yml": "version: 1\nbreakers:\n  extra-job: {}\n",
        "README": "drop-ins go here\n",
    ]

    static func warnings(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("breaker-run: warning:") }
    }

    @Test func aBreakerOfTheMainFileRunsWithOneWarningAndTheBrokenOnesExit78() throws {
        let system = try System(main: Self.main, dropIns: Self.dropIns)
        let run = try system.run(["run", "main-job", "--", "echo", "ran"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "ran\n")
        let warnings = Self.warnings(run.stderr)
        #expect(warnings.count == 1, "\(run.stderr)")
        #expect(warnings.first?.contains("breaker-run: warning: ignoring /etc/breaker-run/breakers.d/10-typo.yaml:4:5: unknown key 'tiemout'") == true,
                "\(run.stderr)")
        #expect(warnings.first?.hasSuffix("run 'breaker-run validate')") == true)

        // trip, reset and status of the valid breaker, likewise.
        for command in [["trip", "main-job"], ["reset", "main-job"], ["status", "main-job"]] {
            let result = try system.run(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(Self.warnings(result.stderr).count == 1, "\(command): \(result.stderr)")
        }

        let typo = try system.run(["run", "typo-job", "--", "echo", "ran"])
        #expect(typo.status == 78)
        #expect(typo.stdout.isEmpty)
        #expect(typo.stderr.contains("10-typo.yaml:4:5: unknown key 'tiemout'"), "\(typo.stderr)")

        let duplicate = try system.run(["run", "dup-job", "--", "echo", "ran"])
        #expect(duplicate.status == 78)
        #expect(duplicate.stdout.isEmpty)
        #expect(duplicate.stderr.contains("40-dup-b.yaml:3:3: breaker 'dup-job' is already defined at /etc/breaker-run/breakers.d/30-dup-a.yaml:3:3"),
                "\(duplicate.stderr)")
        #expect(try system.run(["trip", "dup-job"]).status == 78)
        #expect(try system.run(["reset", "typo-job"]).status == 78)

        // Not found, and a file could not be parsed: it may be there.
        let cut = try system.run(["run", "cut-job", "--", "echo", "ran"])
        #expect(cut.status == 78)
        #expect(cut.stdout.isEmpty)
        #expect(cut.stderr.contains("no breaker named 'cut-job'"), "\(cut.stderr)")
        #expect(cut.stderr.contains("may be defined in /etc/breaker-run/breakers.d/20-cut.yaml"), "\(cut.stderr)")
        #expect(!FileManager.default.fileExists(atPath: system.sandbox.stateDirectory + "/typo-job"))
    }

    @Test func validateStaysStrictAndNamesTheSkippedFiles() throws {
        let system = try System(main: Self.main, dropIns: Self.dropIns)
        let validate = try system.run(["validate"])
        #expect(validate.status == 78)
        for expected in ["10-typo.yaml:4:5: unknown key 'tiemout'", "20-cut.yaml:", "40-dup-b.yaml:3:3: breaker 'dup-job' is already defined",
                         "/etc/breaker-run/breakers.d/50-extra.yml: warning: not read", "/etc/breaker-run/breakers.d/README: warning: not read"] {
            #expect(validate.stderr.contains(expected), "\(expected) in \(validate.stderr)")
        }
    }

    @Test func statusShowsTheValidAndALinePerBrokenAndMetricsExportsTheValid() throws {
        let system = try System(main: Self.main, dropIns: Self.dropIns)
        let status = try system.run(["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("main-job"))
        #expect(status.stdout.contains("typo-job: broken: /etc/breaker-run/breakers.d/10-typo.yaml:4:5"), "\(status.stdout)")
        #expect(status.stdout.contains("dup-job: broken: "), "\(status.stdout)")
        #expect(Self.warnings(status.stderr).count == 1)

        let metrics = try system.run(["metrics"])
        #expect(metrics.status == 0, "\(metrics.stderr)")
        #expect(metrics.stdout.contains("breaker=\"main-job\""), "\(metrics.stdout)")
        #expect(!metrics.stdout.contains("typo-job"))
        #expect(!metrics.stdout.contains("dup-job"))
    }

    @Test(arguments: [
        ("version: 1\ntiemout: 5s\nbreakers:\n  main-job: {}\n", "breakers.yaml:2:1: unknown top-level key 'tiemout'"),
        ("version: 1\ndefaults: {fail_maxx: 3}\nbreakers:\n  main-job: {}\n", "breakers.yaml:2:12: unknown key 'fail_maxx'"),
        ("version: 1\nbreakers:\n  main-job: {tiemout: 5s}\n", "breakers.yaml:3:14: unknown key 'tiemout'"),
    ])
    func anErrorInTheMainFilesKeysDefaultsOrTheBreakerItselfStillExits78(main: String, expected: String) throws {
        let system = try System(main: main, dropIns: ["10-ok.yaml": "version: 1\nbreakers:\n  other-job: {}\n"])
        let run = try system.run(["run", "main-job", "--", "echo", "ran"])
        #expect(run.status == 78)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains(expected), "\(run.stderr)")
    }

    /// Item 4: `state_dir` (and `state`, `metrics_file`, `log`) belong to
    /// the main file; in a drop-in they are an error whatever breaker runs.
    @Test(arguments: ["state_dir: /srv/elsewhere", "metrics_file: /tmp/x.prom", "log: syslog", "state: {backend: file}"])
    func aMainFileKeyInADropInExits78NamingTheFile(line: String) throws {
        let key = String(line.prefix { $0 != ":" })
        let system = try System(main: Self.main, dropIns: ["20-extra.yaml": "version: 1\n\(line)\nbreakers:\n  other-job: {}\n"])
        let run = try system.run(["run", "main-job", "--", "echo", "ran"])
        #expect(run.status == 78)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("/etc/breaker-run/breakers.d/20-extra.yaml:2:1: '\(key)' belongs to the main file"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: system.sandbox.stateDirectory))
    }

    /// A cached configuration never hides a warning nor keeps one that was
    /// fixed: only an error-free configuration is cached, and the cache key
    /// covers every file.
    @Test func theConfigurationCacheNeitherHidesNorKeepsAWarning() throws {
        let system = try System(main: ConfigurationCacheEndToEndTests.largeConfiguration(), dropIns: [:])
        let cached = try eventually(within: 30) {
            _ = try system.run(["status", "svc-1"])
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: system.sandbox.cacheDirectory)) ?? []
            return entries.contains { $0.hasSuffix(".cache") }
        }
        #expect(cached)
        try system.write("breakers.d/10-typo.yaml", Self.dropIns["10-typo.yaml"]!)
        for _ in 0..<2 {
            let run = try system.run(["run", "svc-1", "--", "true"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(Self.warnings(run.stderr).count == 1, "\(run.stderr)")
        }
        try system.remove("breakers.d/10-typo.yaml")
        let fixed = try system.run(["run", "svc-1", "--", "true"])
        #expect(fixed.status == 0)
        #expect(Self.warnings(fixed.stderr).isEmpty, "\(fixed.stderr)")
    }
}
