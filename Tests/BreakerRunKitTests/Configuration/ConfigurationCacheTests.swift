@testable import BreakerRunKit
import CircuitBreaker
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The configuration cache gives exactly what parsing the YAML gives, for
/// the breakers asked for; misses on any change of content; and is not used
/// where it could have been planted by someone else.
@Suite struct ConfigurationCacheTests {
    /// The wall clock an hour ahead: every file written by a test has
    /// settled (see `ConfigurationCache.settling`).
    @Sendable static func anHourAhead() -> timespec {
        var time = ConfigurationCache.realTime()
        time.tv_sec += 3600
        return time
    }

    /// A main file and a drop-in, over the cache's size threshold, using
    /// anchors, merge keys, defaults, `${VAR}`, per-file `state_dir` and
    /// `state`, and `per_key`, so that a breaker read back from the cache
    /// has every kind of node to get right.
    final class Files {
        let directory: String
        var main: String { directory + "/breakers.yaml" }
        var dropIn: String { directory + "/breakers.d/20-more.yaml" }
        var cache: String { directory + "/cache" }
        var files: [String] { [main, dropIn] }

        init(metricsFile: Bool = false) {
            var template = Array("/tmp/breaker-run-cache-XXXXXX".utf8CString)
            directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
            mkdir(directory + "/breakers.d", 0o755)
            var main = """
                version: 1
                state_dir: state
                \(metricsFile ? "metrics_file: /tmp/breaker-run-cache-test.prom\n" : "")
                x-quick: &quick {fail_max: 2, reset_timeout: 10s}
                defaults:
                  timeout: 30s
                  success_exit_codes: [0, 3-5]
                breakers:

                """
            for index in 0..<700 {
                main += """
                      svc-\(index):
                        <<: *quick
                        description: "service \(index): 'quoted' text"
                        command: [/usr/local/bin/call, --id, "\(index)", yes, '010']
                        env: {URL: "https://svc-\(index).internal/${REGION}", LANG: C.UTF-8}
                        fallback: [{cached: {max_age: 1h}}, {output: "unavailable \(index)", exit_code: 75}]

                    """
            }
            main += """
                  local:
                    <<: *quick
                    fail_max: 9
                    per_key: {max_keys: 20, expire_after: 36h, open_when: {keys_open: 25%, minimum_keys: 2}, bulkhead: breaker}
                    shell: |
                      echo one
                      echo two

                """
            write(main, to: self.main)
            write("""
                version: 1
                defaults: {fail_max: 4, state: {backend: postgresql, url: "postgresql://ops@db.internal/ops", schema: fleet}}
                breakers:
                  shared: {command: [pg_isready], reset_timeout: 1m}
                  "no": {command: ["true"]}

                """, to: dropIn)
        }

        deinit { _ = system("rm -rf '\(directory)'") }

        func load(only: Set<String>?, cached: Bool = true) throws -> Configuration {
            try ConfigurationLoader.load(files: files, environment: ["REGION": "eu"], isRoot: false, only: only,
                                         cache: cached ? ConfigurationCache(directory: cache, now: ConfigurationCacheTests.anHourAhead) : nil)
        }

        func cacheFiles() -> [String] {
            BadConfigurationCorpus.entries(of: cache)
        }
    }

    static func write(_ text: String, to path: String) {
        let file = fopen(path, "w")!
        fputs(text, file)
        fclose(file)
    }

    @Test func aHitReadsTheBreakersAskedForExactlyAsTheYAMLDoes() throws {
        let files = Files()
        let full = try files.load(only: nil, cached: false)
        #expect(full.breakers.count == 703)

        // A miss parses everything and writes the entry; the hit that
        // follows holds only the breakers asked for.
        let miss = try files.load(only: ["svc-7"])
        #expect(miss.breakers.count == 703)
        #expect(files.cacheFiles().count == 1)
        for names: Set<String> in [["svc-7"], ["local"], ["shared", "no"], ["svc-0", "svc-699", "local"]] {
            let hit = try files.load(only: names)
            #expect(Set(hit.breakers.keys) == names, "a hit reads only these: \(names)")
            for name in names {
                #expect(hit.breakers[name] == full.breakers[name], "\(name) reads the same from the cache")
            }
            #expect(hit.stateDirectory == full.stateDirectory)
            #expect(hit.log == full.log)
            #expect(hit.files == full.files)
        }
        // The comparisons above include every location, which messages use.
        let local = try #require(try files.load(only: ["local"]).breakers["local"])
        #expect(local.location.line > 4000 && local.location.file == files.main)
        #expect(local.policy.failMax == 9)
        #expect(local.perKey == PerKey(maxKeys: 20, expireAfter: .seconds(36 * 3600),
                                       openWhen: PerKey.RollUp(keysOpen: 0.25, minimumKeys: 2), bulkhead: .breaker))
        #expect(try files.load(only: ["shared"]).breakers["shared"]?.policy.failMax == 4, "the drop-in's own defaults")
    }

    @Test func anEditedFileMissesAndTheEditIsSeen() throws {
        let files = Files()
        _ = try files.load(only: ["shared"])
        #expect(try files.load(only: ["shared"]).breakers["shared"]?.policy.resetTimeout == .seconds(60))
        // The same length, the same everything but one digit.
        var text = String(decoding: try read(files.dropIn), as: UTF8.self)
        text = text.replacing("reset_timeout: 1m", with: "reset_timeout: 2m")
        Self.write(text, to: files.dropIn)
        let edited = try files.load(only: ["shared"])
        #expect(edited.breakers["shared"]?.policy.resetTimeout == .seconds(120))
    }

    @Test func anErrorAnywhereIsReportedWhateverBreakerIsAskedFor() throws {
        let files = Files()
        _ = try files.load(only: ["svc-1"])
        var text = String(decoding: try read(files.dropIn), as: UTF8.self)
        text = text.replacing("reset_timeout: 1m", with: "reset_timeout: 010")
        Self.write(text, to: files.dropIn)
        #expect(throws: ConfigurationError.self) { try files.load(only: ["svc-1"]) }
        // And an error is never cached: it stays an error.
        #expect(throws: ConfigurationError.self) { try files.load(only: ["svc-1"]) }
    }

    @Test func anUnknownNameMissesSoThatTheUsualErrorNamesIt() throws {
        let files = Files()
        _ = try files.load(only: ["svc-1"])
        let configuration = try files.load(only: ["svc-77x"])
        #expect(configuration.breakers.count == 703, "the full load, whose lookup names the known breakers")
    }

    @Test func withAMetricsFileAHitHoldsEveryBreaker() throws {
        let files = Files(metricsFile: true)
        _ = try files.load(only: ["svc-1"])
        #expect(try files.load(only: ["svc-1"]).breakers.count == 703)
    }

    @Test func aDamagedCacheFileIsAMissAndIsRewritten() throws {
        let files = Files()
        _ = try files.load(only: ["svc-1"])
        let path = files.cache + "/" + files.cacheFiles()[0]
        let good = try read(path)
        for damage in [Array(good.prefix(good.count / 2)), [], Array(repeating: 0xff, count: 4096),
                       Array(good.prefix(200)) + Array(repeating: 0x80, count: good.count - 200)] {
            let file = fopen(path, "w")!
            fwrite(damage, 1, damage.count, file)
            fclose(file)
            let loaded = try files.load(only: ["svc-1"])
            #expect(loaded.breakers.count == 703, "a miss, parsed in full")
            #expect(try read(path) == good, "and written again")
        }
        // A change that keeps the size: one byte of the last breaker's bytes
        // (the drop-in's "no"), or of the head, is caught by its checksum.
        for position in [good.count - 2, 60] {
            var damaged = good
            damaged[position] ^= 0x01
            let file = fopen(path, "w")!
            fwrite(damaged, 1, damaged.count, file)
            fclose(file)
            let loaded = try files.load(only: ["no"])
            #expect(loaded.breakers.count == 703, "byte \(position) changed: a miss, parsed in full")
            #expect(try read(path) == good)
        }
    }

    @Test func missingParentsOfTheCacheDirectoryAreCreatedPrivate() throws {
        let files = Files()
        let nested = files.directory + "/home/.cache/breaker-run"
        let cache = try #require(ConfigurationCache(directory: nested))
        #expect(cache.directory == nested)
        for path in [files.directory + "/home", files.directory + "/home/.cache", nested] {
            var info = stat()
            #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o700, "\(path)")
        }
    }

    @Test func aCacheOthersCanWriteIsNotUsed() throws {
        let files = Files()
        _ = try files.load(only: ["svc-1"])
        let path = files.cache + "/" + files.cacheFiles()[0]
        chmod(path, 0o666)
        #expect(try files.load(only: ["svc-1"]).breakers.count == 703, "a file others can write is not read")
        chmod(path, 0o600)
        chmod(files.cache, 0o777)
        #expect(ConfigurationCache(directory: files.cache) == nil, "nor a directory others can write")
        chmod(files.cache, 0o700)
        // A symbolic link planted for the directory is not followed.
        symlink(files.cache, files.directory + "/link")
        #expect(ConfigurationCache(directory: files.directory + "/link") == nil)
    }

    @Test func aSmallConfigurationIsNeverCached() throws {
        let files = Files()
        Self.write("version: 1\nbreakers:\n  one: {command: [\"true\"]}\n", to: files.main)
        _ = try ConfigurationLoader.load(files: [files.main], environment: [:], isRoot: false, only: ["one"],
                                         cache: ConfigurationCache(directory: files.cache, now: Self.anHourAhead))
        #expect(files.cacheFiles().isEmpty)
    }

    /// Git's "racy clean" rule: a file changed less than `settling` seconds
    /// before the load began may change again within the same tick of the
    /// file clock, unseen by its times, so no entry is made of it yet.
    @Test func aFileJustChangedIsNotCachedUntilItSettles() throws {
        let files = Files()
        var info = stat()
        #expect(stat(files.main, &info) == 0)
        let changed = info.st_ctim
        for (seconds, isCached) in [(0, false), (ConfigurationCache.settling - 1, false), (ConfigurationCache.settling + 1, true)] {
            let now: @Sendable () -> timespec = { timespec(tv_sec: changed.tv_sec + seconds, tv_nsec: changed.tv_nsec) }
            _ = try ConfigurationLoader.load(files: files.files, environment: [:], isRoot: false, only: ["svc-1"],
                                             cache: ConfigurationCache(directory: files.cache, now: now))
            #expect(files.cacheFiles().isEmpty != isCached, "\(seconds) s after the change")
        }
    }

    private func read(_ path: String) throws -> [UInt8] {
        let file = try #require(fopen(path, "r"))
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }
}
