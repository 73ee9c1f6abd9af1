extension Configuration {
    /// The breaker called `name`.
    /// - Parameter name: the breaker's name, as given on the command line.
    /// - Returns: its configuration.
    /// - Throws: `ConfigurationError.unknownBreaker` with the defined names and
    ///   the nearest one when no breaker has that name.
    public func breaker(named name: String) throws(ConfigurationError) -> BreakerConfiguration {
        if let breaker = breakers[name] { return breaker }
        let known = breakerNames
        throw .unknownBreaker(name: name, known: known, suggestion: ConfigurationDecoder.nearest(to: name, in: known))
    }
}
