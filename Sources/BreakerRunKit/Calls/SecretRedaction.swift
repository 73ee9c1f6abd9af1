/// Hides the values of environment variables that a call read through
/// `${VAR}` (DESIGN: "`${VAR}` ... for secrets from the environment; secrets
/// never appear in messages, status or state files").
///
/// A reason built from an error of the network stack may quote what the
/// request was made of: the host of the URL ("could not resolve host ..."),
/// a host name a certificate does not match, a path. Every such reason goes
/// through `redact(_:)` before it is logged or recorded, so that each
/// variable's value reads back as `${NAME}`, as the configuration writes it.
///
/// A value is found as it is, ignoring ASCII case (host names are compared
/// and often printed in lower case), and in its percent-encoded form
/// (RFC 3986, section 2.1: a URL carries it so). Longer values are replaced
/// first, so that a value inside another never leaves part of the longer one.
public struct SecretRedaction: Sendable, Equatable {
    /// A value to hide and the name that replaces it.
    private struct Secret: Sendable, Equatable {
        var name: String
        var forms: [[UInt8]]
    }

    private var secrets: [Secret]

    /// Collects the values of the variables that `values` read.
    /// - Parameters:
    ///   - values: the interpolated values of a call (its url, header values
    ///     and body).
    ///   - environment: the environment they were resolved in.
    public init(_ values: [InterpolatedString], environment: [String: String]) {
        var names: [String] = []
        for value in values {
            for name in value.variables where !names.contains(name) { names.append(name) }
        }
        secrets = names.compactMap { name in
            guard let value = environment[name], !value.isEmpty else { return nil }
            var forms = [Self.lowercased(Array(value.utf8))]
            let encoded = Self.lowercased(Self.percentEncoded(Array(value.utf8)))
            if encoded != forms[0] { forms.append(encoded) }
            return Secret(name: name, forms: forms)
        }
        .sorted { ($0.forms.map(\.count).max() ?? 0) > ($1.forms.map(\.count).max() ?? 0) }
    }

    /// Whether there is nothing to hide (no variable read, or all empty).
    public var isEmpty: Bool { secrets.isEmpty }

    /// `text` with every occurrence of a variable's value replaced by
    /// `${NAME}`.
    /// - Parameter text: a message or a reason about the call.
    /// - Returns: the text, safe to print and to store.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var bytes = Array(text.utf8)
        for secret in secrets {
            for form in secret.forms.sorted(by: { $0.count > $1.count }) {
                bytes = Self.replacing(form, in: bytes, with: Array("${\(secret.name)}".utf8))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `bytes` with each occurrence of `pattern` (already in lower case),
    /// compared ignoring ASCII case, replaced by `replacement`.
    private static func replacing(_ pattern: [UInt8], in bytes: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return bytes }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if index + pattern.count <= bytes.count,
               pattern.indices.allSatisfy({ lowercased(bytes[index + $0]) == pattern[$0] }) {
                result += replacement
                index += pattern.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    private static func lowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map(lowercased)
    }

    /// Every byte but RFC 3986's unreserved characters as `%XX`.
    private static func percentEncoded(_ bytes: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var result: [UInt8] = []
        for byte in bytes {
            let isUnreserved = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if isUnreserved {
                result.append(byte)
            } else {
                result += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return result
    }
}
