import Foundation
import Testing

/// Faults of the state store, end to end: a missing, unusable, read-only or
/// full state directory, damaged state files, a lock that is not a file,
/// hostile breaker names and planted symlinks. `run` runs the call unguarded
/// with a warning (`on_state_error: fail-open`, the default; fail-closed
/// is in StateErrorPolicyTests);
/// `trip` and `reset` exit 74; nothing written before is lost.
@Suite("State store faults")
struct FaultTests {
    static let config = """
        version: 1
        breakers:
          alpha:
            fail_max: 2
            reset_timeout: 1s
        """

    /// The file's bytes, or nil when it cannot be read.
    static func bytes(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }

    /// Mounts a tmpfs of `size` on `directory`; false when not permitted
    /// (not root, or in a container without CAP_SYS_ADMIN).
    static func mountTmpfs(_ directory: String, options: String) -> Bool {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return shell("mount -t tmpfs -o \(options) tmpfs '\(directory)'") == 0
    }

    @discardableResult
    static func shell(_ script: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aMissingStateDirectoryIsCreatedWithItsParentsPrivate() throws {
        let sandbox = try Sandbox(config: Self.config)
        let state = sandbox.path("deep/er/state")
        #expect(try sandbox.run(["run", "--state-dir", state, "alpha", "--", "true"]).status == 0)
        for directory in [sandbox.path("deep"), sandbox.path("deep/er"), state, state + "/alpha"] {
            #expect(try Self.mode(directory) == 0o700, "\(directory)")
        }
        for file in ["state.json", "lock"] {
            #expect(try Self.mode(state + "/alpha/" + file) == 0o600, "\(file)")
        }
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state + "/alpha/state.json"))) as? [String: Any]
        #expect((stored?["counts"] as? [String: Int])?["successes"] == 1)
    }

    @Test func aFileWhereTheStateDirectoryShouldBeRunsUnguardedAndControlExits74() throws {
        let sandbox = try Sandbox(config: Self.config)
        try "not a directory\n".write(toFile: sandbox.stateDirectory, atomically: false, encoding: .utf8)
        let run = try sandbox.run(["run", "alpha", "--", "sh", "-c", "echo ran; exit 5"])
        #expect(run.status == 5, "the call runs and its status passes through")
        #expect(run.stdout == "ran\n")
        #expect(run.stderr.contains("running the call unguarded"))
        #expect(run.stderr.contains("is not a directory"))
        #expect(try sandbox.run(["trip", "alpha"]).status == 74)
        #expect(try sandbox.run(["reset", "alpha"]).status == 74)
        #expect(try sandbox.run(["status", "alpha"]).status == 74)
        #expect(try String(contentsOfFile: sandbox.stateDirectory, encoding: .utf8) == "not a directory\n")
    }

    @Test func aReadOnlyStateDirectoryKeepsWhatWasWrittenAndRunsUnguarded() throws {
        let sandbox = try Sandbox(config: Self.config)
        guard Self.mountTmpfs(sandbox.stateDirectory, options: "size=1m,mode=0700") else { return }
        defer { Self.shell("umount -l '\(sandbox.stateDirectory)'") }
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        let before = try #require(Self.bytes(sandbox.stateDirectory + "/alpha/state.json"))
        try #require(Self.shell("mount -o remount,ro '\(sandbox.stateDirectory)'") == 0)

        let run = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("not recorded") || run.stderr.contains("unguarded"))
        #expect(run.stderr.contains("Read-only file system"))
        #expect(try sandbox.run(["trip", "alpha"]).status == 74)
        #expect(try sandbox.run(["reset", "alpha"]).status == 74)
        let status = try sandbox.status("alpha")
        #expect(status["state"] as? String == "closed", "the second failure was not recorded, so fail_max 2 did not trip")
        #expect((status["counts"] as? [String: Int])?["failures"] == 1)
        #expect(Self.bytes(sandbox.stateDirectory + "/alpha/state.json") == before)
    }

    @Test func aFullFileSystemLosesNothingWrittenBeforeAndRecoversOnceSpaceIsFree() throws {
        let sandbox = try Sandbox(config: Self.config)
        guard Self.mountTmpfs(sandbox.stateDirectory, options: "size=256k,mode=0700") else { return }
        defer { Self.shell("umount -l '\(sandbox.stateDirectory)'") }
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        let before = try #require(Self.bytes(sandbox.stateDirectory + "/alpha/state.json"))
        let filler = sandbox.stateDirectory + "/filler"
        Self.shell("dd if=/dev/zero of='\(filler)' bs=4k 2>/dev/null")

        let run = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(run.status == 1, "the call still runs")
        #expect(run.stderr.contains("No space left on device"))
        #expect(try sandbox.run(["trip", "alpha"]).status == 74)
        #expect(Self.bytes(sandbox.stateDirectory + "/alpha/state.json") == before, "the old state is intact")
        let files = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/alpha")
        #expect(!files.contains("state.json.tmp"), "no partial temporary file is left: \(files)")
        #expect(try sandbox.counts("alpha") == ["successes": 1, "failures": 1, "ignored": 0, "rejected": 0, "fallbacks": 0])

        try FileManager.default.removeItem(atPath: filler)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        #expect(try sandbox.counts("alpha") == ["successes": 2, "failures": 1, "ignored": 0, "rejected": 0, "fallbacks": 0])
    }

    static let damaged: [(String, String)] = [
        ("truncated", #"{"format": 1, "state": "closed", "counts": {"succ"#),
        ("empty", ""),
        ("garbage", "\u{7F}ELF\u{01}\u{00}binary garbage \u{FF}"),
        ("a JSON array", "[1, 2, 3]"),
        ("a JSON string", #""open""#),
    ]

    @Test(arguments: damaged.map(\.0))
    func aDamagedStateFileIsMovedAsideByteForByteAndTheBreakerStartsClosed(kind: String) throws {
        let content = Self.damaged.first { $0.0 == kind }!.1
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))

        let status = try sandbox.run(["status", "alpha"])
        #expect(status.status == 0)
        #expect(status.stderr.contains("unreadable"))
        #expect(Self.bytes(path) == Data(content.utf8), "status never writes")

        let run = try sandbox.run(["run", "alpha", "--", "true"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("moved aside"))
        let files = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/alpha")
        let aside = try #require(files.first { $0.hasPrefix("state.json.corrupt-") })
        #expect(Self.bytes(sandbox.stateDirectory + "/alpha/" + aside) == Data(content.utf8))
        #expect(try Self.mode(sandbox.stateDirectory + "/alpha/state.json") == 0o600)
        #expect(try sandbox.counts("alpha")["successes"] == 1)
    }

    /// The state file as a JSON object.
    static func stateObject(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    static func writeState(_ object: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    /// A breaker `alpha` opened for an hour by one failure: the sandbox, its
    /// state file's path, and the state file as an object.
    static func openedForAnHour() throws -> (Sandbox, String, [String: Any]) {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              alpha: {fail_max: 1, reset_timeout: 1h}
            """)
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        let object = try stateObject(path)
        #expect(object["state"] as? String == "open")
        return (sandbox, path, object)
    }

    /// Issue 7, item 4: "an open breaker without `opened_at` gets one trial,
    /// never a silent close", and nothing written before is lost.
    @Test func anOpenStateFileWithoutItsEndGetsExactlyOneTrialAndKeepsItsCounts() throws {
        let (sandbox, path, opened) = try Self.openedForAnHour()
        let directory = sandbox.stateDirectory + "/alpha"
        var object = opened
        object.removeValue(forKey: "next_trial_at")
        object.removeValue(forKey: "opened_at")
        try Self.writeState(object, to: path)
        let edited = Self.bytes(path)
        let warning = "state file \(path) lacked 'next_trial_at'; the breaker gets one trial"

        let status = try sandbox.run(["status", "--json", "alpha"])
        #expect(status.status == 0)
        #expect(status.stderr.contains(warning), "\(status.stderr)")
        let shown = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let breaker = (shown?["breakers"] as? [[String: Any]])?.first
        #expect(breaker?["state"] as? String == "half-open", "\(status.stdout)")
        #expect((breaker?["counts"] as? [String: Int])?["failures"] == 1)
        #expect(Self.bytes(path) == edited, "status never writes")

        // The trial runs a second breaker-run for the same breaker: the
        // trial permit is held, so that one is rejected (75) and only one
        // trial runs.
        let inner = "'\(Sandbox.binary)' --config '\(sandbox.configPath)' --state-dir '\(sandbox.stateDirectory)' run alpha -- echo second"
        let run = try sandbox.run(["run", "alpha", "--", "sh", "-c", "\(inner); echo \"second trial: $?\""])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "second trial: 75\n")
        #expect(run.stderr.contains(warning), "\(run.stderr)")
        #expect(!run.stderr.contains("unreadable") && !run.stderr.contains("moved aside"))

        let after = try sandbox.status("alpha")
        #expect(after["state"] as? String == "closed", "the one trial succeeded")
        #expect(try sandbox.counts("alpha") == ["successes": 1, "failures": 1, "ignored": 0, "rejected": 1, "fallbacks": 0],
                "the failure written before is kept")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!files.contains { $0.hasPrefix("state.json.corrupt-") }, "\(files)")
        let history = try #require(try Self.stateObject(path)["transitions"] as? [[String: Any]])
        #expect(history.map { $0["to"] as? String } == ["open", "closed"], "the event log written before is kept")
        #expect(!(try sandbox.run(["status", "alpha"]).stderr.contains("lacked")), "the repaired state was written back")
    }

    @Test func anOpenStateFileWhoseTrialFailsOpensAgainRatherThanClosing() throws {
        let (sandbox, path, opened) = try Self.openedForAnHour()
        var object = opened
        object["next_trial_at"] = "tomorrow"
        try Self.writeState(object, to: path)

        let trial = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(trial.status == 1)
        #expect(trial.stderr.contains("state file \(path) had an unreadable 'next_trial_at'; the breaker gets one trial"), "\(trial.stderr)")
        #expect(try sandbox.status("alpha")["state"] as? String == "open")
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 75, "open for its reset timeout again")
        #expect(try sandbox.counts("alpha") == ["successes": 0, "failures": 2, "ignored": 0, "rejected": 1, "fallbacks": 0])
    }

    @Test func anUnreadableCountIsReportedAndTheOtherCountsAreKept() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        #expect(try sandbox.run(["run", "alpha", "--", "sh", "-c", "exit 0"]).status == 0)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        var object = try Self.stateObject(path)
        var counts = try #require(object["counts"] as? [String: Any])
        counts["successes"] = "two"
        counts.removeValue(forKey: "ignored")
        object["counts"] = counts
        try Self.writeState(object, to: path)

        let run = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("state file \(path) had an unreadable 'counts.successes'; counted from 0, the other counts kept"), "\(run.stderr)")
        #expect(try sandbox.counts("alpha") == ["successes": 0, "failures": 2, "ignored": 0, "rejected": 0, "fallbacks": 0])
    }

    @Test func aStateFileOfAFutureFormatIsNeverOverwritten() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "true"]).status == 0)
        let path = sandbox.stateDirectory + "/alpha/state.json"
        let future = #"{"format": 2, "state": "closed", "counts": {"successes": 7}, "new_field": [1]}"#
        try Data(future.utf8).write(to: URL(fileURLWithPath: path))

        let run = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("running the call unguarded"))
        #expect(run.stderr.contains("format 2"))
        #expect(try sandbox.run(["trip", "alpha"]).status == 74)
        #expect(try sandbox.run(["reset", "alpha"]).status == 74)
        #expect(try sandbox.run(["status", "alpha"]).status == 74)
        #expect(Self.bytes(path) == Data(future.utf8))
    }

    @Test func aLockFileReplacedByADirectoryRunsUnguardedAndLeavesTheStateAlone() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        let directory = sandbox.stateDirectory + "/alpha"
        let before = try #require(Self.bytes(directory + "/state.json"))
        try FileManager.default.removeItem(atPath: directory + "/lock")
        try FileManager.default.createDirectory(atPath: directory + "/lock", withIntermediateDirectories: false)

        let run = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("lock is not a regular file"))
        #expect(run.stderr.contains("running the call unguarded"))
        #expect(try sandbox.run(["trip", "alpha"]).status == 74)
        #expect(try sandbox.run(["reset", "alpha"]).status == 74)
        #expect(Self.bytes(directory + "/state.json") == before)
        #expect(try sandbox.status("alpha")["state"] as? String == "closed")
    }

    @Test(arguments: ["../x", "a/b", "..", ".hidden", "-dash", "x\\y", "a b"])
    func aBreakerNameThatIsNotASafeFileNameIsRejectedAtLoadTime(name: String) throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              '\(name)':
                fail_max: 1
            """)
        let validate = try sandbox.run(["validate"])
        #expect(validate.status == 78)
        #expect(validate.stderr.contains("invalid breaker name"))
        if !name.hasPrefix("-") {
            #expect(try sandbox.run(["run", name, "--", "true"]).status == 78)
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory), "nothing is created")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("x")))
    }

    @Test(arguments: ["../alpha", "..", "alpha/..", "/etc"])
    func aHostileNameOnTheCommandLineIsAnUnknownBreaker(name: String) throws {
        let sandbox = try Sandbox(config: Self.config)
        for command in [["run", name, "--", "true"], ["trip", name], ["reset", name], ["status", name]] {
            #expect(try sandbox.run(command).status == 78, "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory))
    }

    @Test(arguments: ["state.json", "lock", "state.json.tmp"])
    func aSymlinkPlantedInTheBreakersDirectoryIsNeverFollowed(file: String) throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["run", "alpha", "--", "false"]).status == 1)
        let directory = sandbox.stateDirectory + "/alpha"
        let victim = sandbox.path("victim")
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: directory + "/" + file)
        try FileManager.default.createSymbolicLink(atPath: directory + "/" + file, withDestinationPath: victim)

        let run = try sandbox.run(["run", "alpha", "--", "false"])
        #expect(run.status == 1)
        #expect(try sandbox.run(["trip", "alpha", "--for", "1h"]).status == (file == "state.json.tmp" ? 0 : 74))
        #expect(try sandbox.run(["reset", "alpha"]).status == (file == "state.json.tmp" ? 0 : 74))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "the link's target is untouched")
        let attributes = try FileManager.default.attributesOfItem(atPath: victim)
        #expect((attributes[.posixPermissions] as? Int ?? 0) & 0o777 == 0o644, "its mode too")
        if file == "state.json.tmp" {
            // A leftover temporary name is the writer's own: it is removed, not written through.
            #expect(!run.stderr.contains("symlink") && !run.stderr.contains("unguarded"), "\(run.stderr)")
            #expect(try sandbox.counts("alpha")["failures"] == 2)
            #expect(!FileManager.default.fileExists(atPath: directory + "/state.json.tmp"))
        } else {
            #expect(run.stderr.contains("refusing to follow symlink \(directory)/\(file)"))
            #expect(run.stderr.contains("running the call unguarded"))
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + file)
            #expect(link == victim, "the link is left for the operator to inspect")
        }
    }

    /// The cached output (`NAME/cache`): a write replaces a planted link and
    /// never writes through it; a read refuses it with a message naming it,
    /// and the next fallback answers (or the rejection's 75 when none is left).
    @Test(arguments: ["with-next", "cache-only"])
    func aSymlinkPlantedForTheCachedOutputIsNeverFollowed(name: String) throws {
        let sandbox = try Sandbox()
        // The configured call, whose answer is NAME/cache, prints this file.
        let answer = sandbox.path("answer")
        try sandbox.write(config: """
            version: 1
            breakers:
              with-next:
                command: [cat, \(answer)]
                fail_max: 1
                reset_timeout: 1h
                fallback: [{cached: {max_age: 1h}}, {output: "static answer\\n", exit_code: 0}]
              cache-only:
                command: [cat, \(answer)]
                fail_max: 1
                reset_timeout: 1h
                fallback: {cached: {max_age: 1h}}
            """)
        try "first\n".write(toFile: answer, atomically: true, encoding: .utf8)
        #expect(try sandbox.run(["run", name]).status == 0)
        let cache = sandbox.stateDirectory + "/\(name)/cache"
        #expect(try String(contentsOfFile: cache, encoding: .utf8) == "first\n")
        let victim = sandbox.path("victim")
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        func plant() throws {
            try FileManager.default.removeItem(atPath: cache)
            try FileManager.default.createSymbolicLink(atPath: cache, withDestinationPath: victim)
        }

        try plant()
        try "second\n".write(toFile: answer, atomically: true, encoding: .utf8)
        let write = try sandbox.run(["run", name])
        #expect(write.status == 0)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "never written through")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: cache)) == nil, "the link is replaced by the new output")
        #expect(try String(contentsOfFile: cache, encoding: .utf8) == "second\n")

        try plant()
        #expect(try sandbox.run(["trip", name]).status == 0)
        let read = try sandbox.run(["run", name])
        #expect(read.stderr.contains("\(name): cached output not used (refusing to follow symlink \(cache) in the state directory; remove it or pass another --state-dir); trying the next fallback"),
                "\(read.stderr)")
        if name == "with-next" {
            #expect(read.status == 0)
            #expect(read.stdout == "static answer\n")
        } else {
            #expect(read.status == 75)
            #expect(read.stdout.isEmpty)
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: cache) == victim, "the link is left for the operator")
    }

    @Test func aSymlinkPlantedForTheTrialPermitIsRefusedWithAMessage() throws {
        let sandbox = try Sandbox(config: Self.config)
        #expect(try sandbox.run(["trip", "alpha", "--for", "100ms"]).status == 0)
        let victim = sandbox.path("victim")
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: sandbox.stateDirectory + "/alpha/permit.0", withDestinationPath: victim)
        usleep(200_000)

        let run = try sandbox.run(["run", "alpha", "--", "true"])
        #expect(run.status != 0 || run.stderr.contains("permit"), "the trial does not run through the link silently")
        #expect(run.stderr.contains("refusing to follow symlink \(sandbox.stateDirectory)/alpha/permit.0"), "\(run.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    }

    @Test func aBreakerDirectoryThatIsASymlinkIsRefused() throws {
        let sandbox = try Sandbox(config: Self.config)
        let elsewhere = sandbox.path("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sandbox.stateDirectory, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: sandbox.stateDirectory + "/alpha", withDestinationPath: elsewhere)

        let run = try sandbox.run(["run", "alpha", "--", "true"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("refusing to follow symlink"))
        #expect(try sandbox.run(["trip", "alpha"]).status == 74)
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
    }
}
