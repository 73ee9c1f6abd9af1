/// A compact binary form of `YAMLNode` trees, for the configuration cache:
/// the tree after aliases and merge keys, with every node's line and column,
/// so that a breaker decoded from the cache reads exactly as one decoded
/// from the YAML, messages included.
///
/// A node is a tag byte (0 plain scalar, 1 quoted or block scalar, 2
/// sequence, 3 mapping), its line and column as LEB128 unsigned integers,
/// then a scalar's text (length, UTF-8 bytes), a sequence's count and
/// items, or a mapping's count and pairs (key text, key line and column,
/// value node). The file of every location is given when reading.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    /// Appends `value` as an unsigned LEB128 integer.
    mutating func integer(_ value: Int) {
        var rest = UInt(max(value, 0))
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Appends the length and the UTF-8 bytes of `text`.
    mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            integer(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends raw bytes, unprefixed.
    mutating func raw<Bytes: Collection<UInt8>>(_ more: Bytes) {
        bytes.append(contentsOf: more)
    }

    /// Appends `node` and everything under it.
    mutating func node(_ node: YAMLNode) {
        switch node.content {
        case let .scalar(text, isPlain):
            bytes.append(isPlain ? 0 : 1)
            location(node.location)
            self.text(text)
        case let .sequence(items):
            bytes.append(2)
            location(node.location)
            integer(items.count)
            for item in items { self.node(item) }
        case let .mapping(pairs):
            bytes.append(3)
            location(node.location)
            integer(pairs.count)
            for pair in pairs { self.pair(pair) }
        }
    }

    /// Appends one mapping pair: key, key location, value.
    mutating func pair(_ pair: YAMLPair) {
        text(pair.key)
        location(pair.keyLocation)
        node(pair.value)
    }

    private mutating func location(_ location: SourceLocation) {
        integer(location.line)
        integer(location.column)
    }
}

/// Reads what `BinaryWriter` wrote. Every read checks its bounds: a short,
/// damaged or foreign file makes a read return nil, never a crash, and the
/// caller then loads the YAML instead.
struct BinaryReader {
    private let bytes: [UInt8]
    /// The offset of the next byte to read.
    private(set) var offset: Int
    /// Nesting depth allowed, as `YAMLReader.maximumDepth`.
    private static let maximumDepth = YAMLReader.maximumDepth + 2

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Whether every byte has been read.
    var isAtEnd: Bool { offset == bytes.count }

    /// Reads an unsigned LEB128 integer that fits an `Int`.
    mutating func integer() -> Int? {
        var value = 0
        var shift = 0
        while offset < bytes.count, shift < 63 {
            let byte = bytes[offset]
            offset += 1
            value |= Int(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// Reads a length-prefixed UTF-8 text.
    mutating func text() -> String? {
        guard let count = integer(), count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }

    /// Whether the length-prefixed text at the offset is `expected`,
    /// comparing bytes without making a `String`; moves past it either way.
    mutating func textEquals(_ expected: [UInt8]) -> Bool? {
        guard let count = integer(), count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return count == expected.count && bytes[offset..<offset + count].elementsEqual(expected)
    }

    /// Reads `count` raw bytes.
    mutating func raw(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Moves to `offset`, if it is within the bytes.
    mutating func seek(to offset: Int) -> Bool {
        guard offset >= 0, offset <= bytes.count else { return false }
        self.offset = offset
        return true
    }

    /// Reads a node and everything under it; locations name `file`.
    mutating func node(file: String, depth: Int = 0) -> YAMLNode? {
        guard depth <= Self.maximumDepth, offset < bytes.count else { return nil }
        let tag = bytes[offset]
        offset += 1
        guard let location = location(file: file) else { return nil }
        switch tag {
        case 0, 1:
            guard let text = text() else { return nil }
            return YAMLNode(content: .scalar(text, isPlain: tag == 0), location: location)
        case 2:
            guard let count = integer(), count <= bytes.count - offset else { return nil }
            var items: [YAMLNode] = []
            items.reserveCapacity(count)
            for _ in 0..<count {
                guard let item = node(file: file, depth: depth + 1) else { return nil }
                items.append(item)
            }
            return YAMLNode(content: .sequence(items), location: location)
        case 3:
            guard let count = integer(), count <= bytes.count - offset else { return nil }
            var pairs: [YAMLPair] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                guard let pair = pair(file: file, depth: depth + 1) else { return nil }
                pairs.append(pair)
            }
            return YAMLNode(content: .mapping(pairs), location: location)
        default:
            return nil
        }
    }

    /// Reads one mapping pair.
    mutating func pair(file: String, depth: Int = 0) -> YAMLPair? {
        guard let key = text(), let keyLocation = location(file: file),
              let value = node(file: file, depth: depth) else { return nil }
        return YAMLPair(key: key, keyLocation: keyLocation, value: value)
    }

    private mutating func location(file: String) -> SourceLocation? {
        guard let line = integer(), let column = integer() else { return nil }
        return SourceLocation(file: file, line: line, column: column)
    }
}
