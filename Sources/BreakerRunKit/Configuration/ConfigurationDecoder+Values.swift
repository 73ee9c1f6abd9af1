/// Values that several keys read: booleans, sizes and `env`.
extension ConfigurationDecoder {
    /// The largest size any key takes (`max_body`, a fallback's `max_size`), in
    /// bytes: 1 GiB.
    static let largestSize = 1 << 30

    /// Reads `true` or `false`, plain; anything else is an error.
    package mutating func boolean(_ node: YAMLNode, key: String) -> Bool? {
        if case let .scalar(text, true) = node.content, text == "true" || text == "false" { return text == "true" }
        report(at: node.location, "'\(key)' must be true or false, not \(describe(node))")
        return nil
    }

    /// Reads a size in bytes: a whole number, or one with `KiB`, `MiB` or `GiB`.
    package mutating func size(_ node: YAMLNode, key: String, example: String) -> Int? {
        guard let (text, _) = scalarText(node, key: key, expected: "a size such as \(example)") else { return nil }
        var digits = Substring(text)
        var unit = 1
        for (suffix, factor) in [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)] where text.hasSuffix(suffix) {
            digits = text.dropLast(suffix.count)
            unit = factor
        }
        guard case let .success(value) = ScalarLexer.integer(String(digits)), value > 0, value <= Self.largestSize / unit else {
            report(at: node.location, "'\(key)' must be a size from 1 byte to 1GiB such as \(example) or 65536, not '\(text)'")
            return nil
        }
        return value * unit
    }

    /// Reads `env: {NAME: value}`; a value may read variables (`${VAR}`).
    mutating func environment(_ node: YAMLNode) -> [String: InterpolatedString]? {
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
}
