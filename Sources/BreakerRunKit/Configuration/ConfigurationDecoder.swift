import CircuitBreaker

/// Turns one file's `YAMLNode` tree into breakers, typing the scalars and
/// recording every problem it finds instead of stopping at the first.
package struct ConfigurationDecoder {
    /// Breaker keys of the design that a later version implements.
    static let futureBreakerKeys: [String] = []
    /// The top-level keys, from `TopLevelKeys`.
    static var topLevelKeys: [String] { TopLevelKeys.all.map(\.name) }
    static let futureTopLevelKeys: [String] = []
    static let futureFallbackKeys: [String] = []

    /// Every breaker key, for the nearest one to an unknown key: those of
    /// `BreakerKeys.all` and the calls' (the kinds of `registry`), in the
    /// order of the list before kinds were registered (`nearest` prefers the
    /// earlier of two as near): the process kinds after `description`, the
    /// others before `on_state_error`.
    var breakerKeys: [String] {
        var keys: [String] = []
        for key in BreakerKeys.all {
            if key.name == "on_state_error" { keys += registry.callKinds.filter { !$0.isProcess }.map { $0.key } }
            keys.append(key.name)
            if key.name == "description" { keys += registry.callKinds.filter { $0.isProcess }.map { $0.key } }
        }
        return keys
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
        /// Keys a drop-in may not set (`TopLevelKey.isMainFileOnly`): an error whatever
        /// breaker is asked for, since they would apply to every breaker.
        var misplacedKeys: [Diagnostic] = []
    }

    let file: String
    /// The kinds that calls, probes, hooks and fallbacks are read as.
    let registry: KindRegistry
    /// Whether `file` is a drop-in of a `breakers.d` directory, which may
    /// not set the keys that belong to the main file (`TopLevelKey.isMainFileOnly`).
    let isDropIn: Bool
    /// The problems found, in the order found.
    private(set) var diagnostics: [Diagnostic] = []
    /// What is allowed but probably not meant, for `validate`.
    private(set) var warnings: [Diagnostic] = []

    init(file: String, isDropIn: Bool = false, registry: KindRegistry) {
        self.file = file
        self.isDropIn = isDropIn
        self.registry = registry
    }

    mutating func decode(_ root: YAMLNode) -> FileContents {
        guard case let .mapping(pairs) = root.content else {
            var contents = FileContents()
            report(at: root.location, "the top level must be a mapping that starts with 'version: 1', not \(describe(root))")
            contents.fileDiagnosticCount = diagnostics.count
            return contents
        }
        var collected = TopLevelKey.Collected()
        for pair in pairs {
            guard let key = TopLevelKeys.all.first(where: { $0.name == pair.key }) else {
                unknownOrFuture(pair, known: Self.topLevelKeys, future: Self.futureTopLevelKeys, context: nil)
                continue
            }
            if isDropIn && key.isMainFileOnly {
                report(at: pair.keyLocation,
                       "'\(pair.key)' belongs to the main file breakers.yaml, not to a drop-in in breakers.d (it would apply to every breaker); move it there or remove it")
                collected.contents.misplacedKeys.append(diagnostics[diagnostics.count - 1])
                continue
            }
            key.decode(&self, pair, &collected)
        }
        var contents = collected.contents
        let defaults = collected.defaults
        if !collected.hasVersion {
            report(at: root.location, "missing 'version: 1'; add it as the first line")
        }
        contents.fileDiagnosticCount = diagnostics.count
        for pair in collected.breakerPairs {
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
    private mutating func decodeBreaker(_ pair: YAMLPair, defaults: BreakerFields, into contents: inout FileContents) {
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
        checkKeyedBreakerHasNoQueue(own, defaults, breaker: pair.key)
        var breaker = breaker(named: pair.key, at: pair.keyLocation, own: own, defaults: defaults)
        if !own.sets(BreakerKeys.stateIndex) && !defaults.sets(BreakerKeys.stateIndex) {
            breaker.state = contents.state ?? BreakerKeys.state.defaultValue
        }
        contents.breakers.append(breaker)
    }

    /// The breaker: the built-in defaults, replaced key by key by the value
    /// of `defaults`, and by its own.
    private func breaker(named name: String, at location: SourceLocation, own: BreakerFields, defaults: BreakerFields) -> BreakerConfiguration {
        var breaker = BreakerConfiguration(name: name, location: location)
        breaker.call = own.call
        let either = own.isSet | defaults.isSet
        guard either != 0 else { return breaker }
        for (index, key) in BreakerKeys.all.enumerated() where either & (1 << UInt64(index)) != 0 {
            key.merge(&breaker, own.sets(index) ? own : defaults)
        }
        return breaker
    }

    /// Reports a status that is both in `success_exit_codes` and in
    /// `ignore_exit_codes` as the breaker (or `defaults`) has them, at the
    /// later of the two keys (the one written in `own` when the other comes
    /// from `defaults` or is built in): one status cannot be both.
    mutating func checkExitCodesApart(_ own: BreakerFields, _ defaults: BreakerFields, in context: String) {
        let success = own.value(of: BreakerKeys.successExitCodes, over: defaults) ?? BreakerKeys.successExitCodes.defaultValue
        guard let ignore = own.value(of: BreakerKeys.ignoreExitCodes, over: defaults) else { return }
        let shared = success.ranges.lazy.flatMap { a in
            ignore.ranges.lazy.compactMap { b in a.overlaps(b) ? max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound) : nil }
        }
        guard let overlap = shared.first else { return }
        guard let location = own.exitCodeLocations.values.max() else { return }
        let statuses = overlap.lowerBound == overlap.upperBound ? "status \(overlap.lowerBound) is" : "statuses \(overlap.lowerBound)-\(overlap.upperBound) are"
        report(at: location, "exit \(statuses) in both 'success_exit_codes' \(success) and 'ignore_exit_codes' \(ignore) of \(context); a status is one or the other: remove it from one of them")
    }

    /// What one mapping sets: a breaker's (with its call) or `defaults`.
    mutating func fields(_ pairs: [YAMLPair], context: String, isDefaults: Bool) -> BreakerFields {
        var fields = BreakerFields()
        var callKey: YAMLPair?
        for pair in pairs {
            let key = pair.key
            if let kind = registry.callKind(for: key) {
                if isDefaults {
                    report(at: pair.keyLocation, "'\(key)' cannot be in 'defaults': a call belongs to one breaker; move it under the breaker")
                } else if let first = callKey {
                    report(at: pair.keyLocation,
                           "\(context) has both '\(first.key)' (line \(first.keyLocation.line)) and '\(key)'; keep one")
                } else {
                    callKey = pair
                    fields.call = kind.decode(pair.value, key: key, decoder: &self).map { CallSpecification($0) }
                }
                continue
            }
            guard let index = BreakerKeys.all.firstIndex(where: { $0.name == key }) else {
                unknownOrFuture(pair, known: breakerKeys, future: Self.futureBreakerKeys, context: context)
                continue
            }
            if BreakerKeys.all[index].decode(&self, pair, &fields) {
                fields.isSet |= 1 << UInt64(index)
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
