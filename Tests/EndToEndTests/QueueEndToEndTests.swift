import Foundation
import Testing

/// The `queue` fallback through the built binary: rejected invocations are
/// stored, privately, with their arguments and standard input, and answered
/// 0 with one line; `max_items` and `max_stdin` refuse with a line.
@Suite("The queue fallback end to end")
struct QueueEndToEndTests {
    /// Every byte value, twice: binary standard input.
    static let binaryInput: [UInt8] = Array(0...255) + Array((0...255).reversed())

    /// A sandbox whose breaker `job` is open for ten minutes, with `fallback`.
    static func openJob(fallback: String) throws -> Sandbox {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                reset_timeout: 10m
                fallback: \(fallback)
            """)
        #expect(try sandbox.run(["trip", "job"]).status == 0)
        return sandbox
    }

    /// The names of the item files in `job`'s queue, sorted.
    static func itemFiles(_ sandbox: Sandbox) -> [String] {
        let queue = sandbox.stateDirectory + "/job/queue"
        return ((try? FileManager.default.contentsOfDirectory(atPath: queue)) ?? []).filter { $0.hasSuffix(".item") }.sorted()
    }

    @Test func threeCallsWithArgumentsAndOneWithBinaryInputAreQueuedNothingRunsAndEachExits0WithOneLine() throws {
        let sandbox = try Self.openJob(fallback: "{queue: {}}")
        let marker = sandbox.path("ran")
        let script = "printf '%s|' \"$@\" >> \(marker)"
        for (index, arguments) in [["a", "b c"], ["d"], ["e", "f", "g"]].enumerated() {
            let queued = try sandbox.run(["run", "job", "--", "/bin/sh", "-c", script, "sh"] + arguments)
            #expect(queued.status == 0, "\(queued.stderr)")
            #expect(queued.stdout.isEmpty)
            #expect(queued.stderr.contains(try Regex(#"^breaker-run: job: rejected, breaker is open \(next trial in [0-9]+s\); queued as item \#(index + 1) of \#(index + 1) waiting\n$"#)),
                    "one line: \(queued.stderr)")
        }
        let binary = try sandbox.run(["run", "job", "--", "/bin/sh", "-c", "cat > \(sandbox.path("stdin-copy"))"], input: Self.binaryInput)
        #expect(binary.status == 0, "\(binary.stderr)")
        #expect(binary.stderr.hasSuffix("queued as item 4 of 4 waiting\n"), "\(binary.stderr)")

        #expect(!FileManager.default.fileExists(atPath: marker), "nothing ran")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("stdin-copy")), "nothing ran")
        let files = Self.itemFiles(sandbox)
        #expect(files == (1...4).map { String(repeating: "0", count: 19) + "\($0).item" })
        for file in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.stateDirectory + "/job/queue/" + file)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "items are private: \(file)")
        }
        let last = try Data(contentsOf: URL(fileURLWithPath: sandbox.stateDirectory + "/job/queue/" + files[3]))
        let object = try #require(try JSONSerialization.jsonObject(with: last) as? [String: Any])
        #expect(object["stdin_base64"] as? String == Data(Self.binaryInput).base64EncodedString(), "the input, byte for byte")
        #expect(object["attempts"] as? Int == 0)
        let counts = try sandbox.counts("job")
        #expect(counts["fallbacks"] == 4 && counts["rejected"] == 4, "\(counts)")
    }

    @Test func aFullQueueRefusesWithALineSayingSoAndExits75() throws {
        let sandbox = try Self.openJob(fallback: "{queue: {max_items: 2}}")
        for _ in 0..<2 {
            #expect(try sandbox.run(["run", "job", "--", "/bin/true"]).status == 0)
        }
        let refused = try sandbox.run(["run", "job", "--", "/bin/true"])
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("job: not queued: the queue is full (2 items waiting, max_items 2)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("exiting 75"), "\(refused.stderr)")
        #expect(Self.itemFiles(sandbox).count == 2)
    }

    @Test func anInputOverMaxStdinIsNotQueuedAndTheNextFallbackAnswers() throws {
        let sandbox = try Self.openJob(fallback: "[{queue: {max_stdin: 16}}, {output: \"not queued\\n\", exit_code: 3}]")
        let fits = try sandbox.run(["run", "job", "--", "/bin/cat"], input: Array(Self.binaryInput.prefix(16)))
        #expect(fits.status == 0, "\(fits.stderr)")
        let over = try sandbox.run(["run", "job", "--", "/bin/cat"], input: Array(Self.binaryInput.prefix(17)))
        #expect(over.status == 3, "the next fallback answered: \(over.stderr)")
        #expect(over.stdout == "not queued\n")
        #expect(over.stderr.contains("job: not queued: the standard input is larger than max_stdin (16 bytes); trying the next fallback"), "\(over.stderr)")
        #expect(Self.itemFiles(sandbox).count == 1)
    }

    @Test func validatePrintsTheQueueAndItLoadsBack() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job:
                command: [/bin/true]
                fallback: {queue: {max_items: 50, max_age: 2d, env: [TZ]}, exit_code: 5}
            """)
        let printed = try sandbox.run(["validate", "--print"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains("queue: {max_items: 50, max_age: 2d, max_stdin: 1048576, max_attempts: 5, env: [TZ], drain: manual}"), "\(printed.stdout)")
        #expect(printed.stdout.contains("exit_code: 5"), "\(printed.stdout)")
        try sandbox.write(config: printed.stdout)
        let again = try sandbox.run(["validate", "--print"])
        #expect(again.status == 0, "\(again.stderr)")
        // The same but for the comments naming the file, its lines and the time.
        let body = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.contains("# defined at") } }
        #expect(body(again.stdout) == body(printed.stdout))
    }
}

/// The queue seen everywhere: `status`, `status --json`, `metrics`,
/// `queue list` and `queue drop`.
@Suite("The queue in status, metrics and queue list/drop")
struct QueueVisibilityEndToEndTests {
    @Test func statusMetricsAndQueueListShowTheItemsAndQueueDropRemovesOne() throws {
        let sandbox = try QueueEndToEndTests.openJob(fallback: "{queue: {}}")
        #expect(try sandbox.run(["run", "job", "--", "/bin/echo", "first one"]).status == 0)
        #expect(try sandbox.run(["run", "job", "--", "/bin/echo", "second"]).status == 0)

        let queue = try #require(try sandbox.status("job")["queue"] as? [String: Any])
        #expect(queue["items"] as? Int == 2 && queue["dead_items"] as? Int == 0, "\(queue)")
        #expect((queue["oldest_age_seconds"] as? Int).map { $0 >= 0 && $0 < 60 } == true, "\(queue)")
        let text = try sandbox.run(["status", "job"])
        #expect(text.stdout.contains("  queue: 2 items waiting, oldest queued "), "\(text.stdout)")
        let metrics = try sandbox.run(["metrics"])
        #expect(metrics.stdout.contains("breaker_run_queue_items{breaker=\"job\"} 2\n"), "\(metrics.stdout)")
        #expect(metrics.stdout.contains("breaker_run_queue_dead_items{breaker=\"job\"} 0\n"), "\(metrics.stdout)")
        #expect(metrics.stdout.contains("breaker_run_queue_items_total{breaker=\"job\",event=\"queued\"} 2\n"), "\(metrics.stdout)")
        #expect(metrics.stdout.contains("breaker_run_queue_items_total{breaker=\"job\",event=\"replayed\"} 0\n"), "\(metrics.stdout)")

        let listed = try sandbox.run(["queue", "list", "job"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].hasPrefix("1  q-") && lines[0].hasSuffix("attempts 0  \(NSUserName())  /bin/echo 'first one'"), "\(lines)")
        #expect(lines[1].hasPrefix("2  q-") && lines[1].hasSuffix("/bin/echo second"), "\(lines)")
        #expect(lines[2] == "2 waiting, 0 dead")
        let id = String(lines[0].split(separator: " ")[1])

        let dropped = try sandbox.run(["queue", "drop", "job", id])
        #expect(dropped.status == 0, "\(dropped.stderr)")
        #expect(dropped.stderr.contains("job: queue item \(id) dropped by "), "\(dropped.stderr)")
        let again = try sandbox.run(["queue", "drop", "job", id])
        #expect(again.status == 1 && again.stderr.contains("no queue item \(id)"), "\(again.stderr)")
        #expect(QueueEndToEndTests.itemFiles(sandbox) == [String(repeating: "0", count: 19) + "2.item"])
    }

    @Test func aBreakerWithoutAQueueHasNoQueueInStatusOrMetrics() throws {
        let sandbox = try Sandbox(config: """
            version: 1
            breakers:
              job: {command: [/bin/true]}
            """)
        #expect(try sandbox.status("job")["queue"] == nil)
        #expect(!(try sandbox.run(["metrics"]).stdout.contains("breaker_run_queue")))
    }
}
