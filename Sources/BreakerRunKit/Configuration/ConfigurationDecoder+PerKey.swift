/// The value of `per_key`, the key that makes a breaker keyed (issue 19).
extension ConfigurationDecoder {
    static let perKeyKeys = ["max_keys", "expire_after", "open_when", "bulkhead"]
    static let openWhenKeys = ["keys_open", "minimum_keys"]

    /// Reads `per_key: {max_keys: 10000, expire_after: 7d, open_when: {keys_open: 50%, minimum_keys: 4}, bulkhead: key}`;
    /// every key has a default, so `per_key: {}` is a keyed breaker with
    /// them all.
    mutating func perKey(_ node: YAMLNode) -> PerKey? {
        let example = "{max_keys: 10000, expire_after: 7d}"
        guard let pairs = mapping(node, key: "per_key", example: example) else { return nil }
        var perKey = PerKey()
        var isValid = true
        for pair in pairs {
            let key = "per_key.\(pair.key)"
            switch pair.key {
            case "max_keys":
                if let maxKeys = integer(pair.value, key: key, in: 1...PerKey.largestMaxKeys, example: "10000") { perKey.maxKeys = maxKeys } else { isValid = false }
            case "expire_after":
                if let expireAfter = duration(pair.value, key: key, allowsZero: false) { perKey.expireAfter = expireAfter } else { isValid = false }
            case "open_when":
                if let rollUp = rollUp(pair.value) { perKey.openWhen = rollUp } else { isValid = false }
            case "bulkhead":
                if let scope = bulkheadScope(pair.value, key: key) { perKey.bulkhead = scope } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.perKeyKeys, future: [], context: "'per_key'")
                isValid = false
            }
        }
        if isValid, let rollUp = perKey.openWhen, rollUp.minimumKeys > perKey.maxKeys {
            report(at: node.location, "'per_key.open_when.minimum_keys' (\(rollUp.minimumKeys)) is more than 'per_key.max_keys' (\(perKey.maxKeys)), so the roll-up could never open; lower minimum_keys or raise max_keys")
            isValid = false
        }
        return isValid ? perKey : nil
    }

    /// Reads `open_when: {keys_open: 50%, minimum_keys: 4}`; `keys_open`
    /// is required, `minimum_keys` defaults to 1.
    private mutating func rollUp(_ node: YAMLNode) -> PerKey.RollUp? {
        let example = "{keys_open: 50%, minimum_keys: 4}"
        guard let pairs = mapping(node, key: "per_key.open_when", example: example) else { return nil }
        var keysOpen: Double?
        var minimumKeys = 1
        var isValid = true
        for pair in pairs {
            let key = "per_key.open_when.\(pair.key)"
            switch pair.key {
            case "keys_open":
                keysOpen = positivePercentage(pair.value, key: key, example: "50%")
                if keysOpen == nil { isValid = false }
            case "minimum_keys":
                if let minimum = integer(pair.value, key: key, in: 1...Int(Int32.max), example: "4") { minimumKeys = minimum } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.openWhenKeys, future: [], context: "'per_key.open_when'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let keysOpen else {
            report(at: node.location, "'per_key.open_when' needs 'keys_open', the share of keys open that opens the whole breaker, such as \(example)")
            return nil
        }
        return PerKey.RollUp(keysOpen: keysOpen, minimumKeys: minimumKeys)
    }

    /// Reads `key` or `breaker`.
    private mutating func bulkheadScope(_ node: YAMLNode, key: String) -> PerKey.BulkheadScope? {
        guard let text = string(node, key: key, example: "key") else { return nil }
        guard let scope = PerKey.BulkheadScope(rawValue: text) else {
            report(at: node.location, "'\(key)' must be key (max_concurrent for each key) or breaker (for all keys together), not '\(text)'")
            return nil
        }
        return scope
    }

    /// Reports a keyed breaker with a `queue` fallback, at its `per_key`
    /// (its own, or else that of `defaults`): a queued item is replayed
    /// later by `drain`, which has no key to replay it under.
    mutating func checkKeyedBreakerHasNoQueue(_ own: BreakerFields, _ defaults: BreakerFields, breaker name: String) {
        guard let location = own.perKeyLocation ?? defaults.perKeyLocation,
              let fallbacks = own.value(of: BreakerKeys.fallback, over: defaults),
              fallbacks.contains(where: { type(of: $0.kind).key == QueueFallback.key }) else { return }
        report(at: location,
               "'per_key': a keyed breaker cannot have a queue fallback (its items would carry no key; breaker '\(name)'); remove the queue fallback or per_key")
    }
}
