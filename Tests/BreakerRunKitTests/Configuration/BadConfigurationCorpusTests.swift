import BreakerRunKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The corpus of bad configurations in `Tests/Fixtures/bad-configs`: each case
/// is a file `NAME.yaml`, or a directory `NAME/` holding `breakers.yaml` and
/// `breakers.d/*.yaml`, and `NAME.expected` beside it lists the exact
/// `FILE:LINE:COLUMN: message` lines, with FILE relative to the corpus.
enum BadConfigurationCorpus {
    static let directory: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fixtures/bad-configs"
    }()

    /// Every case's name, sorted.
    static let cases: [String] = entries(of: directory)
        .filter { $0.hasSuffix(".expected") }
        .map { String($0.dropLast(".expected".count)) }
        .sorted()

    /// The files a case loads, in the order breaker-run reads them.
    static func files(of name: String) -> [String] {
        let path = directory + "/" + name
        if isDirectory(path) {
            let dropIns = entries(of: path + "/breakers.d").filter { $0.hasSuffix(".yaml") }.sorted()
            return [path + "/breakers.yaml"] + dropIns.map { path + "/breakers.d/" + $0 }
        }
        return [path + ".yaml"]
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

@Suite("The bad-configuration corpus")
struct BadConfigurationCorpusTests {
    @Test func holdsAtLeastFortyCasesEachWithAConfiguration() {
        #expect(BadConfigurationCorpus.cases.count >= 40)
        for name in BadConfigurationCorpus.cases {
            let first = BadConfigurationCorpus.files(of: name)[0]
            #expect(BadConfigurationCorpus.read(first) != nil, "\(name): no \(first)")
        }
    }

    @Test(arguments: BadConfigurationCorpus.cases)
    func reportsExactlyTheExpectedDiagnostics(name: String) throws {
        let expected = try #require(BadConfigurationCorpus.read(BadConfigurationCorpus.directory + "/\(name).expected"))
        let prefix = BadConfigurationCorpus.directory + "/"
        var actual: String
        do {
            _ = try ConfigurationLoader.load(files: BadConfigurationCorpus.files(of: name), environment: [:], isRoot: false)
            actual = "(loaded without errors)\n"
        } catch {
            #expect({ if case .invalid = error { true } else { false } }(), "\(name): \(error)")
            actual = error.description.split(separator: "\n").map { line in
                line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : String(line)
            }.joined(separator: "\n") + "\n"
            actual = actual.replacingOccurrences(of: prefix, with: "")
        }
        #expect(actual == expected, "\(name)")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
