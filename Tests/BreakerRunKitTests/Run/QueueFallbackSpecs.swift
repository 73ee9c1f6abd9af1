import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// The `queue` fallback: a rejected invocation is stored for `drain`, and
/// answered with one line; a full queue or a too large input passes the
/// rejection on.
@Suite struct QueueFallbackSpecs {
    /// A session on `yaml` whose state directory is `directory`'s, and
    /// whose standard input and working directory are given.
    private func fixture(_ yaml: String, in directory: QueueTestDirectory, stdin: [UInt8] = [],
                         environment: [String: String] = [:]) throws -> SessionFixture {
        var fixture = try SessionFixture(yaml: yaml)
        fixture.session.stateDirectory = directory.stateDirectory
        fixture.session.readInput = { limit in Array(stdin.prefix(limit)) }
        fixture.session.workingDirectory = { "/srv/batch" }
        fixture.session.environment = environment
        return fixture
    }

    private func items(in directory: QueueTestDirectory) throws -> [QueueItem] {
        try directory.store().list().compactMap(\.item)
    }

    @Test func aRejectedCommandIsQueuedWithItsInputAndNamedVariablesAndAnsweredWithOneLine() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {env: [TZ]}}}
            """, in: directory, stdin: [0, 1, 2, 255, 10], environment: ["TZ": "UTC", "SECRET": "s3cret"])
        _ = try fixture.session.run("payments", command: [], force: false)
        let linesBefore = fixture.log.defaultLevelLines.count

        let result = try fixture.session.run("payments", command: ["/usr/bin/pay", "--day", "1"], force: false)

        #expect(result == .fellBack(.open(retryAfter: .seconds(60)), .answered(exitCode: 0, how: "queued as item 1 of 1 waiting")))
        #expect(fixture.script(of: "payments")?.runs.count == 1, "the rejected call did not run")
        let lines = fixture.log.defaultLevelLines.dropFirst(linesBefore).map(\.message)
        #expect(lines == ["payments: rejected, breaker is open (next trial in 60s); queued as item 1 of 1 waiting"])
        #expect(fixture.streams.standardOutput.isEmpty)
        let queued = try items(in: directory)
        #expect(queued.count == 1)
        #expect(queued.first?.call == .command(["/usr/bin/pay", "--day", "1"]))
        #expect(queued.first?.standardInput == [0, 1, 2, 255, 10])
        #expect(queued.first?.environment == ["TZ": "UTC"], "only the variables named in env")
        #expect(queued.first?.workingDirectory == "/srv/batch")
        #expect(queued.first?.attempts == 0)
        #expect(queued.first?.queuedAtWallNanoseconds == fixture.clock.now().wallNanoseconds)
        #expect(try fixture.state(of: "payments").state.counts.fallbacks == 1)
    }

    @Test func theConfiguredCallIsQueuedByReferenceAndAnswersTheExitCodeAsked() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {exit_code: 3}}}
            """, in: directory)
        _ = try fixture.session.run("payments", command: [], force: false)

        let first = try fixture.session.run("payments", command: [], force: false)
        let second = try fixture.session.run("payments", command: [], force: false)

        #expect(first == .fellBack(.open(retryAfter: .seconds(60)), .answered(exitCode: 3, how: "queued as item 1 of 1 waiting")))
        #expect(second == .fellBack(.open(retryAfter: .seconds(60)), .answered(exitCode: 3, how: "queued as item 2 of 2 waiting")))
        #expect(try items(in: directory).map(\.call) == [.configured, .configured])
    }

    @Test func aFullQueueRefusesWithAWarningAndPassesTheRejectionOn() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {max_items: 2}}}
              listed:
                scripted: 'failure'
                fail_max: 1
                fallback: [{queue: {max_items: 1}}, {output: "later\\n", exit_code: 9}]
            """, in: directory)
        _ = try fixture.session.run("payments", command: [], force: false)
        _ = try fixture.session.run("payments", command: [], force: false)
        _ = try fixture.session.run("payments", command: [], force: false)

        let refused = try fixture.session.run("payments", command: [], force: false)

        #expect(refused == .rejected(.open(retryAfter: .seconds(60)), exitCode: 75))
        #expect(fixture.log.messages(at: .warning).contains("payments: not queued: the queue is full (2 items waiting, max_items 2)"))
        #expect(try items(in: directory).count == 2)

        _ = try fixture.session.run("listed", command: [], force: false)
        _ = try fixture.session.run("listed", command: [], force: false)
        let next = try fixture.session.run("listed", command: [], force: false)
        #expect(next == .fellBack(.open(retryAfter: .seconds(60)), .answered(exitCode: 9, how: "fallback answered")))
        #expect(fixture.streams.standardOutput == "later\n")
        #expect(fixture.log.messages(at: .warning).contains("listed: not queued: the queue is full (1 items waiting, max_items 1); trying the next fallback"))
    }

    @Test func anInputLargerThanMaxStdinIsNotQueued() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {max_stdin: 4}}}
            """, in: directory, stdin: [1, 2, 3, 4, 5])
        _ = try fixture.session.run("payments", command: [], force: false)

        let result = try fixture.session.run("payments", command: [], force: false)

        #expect(result == .rejected(.open(retryAfter: .seconds(60)), exitCode: 75))
        #expect(fixture.log.messages(at: .warning).contains("payments: not queued: the standard input is larger than max_stdin (4 bytes)"))
        #expect(try items(in: directory).isEmpty)
    }

    @Test func anInputOfExactlyMaxStdinIsQueuedWhole() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {max_stdin: 4}}}
            """, in: directory, stdin: [1, 2, 3, 4])
        _ = try fixture.session.run("payments", command: [], force: false)

        _ = try fixture.session.run("payments", command: [], force: false)

        #expect(try items(in: directory).map(\.standardInput) == [[1, 2, 3, 4]])
    }
}

@Suite struct QueueFallbackConfigurationTests {
    @Test func anEmptyQueueMappingHasTheDefaults() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            version: 1
            breakers:
              payments: {command: [/bin/true], fallback: {queue: {}}}
            """, file: "/etc/breaker-run/breakers.yaml", registry: .builtIn)
        let fallback = try #require(configuration.breakers["payments"]?.fallbacks.first?.kind as? QueueFallback)
        #expect(fallback == QueueFallback())
        #expect(fallback.maxItems == 1000 && fallback.maxAge == .seconds(7 * 86_400) && fallback.maxStandardInput == 1 << 20)
        #expect(fallback.maxAttempts == 5 && fallback.environmentNames.isEmpty && fallback.exitCode == 0)
    }

    @Test func theQueuePrintsItselfAndLoadsBackAsTheSame() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            version: 1
            breakers:
              payments:
                command: [/bin/true]
                fallback:
                  - queue: {max_items: 3, max_age: 1h, max_stdin: 1KiB, max_attempts: 2, env: [TZ, BATCH_DATE], drain: on_close}
                    exit_code: 4
                  - output: "later"
            """, file: "/etc/breaker-run/breakers.yaml", registry: .builtIn)
        let printed = configuration.effectiveYAML()
        #expect(printed.contains("queue: {max_items: 3, max_age: 1h, max_stdin: 1024, max_attempts: 2, env: [TZ, BATCH_DATE], drain: on_close}"))
        let reloaded = try ConfigurationLoader.parse(yaml: printed, file: "/etc/breaker-run/breakers.yaml", registry: .builtIn)
        #expect(reloaded.breakers["payments"]?.fallbacks == configuration.breakers["payments"]?.fallbacks)
        var expected = QueueFallback()
        (expected.maxItems, expected.maxAge, expected.maxStandardInput, expected.maxAttempts) = (3, .seconds(3600), 1024, 2)
        (expected.environmentNames, expected.exitCode, expected.drainsOnClose) = (["TZ", "BATCH_DATE"], 4, true)
        #expect(reloaded.breakers["payments"]?.fallbacks.first?.kind as? QueueFallback == expected)
    }

    @Test(arguments: [
        ("{queue: {max_items: 0}}", "max_items"),
        ("{queue: {max_stdin: 64MiB}}", "at most 32MiB"),
        ("{queue: {env: [1BAD]}}", "variable name"),
        ("{queue: {env: TZ}}", "must be a list"),
        ("{queue: {drain: always}}", "'queue.drain' is on_close or manual, not 'always'"),
        ("{queue: {max_item: 3}}", "max_items"),
    ])
    func aBadQueueValueIsAnErrorWithItsPosition(fallback: String, expected: String) {
        let yaml = """
            version: 1
            breakers:
              payments: {command: [/bin/true], fallback: \(fallback)}
            """
        #expect {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/breaker-run/breakers.yaml", registry: .builtIn)
        } throws: { error in
            let text = "\(error)"
            return text.contains(expected) && text.contains("breakers.yaml:3:")
        }
    }
}
