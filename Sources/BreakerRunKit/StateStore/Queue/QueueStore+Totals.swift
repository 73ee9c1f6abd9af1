/// A queue's lifetime totals, for `metrics`' counters.
package struct QueueTotals: Sendable, Equatable {
    /// Items ever queued: the last sequence number given (numbers only grow,
    /// one per item), 0 when the queue or its lock file does not exist.
    package var queued: UInt64
    /// Items a drain replayed with success and removed.
    package var replayed: UInt64
    /// Items a drain dropped for being older than `max_age`.
    package var dropped: UInt64

    /// Creates totals.
    /// - Parameters:
    ///   - queued: items ever queued.
    ///   - replayed: items replayed with success.
    ///   - dropped: items dropped as too old.
    package init(queued: UInt64, replayed: UInt64, dropped: UInt64) {
        self.queued = queued
        self.replayed = replayed
        self.dropped = dropped
    }
}

extension QueueStore {
    /// The file of the drains' totals: `replayed N` and `dropped N` lines,
    /// replaced atomically under `queue/lock`.
    static let totalsFile = "totals"

    /// Reads the queue's totals, without a lock and without writing (the
    /// totals file is only ever replaced by rename, so a read sees a whole
    /// one). A damaged totals file reads as zeros, as a counter reset.
    /// - Returns: the totals; zeros when the queue does not exist.
    /// - Throws: `StateStoreError` when the queue cannot be opened.
    package func totals() throws -> QueueTotals {
        guard let queue = try openQueue(creating: false) else { return QueueTotals(queued: 0, replayed: 0, dropped: 0) }
        defer { queue.close() }
        // The lock file is rewritten in place: read mid-write, or damaged,
        // the highest item present is the best lower bound.
        let lock = (try? queue.readFile(Self.lockFile, limit: 64)) ?? nil
        let present = (try? Self.itemNames(in: queue).last?.0) ?? nil
        let last = max(lock.flatMap { Self.lastSequence(in: $0.bytes) } ?? 0, present ?? 0)
        let written = (try? queue.readFile(Self.totalsFile, limit: 256)) ?? nil
        let drained = Self.parseTotals(written?.bytes)
        return QueueTotals(queued: last, replayed: drained.replayed, dropped: drained.dropped)
    }

    /// Adds a drain's figures to the totals, under an exclusive flock(2) on
    /// `queue/lock` (held for the read and the atomic rewrite only). Counted
    /// after the items' removal: a drain killed between the two loses those
    /// counts, never an item.
    /// - Parameters:
    ///   - replayed: items replayed with success.
    ///   - dropped: items dropped as too old.
    /// - Throws: `StateStoreError` when the lock or the file cannot be used.
    package func addToTotals(replayed: Int, dropped: Int) throws {
        guard replayed > 0 || dropped > 0, let queue = try openQueue(creating: false) else { return }
        defer { queue.close() }
        let lock = try QueueSystemCalls.openLockFile(Self.lockFile, in: queue)
        defer { closeDescriptor(lock) }
        _ = try QueueSystemCalls.lockExclusively(lock, path: queue.path(Self.lockFile), waiting: true)
        var totals = Self.parseTotals(try queue.readFile(Self.totalsFile, limit: 256)?.bytes)
        totals.replayed &+= UInt64(replayed)
        totals.dropped &+= UInt64(dropped)
        let text = "replayed \(totals.replayed)\ndropped \(totals.dropped)\n"
        try queue.replaceFile(Self.totalsFile, with: Array(text.utf8), temporary: "\(Self.totalsFile).tmp")
    }

    /// The `replayed` and `dropped` lines of a totals file; zeros for what
    /// is missing or damaged.
    static func parseTotals(_ bytes: [UInt8]?) -> (replayed: UInt64, dropped: UInt64) {
        var result: (replayed: UInt64, dropped: UInt64) = (0, 0)
        for line in String(decoding: bytes ?? [], as: UTF8.self).split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 2, let value = UInt64(words[1]) else { continue }
            if words[0] == "replayed" { result.replayed = value }
            if words[0] == "dropped" { result.dropped = value }
        }
        return result
    }
}
