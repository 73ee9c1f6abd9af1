import Foundation
import Testing

/// `breaker-run drain` through the built binary: nothing runs while the
/// breaker is open; after the reset timeout every item runs once, in order,
/// with its arguments, its standard input and its id; failures stay queued
/// and stop the drain when the breaker opens; `max_attempts` makes them dead.
@Suite("drain end to end")
struct DrainEndToEndTests {
    /// A sandbox with breaker `job`, tripped by hand (`trip` with `arguments`).
    static func sandbox(breaker: String, trip arguments: [String]) throws -> Sandbox {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
            \(breaker)
            """)
        let tripped = try sandbox.run(["trip", "job"] + arguments)
        #expect(tripped.status == 0, "\(tripped.stderr)")
        return sandbox
    }

    /// The lines of file `name` of the sandbox; none when it does not exist.
    static func lines(_ sandbox: Sandbox, _ name: String) -> [String] {
        ((try? String(contentsOfFile: sandbox.path(name), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func whileOpenNothingRunsAndAfterTheResetTimeoutAllFourRunInOrderTheInputByteForByte() throws {
        let sandbox = try Self.sandbox(breaker: "    fallback: {queue: {}}", trip: ["--for", "2s"])
        let out = sandbox.path("out")
        let script = "printf '%s %s %s\\n' \"$BREAKER_QUEUE_ITEM\" \"$BREAKER_QUEUE_ATTEMPT\" \"$*\" >> \(out)"
        for arguments in [["a", "b c"], ["d"], ["e", "f"]] {
            #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", script, "sh"] + arguments).status == 0)
        }
        let input = QueueEndToEndTests.binaryInput
        #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "cat > \(sandbox.path("copy")); echo stdin >> \(out)"], input: input).status == 0)

        let early = try sandbox.run(["drain", "job"])
        #expect(early.status == 75, "the breaker stopped it: \(early.stderr)")
        #expect(Self.lines(sandbox, "out").isEmpty, "nothing ran")
        #expect(QueueEndToEndTests.itemFiles(sandbox).count == 4, "all kept")

        #expect(try eventually(within: 10) { try sandbox.run(["check", "job"]).status == 0 })
        let drained = try sandbox.run(["drain", "job"])
        #expect(drained.status == 0, "\(drained.stderr)")
        let lines = Self.lines(sandbox, "out")
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.prefix(3).map { $0.split(separator: " ", maxSplits: 2).dropFirst().joined(separator: " ") } == ["1 a b c", "1 d", "1 e f"],
                "in order, with their arguments, first attempt: \(lines)")
        #expect(lines.prefix(3).allSatisfy { $0.hasPrefix("q-") && $0.split(separator: " ")[0].count == 34 }, "BREAKER_QUEUE_ITEM: \(lines)")
        #expect(lines.last == "stdin")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: sandbox.path("copy")))) == input, "byte for byte")
        #expect(QueueEndToEndTests.itemFiles(sandbox).isEmpty)
        #expect(drained.stderr.contains("job: drain: 4 replayed, 0 kept after failing, 0 dead, 0 dropped; 0 waiting"), "\(drained.stderr)")
        #expect(try sandbox.run(["metrics"]).stdout.contains("breaker_run_queue_items_total{breaker=\"job\",event=\"replayed\"} 4\n"))
    }

    @Test func twoDrainsStartedAtOnceOverTwentyItemsRunEachItemExactlyOnce() throws {
        let sandbox = try Self.sandbox(breaker: "    fallback: {queue: {}}", trip: ["--hold"])
        let out = sandbox.path("out")
        for index in 1...20 {
            let queued = try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "echo \(index) >> \(out); sleep 0.02"])
            #expect(queued.status == 0, "\(queued.stderr)")
        }
        #expect(try sandbox.run(["reset", "job"]).status == 0)

        let first = try sandbox.start(["drain", "job"])
        let second = try sandbox.start(["drain", "job"])
        let results = [first.wait(), second.wait()]

        #expect(results.map(\.status) == [0, 0], "\(results.map(\.stderr))")
        let lines = Self.lines(sandbox, "out")
        #expect(lines.sorted { Int($0)! < Int($1)! } == (1...20).map(String.init), "each once: \(lines)")
        #expect(QueueEndToEndTests.itemFiles(sandbox).isEmpty)
    }

    @Test func aFailingItemStaysQueuedAndTheBreakerItOpensStopsTheDrain() throws {
        let sandbox = try Self.sandbox(breaker: "    fail_max: 1\n    fallback: {queue: {}}", trip: ["--hold"])
        #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "exit 1"]).status == 0)
        #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "echo second >> \(sandbox.path("out"))"]).status == 0)
        #expect(try sandbox.run(["reset", "job"]).status == 0)

        let drained = try sandbox.run(["drain", "job"])

        #expect(drained.status == 75, "\(drained.stderr)")
        #expect(drained.stderr.contains("failed (attempt 1 of 5); kept"), "\(drained.stderr)")
        #expect(Self.lines(sandbox, "out").isEmpty, "the second item was not run")
        let files = QueueEndToEndTests.itemFiles(sandbox)
        #expect(files.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sandbox.stateDirectory + "/job/queue/" + files[0]))) as? [String: Any]
        #expect(first?["attempts"] as? Int == 1)
        #expect(try sandbox.status("job")["state"] as? String == "open")
    }

    @Test func anItemThatFailsMaxAttemptsTimesIsMovedToDeadAndReported() throws {
        let sandbox = try Self.sandbox(breaker: "    fail_max: 10\n    fallback: {queue: {max_attempts: 2}}", trip: ["--hold"])
        #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "exit 3"]).status == 0)
        #expect(try sandbox.run(["reset", "job"]).status == 0)

        let first = try sandbox.run(["drain", "job"])
        #expect(first.status == 3, "the last item's status: \(first.stderr)")
        #expect(QueueEndToEndTests.itemFiles(sandbox).count == 1)

        let second = try sandbox.run(["drain", "job"])
        #expect(second.status == 0, "the queue is empty: \(second.stderr)")
        #expect(second.stderr.contains("failed 2 times (max_attempts); moved to \(sandbox.stateDirectory)/job/queue/dead/"), "\(second.stderr)")
        #expect(QueueEndToEndTests.itemFiles(sandbox).isEmpty)
        let dead = try FileManager.default.contentsOfDirectory(atPath: sandbox.stateDirectory + "/job/queue/dead")
        #expect(dead.count == 1, "\(dead)")
    }
}

/// A drain's faults end to end: killed midway, items too old, a corrupt item.
@Suite("drain faults end to end")
struct DrainFaultEndToEndTests {
    /// A sandbox whose held breaker `job` has queued `count` jobs that each
    /// append their number to `out`, then reset.
    static func queued(_ count: Int, fallback: String = "{queue: {}}", sleeping: String = "0") throws -> Sandbox {
        let sandbox = try DrainEndToEndTests.sandbox(breaker: "    fallback: \(fallback)", trip: ["--hold"])
        for index in 1...count {
            let queued = try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "echo \(index) >> \(sandbox.path("out")); sleep \(sleeping)"])
            #expect(queued.status == 0, "\(queued.stderr)")
        }
        #expect(try sandbox.run(["reset", "job"]).status == 0)
        return sandbox
    }

    @Test func aDrainKilledDuringATwentyItemReplayThenDrainedAgainRanEveryItemInOrderAtMostOneTwice() throws {
        let sandbox = try Self.queued(20, sleeping: "0.05")
        let killed = try sandbox.start(["drain", "job"])
        #expect(eventually(within: 10) { DrainEndToEndTests.lines(sandbox, "out").count >= 5 })
        kill(killed.pid, SIGKILL)
        #expect(killed.wait().signal == SIGKILL)

        let again = try sandbox.run(["drain", "job"])

        #expect(again.status == 0, "\(again.stderr)")
        let lines = DrainEndToEndTests.lines(sandbox, "out")
        var firstRuns: [String] = []
        for line in lines where !firstRuns.contains(line) { firstRuns.append(line) }
        #expect(firstRuns == (1...20).map(String.init), "every item, in order: \(lines)")
        #expect(lines.count - 20 <= 1, "at most one twice: \(lines)")
        #expect(QueueEndToEndTests.itemFiles(sandbox).isEmpty)
    }

    @Test func itemsOlderThanMaxAgeAreDroppedByTheNextDrainEachReportedAndCounted() throws {
        let sandbox = try Self.queued(2, fallback: "{queue: {max_age: 1h}}")
        // The first item was queued two hours ago: its stored time says so.
        let first = sandbox.stateDirectory + "/job/queue/" + QueueEndToEndTests.itemFiles(sandbox)[0]
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: first))) as? [String: Any])
        object["queued_at_ns"] = Int64(Date().addingTimeInterval(-7200).timeIntervalSince1970) * 1_000_000_000
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: first))

        let drained = try sandbox.run(["drain", "job"])

        #expect(drained.status == 0, "\(drained.stderr)")
        #expect(drained.stderr.contains(try Regex(#"job: dropped queue item q-[0-9a-f]{32}, queued 2h([0-9]+s)?([0-9]+ms)? ago, over max_age 1h"#)), "\(drained.stderr)")
        #expect(DrainEndToEndTests.lines(sandbox, "out") == ["2"], "the old item never ran")
        #expect(try sandbox.run(["metrics"]).stdout.contains("breaker_run_queue_items_total{breaker=\"job\",event=\"dropped\"} 1\n"))
    }

    @Test func aCorruptItemIsMovedAsideAndReportedNeverRunAndTheOthersRun() throws {
        let sandbox = try Self.queued(1)
        let queue = sandbox.stateDirectory + "/job/queue/"
        try Data("{\"format\": 1, \"call\": ".utf8).write(to: URL(fileURLWithPath: queue + "00000000000000000000.item"))

        let drained = try sandbox.run(["drain", "job"])

        #expect(drained.status == 0, "\(drained.stderr)")
        #expect(drained.stderr.contains("queue item \(queue)00000000000000000000.item was unreadable"), "\(drained.stderr)")
        #expect(drained.stderr.contains("moved aside to"), "\(drained.stderr)")
        #expect(DrainEndToEndTests.lines(sandbox, "out") == ["1"])
        let left = try FileManager.default.contentsOfDirectory(atPath: queue)
        #expect(left.contains { $0.hasPrefix("00000000000000000000.item.corrupt-") }, "\(left)")
    }
}

/// `drain: on_close`: the run whose trial closes the breaker starts a drain.
@Suite("drain on close end to end")
struct DrainOnCloseEndToEndTests {
    @Test func theTrialThatClosesTheBreakerStartsADrainThatReplaysTheQueueWithoutAnOperator() throws {
        let sandbox = try DrainEndToEndTests.sandbox(breaker: "    fallback: {queue: {drain: on_close}}", trip: ["--for", "1s"])
        let out = sandbox.path("out")
        for index in 1...3 {
            #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "echo \(index) >> \(out)"]).status == 0)
        }
        #expect(try eventually(within: 10) { try sandbox.run(["check", "job"]).status == 0 })

        let trial = try sandbox.run(["run", "job", "--", "/bin/true"])

        #expect(trial.status == 0, "\(trial.stderr)")
        #expect(trial.stderr.split(separator: "\n").count == 1, "one line, the close: \(trial.stderr)")
        #expect(try eventually(within: 10) { DrainEndToEndTests.lines(sandbox, "out").count == 3 && QueueEndToEndTests.itemFiles(sandbox).isEmpty },
                "drained: \(DrainEndToEndTests.lines(sandbox, "out"))")
        #expect(DrainEndToEndTests.lines(sandbox, "out") == ["1", "2", "3"])
        let log = try String(contentsOfFile: sandbox.stateDirectory + "/job/queue/drain.log", encoding: .utf8)
        #expect(try eventually(within: 5) { (try? String(contentsOfFile: sandbox.stateDirectory + "/job/queue/drain.log", encoding: .utf8))?.contains("job: drain: 3 replayed") == true },
                "the drain's lines go to its log: \(log)")
    }

    @Test func withoutOnCloseTheQueueWaitsForADrain() throws {
        let sandbox = try DrainEndToEndTests.sandbox(breaker: "    fallback: {queue: {}}", trip: ["--for", "1s"])
        #expect(try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "echo ran >> \(sandbox.path("out"))"]).status == 0)
        #expect(try eventually(within: 10) { try sandbox.run(["check", "job"]).status == 0 })

        #expect(try sandbox.run(["run", "job", "--", "/bin/true"]).status == 0)

        usleep(500_000)
        #expect(DrainEndToEndTests.lines(sandbox, "out").isEmpty)
        #expect(QueueEndToEndTests.itemFiles(sandbox).count == 1)
    }
}
