import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Testing

/// The standard inputs a drain gave its calls, in order.
private final class InputLog: @unchecked Sendable {
    private let lock = NSLock()
    private var inputs: [[UInt8]] = []

    func append(_ bytes: [UInt8]) { lock.withLock { inputs.append(bytes) } }
    var elements: [[UInt8]] { lock.withLock { inputs } }
}

/// `drain`: the queued items replayed under the breaker, oldest first; a
/// success removes an item, a failure keeps it (dead at `max_attempts`),
/// a rejection stops the drain and keeps them all.
@Suite struct DrainSpecs {
    /// A session on `yaml` over `directory`'s state directory, recording the
    /// standard inputs given to the replayed calls.
    private func fixture(_ yaml: String, in directory: QueueTestDirectory, inputs: InputLog? = nil) throws -> SessionFixture {
        var fixture = try SessionFixture(yaml: yaml)
        fixture.session.stateDirectory = directory.stateDirectory
        fixture.session.replaceInput = { bytes, _ in inputs?.append(bytes) }
        return fixture
    }

    /// Queues `count` items of the configured call, item N with input [N].
    private func enqueue(_ count: Int, in fixture: SessionFixture) throws {
        for index in 1...count {
            let item = QueueItem(call: .configured, workingDirectory: "/", standardInput: [UInt8(index)],
                                 queuedAtWallNanoseconds: fixture.clock.now().wallNanoseconds)
            _ = try fixture.session.queue(of: "payments").enqueue(item, maxItems: 100)
        }
    }

    private func items(_ fixture: SessionFixture) throws -> [QueueItem] {
        try fixture.session.queue(of: "payments").list().compactMap(\.item)
    }

    @Test func everyItemIsReplayedOldestFirstWithItsInputAndTheQueueEmpties() throws {
        let directory = QueueTestDirectory()
        let inputs = InputLog()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'success', fallback: {queue: {}}}
            """, in: directory, inputs: inputs)
        try enqueue(3, in: fixture)

        let report = try fixture.session.drain("payments")

        #expect(report.succeeded == 3 && report.replayed == 3 && report.waiting == 0)
        #expect(report.ending == .noItemLeft)
        #expect(inputs.elements == [[1], [2], [3]], "oldest first, each with its own input")
        #expect(fixture.script(of: "payments")?.runs.count == 3)
        #expect(try fixture.state(of: "payments").state.counts.successes == 3, "recorded as runs are")
        #expect(try items(fixture).isEmpty)
        #expect(try fixture.session.queue(of: "payments").totals() == QueueTotals(queued: 3, replayed: 3, dropped: 0))
    }

    @Test func aDrainWhileTheBreakerIsOpenRunsNothingAndKeepsTheItems() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {}}}
            """, in: directory)
        _ = try fixture.session.run("payments", command: [], force: false)
        try enqueue(2, in: fixture)

        let report = try fixture.session.drain("payments")

        #expect(report.ending == .stoppedByBreaker(.open(retryAfter: .seconds(60))))
        #expect(report.replayed == 0 && report.waiting == 2)
        #expect(fixture.script(of: "payments")?.runs.count == 1, "only the run that opened it")
        #expect(try items(fixture).map(\.attempts) == [0, 0])
    }

    @Test func aFailingItemStaysQueuedWithOneMoreAttemptAndTheBreakerItOpensStopsTheDrain() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 1, fallback: {queue: {}}}
            """, in: directory)
        try enqueue(2, in: fixture)

        let report = try fixture.session.drain("payments")

        #expect(report.replayed == 1 && report.kept == 1)
        #expect(report.ending == .stoppedByBreaker(.open(retryAfter: .seconds(60))))
        #expect(try items(fixture).map(\.attempts) == [1, 0])
        #expect(try fixture.state(of: "payments").circuitState == .open)
        #expect(fixture.log.messages(at: .notice).contains { $0.contains("failed (attempt 1 of 5); kept") })
    }

    @Test func anItemThatFailedMaxAttemptsTimesIsMovedToDead() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'failure', fail_max: 10, fallback: {queue: {max_attempts: 2}}}
            """, in: directory)
        try enqueue(1, in: fixture)

        let first = try fixture.session.drain("payments")
        let second = try fixture.session.drain("payments")

        #expect(first.kept == 1 && first.waiting == 1 && first.ending == .noItemLeft)
        #expect(second.dead == 1 && second.waiting == 0)
        let summary = try fixture.session.queue(of: "payments").summary(nowWallNanoseconds: fixture.clock.now().wallNanoseconds)
        #expect(summary.dead == 1 && summary.waiting == 0)
        #expect(fixture.log.messages(at: .warning).contains { $0.contains("failed 2 times (max_attempts); moved to") })
    }

    @Test func itemsOlderThanMaxAgeAreDroppedEachReportedAndNeverRun() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'success', fallback: {queue: {max_age: 1h}}}
            """, in: directory)
        try enqueue(2, in: fixture)
        fixture.clock.advance(by: .seconds(7200))

        let report = try fixture.session.drain("payments")

        #expect(report.dropped == 2 && report.replayed == 0 && report.waiting == 0)
        #expect(fixture.script(of: "payments")?.runs.isEmpty == true)
        #expect(fixture.log.messages(at: .notice).filter { $0.contains("over max_age 1h") }.count == 2)
        #expect(try fixture.session.queue(of: "payments").totals() == QueueTotals(queued: 2, replayed: 0, dropped: 2))
    }

    @Test func maxStopsAfterThatManyItems() throws {
        let directory = QueueTestDirectory()
        let fixture = try fixture("""
            version: 1
            breakers:
              payments: {scripted: 'success', fallback: {queue: {}}}
            """, in: directory)
        try enqueue(3, in: fixture)

        let report = try fixture.session.drain("payments", maximum: 2)

        #expect(report.replayed == 2 && report.waiting == 1 && report.ending == .limitReached)
        #expect(try items(fixture).map(\.standardInput) == [[3]])
    }
}
