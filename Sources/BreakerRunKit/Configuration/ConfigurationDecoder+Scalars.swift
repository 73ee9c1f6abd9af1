/// Typing of scalars and collections, reporting every problem with its
/// position: what every key, and every kind, reads its values with.
extension ConfigurationDecoder {
    /// Reads a string that may use `${VAR}` and `$$`; the http keys will
    /// read theirs with it too.
    package mutating func interpolated(_ node: YAMLNode, key: String, example: String) -> InterpolatedString? {
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
    package mutating func scalarText(_ node: YAMLNode, key: String, expected: String) -> (text: String, isPlain: Bool)? {
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

    package mutating func integer(_ node: YAMLNode, key: String, in range: ClosedRange<Int>, example: String) -> Int? {
        let expected = "a whole number such as \(example)"
        guard let (text, isPlain) = scalarText(node, key: key, expected: expected) else { return nil }
        guard isPlain else {
            report(at: node.location, "'\(key)' must be \(expected), not the quoted string '\(text)'; remove the quotes")
            return nil
        }
        switch ScalarLexer.integer(text) {
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

    /// The longest duration any key takes: 365 days, far below what an
    /// `Instant` holds (about 292 years of nanoseconds), so that no
    /// interval is ever clamped on its way.
    static let longestDuration: Duration = .seconds(365 * 86_400)

    /// Reads a duration from 0 (or 1ms, unless `allowsZero`) to
    /// `longestDuration`; anything else is reported with that range.
    package mutating func duration(_ node: YAMLNode, key: String, allowsZero: Bool) -> Duration? {
        let expected = "a duration such as 30s, 500ms or 1m30s"
        let range = "from \(allowsZero ? "0s" : "1ms") to \(DurationFormat.string(Self.longestDuration))"
        guard let (text, isPlain) = scalarText(node, key: key, expected: expected) else { return nil }
        let milliseconds: Int64
        switch ScalarLexer.duration(text) {
        case let .success(value):
            milliseconds = value
        case let .failure(problem):
            switch problem {
            case let .leadingZero(written) where isPlain:
                report(at: node.location, "leading zero in '\(key)': write \(written) (octal is not supported)")
            case let .sexagesimal(seconds) where isPlain:
                report(at: node.location,
                       "'\(key)' is written in base 60 ('\(text)'), which is not supported: for a duration write \(ScalarLexer.format(seconds: seconds))")
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

    package mutating func string(_ node: YAMLNode, key: String, example: String) -> String? {
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

    package mutating func nonEmptyString(_ node: YAMLNode, key: String, example: String) -> String? {
        guard let text = string(node, key: key, example: example) else { return nil }
        if text.isEmpty {
            report(at: node.location, "'\(key)' is empty; write a string such as \(example)")
            return nil
        }
        return text
    }

    package mutating func commandList(_ node: YAMLNode, key: String) -> [String]? {
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
                warn(Diagnostic(location: item.location, message: "'\(key)' element '\(text)' is passed as it is, '${' and all: a command runs with no shell; use 'shell:' for a shell to expand it, or set the value in 'env:' and let the program read it"))
            }
        }
        if argv[0].isEmpty {
            report(at: items[0].location, "the program of '\(key)' is empty; name it, such as /usr/bin/true")
            return nil
        }
        return argv
    }

    package mutating func exitCodes(_ node: YAMLNode, key: String, allowsEmpty: Bool, maximum: Int = 255) -> ExitCodeSet? {
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
            switch ScalarLexer.integer(bound) {
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

    package mutating func mapping(_ node: YAMLNode, key: String, example: String, quoteKey: Bool = true) -> [YAMLPair]? {
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
