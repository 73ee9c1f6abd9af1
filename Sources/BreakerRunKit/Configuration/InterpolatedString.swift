/// A configuration value that reads the environment: `${NAME}` is replaced by
/// the variable's value and `$$` by a single `$`.
///
/// It is parsed when the configuration is loaded (a malformed `${` is a
/// configuration error) and resolved later, against an environment passed in,
/// when the breaker that holds it is used: an unset variable then stops that
/// breaker only. `env` values use it; the http url, headers and body will use
/// the same type.
public struct InterpolatedString: Sendable, Equatable, CustomStringConvertible {
    /// One piece of the value.
    public enum Segment: Sendable, Equatable {
        /// Text used as it is (a `$$` in the file is one `$` here).
        case literal(String)
        /// `${NAME}`: the value of the environment variable `NAME`.
        case variable(String)
    }

    /// The pieces, in order; adjacent literals are joined.
    public var segments: [Segment]
    /// Where the value is written.
    public var location: SourceLocation

    /// Creates a value from its pieces.
    /// - Parameters:
    ///   - segments: the pieces, in order.
    ///   - location: where the value is written.
    public init(segments: [Segment], location: SourceLocation) {
        self.segments = segments
        self.location = location
    }

    /// Why a text is not a valid interpolated value.
    public enum SyntaxError: Error, Sendable, Equatable {
        /// A `$` that starts neither `${NAME}` nor `$$`, at this UTF-8 offset.
        case loneDollar(offset: Int)
        /// A `${` with no `}`, at this UTF-8 offset.
        case unclosed(offset: Int)
        /// `${NAME}` where NAME is not a variable name (letters, digits and
        /// `_`, not starting with a digit).
        case invalidName(String, offset: Int)
    }

    /// Parses the text as written in the configuration.
    /// - Parameters:
    ///   - text: the value, such as `Bearer ${TOKEN}` or `cost: $$5`.
    ///   - location: where it is written.
    /// - Returns: the parsed value.
    /// - Throws: `SyntaxError` for a lone `$`, an unclosed `${` or a bad name.
    public static func parse(_ text: String, at location: SourceLocation) throws(SyntaxError) -> InterpolatedString {
        let bytes = Array(text.utf8)
        var segments: [Segment] = []
        var literal: [UInt8] = []
        var index = 0
        let dollar = UInt8(ascii: "$")
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == dollar else {
                literal.append(byte)
                index += 1
                continue
            }
            let next = index + 1 < bytes.count ? bytes[index + 1] : nil
            if next == dollar {
                literal.append(dollar)
                index += 2
                continue
            }
            guard next == UInt8(ascii: "{") else { throw .loneDollar(offset: index) }
            guard let close = bytes[(index + 2)...].firstIndex(of: UInt8(ascii: "}")) else {
                throw .unclosed(offset: index)
            }
            let name = String(decoding: bytes[(index + 2)..<close], as: UTF8.self)
            guard isVariableName(name) else { throw .invalidName(name, offset: index) }
            if !literal.isEmpty {
                segments.append(.literal(String(decoding: literal, as: UTF8.self)))
                literal = []
            }
            segments.append(.variable(name))
            index = close + 1
        }
        if !literal.isEmpty { segments.append(.literal(String(decoding: literal, as: UTF8.self))) }
        return InterpolatedString(segments: segments, location: location)
    }

    /// The variables the value reads, in order of first use.
    public var variables: [String] {
        var names: [String] = []
        for case let .variable(name) in segments where !names.contains(name) { names.append(name) }
        return names
    }

    /// The value with no variables to read, or nil when it reads some.
    public var literalValue: String? {
        guard variables.isEmpty else { return nil }
        return segments.map { if case let .literal(text) = $0 { text } else { "" } }.joined()
    }

    /// The value with every variable replaced by its value in `environment`.
    /// - Parameter environment: the variables to read (an empty value counts
    ///   as set).
    /// - Returns: the value, or the names of the variables that are not set
    ///   (in order of first use).
    public func resolve(in environment: [String: String]) -> Result<String, UnsetVariables> {
        var text = ""
        var missing: [String] = []
        for segment in segments {
            switch segment {
            case let .literal(part):
                text += part
            case let .variable(name):
                if let value = environment[name] {
                    text += value
                } else if !missing.contains(name) {
                    missing.append(name)
                }
            }
        }
        return missing.isEmpty ? .success(text) : .failure(UnsetVariables(names: missing))
    }

    /// The names of variables a value reads that are not set.
    public struct UnsetVariables: Error, Sendable, Equatable {
        /// The names, in order of first use.
        public var names: [String]

        /// Creates the error.
        /// - Parameter names: the unset variables, in order of first use.
        public init(names: [String]) {
            self.names = names
        }
    }

    /// The value as it would be written in the configuration: `${NAME}` for a
    /// variable, `$$` for a literal `$`. Never a variable's value, so it is
    /// safe to print when the variable holds a secret.
    public var description: String {
        segments.map { segment in
            switch segment {
            case let .literal(text): Self.escaped(text)
            case let .variable(name): "${\(name)}"
            }
        }.joined()
    }

    /// `text` with every `$` doubled, so that it reads back as itself.
    /// - Parameter text: a literal value.
    /// - Returns: the text as written in the configuration.
    public static func escaped(_ text: String) -> String {
        // Scalars, not Characters: a '$' followed by a combining mark is one
        // Character, and splitting at "$" would miss it.
        guard text.utf8.contains(UInt8(ascii: "$")) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            result.unicodeScalars.append(scalar)
            if scalar == "$" { result.unicodeScalars.append(scalar) }
        }
        return result
    }

    /// Two values are equal when they read the same: the same pieces,
    /// wherever they are written.
    public static func == (lhs: InterpolatedString, rhs: InterpolatedString) -> Bool {
        lhs.segments == rhs.segments
    }

    /// Whether `name` is a valid environment variable name: letters, digits
    /// and `_`, not empty, not starting with a digit.
    /// - Parameter name: the candidate name.
    /// - Returns: true when it is valid.
    public static func isVariableName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return bytes.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_")
        }
    }
}
