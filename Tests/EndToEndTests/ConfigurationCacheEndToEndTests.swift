import Foundation
import Testing

/// The configuration cache, seen from the command line: a large
/// configuration is cached in `BREAKER_RUN_CACHE_DIR` (0700, files 0600),
/// once its files have settled; later runs read it and keep every
/// behaviour, an edit is seen at once,
/// and a symbolic link planted for the cache file is replaced, never
/// followed.
@Suite struct ConfigurationCacheEndToEndTests {
    /// 600 breakers, about 100 KB: over the cache's 64 KiB threshold.
    static func largeConfiguration(extra: String = "") -> String {
        var text = "version: 1\nx-base: &base {fail_max: 2, reset_timeout: 10m}\nbreakers:\n"
        for index in 0..<600 {
            text += """
                  svc-\(index):
                    <<: *base
                    description: "service number \(index), guarded by a breaker of its own"
                    command: [/usr/local/bin/call-service, --id, "\(index)"]
                    success_exit_codes: [0, 2-4]

                """
        }
        return text + extra
    }

    static func cacheFiles(_ sandbox: Sandbox) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sandbox.cacheDirectory)) ?? []).filter { !$0.hasPrefix(".") }
    }

    /// Runs `status svc-1` until the configuration, settled (see
    /// `ConfigurationCache.settling`: 2 s after its last change), is cached.
    static func waitForTheCache(_ sandbox: Sandbox, environment: [String: String] = [:], directory: String? = nil) throws -> Bool {
        try eventually(within: 30) {
            _ = try sandbox.run(["status", "svc-1"], environment: environment)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory ?? sandbox.cacheDirectory)) ?? []
            return entries.contains { $0.hasSuffix(".cache") }
        }
    }

    @Test func aLargeConfigurationIsCachedAndEveryRunStillObeysIt() throws {
        let sandbox = try Sandbox(config: Self.largeConfiguration())
        #expect(try sandbox.run(["run", "svc-5", "--", "false"]).status == 1)
        #expect(try Self.waitForTheCache(sandbox))
        let files = Self.cacheFiles(sandbox)
        #expect(files.count == 1, "\(files)")
        let directoryMode = try FileManager.default.attributesOfItem(atPath: sandbox.cacheDirectory)[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        let cacheFile = sandbox.cacheDirectory + "/" + files[0]
        #expect(try FileManager.default.attributesOfItem(atPath: cacheFile)[.posixPermissions] as? Int == 0o600)

        // Read from the cache: the second failure trips the breaker (fail_max
        // 2 from the merge key), and the open breaker rejects.
        #expect(try sandbox.run(["run", "svc-5", "--", "false"]).status == 1)
        #expect(try sandbox.status("svc-5")["state"] as? String == "open")
        #expect(try sandbox.run(["run", "svc-5", "--", "true"]).status == 75)

        // An unknown name is reported as without a cache, with a suggestion.
        let unknown = try sandbox.run(["run", "svc-5x", "--", "true"])
        #expect(unknown.status == 78)
        #expect(unknown.stderr.contains("no breaker named 'svc-5x' in the configuration; did you mean"), "\(unknown.stderr)")

        // An edit is seen by the very next run.
        try sandbox.write(config: Self.largeConfiguration(extra: """
              edited:
                command: ["true"]
                fallback: {output: "from the edit\\n", exit_code: 0}

            """))
        #expect(try sandbox.run(["trip", "edited"]).status == 0)
        let edited = try sandbox.run(["run", "edited"])
        #expect(edited.status == 0)
        #expect(edited.stdout == "from the edit\n")
    }

    @Test func aSymbolicLinkPlantedForTheCacheFileIsNeverFollowed() throws {
        let sandbox = try Sandbox(config: Self.largeConfiguration())
        #expect(try Self.waitForTheCache(sandbox))
        let cacheFile = sandbox.cacheDirectory + "/" + Self.cacheFiles(sandbox)[0]
        let victim = sandbox.path("victim")
        try "not yours\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: cacheFile)
        try FileManager.default.createSymbolicLink(atPath: cacheFile, withDestinationPath: victim)

        let run = try sandbox.run(["run", "svc-1", "--", "true"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "not yours\n", "the link's target is untouched")
        let type = try FileManager.default.attributesOfItem(atPath: cacheFile)[.type] as? FileAttributeType
        #expect(type == .typeRegular, "the link itself was replaced by the cache file")
    }

    @Test func aCacheDirectoryOthersCanWriteIsLeftAlone() throws {
        let sandbox = try Sandbox(config: Self.largeConfiguration())
        // Once a cache of its own shows the configuration settled,
        let settled = sandbox.path("settled")
        #expect(try Self.waitForTheCache(sandbox, environment: ["BREAKER_RUN_CACHE_DIR": settled], directory: settled))
        // a cache directory that others can write gets nothing.
        try FileManager.default.createDirectory(atPath: sandbox.cacheDirectory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o777])
        chmod(sandbox.cacheDirectory, 0o777)
        let run = try sandbox.run(["run", "svc-1", "--", "true"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.cacheFiles(sandbox).isEmpty, "nothing written where others could have planted it")
    }

    /// The core and breaker-run-full (which an http breaker is handed over
    /// to) keep an entry each: runs of both read their own, and neither
    /// replaces the other's.
    @Test func theCoreAndTheFullBinaryKeepAnEntryEach() throws {
        let sandbox = try Sandbox()
        let server = try HTTPServer(in: sandbox.directory, routes: ["/ok": ["status": 200, "body": "fine\n"]])
        try sandbox.write(config: Self.largeConfiguration(extra: """
              api:
                http: {url: '\(server.url("/ok"))'}

            """))
        #expect(try Self.waitForTheCache(sandbox))
        let api = try sandbox.run(["run", "api"])
        #expect(api.status == 0, "\(api.stderr)")
        #expect(api.stdout == "fine\n")
        let files = Self.cacheFiles(sandbox).sorted()
        #expect(files.count == 2, "one per binary: \(files)")
        func identities() throws -> [String] {
            try files.map { name in
                let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.cacheDirectory + "/" + name)
                return "\(attributes[.systemFileNumber] ?? 0) \((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
            }
        }
        let before = try identities()
        for _ in 0..<2 {
            #expect(try sandbox.run(["run", "api"]).status == 0)
            #expect(try sandbox.run(["run", "svc-1", "--", "true"]).status == 0)
        }
        #expect(try identities() == before, "hits only: no entry was written again")
    }

    /// A configuration too small to be cached never creates the cache's
    /// directory: nothing is left on a machine that does not need it.
    @Test func aSmallConfigurationCreatesNoCacheDirectory() throws {
        let sandbox = try Sandbox(config: "version: 1\nbreakers:\n  one: {command: [\"true\"]}\n")
        let cache = sandbox.path("nested/cache")
        for arguments in [["run", "one"], ["status", "one"], ["validate"]] {
            let result = try sandbox.run(arguments, environment: ["BREAKER_RUN_CACHE_DIR": cache])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("nested")))
    }
}
