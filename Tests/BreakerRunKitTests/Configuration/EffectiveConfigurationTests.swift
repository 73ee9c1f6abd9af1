import BreakerRunKit
import CircuitBreaker
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct EffectiveConfigurationTests {
    @Test func printsTheResilienceKeysSoTheyLoadBackTheSame() throws {
        let yaml = """
        version: 1
        breakers:
          busy:
            slow_call_duration: 2s
            retry: {attempts: 3, delay: 250ms, multiplier: 1.5, jitter: 10%}
            max_concurrent: 2
            max_wait: 5s
            probe: {shell: 'curl -fs http://127.0.0.1/health', timeout: 3s}
            on_transition: {command: [logger, -t, breaker]}
            failure_rate: {threshold: 7%, window: 10m, minimum_calls: 4}
            backoff: {max: 10m, jitter: 7%}
          counted:
            failure_rate: {threshold: 50%, window: 20}
          commas:
            command: ['a,b', '[x]', '{y}']
        """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml")
        let printed = configuration.effectiveYAML()
        #expect(printed.contains("    retry: {attempts: 3, delay: 250ms, multiplier: 1.5, max_delay: 30s, jitter: 10%}\n"))
        #expect(printed.contains("    probe:\n      shell: curl -fs http://127.0.0.1/health\n      timeout: 3s\n"))
        #expect(printed.contains("    on_transition:\n      command: [logger, '-t', breaker]\n      timeout: 10s\n"))
        let reloaded = try ConfigurationLoader.parse(yaml: printed, file: "b.yaml")
        var copy = try #require(reloaded.breakers["busy"])
        copy.location = configuration.breakers["busy"]!.location
        #expect(copy == configuration.breakers["busy"])
        #expect(reloaded.breakers["commas"]?.call == .command(["a,b", "[x]", "{y}"]))
        #expect(printed.contains("    failure_rate: {threshold: 7%, window: 10m, minimum_calls: 4}\n"))
        #expect(printed.contains("    backoff: {multiplier: 2, max: 10m, jitter: 7%}\n"))
        #expect(reloaded.breakers["counted"]?.policy.failureRate == FailureRate(threshold: 0.5, window: .calls(20), minimumCalls: 10))
    }

    @Test func printsEveryKeyWithItsEffectiveValueInAStableOrder() throws {
        let yaml = """
        version: 1
        x-quick: &quick {fail_max: 2}
        defaults:
          reset_timeout: 90s
          timeout: 1500ms
          env: {AUTH: "Bearer ${TOKEN}"}
        breakers:
          zeta:
            <<: *quick
            command: [/bin/echo, "two words", "-n", "it's"]
            env: {PRICE: "$$5", LANG: C}
            fallback: [{output: "down\\n", exit_code: 3}, {shell: "exit 0"}]
          alpha: {}
        """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/b.yaml", environment: ["TOKEN": "s3cret"])
        #expect(configuration.effectiveYAML(stateDirectoryInUse: "/var/lib/breaker-run") == """
        # effective configuration of /etc/b.yaml
        version: 1
        # state_dir: not set; this invocation uses /var/lib/breaker-run
        log: stderr
        breakers:
          alpha:  # defined at /etc/b.yaml:13:3
            # description: not set (none)
            # command: not set (the command comes after -- on the command line)
            fail_max: 5
            reset_timeout: 1m30s
            success_threshold: 1
            half_open_max_calls: 1
            # failure_rate: not set (fail_max alone trips)
            # backoff: not set (every opening lasts reset_timeout)
            timeout: 1s500ms
            kill_after: 5s
            success_exit_codes: [0]
            ignore_exit_codes: []
            open_exit_code: 75
            env:
              AUTH: 'Bearer ${TOKEN}'
            # working_dir: not set (breaker-run's own)
            # slow_call_duration: not set (none)
            # retry: not set (one attempt)
            # max_concurrent: not set (no limit)
            # probe: not set (the real call is the trial)
            # on_transition: not set (none)
            on_state_error: fail-open
            state: {backend: file}
            # per_key: not set (none: a plain breaker)
            fallback: []
          zeta:  # defined at /etc/b.yaml:8:3
            # description: not set (none)
            command: [/bin/echo, two words, '-n', 'it''s']
            fail_max: 2
            reset_timeout: 1m30s
            success_threshold: 1
            half_open_max_calls: 1
            # failure_rate: not set (fail_max alone trips)
            # backoff: not set (every opening lasts reset_timeout)
            timeout: 1s500ms
            kill_after: 5s
            success_exit_codes: [0]
            ignore_exit_codes: []
            open_exit_code: 75
            env:
              LANG: C
              PRICE: '$$5'
            # working_dir: not set (breaker-run's own)
            # slow_call_duration: not set (none)
            # retry: not set (one attempt)
            # max_concurrent: not set (no limit)
            # probe: not set (the real call is the trial)
            # on_transition: not set (none)
            on_state_error: fail-open
            state: {backend: file}
            # per_key: not set (none: a plain breaker)
            fallback:
              - output: "down\\n"
                exit_code: 3
              - shell: exit 0

        """)
    }

    @Test func neverPrintsAVariablesValue() throws {
        let yaml = "version: 1\nbreakers:\n  a:\n    env: {AUTH: 'Bearer ${TOKEN}'}\n"
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml", environment: ["TOKEN": "s3cret"])
        let printed = configuration.effectiveYAML()
        #expect(!printed.contains("s3cret"))
        #expect(printed.contains("AUTH: 'Bearer ${TOKEN}'"))
    }

    @Test(arguments: [
        "", " lead", "trail ", "null", "~", "- dash", "a: b", "#hash", "x #y", "[x]", "{x}", "'q'", "\"dq\"",
        "tab\there", "line\nbreak", "bell\u{7}", "nel\u{85}x", "caf\u{E9} \u{1F600}", "*star", "&amp", "!bang",
        "%pct", "@at", "`tick", "|pipe", ">gt", "?q", "a,b", "end:", "010", "1:30", "true", "yes", "\\back",
        // Found by the fuzzer: a quote or a '$' followed by a combining mark
        // is one Character with it.
        "it'\u{64C}s", "cost $\u{301}5 ${X}",
    ])
    func printsAnyStringSoThatItReadsBackUnchanged(text: String) throws {
        let breaker = BreakerConfiguration(
            name: "a", location: SourceLocation(file: "b.yaml", line: 1, column: 1),
            description: text, call: .command(["/bin/echo", text]),
            environment: ["V": text], workingDirectory: text.isEmpty ? nil : text,
            fallbacks: [.fixed(output: text, exitCode: 0)])
        let printed = Configuration(files: ["b.yaml"], stateDirectory: nil, breakers: ["a": breaker]).effectiveYAML()
        let reread = try ConfigurationLoader.parse(yaml: printed, file: "b.yaml").definition(named: "a")
        #expect(reread.description == text, "\(printed)")
        #expect(reread.call == .command(["/bin/echo", text]))
        #expect(reread.environment == ["V": text])
        #expect(reread.fallbacks == [.fixed(output: text, exitCode: 0)])
    }

    @Test func theExamplesPrintAsConfigurationsThatLoadBackTheSame() throws {
        for path in ExampleConfigurations.paths {
            let configuration = try ConfigurationLoader.load(files: [path], environment: [:], isRoot: false)
            let reread = try ConfigurationLoader.parse(yaml: configuration.effectiveYAML(), file: path)
            #expect(reread.breakerNames == configuration.breakerNames)
            for name in configuration.breakerNames {
                var original = try configuration.definition(named: name)
                var copy = try reread.definition(named: name)
                original.location = copy.location
                #expect(copy == original, "\(path): \(name)")
                copy.location = original.location
            }
        }
    }
}

/// The YAML files in `examples/`.
enum ExampleConfigurations {
    static let paths: [String] = {
        var root = #filePath
        for _ in 0..<4 { root = String(root[..<root.lastIndex(of: "/")!]) }
        var found: [String] = []
        func walk(_ directory: String) {
            for name in BadConfigurationCorpus.entries(of: directory) {
                let path = directory + "/" + name
                if BadConfigurationCorpus.isDirectory(path) { walk(path) } else if name.hasSuffix(".yaml") { found.append(path) }
            }
        }
        walk(root + "/examples")
        return found.sorted()
    }()
}

@Suite struct ExampleConfigurationTests {
    @Test func everyExampleLoadsInProcess() throws {
        #expect(ExampleConfigurations.paths.contains { $0.hasSuffix("/examples/quickstart.yaml") })
        for path in ExampleConfigurations.paths {
            // The variables the examples read, as their comments tell to set them.
            let configuration = try ConfigurationLoader.load(files: [path], environment: ["INVENTORY_TOKEN": "t", "VENDOR_API": "https://vendor.example/api", "VENDOR_TOKEN": "t"], isRoot: false)
            #expect(!configuration.breakers.isEmpty, "\(path)")
            #expect(configuration.unsetVariableWarnings().isEmpty, "\(path)")
        }
    }
}
