import CircuitBreaker

/// Turns one file's `YAMLNode` tree into breakers, typing the scalars and
/// recording every problem it finds instead of stopping at the first.
package struct ConfigurationDecoder {
    /// The breaker keys this version reads besides the calls' (the kinds
    /// of `registry`).
    static let settingKeys = [
        "description", "fail_max", "reset_timeout", "success_threshold",
        "half_open_max_calls", "timeout", "kill_after", "success_exit_codes", "ignore_exit_codes",
        "open_exit_code", "env", "working_dir", "fallback",
        "slow_call_duration", "retry", "max_concurrent", "max_wait", "probe", "on_transition",
        "failure_rate", "backoff", "on_state_error", "state",
    ]
    /// Breaker keys of the design that a later version implements.
    static let futureBreakerKeys: [String] = []
    static let topLevelKeys = ["version", "state_dir", "defaults", "breakers", "metrics_file", "log", "state"]
    static let futureTopLevelKeys: [String] = []
    static let futureFallbackKeys: [String] = []

    /// Every breaker key, for the nearest one to an unknown key, in the
    /// order of the list before kinds were registered (`nearest` prefers the
    /// earlier of two as near): the process kinds after `description`, the
    /// others after `backoff`.
    var breakerKeys: [String] {
        let process = registry.callKinds.filter { $0.isProcess }.map { $0.key }
        let others = registry.callKinds.filter { !$0.isProcess }.map { $0.key }
        let settings = Self.settingKeys
        return [settings[0]] + process + settings[1..<(settings.count - 2)] + others + settings.suffix(2)
    }

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
    /// The kinds that calls, probes, hooks and fallbacks are read as.
    let registry: KindRegistry
    /// Whether `file` is a drop-in of a `breakers.d` directory, which may
    /// not set the keys that belong to the main file (`mainFileKeys`).
    let isDropIn: Bool
    /// The problems found, in the order found.
    private(set) var diagnostics: [Diagnostic] = []
    /// What is allowed but probably not meant, for `validate`.
    private(set) var warnings: [Diagnostic] = []

    /// The top-level keys only the main file may set: in a drop-in they
    /// would move the state, the metrics or the log of every breaker.
    static let mainFileKeys: Set<String> = ["state_dir", "state", "metrics_file", "log"]

    init(file: String, isDropIn: Bool = false, registry: KindRegistry) {
        self.file = file
        self.isDropIn = isDropIn
        self.registry = registry
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
            if let kind = registry.callKind(for: key) {
                if isDefaults {
                    report(at: pair.keyLocation, "'\(key)' cannot be in 'defaults': a call belongs to one breaker; move it under the breaker")
                } else if let first = callKey {
                    report(at: pair.keyLocation,
                           "\(context) has both '\(first.key)' (line \(first.keyLocation.line)) and '\(key)'; keep one")
                } else {
                    callKey = pair
                    fields.call = kind.decode(value, key: key, decoder: &self).map { CallSpecification($0) }
                }
                continue
            }
            switch key {
            case "description":
                fields.description = string(value, key: key, example: "Card payments")
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
                unknownOrFuture(pair, known: breakerKeys, future: Self.futureBreakerKeys, context: context)
            }
        }
        return fields
    }

    // MARK: Keys and names

    package mutating func unknownOrFuture(_ pair: YAMLPair, known: [String], future: [String], context: String?) {
        if future.contains(pair.key) {
            report(at: pair.keyLocation, "'\(pair.key)' is not supported yet by this version of breaker-run")
            return
        }
        // Top-level keys starting with "x-" hold anchors for merge keys, as in
        // Compose files; they are ignored.
        if context == nil && pair.key.hasPrefix("x-") { return }
        let place = context.map { "unknown key '\(pair.key)' in \($0)" } ?? "unknown top-level key '\(pair.key)'"
        if let suggestion = Suggestion.nearest(to: pair.key, in: known + future) {
            report(at: pair.keyLocation, "\(place); did you mean '\(suggestion)'?")
        } else {
            report(at: pair.keyLocation, "\(place); see breaker-run.yaml(5) for the keys")
        }
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

    package func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case let .scalar(text, isPlain):
            if node.isNull { return "an empty value" }
            return isPlain ? "'\(text)'" : "the quoted string '\(text)'"
        }
    }

    /// Records a problem at `location`: `message` is one sentence that
    /// names the key and, where possible, what to write instead.
    /// - Parameters:
    ///   - location: where the problem is.
    ///   - message: the sentence.
    package mutating func report(at location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(location: location, message: message))
    }

    /// Records what is allowed but probably not meant, for `validate`.
    /// - Parameter warning: the warning, with its position.
    mutating func warn(_ warning: Diagnostic) {
        warnings.append(warning)
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
