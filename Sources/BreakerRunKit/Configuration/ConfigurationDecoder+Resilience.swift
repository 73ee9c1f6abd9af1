import CircuitBreaker

/// The values of the resilience keys: `retry` and its percentages and
/// multipliers.
extension ConfigurationDecoder {
    static let retryKeys = ["attempts", "delay", "multiplier", "max_delay", "jitter"]

    /// Reads `retry: {attempts: 3, delay: 1s, multiplier: 2, max_delay: 30s, jitter: 10%}`;
    /// only `attempts` is required.
    mutating func retry(_ node: YAMLNode) -> RetryPolicy? {
        guard let pairs = mapping(node, key: "retry", example: "{attempts: 3, delay: 1s}") else { return nil }
        var policy = RetryPolicy(attempts: 1)
        var hasAttempts = false
        var isValid = true
        for pair in pairs {
            let key = "retry.\(pair.key)"
            switch pair.key {
            case "attempts":
                if let attempts = integer(pair.value, key: key, in: 1...100, example: "3") {
                    policy.attempts = attempts
                    hasAttempts = true
                } else { isValid = false }
            case "delay":
                if let delay = duration(pair.value, key: key, allowsZero: true) { policy.delay = delay } else { isValid = false }
            case "max_delay":
                if let delay = duration(pair.value, key: key, allowsZero: true) { policy.maxDelay = delay } else { isValid = false }
            case "multiplier":
                if let multiplier = decimal(pair.value, key: key, in: 1...10_000, example: "2") { policy.multiplier = multiplier } else { isValid = false }
            case "jitter":
                if let jitter = percentage(pair.value, key: key, example: "10%") { policy.jitter = jitter } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.retryKeys, future: [], context: "'retry'")
                isValid = false
            }
        }
        if isValid && !hasAttempts {
            report(at: node.location, "'retry' needs 'attempts', the number of attempts in all, such as {attempts: 3}")
            return nil
        }
        return isValid ? policy : nil
    }

    /// Reads a plain decimal number such as `2` or `1.5`, within `range`
    /// and with at most 6 decimals (which `validate --print` writes back
    /// exactly).
    mutating func decimal(_ node: YAMLNode, key: String, in range: ClosedRange<Double>, example: String) -> Double? {
        let expected = "a number such as \(example)"
        guard case let .scalar(text, isPlain) = node.content, isPlain, !node.isNull, let (value, decimals) = ScalarLexer.decimal(text) else {
            report(at: node.location, "'\(key)' must be \(expected), not \(describe(node))")
            return nil
        }
        guard range.contains(value), decimals <= 6 else {
            report(at: node.location, "'\(key)' must be from \(Int(range.lowerBound)) to \(Int(range.upperBound)), with at most 6 decimals, not \(text)")
            return nil
        }
        return value
    }

    /// Reads a percentage such as `10%` or `12.5%`, as a fraction from 0 to 1.
    mutating func percentage(_ node: YAMLNode, key: String, example: String) -> Double? {
        guard case let .scalar(text, _) = node.content, !node.isNull, text.hasSuffix("%") else {
            report(at: node.location, "'\(key)' must be a percentage such as \(example), not \(describe(node))")
            return nil
        }
        // At most 4 decimals: what `validate --print` writes back exactly.
        guard let (value, decimals) = ScalarLexer.percentage(text), value <= 100, decimals <= 4 else {
            report(at: node.location, "'\(key)' must be a percentage from 0% to 100%, with at most 4 decimals, such as \(example), not '\(text)'")
            return nil
        }
        return value / 100
    }

    /// Reads a percentage more than 0%, such as `50%`, as a fraction
    /// (`failure_rate.threshold`, `per_key.open_when.keys_open`).
    mutating func positivePercentage(_ node: YAMLNode, key: String, example: String) -> Double? {
        guard let share = percentage(node, key: key, example: example) else { return nil }
        guard share > 0 else {
            report(at: node.location, "'\(key)' must be more than 0%, such as \(example)")
            return nil
        }
        return share
    }

    /// Reads a call with an optional time limit, as `probe` and
    /// `on_transition` take: one key of a registered call kind (a process
    /// kind only, unless `allowsNetwork`), and `timeout`.
    mutating func timedCall(_ node: YAMLNode, key: String, allowsNetwork: Bool = false) -> (call: CallSpecification, timeout: Duration?)? {
        let example = "{shell: 'curl -fs http://127.0.0.1/health'}"
        let kinds = registry.callKinds.filter { allowsNetwork || $0.isProcess }
        let kindList = KindRegistry.list(kinds.map { $0.key })
        guard let pairs = mapping(node, key: key, example: example) else { return nil }
        var call: CallSpecification?
        var timeout: Duration?
        var isValid = true
        for pair in pairs {
            if let kind = kinds.first(where: { $0.key == pair.key }) {
                if call != nil {
                    report(at: pair.keyLocation, "'\(key)' has one of \(kindList), not two; keep one")
                    isValid = false
                    continue
                }
                call = kind.decode(pair.value, key: "\(key).\(pair.key)", decoder: &self).map { CallSpecification($0) }
                if call == nil { isValid = false }
                continue
            }
            switch pair.key {
            case "timeout":
                timeout = duration(pair.value, key: "\(key).timeout", allowsZero: false)
                if timeout == nil { isValid = false }
            default:
                unknownOrFuture(pair, known: kinds.map { $0.key } + ["timeout"], future: [], context: "'\(key)'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let call else {
            report(at: node.location, "'\(key)' needs \(kindList), such as \(example)")
            return nil
        }
        return (call, timeout)
    }

    static let failureRateKeys = ["threshold", "window", "minimum_calls"]
    static let backoffKeys = ["multiplier", "max", "jitter"]

    /// Reads `failure_rate: {threshold: 50%, window: 20 | 10m, minimum_calls: 10}`:
    /// a whole number of calls or a duration for the window (resilience4j's
    /// count-based and time-based sliding windows); `minimum_calls` defaults
    /// to 10.
    mutating func failureRate(_ node: YAMLNode) -> FailureRate? {
        let example = "{threshold: 50%, window: 20, minimum_calls: 10}"
        guard let pairs = mapping(node, key: "failure_rate", example: example) else { return nil }
        var threshold: Double?
        var window: FailureRate.Window?
        var minimumCalls = BreakerKeys.failureRateMinimumCalls
        var isValid = true
        for pair in pairs {
            let key = "failure_rate.\(pair.key)"
            switch pair.key {
            case "threshold":
                threshold = positivePercentage(pair.value, key: key, example: "50%")
                if threshold == nil { isValid = false }
            case "window":
                if case let .scalar(text, true) = pair.value.content, !text.isEmpty, text.allSatisfy({ ("0"..."9").contains($0) }) {
                    if let calls = integer(pair.value, key: key, in: 1...FailureRate.maximumCalls, example: "20") {
                        window = .calls(calls)
                    }
                } else if let duration = duration(pair.value, key: key, allowsZero: false) {
                    window = .duration(duration)
                }
                if window == nil { isValid = false }
            case "minimum_calls":
                if let calls = integer(pair.value, key: key, in: 1...Int(Int32.max), example: "10") { minimumCalls = calls } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.failureRateKeys, future: [], context: "'failure_rate'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let threshold, let window else {
            report(at: node.location, "'failure_rate' needs 'threshold' and 'window', such as \(example)")
            return nil
        }
        return FailureRate(threshold: threshold, window: window, minimumCalls: minimumCalls)
    }

    /// Reads `backoff: {multiplier: 2, max: 30m, jitter: 10%}`; every key has
    /// a default (2, 30 minutes, 0%).
    mutating func backoff(_ node: YAMLNode) -> Backoff? {
        guard let pairs = mapping(node, key: "backoff", example: "{multiplier: 2, max: 30m, jitter: 10%}") else { return nil }
        var backoff = Backoff(max: BreakerKeys.backoffMax)
        var isValid = true
        for pair in pairs {
            let key = "backoff.\(pair.key)"
            switch pair.key {
            case "multiplier":
                if let multiplier = decimal(pair.value, key: key, in: 1...10_000, example: "2") { backoff.multiplier = multiplier } else { isValid = false }
            case "max":
                if let max = duration(pair.value, key: key, allowsZero: false) { backoff.max = max } else { isValid = false }
            case "jitter":
                if let jitter = percentage(pair.value, key: key, example: "10%") { backoff.jitter = jitter } else { isValid = false }
            default:
                unknownOrFuture(pair, known: Self.backoffKeys, future: [], context: "'backoff'")
                isValid = false
            }
        }
        return isValid ? backoff : nil
    }
}
