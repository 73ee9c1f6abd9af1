import Foundation
import Testing

/// The `cached` fallback end to end: its `exit_code`, the age in its notice,
/// and no cache at all.
@Suite("The cached fallback's exit status, age notice, and absence")
struct CachedFallbackTests {
    @Test func aCachedAnswerExitsWithItsExitCodeAndItsNoticeNamesItsAge() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                command: [echo, last good answer]
                reset_timeout: 10m
                fallback: {cached: {max_age: 3h}, exit_code: 3}
            """)
        let success = try sandbox.run(["run", "job"])
        #expect(success.status == 0, "\(success.stderr)")
        // Two hours old: the cache's age is its file's modification time.
        let cache = sandbox.stateDirectory + "/job/cache"
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: cache)
        #expect(try sandbox.run(["trip", "job"]).status == 0)
        let served = try sandbox.run(["run", "job"])
        #expect(served.status == 3, "the cached fallback's exit_code: \(served.stderr)")
        #expect(served.stdout == "last good answer\n")
        let notice = try #require(served.stderr.split(separator: "\n").first { $0.contains("answered from the cache") })
        // 2 h and the few seconds (or milliseconds) the test took since.
        #expect(notice.contains(try Regex(#"answered from the cache \(2h([0-9]+m)?([0-9]+s)?([0-9]+ms)? old\)"#)), "\(notice)")
        #expect(try sandbox.counts("job")["fallbacks"] == 1)
    }

    @Test func withNothingCachedTheRejectionExits75() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                fail_max: 1
                reset_timeout: 10m
                fallback: {cached: {}}
            """)
        // The only call failed: nothing was cached.
        #expect(try sandbox.run(["run", "job", "--", "sh", "-c", "echo partial; exit 1"]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/job/cache"))
        let rejected = try sandbox.run(["run", "job", "--", "echo", "not run"])
        #expect(rejected.status == 75, "\(rejected.stderr)")
        #expect(rejected.stdout.isEmpty, "neither the call nor a cache answered: \(rejected.stdout)")
        #expect(rejected.stderr.contains("exiting 75"), "\(rejected.stderr)")
        let counts = try sandbox.counts("job")
        #expect(counts["rejected"] == 1, "\(counts)")
        #expect(counts["fallbacks"] == 0, "man 1: rejected calls answered by a fallback: \(counts)")
    }

    @Test func withNothingCachedAListFallsThroughToTheNextFallback() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                reset_timeout: 10m
                fallback: [{cached: {max_age: 1h}}, {output: "static\\n", exit_code: 4}]
            """)
        #expect(try sandbox.run(["trip", "job"]).status == 0)
        let served = try sandbox.run(["run", "job", "--", "echo", "not run"])
        #expect(served.status == 4, "\(served.stderr)")
        #expect(served.stdout == "static\n")
    }
}

/// `counts.fallbacks` counts the rejected calls a fallback answered: one
/// that exited (whatever its status) counts; one that timed out or was
/// killed did not answer and does not.
@Suite("Fallbacks counted when they answer")
struct FallbackCountTests {
    @Test(arguments: [
        (fallback: "exit 3", status: Int32(3), counted: 1),
        (fallback: "sleep 5", status: Int32(124), counted: 0),
        (fallback: "kill -9 $$", status: Int32(137), counted: 0),
    ])
    func aFallbackIsCountedOnlyWhenItAnswered(example: (fallback: String, status: Int32, counted: Int)) throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                timeout: 1s
                reset_timeout: 10m
                fallback: {shell: '\(example.fallback)'}
            """)
        #expect(try sandbox.run(["trip", "job"]).status == 0)
        let rejected = try sandbox.run(["run", "job", "--", "true"])
        #expect(rejected.status == example.status, "\(rejected.stderr)")
        let counts = try sandbox.counts("job")
        #expect(counts["rejected"] == 1)
        #expect(counts["fallbacks"] == example.counted, "\(example.fallback): \(counts)")
    }
}
