@testable import BreakerRunKit
import Foundation
import Testing

/// breaker-run.yaml(5) documents every key the decoder reads: the test
/// compares the page with the keys' declarations (`TopLevelKeys`,
/// `BreakerKeys`, the registered kinds) and the decoder's nested lists.
/// (breaker-run(1) is compared with the command definitions by
/// EndToEndTests' CommandManPageTests, from the binary's own help dump.)
@Suite struct ManPageTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func page(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("man/\(name)"), encoding: .utf8)
    }

    /// The `.It Cm KEY` items of a page.
    static func items(_ page: String) -> Set<String> {
        Set(page.split(separator: "\n").filter { $0.hasPrefix(".It Cm ") }.map { String($0.dropFirst(7).prefix { $0 != " " }) })
    }

    /// The text of the first list item that documents `parent`: a line
    /// `.It Cm PARENT`, or an `.It` line showing `{PARENT: ...}`, up to the
    /// next `.It` of the same list (items of lists nested in it included).
    static func item(_ parent: String, in page: String) -> String? {
        let lines = page.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0 == ".It Cm \(parent)" || ($0.hasPrefix(".It ") && $0.contains("{\(parent):")) }) else {
            return nil
        }
        var depth = 0
        var end = lines.endIndex
        for index in (start + 1)..<lines.endIndex {
            let line = lines[index]
            if line.hasPrefix(".Bl ") { depth += 1 }
            if line.hasPrefix(".El") {
                if depth == 0 { end = index; break }
                depth -= 1
            }
            if depth == 0 && line.hasPrefix(".It ") { end = index; break }
        }
        return lines[start..<end].joined(separator: "\n")
    }

    /// Whether `text` documents `key`: as an item or a `Cm` macro
    /// (`.It Cm key`, `.Cm key`), or in a YAML form (`key:`).
    static func documents(_ key: String, in text: String) -> Bool {
        for line in text.split(separator: "\n") {
            if line.contains("\(key):") { return true }
            let words: [Substring] = line.split(separator: " ")
            for index in words.indices.dropLast() where words[index] == "Cm" || words[index] == ".Cm" {
                if words[index + 1] == key { return true }
            }
        }
        return false
    }

    @Test func theConfigurationPageDocumentsEveryTopLevelAndBreakerKey() throws {
        let page = try Self.page("breaker-run.yaml.5")
        let items = Self.items(page)
        let declared = TopLevelKeys.all.map(\.name) + BreakerKeys.all.map(\.name) + KindRegistry.builtIn.callKinds.map { $0.key }
        for key in declared {
            #expect(items.contains(key), "breaker-run.yaml(5) has no '.It Cm \(key)'")
        }
        let fallback = try #require(Self.item("fallback", in: page), "breaker-run.yaml(5) has no fallback item")
        for key in KindRegistry.builtIn.fallbackKinds.map({ $0.key }) + ["exit_code"] {
            #expect(Self.documents(key, in: fallback), "breaker-run.yaml(5)'s fallback item never mentions \(key)")
        }
    }

    /// Every nested key list the decoder checks keys against, with the key
    /// (or YAML form) whose item documents it.
    /// The keys of `probe` and `on_transition` that the page lists: the
    /// process kinds and `timeout`.
    static let timedCallKeys = KindRegistry.builtIn.callKinds.filter { $0.isProcess }.map { $0.key } + ["timeout"]

    static let nestedKeys: [(parent: String, keys: [String])] = [
        ("http", HTTPCallSpecification.keys),
        ("tcp", TCPCallSpecification.keys),
        ("cached", CachedFallback.keys),
        ("queue", QueueFallback.keys),
        ("retry", ConfigurationDecoder.retryKeys),
        ("failure_rate", ConfigurationDecoder.failureRateKeys),
        ("backoff", ConfigurationDecoder.backoffKeys),
        ("state", ConfigurationDecoder.stateKeys),
        ("per_key", ConfigurationDecoder.perKeyKeys),
        ("open_when", ConfigurationDecoder.openWhenKeys),
        ("probe", timedCallKeys),
        ("on_transition", timedCallKeys),
    ]

    @Test(arguments: nestedKeys.map(\.parent))
    func theConfigurationPageDocumentsEveryNestedKey(of parent: String) throws {
        let page = try Self.page("breaker-run.yaml.5")
        let keys = try #require(Self.nestedKeys.first { $0.parent == parent }?.keys)
        let text = try #require(Self.item(parent, in: page), "breaker-run.yaml(5) has no item for \(parent)")
        for key in keys {
            #expect(Self.documents(key, in: text), "breaker-run.yaml(5)'s item for \(parent) never mentions its key \(key)")
        }
    }

    /// The helpers find what they should, so that a pass means something.
    @Test func theItemOfAKeyEndsAtTheNextItemOfItsList() throws {
        let page = """
            .Bl -tag -width Ds
            .It Cm retry
            Retries:
            .Li {attempts: N} .
            .Bl -tag -width Ds
            .It Cm inner
            .Cm delay
            .El
            .It Cm backoff
            .Cm max
            .El
            """
        let retry = try #require(Self.item("retry", in: page))
        #expect(Self.documents("attempts", in: retry))
        #expect(Self.documents("delay", in: retry))
        #expect(!Self.documents("max", in: retry))
        #expect(Self.item("backoff", in: page) == ".It Cm backoff\n.Cm max")
        #expect(Self.item("jitter", in: page) == nil)
    }
}
