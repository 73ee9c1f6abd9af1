import BreakerRunKit
import CircuitBreaker
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Parses `yaml` and returns its diagnostics, or [] when it is valid.
private func diagnostics(_ yaml: String, file: String = "b.yaml") -> [Diagnostic] {
    do {
        _ = try ConfigurationLoader.parse(yaml: yaml, file: file)
        return []
    } catch {
        if case let .invalid(list) = error { return list }
        Issue.record("unexpected error \(error)")
        return []
    }
}

/// `LINE:COLUMN: message` of each diagnostic.
private func messages(_ yaml: String) -> [String] {
    diagnostics(yaml).map { "\($0.location.line):\($0.location.column): \($0.message)" }
}

private func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/breaker-run-config-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
}

private func write(_ text: String, to path: String) {
    let file = fopen(path, "w")!
    fputs(text, file)
    fclose(file)
}

@Suite struct ConfigurationLoaderTests {
    @Test func readsAFullConfigurationWithDefaultsAndOverrides() throws {
        let yaml = """
        version: 1
        state_dir: /var/lib/breaker-run
        defaults:
          fail_max: 3
          reset_timeout: 30s
          kill_after: 0
          fallback: {output: "down\\n", exit_code: 3}
        breakers:
          payment-gateway:
            description: Card payments
            command: [/usr/local/bin/pay-batch, --since, yesterday, 5]
            timeout: 1m30s
            fail_max: 2
            success_threshold: 2
            half_open_max_calls: 3
            success_exit_codes: [0, "2-4", 10-12]
            ignore_exit_codes: 75
            open_exit_code: 69
            env: {LANG: C.UTF-8, RETRIES: 3, FLAG: no}
            working_dir: /srv/pay
            fallback:
              - shell: 'echo queued >&2'
              - command: [/bin/true]
              - output: cached
          inventory:
            shell: curl -f https://inventory
            reset_timeout: 500ms
            fallback: []
          bare:
        """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/breaker-run/breakers.yaml")
        #expect(configuration.stateDirectory == "/var/lib/breaker-run")
        #expect(configuration.breakerNames == ["bare", "inventory", "payment-gateway"])
        let pay = try configuration.breaker(named: "payment-gateway")
        #expect(pay.location == SourceLocation(file: "/etc/breaker-run/breakers.yaml", line: 9, column: 3))
        #expect(pay.description == "Card payments")
        #expect(pay.call == .command(["/usr/local/bin/pay-batch", "--since", "yesterday", "5"]))
        #expect(pay.policy == Policy(failMax: 2, resetTimeout: .seconds(30), successThreshold: 2, halfOpenMaxCalls: 3))
        #expect(pay.timeout == .seconds(90))
        #expect(pay.killAfter == .zero)
        #expect(pay.successExitCodes == ExitCodeSet([0...0, 2...4, 10...12]))
        #expect(pay.ignoreExitCodes == ExitCodeSet([75...75]))
        #expect(pay.openExitCode == 69)
        #expect(pay.environment == ["LANG": "C.UTF-8", "RETRIES": "3", "FLAG": "no"])
        #expect(pay.workingDirectory == "/srv/pay")
        #expect(pay.fallbacks == [.shell("echo queued >&2"), .command(["/bin/true"]), .fixed(output: "cached", exitCode: 0)])
        let inventory = try configuration.breaker(named: "inventory")
        #expect(inventory.call == .shell("curl -f https://inventory"))
        #expect(inventory.policy == Policy(failMax: 3, resetTimeout: .milliseconds(500)))
        #expect(inventory.fallbacks == [])
        let bare = try configuration.breaker(named: "bare")
        #expect(bare.call == nil)
        #expect(bare.fallbacks == [.fixed(output: "down\n", exitCode: 3)])
        #expect(bare.timeout == nil)
        #expect(bare.successExitCodes == ExitCodeSet([0...0]))
        #expect(bare.openExitCode == 75)
    }

    @Test func anEmptyBreakersMappingGivesTheBuiltInDefaults() throws {
        let configuration = try ConfigurationLoader.parse(yaml: "version: 1\nbreakers: {}\n", file: "b.yaml")
        #expect(configuration.breakers.isEmpty)
        #expect(configuration.stateDirectory == nil)
    }

    @Test(arguments: [
        ("breakers:\n  x:\n    rest_timeout: 5s\n",
         "3:5: unknown key 'rest_timeout' in breaker 'x'; did you mean 'reset_timeout'?"),
        ("breakers:\n  x:\n    reset_timeout: 010\n",
         "3:20: leading zero in 'reset_timeout': write 10 (octal is not supported)"),
        ("breakers:\n  x:\n    fail_max: 1:30\n",
         "3:15: 'fail_max' is written in base 60 ('1:30'), which is not supported: write 90"),
        ("breakers:\n  x:\n    timeout: 1:30\n",
         "3:14: 'timeout' is written in base 60 ('1:30'), which is not supported: for a duration write 1m30s"),
        ("breakers:\n  x:\n    fallback: off\n",
         "3:15: 'fallback' must be a mapping such as {output: 'service down', exit_code: 0} or a list of them, not 'off'"),
        ("breakers:\n  x:\n    fail_max: \"5\"\n",
         "3:15: 'fail_max' must be a whole number such as 5, not the quoted string '5'; remove the quotes"),
        ("breakers:\n  x:\n    fail_max: three\n",
         "3:15: 'fail_max' must be a whole number such as 5, not 'three'"),
        ("breakers:\n  x:\n    fail_max: 0\n",
         "3:15: 'fail_max' must be between 1 and 2147483647, not 0"),
        ("breakers:\n  x:\n    fail_max:\n",
         "3:14: 'fail_max' has no value; write a whole number such as 5"),
        ("breakers:\n  x:\n    reset_timeout: 0s\n",
         "3:20: 'reset_timeout' must be longer than 0, such as 30s"),
        ("breakers:\n  x:\n    timeout: 1.5s\n",
         "3:14: 'timeout' must be a duration such as 30s, 500ms or 1m30s, not '1.5s'"),
        ("breakers:\n  x:\n    open_exit_code: 300\n",
         "3:21: 'open_exit_code' must be between 0 and 255, not 300"),
        ("breakers:\n  x:\n    success_exit_codes: [0, 4-2]\n",
         "3:29: the range '4-2' in 'success_exit_codes' runs backwards; write 2-4"),
        ("breakers:\n  x:\n    fail_max: 3\n    fail_max: 4\n",
         "4:5: duplicate key 'fail_max' (first at line 4, column 5); keep only one"),
        ("breakers:\n  x:\n    command: [a]\n    shell: b\n",
         "4:5: breaker 'x' has both 'command' (line 4) and 'shell'; keep one"),
        ("breakers:\n  x:\n    command: echo hi\n",
         "3:14: 'command' must be a list such as [/usr/bin/pay-batch, --since, yesterday], not 'echo hi'; for a shell command line use 'shell'"),
        ("breakers:\n  x:\n    on_state_error: closed\n",
         "3:21: 'on_state_error' must be fail-open or fail-closed, not 'closed'"),
        ("breakers:\n  x:\n    state: {backend: postgresql}\n",
         "3:12: 'state' with backend: postgresql needs 'url', such as {backend: postgresql, url: 'postgresql://breaker@db.internal/ops'}"),
        ("breakers:\n  x:\n    state: {backend: postgresql, url: 'postgresql://db.internal/ops'}\n",
         "3:39: 'state.url' names no user; write the role before the host, as in postgresql://breaker@db.internal/ops"),
        ("breakers:\n  x:\n    state: {backend: postgresql, url: 'postgresql://b@h/o', sslmode: allow}\n",
         "3:70: 'state.sslmode' must be disable, prefer, require or verify-full (libpq's sslmode), not 'allow'"),
        ("breakers:\n  x:\n    state: {backend: file, schema: s}\n",
         "3:28: 'state.schema' applies only with backend: postgresql; remove it"),
        ("breakers:\n  x:\n    fallback: {cached: {max_ages: 1h}}\n",
         "3:25: unknown key 'max_ages' in 'cached'; did you mean 'max_age'?"),
        ("breakers:\n  x:\n    fallback: {shell: a, exit_code: 2}\n",
         "3:26: 'exit_code' applies only to an 'output', 'cached' or 'queue' fallback; a command's own exit status is used"),
        ("defaults:\n  command: [a]\n",
         "2:3: 'command' cannot be in 'defaults': a call belongs to one breaker; move it under the breaker"),
        ("breakers:\n  -bad:\n",
         "2:3: invalid breaker name '-bad'; use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"),
        ("log: journald\n",
         "1:6: 'log' must be stderr or syslog, not 'journald'"),
        ("metrics_file: ''\n",
         "1:15: 'metrics_file' is empty; name a file such as /var/lib/prometheus/node-exporter/breaker-run.prom"),
        ("breakers:\n  x:\n    env: {1X: a}\n",
         "3:11: '1X' is not a valid environment variable name; use letters, digits and '_', not starting with a digit"),
    ])
    func reportsABadValueAtItsPlace(body: String, expected: String) {
        // The version line comes first, so every line above is one lower.
        let shifted = messages("version: 1\n" + body).map { message -> String in
            let parts = message.split(separator: ":", maxSplits: 1)
            return "\(Int(parts[0])! - 1):\(parts[1])"
        }
        #expect(shifted == [expected])
    }

    @Test func readsMetricsFileRelativeToTheConfigurationAndLog() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: "version: 1\nmetrics_file: ../prom/breakers.prom\nlog: syslog\nbreakers: {}\n", file: "/etc/breaker-run/breakers.yaml")
        #expect(configuration.metricsFile == "/etc/prom/breakers.prom")
        #expect(configuration.log == .syslog)
        let defaults = try ConfigurationLoader.parse(yaml: "version: 1\nbreakers: {}\n", file: "b.yaml")
        #expect(defaults.metricsFile == nil)
        #expect(defaults.log == .stderr)
    }

    @Test func treatsYesNoOnAndOffAsStringsSoBreakersCanHaveThoseNames() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: "version: 1\nbreakers:\n  no: {fail_max: 2}\n  on: {}\n  yes: {}\n  off: {}\n", file: "b.yaml")
        #expect(configuration.breakerNames == ["no", "off", "on", "yes"])
        #expect(configuration.breakers["no"]?.policy.failMax == 2)
    }

    @Test func mergesAnAnchorWithLocalKeysWinning() throws {
        let yaml = """
        version: 1
        x-common: &common
          fail_max: 7
          reset_timeout: 2m
        x-more: &more
          fail_max: 9
          timeout: 3s
        breakers:
          a:
            <<: *common
            reset_timeout: 10s
          b:
            <<: [*common, *more]
        """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml")
        #expect(configuration.breakers["a"]?.policy == Policy(failMax: 7, resetTimeout: .seconds(10)))
        #expect(configuration.breakers["b"]?.policy == Policy(failMax: 7, resetTimeout: .seconds(120)))
        #expect(configuration.breakers["b"]?.timeout == .seconds(3))
    }

    @Test func validatesMergedKeysAtTheAnchor() {
        let yaml = "version: 1\nx-base: &base\n  fail_mx: 3\nbreakers:\n  a:\n    <<: *base\n"
        #expect(messages(yaml) == ["3:3: unknown key 'fail_mx' in breaker 'a'; did you mean 'fail_max'?"])
    }

    @Test func reportsEveryErrorInAFileSortedByPosition() {
        let yaml = """
        breakers:
          b:
            timeout: soon
            colour: red
          a:
            fail_max: -1
        """
        #expect(messages(yaml) == [
            "1:1: missing 'version: 1'; add it as the first line",
            "3:14: 'timeout' must be a duration such as 30s, 500ms or 1m30s, not 'soon'",
            "4:5: unknown key 'colour' in breaker 'b'; see breaker-run.yaml(5) for the keys",
            "6:15: 'fail_max' must be between 1 and 2147483647, not -1",
        ])
    }

    @Test(arguments: [
        ("", "1:1: empty configuration; start with 'version: 1'"),
        ("# only a comment\n", "1:1: empty configuration; start with 'version: 1'"),
        ("version: 2\n", "1:10: unsupported configuration version 2; this breaker-run reads version 1"),
        ("- version\n", "1:1: the top level must be a mapping that starts with 'version: 1', not a list"),
        ("version: 1\n---\nversion: 1\n", "2:1: several YAML documents in one file; keep one, or move the others to files of their own"),
        ("version: 1\nbreakers: [\n", "3:1: invalid YAML: did not find expected node content (while parsing a flow node)"),
    ])
    func reportsDocumentLevelProblems(yaml: String, expected: String) {
        #expect(messages(yaml) == [expected])
    }

    @Test func rejectsAnAliasExpansionBomb() {
        var yaml = "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            let previous = "*a\(level - 1)"
            yaml += "a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        let found = messages(yaml)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.contains("more than 100000 nodes once aliases are expanded") == true)
    }

    @Test func resolvesARelativeStateDirectoryAgainstTheFilesDirectory() throws {
        let configuration = try ConfigurationLoader.parse(yaml: "version: 1\nstate_dir: ../state/./run\n", file: "/etc/breaker-run/breakers.yaml")
        #expect(configuration.stateDirectory == "/etc/state/run")
    }

    @Test func namesTheNearestBreakerForAnUnknownName() throws {
        let configuration = try ConfigurationLoader.parse(yaml: "version: 1\nbreakers: {payments: {}, db: {}}\n", file: "b.yaml")
        #expect(throws: ConfigurationError.unknownBreaker(name: "payment", known: ["db", "payments"], suggestion: "payments")) {
            try configuration.breaker(named: "payment")
        }
    }

    @Test func reportsABreakerDefinedInTwoFiles() throws {
        let directory = makeTemporaryDirectory()
        let first = directory + "/breakers.yaml"
        let second = directory + "/other.yaml"
        write("version: 1\nbreakers:\n  db: {}\n", to: first)
        write("version: 1\nbreakers:\n  cache: {}\n  db: {fail_max: 2}\n", to: second)
        #expect(throws: ConfigurationError.invalid([Diagnostic(
            location: SourceLocation(file: second, line: 4, column: 3),
            message: "breaker 'db' is already defined at \(first):3:3; rename or remove one")])) {
            try ConfigurationLoader.load(files: [first, second], isRoot: false)
        }
    }

    @Test func reportsAMissingFileAsUnreadable() {
        #expect(throws: ConfigurationError.unreadable(path: "/nonexistent/b.yaml", reason: "No such file or directory")) {
            try ConfigurationLoader.load(files: ["/nonexistent/b.yaml"], isRoot: false)
        }
    }

    @Test func refusesAFileOthersCanWriteWhenRunningAsRoot() throws {
        guard getuid() == 0 else { return }
        let directory = makeTemporaryDirectory()
        let path = directory + "/breakers.yaml"
        write("version: 1\n", to: path)
        chmod(path, 0o666)
        #expect(throws: ConfigurationError.unsafe(path: path, reason: "the file is writable by group or others")) {
            try ConfigurationLoader.load(files: [path], isRoot: true)
        }
        chmod(path, 0o644)
        chmod(directory, 0o755)
        _ = try ConfigurationLoader.load(files: [path], isRoot: true)
    }

    @Test(.enabled(if: getuid() == 0, "the ownership rules apply to root only"))
    func acceptsARootFileInAStickyDirectoryButNotInAWorldWritableOne() throws {
        let directory = makeTemporaryDirectory()
        let path = directory + "/breakers.yaml"
        write("version: 1\n", to: path)
        chmod(path, 0o644)
        chmod(directory, 0o1777)
        _ = try ConfigurationLoader.load(files: [path], isRoot: true)
        chmod(directory, 0o777)
        #expect(throws: ConfigurationError.unsafe(path: directory, reason: "the directory is writable by group or others")) {
            try ConfigurationLoader.load(files: [path], isRoot: true)
        }
        chmod(directory, 0o755)
    }

    @Test func discoversTheUserFileAndItsDropInsInNameOrder() {
        let home = makeTemporaryDirectory()
        let base = home + "/.config/breaker-run"
        mkdir(home + "/.config", 0o700)
        mkdir(base, 0o700)
        mkdir(base + "/breakers.d", 0o700)
        write("version: 1\n", to: base + "/breakers.yaml")
        for name in ["20-b.yaml", "10-a.yaml", "notes.txt", "B.yaml"] {
            write("version: 1\n", to: base + "/breakers.d/" + name)
        }
        let found = ConfigurationLoader.discover(explicit: nil, environment: ["HOME": home], isRoot: false)
        #expect(found == [base + "/breakers.yaml", base + "/breakers.d/10-a.yaml",
                          base + "/breakers.d/20-b.yaml", base + "/breakers.d/B.yaml"])
        #expect(ConfigurationLoader.discover(explicit: "/x.yaml", environment: ["BREAKER_RUN_CONFIG": "/y.yaml"], isRoot: false) == ["/x.yaml"])
        #expect(ConfigurationLoader.discover(explicit: nil, environment: ["BREAKER_RUN_CONFIG": "/y.yaml"], isRoot: false) == ["/y.yaml"])
    }

    @Test func describesADiagnosticAsCompilersDo() {
        let diagnostic = Diagnostic(location: SourceLocation(file: "b.yaml", line: 3, column: 5), message: "bad")
        #expect(diagnostic.description == "b.yaml:3:5: bad")
    }
}

@Suite struct ConfigurationRecursiveAliasTests {
    @Test func refusesARecursiveAliasWithoutCrashing() {
        let found = diagnostics("version: 1\na: &a [*a]\n")
        #expect(found.count == 1)
    }
}

@Suite struct StateDirectoryPathTests {
    @Test func splitsAPathAtEverySlashAsTheKernelDoes() throws {
        // "/\u{301}" is one Character but two path bytes groups: '/' still separates.
        let configuration = try ConfigurationLoader.parse(
            yaml: "version: 1\nstate_dir: \"x/\\u0301/../y\"\n", file: "/etc/breaker-run/breakers.yaml")
        #expect(configuration.stateDirectory == "/etc/breaker-run/x/y")
        let absolute = try ConfigurationLoader.parse(yaml: "version: 1\nstate_dir: \"/\\u0301a\"\n", file: "b.yaml")
        #expect(absolute.stateDirectory == "/\u{301}a")
    }
}
