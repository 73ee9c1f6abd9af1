/// The `cached` fallback kind: the stdout of the breaker's last successful
/// call (of the same argv), when it is at most `max_age` old, then
/// `exit_code` (default 0). Calls keep outputs of at most `max_size` bytes
/// (default 10 MiB); none fresh enough passes to the next fallback.
package struct CachedFallback: FallbackKind {
    package static let key = "cached"
    package static let takesExitCode = true
    /// The keys of its mapping.
    static let keys = ["max_age", "max_size"]

    /// The oldest output served; nil for any age.
    package var maxAge: Duration?
    /// The most bytes of output kept.
    package var maxSize: Int
    /// The answer's exit status.
    package var exitCode: Int32

    /// Reads `cached: {max_age: 1h, max_size: 10MiB}`; both are optional.
    package static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> CachedFallback? {
        guard let pairs = decoder.mapping(node, key: key, example: "{max_age: 1h}") else { return nil }
        var maxAge: Duration?
        var maxSize = 10 << 20
        var isValid = true
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            switch pair.key {
            case "max_age":
                maxAge = decoder.duration(pair.value, key: name, allowsZero: false)
                if maxAge == nil { isValid = false }
            case "max_size":
                if let size = decoder.size(pair.value, key: name, example: "10MiB") { maxSize = size } else { isValid = false }
            default:
                decoder.unknownOrFuture(pair, known: keys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        return isValid ? CachedFallback(maxAge: maxAge, maxSize: maxSize, exitCode: 0) : nil
    }

    package func settingExitCode(_ exitCode: Int32) -> CachedFallback {
        CachedFallback(maxAge: maxAge, maxSize: maxSize, exitCode: exitCode)
    }

    package func effectiveYAMLLines() -> [String] {
        let age = maxAge.map { "max_age: \(YAMLText.duration($0)), " } ?? ""
        return ["\(Self.key): {\(age)max_size: \(maxSize)}", "exit_code: \(exitCode)"]
    }

    package var captureLimit: Int? { maxSize }

    package func answer(_ context: FallbackContext) -> FallbackAnswer {
        let name = context.breaker.name
        guard let cached = context.readCache() else {
            context.logger.info("\(name): no cached output; trying the next fallback")
            return .declined
        }
        let age = Duration.nanoseconds(max(0, context.now.wallNanoseconds - cached.writtenAtWallNanoseconds))
        if let maxAge, age > maxAge {
            context.logger.info("\(name): cached output is \(DurationFormat.string(age)) old, over max_age \(DurationFormat.string(maxAge)); trying the next fallback")
            return .declined
        }
        return context.answer(writing: cached.bytes, exitCode: exitCode,
                              how: "answered from the cache (\(DurationFormat.string(age)) old)", what: "the cached output")
    }
}

extension FallbackSpecification {
    /// A `cached` fallback.
    /// - Parameters:
    ///   - maxAge: the oldest output served; nil for any age.
    ///   - maxSize: the most bytes of output kept.
    ///   - exitCode: the exit status.
    /// - Returns: the fallback.
    public static func cached(maxAge: Duration?, maxSize: Int, exitCode: Int32) -> FallbackSpecification {
        FallbackSpecification(CachedFallback(maxAge: maxAge, maxSize: maxSize, exitCode: exitCode))
    }
}
