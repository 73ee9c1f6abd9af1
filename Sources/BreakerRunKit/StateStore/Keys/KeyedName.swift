/// One key of a keyed breaker (`per_key:`), as the state backends address
/// it: every `StateBackend` operation that takes a breaker's name takes a
/// key's `storeName` too, and keeps that key's state apart from the
/// breaker's and from every other key's.
///
/// A key is data, never a path: any UTF-8 string of 1 to 256 bytes.
/// Breaker names cannot hold a `/`, so `NAME/KEY` (the `storeName`) is
/// never a breaker's name, and `split(_:)` takes it apart at the first `/`.
/// The file store keeps the key's state in `NAME/keys/COMPONENT/`, where
/// COMPONENT (`fileComponent`) is an encoding that cannot leave that
/// directory; PostgreSQL keeps it in the row named `storeName`.
public struct KeyedName: Sendable, Hashable, CustomStringConvertible {
    /// The keyed breaker's name.
    public var breaker: String
    /// The key, as given.
    public var key: String

    /// The longest key, in bytes of UTF-8.
    public static let maximumKeyLength = 256

    /// Creates the name of `key` of breaker `breaker`.
    /// - Parameters:
    ///   - breaker: the keyed breaker's name.
    ///   - key: the key, valid by `problem(with:)`.
    public init(breaker: String, key: String) {
        self.breaker = breaker
        self.key = key
    }

    /// `NAME/KEY`: the name the backends take for this key.
    public var storeName: String { "\(breaker)/\(key)" }

    /// `NAME --key KEY`, the key escaped for a terminal, for messages.
    public var description: String { "\(breaker) --key \(Self.escaped(key))" }

    /// Takes a backend's name apart.
    /// - Parameter storeName: a breaker's name, or a key's `storeName`.
    /// - Returns: the breaker's name and the key; a nil key for a breaker.
    public static func split(_ storeName: String) -> (breaker: String, key: String?) {
        guard let slash = storeName.utf8.firstIndex(of: UInt8(ascii: "/")) else { return (storeName, nil) }
        let breaker = String(storeName[..<slash])
        let key = String(storeName[storeName.utf8.index(after: slash)...])
        return (breaker, key)
    }

    /// Why `key` cannot be a key, for a usage error; nil when it can.
    /// - Parameter key: the key given with `--key`.
    /// - Returns: one sentence, or nil.
    public static func problem(with key: String) -> String? {
        if key.isEmpty { return "--key needs a non-empty key" }
        if key.utf8.count > maximumKeyLength {
            return "--key is \(key.utf8.count) bytes long; a key is at most \(maximumKeyLength) bytes of UTF-8"
        }
        if key.utf8.contains(0) { return "--key cannot contain a NUL byte" }
        // Bytes that are not UTF-8 reach the program as U+FFFD: two
        // different keys would then be one.
        if key.unicodeScalars.contains("\u{FFFD}") { return "--key must be UTF-8 text; it has bytes that are not UTF-8 (or U+FFFD)" }
        return nil
    }

    /// The longest file component written as the key itself; a longer
    /// encoding is replaced by a hash.
    static let longestSpelledComponent = 200

    /// The name of the key's directory under `NAME/keys/`: `k` and the key
    /// with every byte but `A-Z a-z 0-9 _ - .` written `%XX` (so `/`, NUL,
    /// newlines and `%` itself never appear raw, and the leading `k` keeps
    /// `.`, `..` and a leading `-` ordinary); when that is longer than 200
    /// bytes, `h` and 32 hexadecimal digits of two 64-bit FNV-1a hashes of
    /// the key, whose directory also keeps the key itself in a file `key`
    /// that is compared on every open, so that two long keys of the same
    /// hash are refused rather than merged (`StateStoreError.keyCollision`).
    /// - Parameter key: the key.
    /// - Returns: a single path component of at most 200 bytes.
    static func fileComponent(for key: String) -> String {
        var encoded: [UInt8] = [UInt8(ascii: "k")]
        encoded.reserveCapacity(key.utf8.count + 1)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
                encoded.append(byte)
            default:
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        if encoded.count <= longestSpelledComponent { return String(decoding: encoded, as: UTF8.self) }
        return "h" + hexadecimal(fnv1a64(key.utf8)) + hexadecimal(fnv1a64([0x6b] + Array(key.utf8)))
    }

    /// Whether `component` is a hashed one (`fileComponent`), whose
    /// directory keeps the key in a file to compare.
    static func isHashed(_ component: String) -> Bool {
        component.utf8.first == UInt8(ascii: "h")
    }

    /// The key shown on a terminal: printable characters as they are;
    /// control characters as `\n`, `\t`, `\r` or `\xHH`, and `\` as `\\`,
    /// so that a key cannot forge a line or move the cursor, and two keys
    /// never look the same.
    /// - Parameter key: the key.
    /// - Returns: the escaped key.
    public static func escaped(_ key: String) -> String {
        escapingControls(key.replacing("\\", with: "\\\\"))
    }

    /// `text` with its control characters (C0, DEL, C1) written `\n`, `\t`,
    /// `\r` or `\xHH`, for a line on a terminal or in a log: nothing else
    /// changes.
    /// - Parameter text: the text.
    /// - Returns: the text on one line.
    public static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where isControl(scalar):
                result += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func hexadecimal(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
