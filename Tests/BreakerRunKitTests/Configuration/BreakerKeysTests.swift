@testable import BreakerRunKit
import CircuitBreaker
import Testing

/// The declarations of `BreakerKeys` drive the decoder (which keys it
/// accepts and suggests), the merge of `defaults`, `validate --print` and the
/// built-in defaults: each test would fail if one of those used a list of
/// its own.
@Suite struct BreakerKeysTests {
    /// A valid value of every declared key, as the keys of a breaker.
    static let examples: [String: String] = [
        "description": "description: Card payments",
        "fail_max": "fail_max: 7",
        "reset_timeout": "reset_timeout: 45s",
        "success_threshold": "success_threshold: 2",
        "half_open_max_calls": "half_open_max_calls: 3",
        "timeout": "timeout: 20s",
        "kill_after": "kill_after: 2s",
        "success_exit_codes": "success_exit_codes: [0, 3]",
        "ignore_exit_codes": "ignore_exit_codes: [4-6]",
        "open_exit_code": "open_exit_code: 69",
        "env": "env: {LANG: C}",
        "working_dir": "working_dir: /srv/app",
        "fallback": "fallback: {output: down}",
        "slow_call_duration": "slow_call_duration: 3s",
        "retry": "retry: {attempts: 2}",
        "max_concurrent": "max_concurrent: 2",
        "max_wait": "max_concurrent: 2\nmax_wait: 4s",
        "probe": "probe: {shell: 'exit 0'}",
        "on_transition": "on_transition: {command: [logger]}",
        "failure_rate": "failure_rate: {threshold: 50%, window: 20}",
        "backoff": "backoff: {max: 10m}",
        "on_state_error": "on_state_error: fail-closed",
        "state": "state: {backend: postgresql, url: 'postgresql://breaker@db.internal/ops'}",
        "per_key": "per_key: {max_keys: 50, open_when: {keys_open: 50%}}",
    ]

    static let names = BreakerKeys.all.map(\.name)

    /// The printed lines of breaker `name` in `text`, without the first.
    static func lines(of name: String, in text: String) -> [String] {
        let all = text.split(separator: "\n").map(String.init)
        guard let start = all.firstIndex(where: { $0.hasPrefix("  \(name):") }) else { return [] }
        return Array(all[(start + 1)...].prefix { $0.hasPrefix("    ") })
    }

    @Test func everyDeclaredKeyHasAnExampleHere() {
        #expect(Set(Self.names) == Set(Self.examples.keys))
        #expect(Self.names.count == Set(Self.names).count, "a key is declared twice")
    }

    @Test(arguments: names)
    func aDeclaredKeyIsAcceptedPrintedAndMergedFromDefaults(_ name: String) throws {
        let body = try #require(Self.examples[name])
        let indented = { (indent: String) in body.split(separator: "\n").map { indent + $0 }.joined(separator: "\n") }
        let yaml = "version: 1\nbreakers:\n  own:\n\(indented("    "))\n"
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/b.yaml")
        let printed = configuration.effectiveYAML()
        let own = Self.lines(of: "own", in: printed)
        #expect(own.contains { $0.hasPrefix("    \(name):") }, "validate --print does not write \(name) as set: \(own)")
        // The same key in `defaults` gives an empty breaker the same value.
        let fromDefaults = "version: 1\ndefaults:\n\(indented("  "))\nbreakers:\n  own: {}\n"
        let merged = try ConfigurationLoader.parse(yaml: fromDefaults, file: "/etc/b.yaml")
        #expect(Self.lines(of: "own", in: merged.effectiveYAML()) == own)
        let empty = try ConfigurationLoader.parse(yaml: "version: 1\nbreakers:\n  own: {}\n", file: "/etc/b.yaml")
        #expect(Self.lines(of: "own", in: empty.effectiveYAML()) != own, "\(name)'s example is its default")
    }

    @Test(arguments: names)
    func aMisspelledKeyIsRefusedWithTheDeclaredOneSuggested(_ name: String) throws {
        let error = try #require(loadError("\(name)x: 1"))
        #expect(error.contains("unknown key '\(name)x' in breaker 'x'; did you mean '\(name)'?"), "\(error)")
    }

    @Test func aKeyThatIsNotDeclaredIsRefused() throws {
        let error = try #require(loadError("metrics_file: /tmp/m.prom"))
        #expect(error.contains("unknown key 'metrics_file' in breaker 'x'"), "\(error)")
        #expect(!Self.names.contains("metrics_file"))
    }

    /// The order of the keys decides between two equally near suggestions:
    /// it stays the order of the list the decoder had before the declarations.
    @Test func suggestionsListTheKeysInTheirHistoricalOrder() {
        #expect(ConfigurationDecoder(file: "", registry: .builtIn).breakerKeys == [
            "description", "command", "shell", "fail_max", "reset_timeout", "success_threshold",
            "half_open_max_calls", "timeout", "kill_after", "success_exit_codes", "ignore_exit_codes",
            "open_exit_code", "env", "working_dir", "fallback",
            "slow_call_duration", "retry", "max_concurrent", "max_wait", "probe", "on_transition",
            "failure_rate", "backoff", "http", "tcp", "on_state_error", "state", "per_key",
        ])
        // A word as near to kill_after as to failure_rate gets the earlier.
        #expect(Suggestion.nearest(to: "aillre_aater", in: ConfigurationDecoder(file: "", registry: .builtIn).breakerKeys) == "kill_after")
    }

    @Test func anEmptyBreakerPrintsEveryKeyAtItsDeclaredDefault() throws {
        let configuration = try ConfigurationLoader.parse(yaml: "version: 1\nbreakers:\n  own: {}\n", file: "/etc/b.yaml")
        let printed = Self.lines(of: "own", in: configuration.effectiveYAML())
        let builtIn = BreakerConfiguration(name: "own", location: SourceLocation(file: "/etc/b.yaml", line: 3, column: 3))
        var expected: [String] = []
        for key in BreakerKeys.printed {
            if key.group > .about && !expected.contains(where: { $0.contains("command:") }) {
                expected.append("    # command: not set (the command comes after -- on the command line)")
            }
            switch key.print(builtIn) {
            case let .value(text): expected.append("    \(key.name): \(text)")
            case let .absent(meaning): expected.append("    # \(key.name): not set (\(meaning))")
            case .lines, .hidden: break
            }
        }
        #expect(printed == expected)
    }

    @Test func theBuiltInBreakerHasTheDeclaredDefaults() {
        let builtIn = BreakerConfiguration(name: "b", location: SourceLocation(file: "f", line: 1, column: 1))
        #expect(builtIn.killAfter == .seconds(5) && builtIn.killAfter == BreakerKeys.killAfter.defaultValue)
        #expect(builtIn.successExitCodes == BreakerKeys.successExitCodes.defaultValue)
        #expect(builtIn.ignoreExitCodes == BreakerKeys.ignoreExitCodes.defaultValue)
        #expect(builtIn.openExitCode == BreakerKeys.openExitCode.defaultValue)
        #expect(builtIn.onStateError == BreakerKeys.onStateError.defaultValue)
        #expect(builtIn.state == BreakerKeys.state.defaultValue)
        #expect(builtIn.policy == BreakerKeys.defaultPolicy)
        // The pure core's own defaults are the same as the configuration's.
        #expect(Policy() == BreakerKeys.defaultPolicy)
        #expect(TransitionHook(call: CallSpecification(CommandCall(arguments: ["true"]))).timeout == BreakerKeys.hookTimeout)
        #expect(ProcessSpecification(arguments: ["true"], environment: [:]).killAfter == BreakerKeys.killAfter.defaultValue)
    }

    @Test func theTopLevelKeysAreTheDeclaredOnesAndTheMainFileKeepsItsOwn() {
        #expect(ConfigurationDecoder.topLevelKeys == ["version", "state_dir", "defaults", "breakers", "metrics_file", "log", "state"])
        #expect(TopLevelKeys.all.filter(\.isMainFileOnly).map(\.name) == ["state_dir", "metrics_file", "log", "state"])
    }

    @Test(arguments: TopLevelKeys.all.map(\.name))
    func aMisspelledTopLevelKeyIsRefusedWithTheDeclaredOneSuggested(_ name: String) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: "version: 1\n\(name)x: 1\nbreakers: {}\n", file: "b.yaml")
        }
        #expect(String(describing: error).contains("unknown top-level key '\(name)x'; did you mean '\(name)'?"), "\(error)")
    }

    @Test func everyDeclarationHasOneLineOfDocumentation() {
        for key in TopLevelKeys.all {
            #expect(!key.doc.isEmpty && !key.doc.contains("\n") && key.doc.hasSuffix("."), "\(key.name)")
        }
        for key in BreakerKeys.all {
            #expect(!key.doc.isEmpty && !key.doc.contains("\n") && key.doc.hasSuffix("."), "\(key.name)")
        }
    }
}

/// The lexing of numbers, apart from messages and positions.
@Suite struct ScalarLexerTests {
    @Test func readsWholeNumbersAndNamesWhatIsWrong() throws {
        #expect(try ScalarLexer.integer("42").get() == 42)
        #expect(try ScalarLexer.integer("-3").get() == -3)
        guard case .failure(.leadingZero("7")) = ScalarLexer.integer("007") else { Issue.record("007"); return }
        guard case .failure(.sexagesimal(90)) = ScalarLexer.integer("1:30") else { Issue.record("1:30"); return }
        guard case .failure(.notANumber) = ScalarLexer.integer("x1") else { Issue.record("x1"); return }
        guard case .failure(.tooLarge) = ScalarLexer.integer("99999999999999999999") else { Issue.record("large"); return }
    }

    @Test func readsDurationsInMilliseconds() throws {
        #expect(try ScalarLexer.duration("1m30s").get() == 90_000)
        #expect(try ScalarLexer.duration("500ms").get() == 500)
        #expect(try ScalarLexer.duration("10").get() == 10_000)
        guard case .failure(.notANumber) = ScalarLexer.duration("30s1m") else { Issue.record("order"); return }
        #expect(ScalarLexer.format(seconds: 5400) == "1h30m")
    }

    @Test func readsDecimalsAndPercentagesWithTheirDecimals() {
        #expect(ScalarLexer.decimal("1.5").map { $0.value == 1.5 && $0.decimals == 1 } == true)
        #expect(ScalarLexer.decimal(".5") == nil)
        #expect(ScalarLexer.percentage("12.25%").map { $0.value == 12.25 && $0.decimals == 2 } == true)
        #expect(ScalarLexer.percentage("12") == nil)
        #expect(ScalarLexer.percentage("%") == nil)
    }

    @Test func suggestsTheNearestNameWithinALimit() {
        #expect(Suggestion.editDistance("kitten", "sitting") == 3)
        #expect(Suggestion.nearest(to: "fail_mux", in: ["reset_timeout", "fail_max"]) == "fail_max")
        #expect(Suggestion.nearest(to: "zzz", in: ["fail_max"]) == nil)
    }
}
