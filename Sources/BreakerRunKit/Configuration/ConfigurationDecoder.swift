import CircuitBreaker

/// Turns one file's `YAMLNode` tree into breakers, typing the scalars and
/// recording every problem it finds instead of stopping at the first.
struct ConfigurationDecoder {
    /// The breaker keys this version reads.
    static let breakerKeys = [
        "description", "command", "shell", "fail_max", "reset_timeout", "success_threshold",
        "half_open_max_calls", "timeout", "kill_after", "success_exit_codes", "ignore_exit_codes",
        "open_exit_code", "env", "working_dir", "fallback",
        "slow_call_duration", "retry", "max_concurrent", "max_wait", "probe", "on_transition",
        "failure_rate", "backoff", "http", "tcp", "on_state_error", "state",
    ]
    /// Breaker keys of the design that a later version implements.
    static let futureBreakerKeys: [String] = []
    /// Keys that name the call: they belong to one breaker, never to `defaults`.
    static let callKeys: Set<String> = ["command", "shell", "http", "tcp"]
    static let topLevelKeys = ["version", "state_dir", "defaults", "breakers", "metrics_file", "log", "state"]
    static let futureTopLevelKeys: [String] = []
    static let fallbackKeys = ["command", "shell", "output", "exit_code", "cached"]
    static let futureFallbackKeys: [String] = []

    /// The settings one mapping gives; nil where it says nothing.
    struct Fields {
        var description: String?
        var call: CallSpecification?
        var failMax: Int?
        var resetTimeout: Duration?
        var successThreshold: Int?
        var halfOpenMaxCalls: Int?
        var timeout: Duration?
        var killAfter: Duration?
        var successExitCodes: ExitCodeSet?
        var ignoreExitCodes: ExitCodeSet?
        /// Where `success_exit_codes` and `ignore_exit_codes` are written,
        /// by key, for the error that they overlap.
        var exitCodeLocations: [String: SourceLocation] = [:]
        var openExitCode: Int32?
        var environment: [String: InterpolatedString]?
        var workingDirectory: String?
        var fallbacks: [FallbackSpecification]?
        var slowCallDuration: Duration?
        var retry: RetryPolicy?
        var maxConcurrent: Int?
        var maxWait: (value: Duration?, location: SourceLocation)?
        var probe: Probe?
        var onTransition: TransitionHook?
        var failureRate: FailureRate?
        var backoff: Backoff?
        var onStateError: StateErrorPolicy?
        var state: StateBackendConfiguration?
    }

    /// What one file defines.
    struct FileContents {
        var stateDirectory: (path: String, location: SourceLocation)?
        var metricsFile: (path: String, location: SourceLocation)?
        var log: (destination: LogDestination, location: SourceLocation)?
        /// The file's top-level `state:`, for its breakers that set none.
        var state: StateBackendConfiguration?
        var breakers: [BreakerConfiguration] = []
        /// What `validate` warns about (`Configuration.warnings`).
        var warnings: [Diagnostic] = []
        /// How many of the decoder's diagnostics concern the file as a
        /// whole (its top-level keys, `defaults`, `version`): those come
        /// first, before any breaker's.
        var fileDiagnosticCount = 0
        /// The diagnostics of each breaker's own definition, by name.
        var breakerDiagnostics: [String: [Diagnostic]] = [:]
        /// Keys a drop-in may not set (`mainFileKeys`): an error whatever
        /// breaker is asked for, since they would apply to every breaker.
        var misplacedKeys: [Diagnostic] = []
    }

    let file: String
    /// Whether `file` is a drop-in of a `breakers.d` directory, which may
    /// not set the keys that belong to the main file (`mainFileKeys`).
    let isDropIn: Bool
    private(set) var diagnostics: [Diagnostic] = []
    /// What is allowed but probably not meant, for `validate`.
    private(set) var warnings: [Diagnostic] = []

    /// The top-level keys only the main file may set: in a drop-in they
    /// would move the state, the metrics or the log of every breaker.
    static let mainFileKeys: Set<String> = ["state_dir", "state", "metrics_file", "log"]

    init(file: String, isDropIn: Bool = false) {
        self.file = file
        self.isDropIn = isDropIn
    }

    mutating func decode(_ root: YAMLNode) -> FileContents {
        var contents = FileContents()
        guard case let .mapping(pairs) = root.content else {
            report(at: root.location, "the top level must be a mapping that starts with 'version: 1', not \(describe(root))")
            contents.fileDiagnosticCount = diagnostics.count
            return contents
        }
        var defaults = Fields()
        var breakerPairs: [YAMLPair] = []
        var hasVersion = false
        for pair in pairs {
            if isDropIn && Self.mainFileKeys.contains(pair.key) {
                report(at: pair.keyLocation,
                       "'\(pair.key)' belongs to the main file breakers.yaml, not to a drop-in in breakers.d (it would apply to every breaker); move it there or remove it")
                contents.misplacedKeys.append(diagnostics[diagnostics.count - 1])
                continue
            }
            switch pair.key {
            case "version":
                hasVersion = true
                if let version = integer(pair.value, key: "version", in: 0...Int.max, example: "1"), version != 1 {
                    report(at: pair.value.location, "unsupported configuration version \(version); this breaker-run reads version 1")
                }
            case "state_dir":
                if let path = string(pair.value, key: "state_dir", example: "/var/lib/breaker-run") {
                    if path.isEmpty {
                        report(at: pair.value.location, "'state_dir' is empty; name a directory such as /var/lib/breaker-run")
                    } else {
                        contents.stateDirectory = (absolutePath(path), pair.value.location)
                    }
                }
            case "metrics_file":
                if let path = string(pair.value, key: "metrics_file", example: "/var/lib/prometheus/node-exporter/breaker-run.prom") {
                    if path.isEmpty {
                        report(at: pair.value.location, "'metrics_file' is empty; name a file such as /var/lib/prometheus/node-exporter/breaker-run.prom")
                    } else {
                        contents.metricsFile = (absolutePath(path), pair.value.location)
                    }
                }
            case "log":
                if let text = string(pair.value, key: "log", example: "syslog") {
                    if let destination = LogDestination(rawValue: text) {
                        contents.log = (destination, pair.value.location)
                    } else {
                        report(at: pair.value.location, "'log' must be stderr or syslog, not '\(text)'")
                    }
                }
            case "state":
                contents.state = stateBackend(pair.value, key: "state")
            case "defaults":
                if let defaultPairs = mapping(pair.value, key: "defaults", example: "{fail_max: 3}") {
                    defaults = fields(defaultPairs, context: "'defaults'", isDefaults: true)
                    checkExitCodesApart(defaults, Fields(), in: "'defaults'")
                }
            case "breakers":
                if let found = mapping(pair.value, key: "breakers", example: "{db: {command: [pg_isready]}}") {
                    breakerPairs = found
                }
            default:
                unknownOrFuture(pair, known: Self.topLevelKeys, future: Self.futureTopLevelKeys, context: nil)
            }
        }
        if !hasVersion {
            report(at: root.location, "missing 'version: 1'; add it as the first line")
        }
        contents.fileDiagnosticCount = diagnostics.count
        for pair in breakerPairs {
            let before = diagnostics.count
            decodeBreaker(pair, defaults: defaults, into: &contents)
            if diagnostics.count > before {
                contents.breakerDiagnostics[pair.key, default: []] += diagnostics[before...]
            }
        }
        contents.warnings = warnings
        return contents
    }

    /// Decodes one entry of `breakers` into `contents.breakers`.
    private mutating func decodeBreaker(_ pair: YAMLPair, defaults: Fields, into contents: inout FileContents) {
        guard isValidBreakerName(pair.key) else {
            report(at: pair.keyLocation,
                   "invalid breaker name '\(pair.key)'; use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
            return
        }
        guard let breakerPairs = mapping(pair.value, key: "breaker '\(pair.key)'", example: "{command: [/usr/bin/true]}", quoteKey: false) else {
            return
        }
        let own = fields(breakerPairs, context: "breaker '\(pair.key)'", isDefaults: false)
        if let wait = own.maxWait ?? defaults.maxWait, (own.maxConcurrent ?? defaults.maxConcurrent) == nil {
            report(at: wait.location, "'max_wait' applies only with 'max_concurrent' (breaker '\(pair.key)'); add max_concurrent: 1, or remove max_wait")
        }
        if !own.exitCodeLocations.isEmpty {
            checkExitCodesApart(own, defaults, in: "breaker '\(pair.key)'")
        }
        var breaker = breaker(named: pair.key, at: pair.keyLocation, own: own, defaults: defaults)
        breaker.state = own.state ?? defaults.state ?? contents.state ?? .file
        contents.breakers.append(breaker)
    }

    private func breaker(named name: String, at location: SourceLocation, own: Fields, defaults: Fields) -> BreakerConfiguration {
        let builtIn = BreakerConfiguration(name: name, location: location)
        var literalEnvironment: [String: String] = [:]
        var interpolatedEnvironment: [String: InterpolatedString] = [:]
        for (key, value) in own.environment ?? defaults.environment ?? [:] {
            if let text = value.literalValue { literalEnvironment[key] = text } else { interpolatedEnvironment[key] = value }
        }
        return BreakerConfiguration(
            name: name,
            location: location,
            description: own.description ?? defaults.description,
            call: own.call,
            policy: Policy(
                failMax: own.failMax ?? defaults.failMax ?? builtIn.policy.failMax,
                resetTimeout: own.resetTimeout ?? defaults.resetTimeout ?? builtIn.policy.resetTimeout,
                successThreshold: own.successThreshold ?? defaults.successThreshold ?? builtIn.policy.successThreshold,
                halfOpenMaxCalls: own.halfOpenMaxCalls ?? defaults.halfOpenMaxCalls ?? builtIn.policy.halfOpenMaxCalls,
                failureRate: own.failureRate ?? defaults.failureRate,
                backoff: own.backoff ?? defaults.backoff
            ),
            timeout: own.timeout ?? defaults.timeout,
            killAfter: own.killAfter ?? defaults.killAfter ?? builtIn.killAfter,
            successExitCodes: own.successExitCodes ?? defaults.successExitCodes ?? builtIn.successExitCodes,
            ignoreExitCodes: own.ignoreExitCodes ?? defaults.ignoreExitCodes ?? builtIn.ignoreExitCodes,
            openExitCode: own.openExitCode ?? defaults.openExitCode ?? builtIn.openExitCode,
            environment: literalEnvironment,
            interpolatedEnvironment: interpolatedEnvironment,
            workingDirectory: own.workingDirectory ?? defaults.workingDirectory,
            fallbacks: own.fallbacks ?? defaults.fallbacks ?? builtIn.fallbacks,
            slowCallDuration: own.slowCallDuration ?? defaults.slowCallDuration,
            retry: own.retry ?? defaults.retry,
            bulkhead: (own.maxConcurrent ?? defaults.maxConcurrent).map {
                Bulkhead(maxConcurrent: $0, maxWait: own.maxWait?.value ?? defaults.maxWait?.value ?? .zero)
            },
            probe: own.probe ?? defaults.probe,
            onTransition: own.onTransition ?? defaults.onTransition,
            onStateError: own.onStateError ?? defaults.onStateError ?? builtIn.onStateError
        )
    }

    /// Reports a status that is both in `success_exit_codes` and in
    /// `ignore_exit_codes` as the breaker (or `defaults`) has them, at the
    /// later of the two keys (the one written in `own` when the other comes
    /// from `defaults` or is built in): one status cannot be both.
    private mutating func checkExitCodesApart(_ own: Fields, _ defaults: Fields, in context: String) {
        let success = own.successExitCodes ?? defaults.successExitCodes ?? ExitCodeSet([0...0])
        guard let ignore = own.ignoreExitCodes ?? defaults.ignoreExitCodes else { return }
        let shared = success.ranges.lazy.flatMap { a in
            ignore.ranges.lazy.compactMap { b in a.overlaps(b) ? max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound) : nil }
        }
        guard let overlap = shared.first else { return }
        guard let location = own.exitCodeLocations.values.max() else { return }
        let statuses = overlap.lowerBound == overlap.upperBound ? "status \(overlap.lowerBound) is" : "statuses \(overlap.lowerBound)-\(overlap.upperBound) are"
        report(at: location, "exit \(statuses) in both 'success_exit_codes' \(success) and 'ignore_exit_codes' \(ignore) of \(context); a status is one or the other: remove it from one of them")
    }

    private mutating func fields(_ pairs: [YAMLPair], context: String, isDefaults: Bool) -> Fields {
        var fields = Fields()
        var callKey: YAMLPair?
        for pair in pairs {
            let key = pair.key
            let value = pair.value
            if isDefaults && Self.callKeys.contains(key) {
                report(at: pair.keyLocation, "'\(key)' cannot be in 'defaults': a call belongs to one breaker; move it under the breaker")
                continue
            }
            if Self.callKeys.contains(key) {
                if let first = callKey {
                    report(at: pair.keyLocation,
                           "\(context) has both '\(first.key)' (line \(first.keyLocation.line)) and '\(key)'; keep one")
                    continue
                }
                callKey = pair
            }
            switch key {
            case "description":
                fields.description = string(value, key: key, example: "Card payments")
            case "command":
                if let argv = commandList(value, key: key) { fields.call = .command(argv) }
            case "shell":
                if let script = nonEmptyString(value, key: key, example: "'echo hi'") { fields.call = .shell(script) }
            case "http":
                if let http = httpCall(value, key: key) { fields.call = .http(http) }
            case "tcp":
                if let tcp = tcpCall(value, key: key) { fields.call = tcp }
            case "fail_max":
                fields.failMax = integer(value, key: key, in: 1...Int(Int32.max), example: "5")
            case "success_threshold":
                fields.successThreshold = integer(value, key: key, in: 1...Int(Int32.max), example: "1")
            case "half_open_max_calls":
                fields.halfOpenMaxCalls = integer(value, key: key, in: 1...Int(Int32.max), example: "1")
            case "reset_timeout":
                fields.resetTimeout = duration(value, key: key, allowsZero: false)
            case "timeout":
                fields.timeout = duration(value, key: key, allowsZero: false)
            case "kill_after":
                fields.killAfter = duration(value, key: key, allowsZero: true)
            case "success_exit_codes":
                fields.successExitCodes = exitCodes(value, key: key, allowsEmpty: false)
                fields.exitCodeLocations[key] = pair.keyLocation
            case "ignore_exit_codes":
                fields.ignoreExitCodes = exitCodes(value, key: key, allowsEmpty: true)
                fields.exitCodeLocations[key] = pair.keyLocation
            case "open_exit_code":
                fields.openExitCode = integer(value, key: key, in: 0...255, example: "75").map { Int32($0) }
            case "env":
                fields.environment = environment(value)
            case "working_dir":
                fields.workingDirectory = nonEmptyString(value, key: key, example: "/srv/app")
            case "fallback":
                fields.fallbacks = fallbacks(value)
            case "slow_call_duration":
                fields.slowCallDuration = duration(value, key: key, allowsZero: false)
            case "retry":
                fields.retry = retry(value)
            case "max_concurrent":
                fields.maxConcurrent = integer(value, key: key, in: 1...Int(Int32.max), example: "1")
            case "max_wait":
                fields.maxWait = (duration(value, key: key, allowsZero: true), pair.keyLocation)
            case "failure_rate":
                fields.failureRate = failureRate(value)
            case "backoff":
                fields.backoff = backoff(value)
            case "probe":
                fields.probe = timedCall(value, key: key, allowsNetwork: true).map { Probe(call: $0.call, timeout: $0.timeout) }
            case "on_state_error":
                fields.onStateError = stateErrorPolicy(value, key: key)
            case "state":
                fields.state = stateBackend(value, key: key)
            case "on_transition":
                fields.onTransition = timedCall(value, key: key).map { TransitionHook(call: $0.call, timeout: $0.timeout ?? .seconds(10)) }
            default:
                unknownOrFuture(pair, known: Self.breakerKeys, future: Self.futureBreakerKeys, context: context)
            }
        }
        return fields
    }

    private mutating func fallbacks(_ node: YAMLNode) -> [FallbackSpecification]? {
        let example = "{output: 'service down', exit_code: 0}"
        switch node.content {
        case .mapping:
            return fallback(node).map { [$0] }
        case let .sequence(items):
            // An empty list is how a breaker turns off a fallback from 'defaults'.
            var result: [FallbackSpecification] = []
            var isValid = true
            for item in items {
                if case .mapping = item.content, let one = fallback(item) {
                    result.append(one)
                } else if case .mapping = item.content {
                    isValid = false
                } else {
                    isValid = false
                    report(at: item.location, "each fallback in the list must be a mapping such as \(example), not \(describe(item))")
                }
            }
            return isValid ? result : nil
        case .scalar:
            if node.isNull {
                report(at: node.location, "'fallback' has no value; write a mapping such as \(example), or [] for none")
            } else {
                report(at: node.location, "'fallback' must be a mapping such as \(example) or a list of them, not \(describe(node))")
            }
            return nil
        }
    }

    private mutating func fallback(_ node: YAMLNode) -> FallbackSpecification? {
        guard case let .mapping(pairs) = node.content else { return nil }
        var kinds: [YAMLPair] = []
        var exitCode: (code: Int32, location: SourceLocation)?
        var result: FallbackSpecification?
        var isValid = true
        for pair in pairs {
            switch pair.key {
            case "command", "shell", "output", "cached":
                kinds.append(pair)
                if kinds.count > 1 {
                    report(at: pair.keyLocation, "a fallback has one of 'command', 'shell', 'output' or 'cached', and this one has both '\(kinds[0].key)' and '\(pair.key)'; split it into a list of fallbacks")
                    isValid = false
                    continue
                }
                switch pair.key {
                case "command":
                    result = commandList(pair.value, key: "command").map { .command($0) }
                case "shell":
                    result = nonEmptyString(pair.value, key: "shell", example: "'echo down'").map { .shell($0) }
                case "cached":
                    result = cachedFallback(pair.value)
                default:
                    result = string(pair.value, key: "output", example: "'service down'").map { .fixed(output: $0, exitCode: 0) }
                }
                if result == nil { isValid = false }
            case "exit_code":
                if let code = integer(pair.value, key: "exit_code", in: 0...255, example: "0") {
                    exitCode = (Int32(code), pair.keyLocation)
                } else {
                    isValid = false
                }
            default:
                unknownOrFuture(pair, known: Self.fallbackKeys, future: Self.futureFallbackKeys, context: "the fallback")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let result else {
            report(at: node.location, "a fallback needs one of 'command', 'shell' or 'output', such as {output: 'service down', exit_code: 0}")
            return nil
        }
        if let exitCode {
            switch result {
            case let .fixed(output, _):
                return .fixed(output: output, exitCode: exitCode.code)
            case let .cached(maxAge, maxSize, _):
                return .cached(maxAge: maxAge, maxSize: maxSize, exitCode: exitCode.code)
            default:
                report(at: exitCode.location, "'exit_code' applies only to an 'output' or 'cached' fallback; a command's own exit status is used")
                return nil
            }
        }
        return result
    }

    private mutating func environment(_ node: YAMLNode) -> [String: InterpolatedString]? {
        guard let pairs = mapping(node, key: "env", example: "{LANG: C.UTF-8}") else { return nil }
        var result: [String: InterpolatedString] = [:]
        var isValid = true
        for pair in pairs {
            guard InterpolatedString.isVariableName(pair.key) else {
                report(at: pair.keyLocation, "'\(pair.key)' is not a valid environment variable name; use letters, digits and '_', not starting with a digit")
                isValid = false
                continue
            }
            if let value = interpolated(pair.value, key: "env.\(pair.key)", example: "'value'") {
                result[pair.key] = value
            } else {
                isValid = false
            }
        }
        return isValid ? result : nil
    }

    // MARK: Scalars

    /// Reads a string that may use `${VAR}` and `$$`; the http keys will
    /// read theirs with it too.
    mutating func interpolated(_ node: YAMLNode, key: String, example: String) -> InterpolatedString? {
        guard let text = string(node, key: key, example: example) else { return nil }
        do {
            return try InterpolatedString.parse(text, at: node.location)
        } catch {
            switch error {
            case .loneDollar:
                report(at: node.location, "'\(key)' has a '$' that starts neither ${NAME} nor $$; write $$ for a literal '$'")
            case .unclosed:
                report(at: node.location, "'\(key)' has a '${' with no closing '}'; write ${NAME}, or $${ for a literal '${'")
            case let .invalidName(name, _) where name.contains(":"):
                report(at: node.location, "'\(key)' uses '${\(name)}', which is not supported: write ${NAME} and set NAME")
            case let .invalidName(name, _):
                report(at: node.location,
                       "'\(key)' reads '${\(name)}', which is not a variable name; use letters, digits and '_', not starting with a digit")
            }
            return nil
        }
    }

    /// The text of a scalar that is not null, or nil after reporting that
    /// the node is a collection or has no value.
    mutating func scalarText(_ node: YAMLNode, key: String, expected: String) -> (text: String, isPlain: Bool)? {
        guard case let .scalar(text, isPlain) = node.content else {
            report(at: node.location, "'\(key)' must be \(expected), not \(describe(node))")
            return nil
        }
        if node.isNull {
            report(at: node.location, "'\(key)' has no value; write \(expected)")
            return nil
        }
        return (text, isPlain)
    }

    mutating func integer(_ node: YAMLNode, key: String, in range: ClosedRange<Int>, example: String) -> Int? {
        let expected = "a whole number such as \(example)"
        guard let (text, isPlain) = scalarText(node, key: key, expected: expected) else { return nil }
        guard isPlain else {
            report(at: node.location, "'\(key)' must be \(expected), not the quoted string '\(text)'; remove the quotes")
            return nil
        }
        switch Self.parseInteger(text) {
        case let .success(value):
            guard range.contains(value) else {
                report(at: node.location, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(text)")
                return nil
            }
            return value
        case let .failure(problem):
            switch problem {
            case let .leadingZero(written):
                report(at: node.location, "leading zero in '\(key)': write \(written) (octal is not supported)")
            case let .sexagesimal(value):
                report(at: node.location, "'\(key)' is written in base 60 ('\(text)'), which is not supported: write \(value)")
            case .notANumber:
                report(at: node.location, "'\(key)' must be \(expected), not '\(text)'")
            case .tooLarge:
                report(at: node.location, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), not \(text)")
            }
            return nil
        }
    }

    enum IntegerProblem: Error {
        case leadingZero(String)
        case sexagesimal(Int)
        case notANumber
        case tooLarge
    }

    /// Reads a decimal integer: an optional '-' and digits, no leading zero.
    static func parseInteger(_ text: String) -> Result<Int, IntegerProblem> {
        // The common case, on bytes: up to 18 digits cannot overflow an Int.
        let utf8 = text.utf8
        if (1...18).contains(utf8.count), utf8.count == 1 || utf8.first != UInt8(ascii: "0"),
           utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let value = Int(text) {
            return .success(value)
        }
        let isNegative = text.hasPrefix("-")
        let digits = isNegative ? String(text.dropFirst()) : text
        if !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit) {
            if digits.count > 1 && digits.hasPrefix("0") {
                let trimmed = String(digits.drop { $0 == "0" })
                return .failure(.leadingZero((isNegative ? "-" : "") + (trimmed.isEmpty ? "0" : trimmed)))
            }
            guard let value = Int(text) else { return .failure(.tooLarge) }
            return .success(value)
        }
        let parts = digits.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count > 1, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) && $0.count <= 9 }) {
            let value = parts.reduce(0) { $0 * 60 + Int($1)! }
            return .failure(.sexagesimal(isNegative ? -value : value))
        }
        return .failure(.notANumber)
    }

    /// The longest duration any key takes: 365 days, far below what an
    /// `Instant` holds (about 292 years of nanoseconds), so that no
    /// interval is ever clamped on its way.
    static let longestDuration: Duration = .seconds(365 * 86_400)

    /// Reads a duration from 0 (or 1ms, unless `allowsZero`) to
    /// `longestDuration`; anything else is reported with that range.
    mutating func duration(_ node: YAMLNode, key: String, allowsZero: Bool) -> Duration? {
        let expected = "a duration such as 30s, 500ms or 1m30s"
        let range = "from \(allowsZero ? "0s" : "1ms") to \(DurationFormat.string(Self.longestDuration))"
        guard let (text, isPlain) = scalarText(node, key: key, expected: expected) else { return nil }
        let milliseconds: Int64
        switch Self.parseDuration(text) {
        case let .success(value):
            milliseconds = value
        case let .failure(problem):
            switch problem {
            case let .leadingZero(written) where isPlain:
                report(at: node.location, "leading zero in '\(key)': write \(written) (octal is not supported)")
            case let .sexagesimal(seconds) where isPlain:
                report(at: node.location,
                       "'\(key)' is written in base 60 ('\(text)'), which is not supported: for a duration write \(Self.format(seconds: seconds))")
            case .tooLarge:
                report(at: node.location, "'\(key)' must be \(range), not \(text)")
            default:
                report(at: node.location, "'\(key)' must be \(expected), not '\(text)'")
            }
            return nil
        }
        if milliseconds == 0 && !allowsZero {
            report(at: node.location, "'\(key)' must be longer than 0, such as 30s")
            return nil
        }
        guard Duration.milliseconds(milliseconds) <= Self.longestDuration else {
            report(at: node.location, "'\(key)' must be \(range), not \(text)")
            return nil
        }
        return .milliseconds(milliseconds)
    }

    /// Writes whole seconds with units: 90 → `1m30s`.
    static func format(seconds: Int) -> String {
        if seconds == 0 { return "0s" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }

    /// Reads `500ms`, `30s`, `1m30s`, `2h`, `1d` (units from largest to
    /// smallest, each once) or a bare whole number of seconds, in milliseconds.
    static func parseDuration(_ text: String) -> Result<Int64, IntegerProblem> {
        if text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) || text.utf8.contains(UInt8(ascii: ":")) {
            switch parseInteger(text) {
            case let .success(seconds) where seconds >= 0:
                let (value, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1000)
                return overflow ? .failure(.tooLarge) : .success(value)
            case .success:
                return .failure(.notANumber)
            case let .failure(problem):
                return .failure(problem)
            }
        }
        // On bytes, not Characters: this runs for every duration of every breaker.
        let units: [(name: [UInt8], milliseconds: Int64)] = [
            (Array("d".utf8), 86_400_000), (Array("h".utf8), 3_600_000), (Array("m".utf8), 60_000),
            (Array("s".utf8), 1_000), (Array("ms".utf8), 1),
        ]
        let bytes = Array(text.utf8)
        var total: Int64 = 0
        var lastUnit = -1
        var index = 0
        guard !bytes.isEmpty else { return .failure(.notANumber) }
        while index < bytes.count {
            var number: Int64 = 0
            let digitsStart = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]), index - digitsStart < 16 {
                number = number * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            let digitCount = index - digitsStart
            let nameStart = index
            while index < bytes.count, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[index] | 0x20) { index += 1 }
            let name = bytes[nameStart..<index]
            guard digitCount > 0, digitCount <= 15,
                  let unit = units.firstIndex(where: { $0.name[...] == name }), unit > lastUnit else {
                return .failure(.notANumber)
            }
            lastUnit = unit
            let (part, overflow) = number.multipliedReportingOverflow(by: units[unit].milliseconds)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            if overflow || overflow2 { return .failure(.tooLarge) }
            total = sum
        }
        return .success(total)
    }

    mutating func string(_ node: YAMLNode, key: String, example: String) -> String? {
        guard case let .scalar(text, _) = node.content else {
            report(at: node.location, "'\(key)' must be a string such as \(example), not \(describe(node))")
            return nil
        }
        if node.isNull {
            report(at: node.location, "'\(key)' has no value; write a string such as \(example), or '' for an empty one")
            return nil
        }
        return text
    }

    mutating func nonEmptyString(_ node: YAMLNode, key: String, example: String) -> String? {
        guard let text = string(node, key: key, example: example) else { return nil }
        if text.isEmpty {
            report(at: node.location, "'\(key)' is empty; write a string such as \(example)")
            return nil
        }
        return text
    }

    mutating func commandList(_ node: YAMLNode, key: String) -> [String]? {
        let example = "[/usr/bin/pay-batch, --since, yesterday]"
        guard case let .sequence(items) = node.content else {
            let hint = node.text != nil && !node.isNull ? "; for a shell command line use 'shell'" : ""
            report(at: node.location, "'\(key)' must be a list such as \(example), not \(describe(node))\(hint)")
            return nil
        }
        guard !items.isEmpty else {
            report(at: node.location, "'\(key)' is an empty list; name the program, such as \(example)")
            return nil
        }
        var argv: [String] = []
        for item in items {
            guard case let .scalar(text, _) = item.content, !item.isNull else {
                report(at: item.location, "each item of '\(key)' must be a string, not \(describe(item))")
                return nil
            }
            argv.append(text)
            if text.contains("${") {
                warnings.append(Diagnostic(location: item.location, message: "'\(key)' element '\(text)' is passed as it is, '${' and all: a command runs with no shell; use 'shell:' for a shell to expand it, or set the value in 'env:' and let the program read it"))
            }
        }
        if argv[0].isEmpty {
            report(at: items[0].location, "the program of '\(key)' is empty; name it, such as /usr/bin/true")
            return nil
        }
        return argv
    }

    mutating func exitCodes(_ node: YAMLNode, key: String, allowsEmpty: Bool, maximum: Int = 255) -> ExitCodeSet? {
        let items: [YAMLNode]
        switch node.content {
        case let .sequence(list): items = list
        case .scalar where !node.isNull: items = [node]
        default:
            report(at: node.location, "'\(key)' must be a list of exit statuses such as [0, 2-4], not \(describe(node))")
            return nil
        }
        if items.isEmpty && !allowsEmpty {
            report(at: node.location, "'\(key)' is empty; list at least one exit status, such as [0]")
            return nil
        }
        var ranges: [ClosedRange<Int>] = []
        var isValid = true
        for item in items {
            if let range = exitCodeRange(item, key: key, maximum: maximum) { ranges.append(range) } else { isValid = false }
        }
        return isValid ? ExitCodeSet(ranges) : nil
    }

    /// Reads `3` or `2-4` (plain or quoted: a range is text anyway).
    private mutating func exitCodeRange(_ node: YAMLNode, key: String, maximum: Int) -> ClosedRange<Int>? {
        guard case let .scalar(text, _) = node.content, !node.isNull else {
            report(at: node.location, "each item of '\(key)' must be an exit status such as 3 or a range such as 2-4, not \(describe(node))")
            return nil
        }
        // Bytes, not Characters: this runs for every exit status of every breaker.
        let bytes = Array(text.utf8)
        var bounds: [String] = []
        if let dash = bytes.firstIndex(of: UInt8(ascii: "-")) {
            bounds = [Self.trimmingSpaces(bytes[..<dash]), Self.trimmingSpaces(bytes[(dash + 1)...])]
        } else {
            bounds = [Self.trimmingSpaces(bytes[...])]
        }
        var values: [Int] = []
        for bound in bounds {
            switch Self.parseInteger(bound) {
            case let .success(value) where (0...maximum).contains(value):
                values.append(value)
            case .success:
                let noun = maximum == 255 ? "exit statuses" : "statuses"
                report(at: node.location, "\(noun) in '\(key)' are between 0 and \(maximum), not \(bound)")
                return nil
            case let .failure(.leadingZero(written)):
                report(at: node.location, "leading zero in '\(key)': write \(written) (octal is not supported)")
                return nil
            default:
                report(at: node.location, "each item of '\(key)' must be an exit status such as 3 or a range such as 2-4, not '\(text)'")
                return nil
            }
        }
        if values.count == 2 && values[0] > values[1] {
            report(at: node.location, "the range '\(text)' in '\(key)' runs backwards; write \(values[1])-\(values[0])")
            return nil
        }
        return values[0]...values[values.count - 1]
    }

    mutating func mapping(_ node: YAMLNode, key: String, example: String, quoteKey: Bool = true) -> [YAMLPair]? {
        let name = quoteKey ? "'\(key)'" : key
        switch node.content {
        case let .mapping(pairs):
            return pairs
        case .scalar where node.isNull:
            return []
        default:
            report(at: node.location, "\(name) must be a mapping such as \(example), not \(describe(node))")
            return nil
        }
    }

    // MARK: Keys and names

    mutating func unknownOrFuture(_ pair: YAMLPair, known: [String], future: [String], context: String?) {
        if future.contains(pair.key) {
            report(at: pair.keyLocation, "'\(pair.key)' is not supported yet by this version of breaker-run")
            return
        }
        // Top-level keys starting with "x-" hold anchors for merge keys, as in
        // Compose files; they are ignored.
        if context == nil && pair.key.hasPrefix("x-") { return }
        let place = context.map { "unknown key '\(pair.key)' in \($0)" } ?? "unknown top-level key '\(pair.key)'"
        if let suggestion = Self.nearest(to: pair.key, in: known + future) {
            report(at: pair.keyLocation, "\(place); did you mean '\(suggestion)'?")
        } else {
            report(at: pair.keyLocation, "\(place); see breaker-run.yaml(5) for the keys")
        }
    }

    /// The candidate closest to `word` by edit distance, when it is close
    /// enough: at most max(2, word's length / 3) edits.
    static func nearest(to word: String, in candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = levenshtein(word, candidate)
            if distance <= limit, distance < best?.distance ?? Int.max {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// The number of single-character insertions, deletions and
    /// substitutions that turn `a` into `b`.
    static func levenshtein(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    private func isValidBreakerName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), bytes[0].isASCIIAlphanumeric else { return false }
        return bytes.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    // Paths are split on bytes, as the kernel reads them: a '/' followed by
    // a combining mark is one Character but still a separator.
    func absolutePath(_ path: String) -> String {
        let slash = UInt8(ascii: "/")
        if path.utf8.first == slash { return path }
        let directory: String
        let fileBytes = Array(file.utf8)
        if let last = fileBytes.lastIndex(of: slash) {
            directory = last == 0 ? "/" : String(decoding: fileBytes[..<last], as: UTF8.self)
        } else {
            directory = "."
        }
        let base = directory.utf8.first == slash ? directory : ConfigurationDecoder.currentDirectory() + "/" + directory
        return Self.normalize(base + "/" + path)
    }

    /// Removes `.` and `..` components and doubled slashes from an absolute path.
    static func normalize(_ path: String) -> String {
        var parts: [ArraySlice<UInt8>] = []
        for part in Array(path.utf8).split(separator: UInt8(ascii: "/")) {
            if part.elementsEqual(".".utf8) { continue }
            if part.elementsEqual("..".utf8) { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
    }

    func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case let .scalar(text, isPlain):
            if node.isNull { return "an empty value" }
            return isPlain ? "'\(text)'" : "the quoted string '\(text)'"
        }
    }

    mutating func report(at location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location: location, message: message))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

extension ConfigurationDecoder {
    /// The bytes as a string without leading and trailing spaces.
    fileprivate static func trimmingSpaces(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while slice.first == UInt8(ascii: " ") { slice = slice.dropFirst() }
        while slice.last == UInt8(ascii: " ") { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }
}
