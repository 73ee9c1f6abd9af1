import BreakerRunKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Running as root, a configuration someone else could change is refused
/// with the remedy for its fault: chown for the owner, chmod for the mode.
@Suite struct UnsafeConfigurationMessageTests {
    static func file(owner: uid_t, mode: mode_t) -> (directory: String, path: String) {
        var template = Array("/tmp/breaker-run-unsafe-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        chmod(directory, 0o755)
        let path = directory + "/breakers.yaml"
        let handle = fopen(path, "w")!
        fputs("version: 1\nbreakers:\n  job: {command: [\"true\"]}\n", handle)
        fclose(handle)
        chown(path, owner, 0)
        chmod(path, mode)
        return (directory, path)
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func aFileOwnedByAnotherUserIsToldToChown() throws {
        let (directory, path) = Self.file(owner: 65534, mode: 0o644)
        defer { _ = system("rm -rf '\(directory)'") }
        #expect {
            _ = try ConfigurationLoader.load(files: [path], isRoot: true)
        } throws: { error in
            "\(error)" == "refusing configuration \(path): the file is owned by uid 65534, not root; make it owned by root and writable only by root (chown root)"
        }
    }

    @Test(.enabled(if: getuid() == 0, "chown needs root"))
    func aFileOthersCanWriteIsToldToChmod() throws {
        let (directory, path) = Self.file(owner: 0, mode: 0o666)
        defer { _ = system("rm -rf '\(directory)'") }
        #expect {
            _ = try ConfigurationLoader.load(files: [path], isRoot: true)
        } throws: { error in
            "\(error)".hasSuffix("is writable by group or others; make it owned by root and writable only by root (chmod go-w)")
        }
    }
}
