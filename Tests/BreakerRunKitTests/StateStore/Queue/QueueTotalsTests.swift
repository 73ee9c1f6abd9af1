import BreakerRunKit
import Foundation
import Testing

/// A queue's lifetime totals for `metrics`: queued from the item numbers,
/// replayed and dropped from the drains' totals file.
@Suite struct QueueTotalsTests {
    @Test func queuedIsTheLastNumberGivenEvenWhenTheLockFileIsDamaged() throws {
        let directory = QueueTestDirectory()
        let store = directory.store()
        for _ in 0..<3 { _ = try store.enqueue(queueItem(), maxItems: 10) }
        #expect(try store.totals() == QueueTotals(queued: 3, replayed: 0, dropped: 0))

        try Data("garbage".utf8).write(to: URL(fileURLWithPath: directory.queue + "/lock"))

        #expect(try store.totals().queued == 3, "the highest item present")
    }

    @Test func drainsAddUpAndADamagedTotalsFileCountsFromZero() throws {
        let directory = QueueTestDirectory()
        let store = directory.store()
        _ = try store.enqueue(queueItem(), maxItems: 10)
        try store.addToTotals(replayed: 2, dropped: 1)
        try store.addToTotals(replayed: 1, dropped: 0)
        #expect(try store.totals() == QueueTotals(queued: 1, replayed: 3, dropped: 1))
        #expect(try String(contentsOfFile: directory.queue + "/totals", encoding: .utf8) == "replayed 3\ndropped 1\n")

        try Data("replayed x\n".utf8).write(to: URL(fileURLWithPath: directory.queue + "/totals"))
        #expect(try store.totals() == QueueTotals(queued: 1, replayed: 0, dropped: 0))
        try store.addToTotals(replayed: 1, dropped: 0)
        #expect(try store.totals().replayed == 1)
    }

    @Test func aQueueThatDoesNotExistHasNoTotals() throws {
        #expect(try QueueTestDirectory().store().totals() == QueueTotals(queued: 0, replayed: 0, dropped: 0))
    }
}
