import FoundationEssentials

/// The on-disk form of a `QueueItem`, one JSON object per file (format 1):
///
///     {"attempts": 0,
///      "call": {"command": ["/usr/local/bin/pay-batch", "--since", "yesterday"]},
///      "environment": {"TZ": "UTC"},
///      "format": 1,
///      "id": "q-3f9c0b1e2d4a5f6789abcdef01234567",
///      "queued_at": "2026-12-06T02:00:00Z",
///      "queued_at_ns": 1796522400000000000,
///      "stdin_base64": "AAEC/w==",
///      "user": {"name": "backup", "uid": 34},
///      "working_directory": "/srv/batch"}
///
/// `call` is the string `"configured"` for the breaker's configured call.
/// The standard input is base64 (RFC 4648, section 4), so any bytes survive.
/// `queued_at_ns` is the exact time; `queued_at` (RFC 3339) is for people
/// and only read when `queued_at_ns` is missing.
///
/// Decoding is lenient where a default is harmless and strict where a guess
/// would run something else: unknown keys are ignored; a missing `attempts`
/// is 0, a missing `environment` empty, a missing `stdin_base64` empty, a
/// missing `user` unknown; a missing or unreadable `format`, `id`, `call`,
/// `working_directory` or time, or any value of the wrong type, makes the
/// item unreadable (`QueueItemDecodingError`), and the store moves it aside,
/// reports it, and never runs it. A newer format is left where it is.
package enum QueueItemCodec {
    /// The format this version writes and the newest it reads.
    package static let currentFormat = 1

    /// The largest item file read, in bytes (64 MiB: 1 MiB of standard input
    /// by default, `max_stdin` larger on request, base64 adds a third).
    package static let maximumSize = 64 << 20

    /// Encodes an item as its file's bytes (JSON, keys sorted, one line
    /// and a newline).
    /// - Parameter item: the item.
    /// - Returns: the bytes.
    package static func encode(_ item: QueueItem) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every member is a string, an integer or a collection of them:
        // encoding cannot fail.
        let data = try! encoder.encode(StoredQueueItem(item))
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// Decodes an item file's bytes.
    /// - Parameter bytes: the file's contents.
    /// - Returns: the item.
    /// - Throws: `QueueItemDecodingError` naming what is wrong.
    package static func decode(_ bytes: [UInt8]) throws(QueueItemDecodingError) -> QueueItem {
        if bytes.count > maximumSize { throw .tooLarge(bytes: bytes.count, limit: maximumSize) }
        do {
            return try JSONDecoder().decode(StoredQueueItem.self, from: Data(bytes)).item
        } catch let error as QueueItemDecodingError {
            throw error
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw .notAnObject
        } catch {
            throw .notJSON
        }
    }
}

/// Why an item file could not be read as a `QueueItem`. Its description is
/// the reason alone, such as `no 'working_directory'`; the store's report
/// names the file.
package enum QueueItemDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not JSON (empty, cut short, garbage).
    case notJSON
    /// The JSON is not an object.
    case notAnObject
    /// A field that has no safe default is absent.
    case missingField(String)
    /// A field has a value of the wrong type or outside its range.
    case invalidField(String, reason: String)
    /// The file is of a newer format than this version reads; it is left
    /// where it is, for the newer version.
    case unsupportedFormat(found: Int, highestSupported: Int)
    /// The file is larger than `QueueItemCodec.maximumSize` (`limit`), in bytes.
    case tooLarge(bytes: Int, limit: Int)
    /// The file could not be read as a regular file of the queue (a
    /// symbolic link, a directory, a read error): the store's message.
    case unreadableFile(String)

    /// Whether the file is damaged (moved aside) rather than of a newer
    /// format (left where it is).
    package var isDamage: Bool {
        if case .unsupportedFormat = self { return false }
        return true
    }

    /// The reason, one phrase.
    package var description: String {
        switch self {
        case .notJSON: return "not valid JSON"
        case .notAnObject: return "not a JSON object"
        case .missingField(let field): return "no '\(field)'"
        case .invalidField(let field, let reason): return "'\(field)' \(reason)"
        case .unsupportedFormat(let found, let highest): return "format \(found), newer than this breaker-run reads (up to \(highest))"
        case .tooLarge(let bytes, let limit): return "\(bytes) bytes or more, above the limit of \(limit)"
        case .unreadableFile(let message): return message
        }
    }
}

/// The JSON shape of an item file.
private struct StoredQueueItem: Codable {
    var item: QueueItem

    init(_ item: QueueItem) { self.item = item }

    enum Key: String, CodingKey {
        case format, id, call, command
        case workingDirectory = "working_directory"
        case standardInput = "stdin_base64"
        case environment
        case queuedAt = "queued_at"
        case queuedAtNanoseconds = "queued_at_ns"
        case user, uid, name, attempts
    }

    func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: Key.self)
        try object.encode(QueueItemCodec.currentFormat, forKey: .format)
        try object.encode(item.id, forKey: .id)
        switch item.call {
        case .configured:
            try object.encode("configured", forKey: .call)
        case .command(let arguments):
            var call = object.nestedContainer(keyedBy: Key.self, forKey: .call)
            try call.encode(arguments, forKey: .command)
        }
        try object.encode(item.workingDirectory, forKey: .workingDirectory)
        try object.encode(Data(item.standardInput).base64EncodedString(), forKey: .standardInput)
        try object.encode(item.environment, forKey: .environment)
        try object.encode(formatRFC3339(wallNanoseconds: item.queuedAtWallNanoseconds), forKey: .queuedAt)
        try object.encode(item.queuedAtWallNanoseconds, forKey: .queuedAtNanoseconds)
        var user = object.nestedContainer(keyedBy: Key.self, forKey: .user)
        try user.encode(item.user.id, forKey: .uid)
        try user.encode(item.user.name, forKey: .name)
        try object.encode(item.attempts, forKey: .attempts)
    }

    init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: Key.self)
        guard let format = try field(Int.self, .format, in: object) else { throw QueueItemDecodingError.missingField("format") }
        if format > QueueItemCodec.currentFormat {
            throw QueueItemDecodingError.unsupportedFormat(found: format, highestSupported: QueueItemCodec.currentFormat)
        }
        guard format >= 1 else { throw QueueItemDecodingError.invalidField("format", reason: "is \(format), not a format") }

        guard let id = try field(String.self, .id, in: object) else { throw QueueItemDecodingError.missingField("id") }
        guard QueueItem.isValidID(id) else { throw QueueItemDecodingError.invalidField("id", reason: "is not q- and 32 hexadecimal digits") }

        guard object.contains(.call) else { throw QueueItemDecodingError.missingField("call") }
        let call: QueueItem.Call
        if let word = try? object.decode(String.self, forKey: .call) {
            guard word == "configured" else { throw QueueItemDecodingError.invalidField("call", reason: "is \"\(word)\", not \"configured\" or {\"command\": [...]}") }
            call = .configured
        } else if let nested = try? object.nestedContainer(keyedBy: Key.self, forKey: .call),
                  let arguments = try? nested.decode([String].self, forKey: .command) {
            guard !arguments.isEmpty, !arguments[0].isEmpty else { throw QueueItemDecodingError.invalidField("call", reason: "has an empty command") }
            call = .command(arguments)
        } else {
            throw QueueItemDecodingError.invalidField("call", reason: "is neither \"configured\" nor {\"command\": [strings]}")
        }

        guard let workingDirectory = try field(String.self, .workingDirectory, in: object) else {
            throw QueueItemDecodingError.missingField("working_directory")
        }
        guard workingDirectory.hasPrefix("/") else { throw QueueItemDecodingError.invalidField("working_directory", reason: "is not an absolute path") }

        var standardInput: [UInt8] = []
        if let encoded = try field(String.self, .standardInput, in: object) {
            guard let data = Data(base64Encoded: encoded) else { throw QueueItemDecodingError.invalidField("stdin_base64", reason: "is not base64") }
            standardInput = Array(data)
        }

        let environment = try field([String: String].self, .environment, in: object) ?? [:]

        let queuedAt: Int64
        if let nanoseconds = try field(Int64.self, .queuedAtNanoseconds, in: object) {
            queuedAt = nanoseconds
        } else if let text = try field(String.self, .queuedAt, in: object) {
            guard let seconds = parseRFC3339Seconds(text) else { throw QueueItemDecodingError.invalidField("queued_at", reason: "is not an RFC 3339 time in UTC") }
            queuedAt = seconds * 1_000_000_000
        } else {
            throw QueueItemDecodingError.missingField("queued_at_ns")
        }

        var user = QueueItem.User(id: UInt32.max, name: "unknown")
        if object.contains(.user) {
            guard let nested = try? object.nestedContainer(keyedBy: Key.self, forKey: .user) else {
                throw QueueItemDecodingError.invalidField("user", reason: "is not an object")
            }
            user.id = try field(UInt32.self, .uid, in: nested, named: "user.uid") ?? user.id
            user.name = try field(String.self, .name, in: nested, named: "user.name") ?? user.name
        }

        let attempts = try field(Int.self, .attempts, in: object) ?? 0
        guard attempts >= 0 else { throw QueueItemDecodingError.invalidField("attempts", reason: "is negative") }

        item = QueueItem(id: id, call: call, workingDirectory: workingDirectory, standardInput: standardInput,
                         environment: environment, queuedAtWallNanoseconds: queuedAt, user: user, attempts: attempts)
    }
}

/// A field of an item file: nil when absent or null.
/// - Throws: `QueueItemDecodingError.invalidField` when present with another type.
private func field<T: Decodable>(_ type: T.Type, _ key: StoredQueueItem.Key, in object: KeyedDecodingContainer<StoredQueueItem.Key>,
                                 named name: String? = nil) throws -> T? {
    guard object.contains(key), (try? object.decodeNil(forKey: key)) != true else { return nil }
    do {
        return try object.decode(type, forKey: key)
    } catch {
        throw QueueItemDecodingError.invalidField(name ?? key.stringValue, reason: "is not \(describe(type))")
    }
}

private func describe<T>(_ type: T.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Int.Type, is Int64.Type: return "an integer"
    case is UInt32.Type: return "a uid (0 to 4294967295)"
    case is [String: String].Type: return "an object of strings"
    default: return "of the expected type"
    }
}

/// The whole seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`, as
/// `formatRFC3339(wallNanoseconds:)` writes it; nil for anything else.
private func parseRFC3339Seconds(_ text: String) -> Int64? {
    let bytes = Array(text.utf8)
    guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
          bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z") else { return nil }
    func number(_ range: Range<Int>) -> Int64? {
        var value: Int64 = 0
        for byte in bytes[range] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
    guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
          let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
          (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    let days = era * 146_097 + dayOfEra - 719_468
    return days * 86_400 + hour * 3_600 + minute * 60 + second
}
