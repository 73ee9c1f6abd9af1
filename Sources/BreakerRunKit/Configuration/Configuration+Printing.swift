extension Configuration {
    /// The effective configuration as YAML, for `validate --print`: every
    /// breaker in name order, each with every key in schema order and its
    /// value after `defaults` and merge keys (built-in defaults included).
    ///
    /// A key with no value (no call, no `timeout`) is shown as a comment.
    /// `env` values that read variables are shown as written (`${TOKEN}`),
    /// never with the variable's value. The text loads back as the same
    /// configuration.
    /// - Parameter stateDirectoryInUse: the state directory this invocation
    ///   uses, shown as a comment when no file sets `state_dir`.
    /// - Returns: the text, ending with a newline.
    public func effectiveYAML(stateDirectoryInUse: String? = nil) -> String {
        var lines: [String] = ["# effective configuration of \(files.joined(separator: ", "))", "version: 1"]
        if let stateDirectory {
            lines.append("state_dir: \(YAMLText.scalar(stateDirectory))")
        } else if let stateDirectoryInUse {
            lines.append("# state_dir: not set; this invocation uses \(stateDirectoryInUse)")
        }
        if let metricsFile {
            lines.append("metrics_file: \(YAMLText.scalar(metricsFile))")
        }
        lines.append("log: \(log.rawValue)")
        if breakers.isEmpty {
            lines.append("breakers: {}")
        } else {
            lines.append("breakers:")
        }
        for name in breakerNames {
            lines += breakers[name]!.effectiveYAMLLines(indent: "  ")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension BreakerConfiguration {
    /// The breaker's lines of `Configuration.effectiveYAML`: every key of
    /// `BreakerKeys` in print order, the call after the first group.
    func effectiveYAMLLines(indent: String) -> [String] {
        let inner = indent + "  "
        var lines = ["\(indent)\(YAMLText.scalar(name)):  # defined at \(location)"]
        var hasCall = false
        for key in BreakerKeys.printed {
            if key.group > .about && !hasCall {
                hasCall = true
                if let call {
                    lines += call.kind.effectiveYAMLLines().map { inner + $0 }
                } else {
                    lines.append("\(inner)# command: not set (the command comes after -- on the command line)")
                }
            }
            switch key.print(self) {
            case let .value(text): lines.append("\(inner)\(key.name): \(text)")
            case let .lines(under): lines += ["\(inner)\(key.name):"] + under.map { "\(inner)  \($0)" }
            case let .absent(meaning): lines.append("\(inner)# \(key.name): not set (\(meaning))")
            case .hidden: break
            }
        }
        return lines
    }
}

/// Writes values as YAML that the loader reads back as the same value.
enum YAMLText {
    /// `text` as a YAML scalar: plain when it is safe, else single-quoted, else
    /// double-quoted with escapes (for control characters and line breaks).
    static func scalar(_ text: String) -> String {
        if isSafePlain(text) { return text }
        if text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && !isSpecialBreak($0) }) {
            // Scalars, not Characters: a quote followed by a combining mark is
            // one Character, and splitting at "'" would miss it.
            var quoted = "'"
            for scalar in text.unicodeScalars {
                quoted.unicodeScalars.append(scalar)
                if scalar == "'" { quoted.unicodeScalars.append(scalar) }
            }
            return quoted + "'"
        }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || isSpecialBreak(scalar) {
                    quoted += "\\u" + hex(scalar.value, digits: 4)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }

    /// `[a, b]` with each item written by `scalar`, quoted where a plain
    /// scalar would end early in a flow collection (at `,`, `[`, `]`, `{`, `}`).
    static func flowList(_ items: [String]) -> String {
        "[" + items.map(flowScalar).joined(separator: ", ") + "]"
    }

    /// `text` as a scalar inside a flow collection.
    static func flowScalar(_ text: String) -> String {
        let written = scalar(text)
        guard written == text, text.contains(where: { ",[]{}".contains($0) }) else { return written }
        return "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    /// A number as the loader reads it: `2`, `1.5`.
    static func number(_ value: Double) -> String {
        // Rounded to a millionth: 7% is stored as 0.07, and 0.07 × 100 is
        // 7.000000000000001 in binary floating point.
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : String(rounded)
    }

    /// A duration in the units the loader reads: `1h30m`, `500ms`, `0s`.
    static func duration(_ duration: Duration) -> String {
        DurationFormat.string(duration)
    }

    /// Plain scalars that read back as the same string in every place the
    /// loader reads a string: letters, digits and a few punctuation marks,
    /// not a null word, not starting with an indicator.
    private static func isSafePlain(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        if ["~", "null", "Null", "NULL", "<<"].contains(text) { return false }
        let allowed: (Unicode.Scalar) -> Bool = {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || "/._-+=@%,:".unicodeScalars.contains($0) || $0 == " "
        }
        guard text.unicodeScalars.allSatisfy(allowed) else { return false }
        // Other first characters are YAML indicators ('-', '@', '%', ...); a
        // trailing ':' or ' ' would be read as syntax or trimmed.
        let startsSafely = ("a"..."z").contains(first) || ("A"..."Z").contains(first) || ("0"..."9").contains(first)
            || "/._".unicodeScalars.contains(first)
        if !startsSafely || last == ":" || last == " " { return false }
        if text.contains(": ") || text.contains(",") { return false }
        return true
    }

    private static func isSpecialBreak(_ scalar: Unicode.Scalar) -> Bool {
        // NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are line breaks to
        // libyaml, a BOM is dropped, and C1 controls and U+FFFE/U+FFFF are
        // refused unescaped.
        [0x85, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF].contains(scalar.value) || (0x80...0x9F).contains(scalar.value)
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
