import CYAML

/// A YAML node as libyaml loaded it, with aliases expanded and `<<` merge keys
/// resolved. Scalars stay untyped: typing is the configuration decoder's.
package struct YAMLNode {
    /// What the node holds.
    package enum Content {
        /// A scalar's text; `isPlain` is false for quoted and block scalars,
        /// which are always strings.
        case scalar(String, isPlain: Bool)
        /// A sequence's items.
        case sequence([YAMLNode])
        /// A mapping's pairs, local keys first, then merged ones.
        case mapping([YAMLPair])
    }

    /// What the node holds.
    package var content: Content
    /// Where the node starts (for an alias, where its anchor starts).
    package var location: SourceLocation

    /// The scalar's text when the node is a plain or quoted scalar.
    package var text: String? {
        if case let .scalar(text, _) = content { return text }
        return nil
    }

    /// Whether the node is a plain `null`, `~` or empty scalar.
    package var isNull: Bool {
        if case let .scalar(text, isPlain) = content, isPlain {
            switch text {
            case "", "~", "null", "Null", "NULL": return true
            default: return false
            }
        }
        return false
    }
}

/// One key and value of a mapping; the key is always a scalar.
package struct YAMLPair {
    /// The key's text.
    package var key: String
    /// Where the key is written.
    package var keyLocation: SourceLocation
    /// The value.
    package var value: YAMLNode
}

/// Loads YAML text into `YAMLNode`s with libyaml's document API.
struct YAMLReader {
    /// Node visits beyond the document's own nodes (that is, visits that
    /// aliases add by being used again) before the document is refused as an
    /// alias expansion bomb. A large configuration without aliases (10,000
    /// breakers are about 250,000 nodes) is never refused for its size.
    static let maximumNodeVisits = 100_000
    /// Nesting depth before the document is refused (guards the stack against
    /// recursive aliases and pathological nesting).
    static let maximumDepth = 200

    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    private var visits = 0
    /// The visits allowed: the document's nodes plus `maximumNodeVisits`.
    private var visitLimit = maximumNodeVisits
    private var isExhausted = false

    init(file: String) {
        self.file = file
    }

    /// Parses `yaml`; returns the root node, or nil after recording why not.
    mutating func read(_ yaml: String) -> YAMLNode? {
        read(Array(yaml.utf8))
    }

    /// Parses the UTF-8 bytes of a YAML text; returns the root node, or nil
    /// after recording why not.
    mutating func read(_ yaml: [UInt8]) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else {
            report(line: 1, column: 1, "out of memory while parsing")
            return nil
        }
        defer { yaml_parser_delete(&parser) }
        // libyaml asserts on a null input pointer, so never pass an empty array.
        var bytes = yaml
        let count = bytes.count
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, count)
            var document = yaml_document_t()
            guard yaml_parser_load(&parser, &document) != 0 else {
                reportParserError(parser, in: yaml)
                return nil
            }
            defer { yaml_document_delete(&document) }
            guard let root = yaml_document_get_root_node(&document) else {
                report(line: 1, column: 1, "empty configuration; start with 'version: 1'")
                return nil
            }
            var next = yaml_document_t()
            if yaml_parser_load(&parser, &next) != 0 {
                if yaml_document_get_root_node(&next) != nil {
                    let mark = next.start_mark
                    report(line: Int(mark.line) + 1, column: Int(mark.column) + 1,
                           "several YAML documents in one file; keep one, or move the others to files of their own")
                }
                yaml_document_delete(&next)
            } else {
                reportParserError(parser, in: yaml)
            }
            if let start = document.nodes.start, let top = document.nodes.top {
                visitLimit = (top - start) + Self.maximumNodeVisits
            }
            let rootIndex = Int32(root - document.nodes.start) + 1
            return build(rootIndex, in: &document, depth: 0)
        }
    }

    /// Reports libyaml's error at its place in `bytes`: a reader error
    /// (invalid UTF-8) has only a byte offset, which is turned into a line
    /// and column here; a tab where indentation is read is named as such.
    private mutating func reportParserError(_ parser: yaml_parser_t, in bytes: [UInt8]) {
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        let context = parser.context.map { String(cString: $0) }
        if parser.error == YAML_READER_ERROR {
            let offset = min(Int(parser.problem_offset), bytes.count)
            let (line, column) = Self.position(of: offset, in: bytes)
            let byte = offset < bytes.count ? " (byte 0x\(String(bytes[offset], radix: 16, uppercase: true)))" : ""
            report(line: line, column: column, "invalid UTF-8: \(problem)\(byte); save the file as UTF-8")
            return
        }
        let mark = parser.problem_mark
        let index = Int(mark.index)
        if index < bytes.count, bytes[index] == UInt8(ascii: "\t"), Self.isIndentation(index, in: bytes) {
            report(line: Int(mark.line) + 1, column: Int(mark.column) + 1,
                   "a tab is used for indentation; YAML indents with spaces only: replace the tab with spaces")
            return
        }
        var message = "invalid YAML: \(problem)"
        if let context { message += " (\(context))" }
        report(line: Int(mark.line) + 1, column: Int(mark.column) + 1, message)
    }

    /// The 1-based line and column (in characters, as libyaml counts them)
    /// of the byte at `offset`; the bytes before it are valid UTF-8.
    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in bytes[..<offset] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                // A byte that starts a character, not a continuation byte.
                column += 1
            }
        }
        return (line, column)
    }

    /// Whether only spaces and tabs come before `index` on its line.
    private static func isIndentation(_ index: Int, in bytes: [UInt8]) -> Bool {
        var position = index
        while position > 0 {
            position -= 1
            switch bytes[position] {
            case UInt8(ascii: "\n"): return true
            case UInt8(ascii: " "), UInt8(ascii: "\t"): continue
            default: return false
            }
        }
        return true
    }

    private mutating func report(line: Int, column: Int, _ message: String) {
        diagnostics.append(Diagnostic(location: SourceLocation(file: file, line: line, column: column), message: message))
    }

    private mutating func report(at location: SourceLocation, _ message: String) {
        // Once the walk is cut short, the rest of the tree is placeholders.
        guard !isExhausted else { return }
        diagnostics.append(Diagnostic(location: location, message: message))
    }

    private mutating func build(_ index: Int32, in document: inout yaml_document_t, depth: Int) -> YAMLNode {
        guard let node = yaml_document_get_node(&document, index) else {
            return YAMLNode(content: .scalar("", isPlain: true), location: SourceLocation(file: file, line: 1, column: 1))
        }
        let location = SourceLocation(file: file, line: Int(node.pointee.start_mark.line) + 1,
                                      column: Int(node.pointee.start_mark.column) + 1)
        let empty = YAMLNode(content: .scalar("", isPlain: true), location: location)
        if isExhausted { return empty }
        visits += 1
        if visits > visitLimit || depth > Self.maximumDepth {
            let reason = depth > Self.maximumDepth
                ? "nested more than \(Self.maximumDepth) levels deep (a recursive alias?)"
                : "more than \(Self.maximumNodeVisits) nodes once aliases are expanded (an alias expansion bomb?)"
            report(at: location, "the configuration is \(reason); simplify its anchors and aliases")
            isExhausted = true
            return empty
        }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length)), as: UTF8.self)
            return YAMLNode(content: .scalar(text, isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE), location: location)
        case YAML_SEQUENCE_NODE:
            var indices: [Int32] = []
            let sequence = node.pointee.data.sequence.items
            if let start = sequence.start, let top = sequence.top { indices.reserveCapacity(top - start) }
            var item = node.pointee.data.sequence.items.start
            while let current = item, current < node.pointee.data.sequence.items.top {
                indices.append(current.pointee)
                item = current + 1
            }
            let items = indices.map { build($0, in: &document, depth: depth + 1) }
            return YAMLNode(content: .sequence(items), location: location)
        case YAML_MAPPING_NODE:
            var indices: [(key: Int32, value: Int32)] = []
            let mapping = node.pointee.data.mapping.pairs
            if let start = mapping.start, let top = mapping.top { indices.reserveCapacity(top - start) }
            var pair = node.pointee.data.mapping.pairs.start
            while let current = pair, current < node.pointee.data.mapping.pairs.top {
                indices.append((current.pointee.key, current.pointee.value))
                pair = current + 1
            }
            return buildMapping(indices, location: location, in: &document, depth: depth)
        default:
            return empty
        }
    }

    private mutating func buildMapping(_ indices: [(key: Int32, value: Int32)], location: SourceLocation,
                                       in document: inout yaml_document_t, depth: Int) -> YAMLNode {
        var local: [YAMLPair] = []
        local.reserveCapacity(indices.count)
        // Most mappings are small: a linear search of the keys so far beats
        // hashing; a large one (the breakers) gets a dictionary.
        var seen = SeenKeys(isLarge: indices.count > 16)
        var merged: [YAMLPair] = []
        for (keyIndex, valueIndex) in indices {
            let key = build(keyIndex, in: &document, depth: depth + 1)
            let value = build(valueIndex, in: &document, depth: depth + 1)
            guard case let .scalar(name, isPlain) = key.content else {
                report(at: key.location, "a key must be a name, not a list or a mapping")
                continue
            }
            if isPlain && name == "<<" {
                merged += mergeSources(value)
                continue
            }
            if let first = seen.location(of: name, in: local) {
                report(at: key.location,
                       "duplicate key '\(name)' (first at line \(first.line), column \(first.column)); keep only one")
                continue
            }
            seen.insert(name, at: key.location, index: local.count)
            local.append(YAMLPair(key: name, keyLocation: key.location, value: value))
        }
        // Local keys win over merged ones; of several merged mappings, the
        // first that has a key wins, as YAML 1.1's merge key specifies.
        for pair in merged where seen.location(of: pair.key, in: local) == nil {
            seen.insert(pair.key, at: pair.keyLocation, index: local.count)
            local.append(pair)
        }
        return YAMLNode(content: .mapping(local), location: location)
    }

    private mutating func mergeSources(_ value: YAMLNode) -> [YAMLPair] {
        switch value.content {
        case let .mapping(pairs):
            return pairs
        case let .sequence(items):
            var pairs: [YAMLPair] = []
            for item in items {
                if case let .mapping(itemPairs) = item.content {
                    pairs += itemPairs
                } else {
                    report(at: item.location, "'<<' merges mappings only; write <<: *anchor or <<: [*a, *b] with anchors of mappings")
                }
            }
            return pairs
        case .scalar:
            report(at: value.location, "'<<' merges mappings only; write <<: *anchor or <<: [*a, *b] with anchors of mappings")
            return []
        }
    }
}

/// The keys of a mapping seen so far, for duplicate and merge checks.
private struct SeenKeys {
    private var indexByKey: [String: Int]?

    init(isLarge: Bool) {
        indexByKey = isLarge ? [:] : nil
    }

    /// Where `key` is among `pairs` (the mapping's pairs so far), if it is.
    func location(of key: String, in pairs: [YAMLPair]) -> SourceLocation? {
        if let indexByKey { return indexByKey[key].map { pairs[$0].keyLocation } }
        return pairs.first { $0.key == key }?.keyLocation
    }

    mutating func insert(_ key: String, at location: SourceLocation, index: Int) {
        indexByKey?[key] = index
    }
}
