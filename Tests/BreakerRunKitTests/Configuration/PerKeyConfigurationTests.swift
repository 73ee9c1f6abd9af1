import BreakerRunKit
import Testing

/// `per_key`, the key that makes a breaker keyed (issue 19): typed values
/// in, or precise errors out; merged from `defaults`; printed so that it
/// loads back the same.
@Suite("per_key")
struct PerKeyConfigurationTests {
    @Test func anEmptyMappingIsAKeyedBreakerWithEveryDefault() throws {
        let expected = PerKey(maxKeys: 10_000, expireAfter: .seconds(7 * 86_400), openWhen: nil, bulkhead: .key)
        #expect(try oneBreaker("per_key: {}").perKey == expected)
        #expect(try oneBreaker("per_key:").perKey == expected, "an empty value is an empty mapping, as for the other mappings")
        #expect(try oneBreaker("fail_max: 2").perKey == nil, "a breaker without per_key is plain")
    }

    @Test func everyFieldIsRead() throws {
        let x = try oneBreaker("""
            per_key:
              max_keys: 250
              expire_after: 36h
              open_when:
                keys_open: 12.5%
                minimum_keys: 3
              bulkhead: breaker
            """)
        #expect(x.perKey == PerKey(maxKeys: 250, expireAfter: .seconds(36 * 3600),
                                   openWhen: PerKey.RollUp(keysOpen: 0.125, minimumKeys: 3), bulkhead: .breaker))
    }

    @Test func expireAfterTakesDaysOrHoursAndARollUpDefaultsToOneKey() throws {
        #expect(try oneBreaker("per_key: {expire_after: 7d}").perKey?.expireAfter == .seconds(7 * 86_400))
        #expect(try oneBreaker("per_key: {expire_after: 168h}").perKey?.expireAfter == .seconds(7 * 86_400))
        #expect(try oneBreaker("per_key: {expire_after: 2d}").perKey?.expireAfter == .seconds(2 * 86_400))
        #expect(try oneBreaker("per_key: {open_when: {keys_open: 100%}}").perKey?.openWhen == PerKey.RollUp(keysOpen: 1, minimumKeys: 1))
        #expect(try oneBreaker("per_key: {max_keys: 100000}").perKey?.maxKeys == PerKey.largestMaxKeys)
    }

    @Test(arguments: [
        ("per_key: {open_when: {keys_open: 0%}}", "b.yaml:4:38: 'per_key.open_when.keys_open' must be more than 0%, such as 50%"),
        ("per_key: {open_when: {keys_open: 101%}}",
         "b.yaml:4:38: 'per_key.open_when.keys_open' must be a percentage from 0% to 100%, with at most 4 decimals, such as 50%, not '101%'"),
        ("per_key: {open_when: {keys_open: 50}}", "b.yaml:4:38: 'per_key.open_when.keys_open' must be a percentage such as 50%, not '50'"),
        ("per_key: {open_when: {keys_open: 50%, minimum_keys: 0}}", "b.yaml:4:57: 'per_key.open_when.minimum_keys' must be between 1 and"),
        ("per_key: {open_when: {minimum_keys: 2}}",
         "b.yaml:4:26: 'per_key.open_when' needs 'keys_open', the share of keys open that opens the whole breaker, such as {keys_open: 50%, minimum_keys: 4}"),
        ("per_key: {open_when: {key_open: 50%}}", "b.yaml:4:27: unknown key 'key_open' in 'per_key.open_when'; did you mean 'keys_open'?"),
        ("per_key: {max_keys: 0}", "b.yaml:4:25: 'per_key.max_keys' must be between 1 and 100000, not 0"),
        ("per_key: {max_keys: 100001}", "b.yaml:4:25: 'per_key.max_keys' must be between 1 and 100000, not 100001"),
        ("per_key: {max_key: 5}", "b.yaml:4:15: unknown key 'max_key' in 'per_key'; did you mean 'max_keys'?"),
        ("per_key: {expire_after: 0s}", "b.yaml:4:29: 'per_key.expire_after' must be longer than 0, such as 30s"),
        ("per_key: {expire_after: 1w}", "b.yaml:4:29: 'per_key.expire_after' must be a duration such as 30s, 500ms or 1m30s, not '1w'"),
        ("per_key: {bulkhead: both}",
         "b.yaml:4:25: 'per_key.bulkhead' must be key (max_concurrent for each key) or breaker (for all keys together), not 'both'"),
        ("per_key: 5", "b.yaml:4:14: 'per_key' must be a mapping such as {max_keys: 10000, expire_after: 7d}, not '5'"),
        ("per_key: {max_keys: 3, open_when: {keys_open: 50%, minimum_keys: 4}}",
         "b.yaml:4:14: 'per_key.open_when.minimum_keys' (4) is more than 'per_key.max_keys' (3), so the roll-up could never open"),
        // Block style: the line and column of a nested value.
        ("per_key:\n  open_when:\n    keys_open: 101%", "b.yaml:6:20: 'per_key.open_when.keys_open' must be a percentage from 0% to 100%"),
    ])
    func badValuesAreReportedWithTheirPlace(body: String, expected: String) {
        let message = loadError(body)
        #expect(message?.contains(expected) == true, "\(message ?? "no error")")
    }

    @Test func everyBadSubKeyIsReportedInOnePass() throws {
        let message = try #require(loadError("per_key: {max_keys: 0, bulkhead: both}"))
        #expect(message.contains("b.yaml:4:25: 'per_key.max_keys'"), "\(message)")
        #expect(message.contains("b.yaml:4:38: 'per_key.bulkhead'"), "\(message)")
    }

    @Test func aBreakerTakesPerKeyFromDefaultsUnlessItSetsItsOwnWhole() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            version: 1
            defaults:
              per_key: {max_keys: 100, bulkhead: breaker, open_when: {keys_open: 50%, minimum_keys: 4}}
            breakers:
              inherits: {}
              own: {per_key: {expire_after: 1h}}
            """, file: "b.yaml")
        #expect(configuration.breakers["inherits"]?.perKey
            == PerKey(maxKeys: 100, openWhen: PerKey.RollUp(keysOpen: 0.5, minimumKeys: 4), bulkhead: .breaker))
        // A breaker's own value replaces that of defaults, as for every
        // other key: its unset sub-keys take the built-in defaults.
        #expect(configuration.breakers["own"]?.perKey == PerKey(expireAfter: .seconds(3600)))
    }

    @Test(arguments: [
        ("fallback: {queue: {}}\nper_key: {}", "b.yaml:5:5"),
        ("per_key: {max_keys: 5}\nfallback: [{output: busy}, {queue: {max_items: 2}}]", "b.yaml:4:5"),
    ])
    func aKeyedBreakerWithAQueueFallbackIsRefusedAtItsPerKey(body: String, place: String) throws {
        let message = try #require(loadError(body))
        #expect(message.contains("\(place): 'per_key': a keyed breaker cannot have a queue fallback (its items would carry no key; breaker 'x'); "
            + "remove the queue fallback or per_key"), "\(message)")
    }

    @Test func theQueueConflictIsFoundAcrossDefaultsAndTheBreaker() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: """
                version: 1
                defaults:
                  per_key: {}
                breakers:
                  plain-default: {fallback: {output: down}}
                  queued: {fallback: {queue: {}}}
                """, file: "b.yaml")
        }
        let message = String(describing: error)
        #expect(message.contains("b.yaml:3:3: 'per_key': a keyed breaker cannot have a queue fallback (its items would carry no key; breaker 'queued')"),
                "\(message)")
        #expect(!message.contains("'plain-default'"), "\(message)")
    }

    @Test func aKeyedBreakerMayHaveOtherFallbacks() throws {
        let x = try oneBreaker("per_key: {}\nfallback: [{output: busy}, {cached: {max_age: 1h}}]")
        #expect(x.perKey == PerKey())
        #expect(x.fallbacks.count == 2)
    }

    @Test func validatePrintWritesTheEffectiveValueSoThatItLoadsBackTheSame() throws {
        let yaml = """
            version: 1
            breakers:
              full:
                per_key:
                  max_keys: 250
                  expire_after: 36h
                  open_when: {keys_open: 12.5%, minimum_keys: 3}
                  bulkhead: breaker
              empty: {per_key: {}}
              plain: {}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml")
        let printed = configuration.effectiveYAML()
        #expect(printed.contains(
            "    per_key: {max_keys: 250, expire_after: 1d12h, open_when: {keys_open: 12.5%, minimum_keys: 3}, bulkhead: breaker}\n"), "\(printed)")
        #expect(printed.contains("    per_key: {max_keys: 10000, expire_after: 7d, bulkhead: key}\n"), "\(printed)")
        #expect(printed.contains("    # per_key: not set (none: a plain breaker)\n"), "\(printed)")
        // The per_key line sits among the keys of its breaker, after state.
        #expect(printed.contains("    state: {backend: file}\n    per_key: {max_keys: 10000"), "\(printed)")
        let reloaded = try ConfigurationLoader.parse(yaml: printed, file: "b.yaml")
        for name in ["full", "empty", "plain"] {
            #expect(reloaded.breakers[name]?.perKey == configuration.breakers[name]?.perKey, "\(name)")
        }
        #expect(reloaded.breakers["full"]?.perKey?.openWhen == PerKey.RollUp(keysOpen: 0.125, minimumKeys: 3))
    }
}
