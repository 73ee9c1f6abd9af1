extension Configuration {
    /// The breaker called `name`, ready to run: its `${VAR}` values resolved
    /// against `environment`. Only this breaker's variables are read, so an
    /// unset variable stops the breakers that read it and no other.
    /// - Parameter name: the breaker's name, as given on the command line.
    /// - Returns: its configuration, with `interpolatedEnvironment` empty.
    /// - Throws: `ConfigurationError.unknownBreaker` with the defined names and
    ///   the nearest one when no breaker has that name;
    ///   `ConfigurationError.unsetVariable` when it reads a variable that is
    ///   not set.
    public func breaker(named name: String) throws(ConfigurationError) -> BreakerConfiguration {
        try definition(named: name).resolved(in: environment)
    }

    /// The breaker called `name` as defined, its `${VAR}` values not
    /// resolved: for commands that show a breaker but do not run it.
    /// - Parameter name: the breaker's name.
    /// - Returns: its configuration as defined.
    /// - Throws: `ConfigurationError.unknownBreaker` when no breaker has
    ///   that name, `.unknownBreakerInUnparsedFile` when, besides, a drop-in
    ///   could not be parsed.
    public func definition(named name: String) throws(ConfigurationError) -> BreakerConfiguration {
        if let breaker = breakers[name] { return breaker }
        if !unparsedFiles.isEmpty {
            throw .unknownBreakerInUnparsedFile(name: name, files: unparsedFiles)
        }
        let known = breakerNames
        throw .unknownBreaker(name: name, known: known, suggestion: Suggestion.nearest(to: name, in: known))
    }

    /// Every variable that a breaker reads and `environment` does not set,
    /// one diagnostic per place and variable naming the breakers that read
    /// it, sorted by position: what `validate` prints as warnings.
    /// - Returns: the diagnostics; empty when every variable is set.
    public func unsetVariableWarnings() -> [Diagnostic] {
        struct Use: Hashable {
            var name: String
            var key: String
            var file: String
            var line: Int
            var column: Int
        }
        var breakersByUse: [Use: [String]] = [:]
        var locations: [Use: SourceLocation] = [:]
        for name in breakerNames {
            for unset in breakers[name]!.unsetVariables(in: environment) {
                let use = Use(name: unset.name, key: unset.key, file: unset.location.file,
                              line: unset.location.line, column: unset.location.column)
                breakersByUse[use, default: []].append(name)
                locations[use] = unset.location
            }
        }
        return breakersByUse.map { use, names in
            Diagnostic(location: locations[use]!,
                       message: ConfigurationError.unsetVariableMessage(name: use.name, breakers: names, key: use.key))
        }.sorted { ($0.location, $0.message) < ($1.location, $1.message) }
    }
}

extension BreakerConfiguration {
    /// A variable that a breaker reads and the environment does not set.
    public struct UnsetVariable: Sendable, Equatable {
        /// The variable's name.
        public var name: String
        /// The key that reads it, such as `env.TOKEN`.
        public var key: String
        /// Where the value that reads it is written.
        public var location: SourceLocation

        /// Creates the record of an unset variable.
        /// - Parameters:
        ///   - name: the variable's name.
        ///   - key: the key that reads it, such as `env.TOKEN`.
        ///   - location: where the value is written.
        public init(name: String, key: String, location: SourceLocation) {
            self.name = name
            self.key = key
            self.location = location
        }
    }

    /// The variables this breaker reads that `environment` does not set,
    /// sorted by position, then key, then name.
    /// - Parameter environment: the variables to read.
    /// - Returns: the unset variables; empty when the breaker can run.
    public func unsetVariables(in environment: [String: String]) -> [UnsetVariable] {
        var found: [UnsetVariable] = []
        for (key, value) in interpolatedEnvironment {
            if case let .failure(unset) = value.resolve(in: environment) {
                found += unset.names.map { UnsetVariable(name: $0, key: "env.\(key)", location: value.location) }
            }
        }
        for (call, prefix) in [(call, ""), (probe?.call, "probe.")] {
            for (key, value) in call?.interpolatedValues ?? [] {
                if case let .failure(unset) = value.resolve(in: environment) {
                    found += unset.names.map { UnsetVariable(name: $0, key: prefix + key, location: value.location) }
                }
            }
        }
        return found.sorted { ($0.location, $0.key, $0.name) < ($1.location, $1.key, $1.name) }
    }

    /// This breaker with every `${VAR}` replaced by the variable's value.
    /// - Parameter environment: the variables to read (an empty value counts
    ///   as set).
    /// - Returns: the breaker with `interpolatedEnvironment` moved into
    ///   `environment`.
    /// - Throws: `ConfigurationError.unsetVariable` for the first variable
    ///   (by position) that is not set.
    public func resolved(in environment: [String: String]) throws(ConfigurationError) -> BreakerConfiguration {
        if let first = unsetVariables(in: environment).first {
            throw .unsetVariable(name: first.name, breaker: name, key: first.key, location: first.location)
        }
        var result = self
        for (key, value) in interpolatedEnvironment {
            if case let .success(text) = value.resolve(in: environment) { result.environment[key] = text }
        }
        result.interpolatedEnvironment = [:]
        result.call = try call.map { call throws(ConfigurationError) in try call.resolved(in: environment) }
        if let probe {
            result.probe?.call = try probe.call.resolved(in: environment)
        }
        return result
    }
}
