import Foundation
import Testing

/// Every configuration shipped in `examples/` loads, so the examples stay
/// true to the code.
@Suite("The shipped examples")
struct ExamplesTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let configurations: [String] = {
        let examples = root.appendingPathComponent("examples")
        let walker = FileManager.default.enumerator(atPath: examples.path)
        var found: [String] = []
        while let path = walker?.nextObject() as? String {
            if path.hasSuffix(".yaml") { found.append(examples.appendingPathComponent(path).path) }
        }
        return found.sorted()
    }()

    @Test func thereAreExamplesToCheck() {
        #expect(Self.configurations.count >= 2)
        #expect(Self.configurations.contains { $0.hasSuffix("examples/quickstart.yaml") })
    }

    @Test(arguments: configurations)
    func validateAcceptsTheExample(path: String) throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["validate", "--config", path])
        #expect(result.status == 0, "\(path): \(result.stderr)")
        #expect(result.stdout.contains(": OK, "))
    }
}
