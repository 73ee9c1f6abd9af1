/// What `QueueStore.enqueue(_:maxItems:)` did with an item.
package enum EnqueueOutcome: Sendable, Equatable {
    /// The item is stored, durably, at `position`.
    case queued(QueuePosition)
    /// The queue already holds `maxItems` items (`waiting`, counting those
    /// a drain is running): nothing was written, and the rejection passes
    /// to the next fallback, or 75.
    case full(waiting: Int, maxItems: Int)
    /// The item's file would be `bytes` long, above the limit the store
    /// reads back (`limit`, `QueueItemCodec.maximumSize`): nothing was written.
    case tooLarge(bytes: Int, limit: Int)
}

/// Where an item was queued: for the notice `queued as item 17 of 3 waiting`.
package struct QueuePosition: Sendable, Equatable, CustomStringConvertible {
    /// The item's sequence number in this breaker's queue: it only grows,
    /// so it orders the items (oldest first).
    package var sequence: UInt64
    /// How many items wait now, this one included.
    package var waiting: Int
    /// The item's identifier (`QueueItem.id`).
    package var id: String

    /// Creates a position.
    /// - Parameters:
    ///   - sequence: the item's sequence number.
    ///   - waiting: the items waiting, this one included.
    ///   - id: the item's identifier.
    package init(sequence: UInt64, waiting: Int, id: String) {
        self.sequence = sequence
        self.waiting = waiting
        self.id = id
    }

    /// `item 17 of 3 waiting`.
    package var description: String {
        "item \(sequence) of \(waiting) waiting"
    }
}

/// One item file of a queue as listed, oldest first (`QueueStore.list()`).
package struct QueueEntry: Sendable, Equatable {
    /// The item's sequence number, from its file name.
    package var sequence: UInt64
    /// The file's path, for messages.
    package var path: String
    /// The item, or why it could not be read. A listing never moves
    /// anything; the next claim moves an unreadable item aside.
    package var contents: Result<QueueItem, QueueItemDecodingError>

    /// The item, when it could be read.
    package var item: QueueItem? {
        try? contents.get()
    }
}

/// A queue's figures, for `status` and `metrics`.
package struct QueueSummary: Sendable, Equatable {
    /// Items waiting, those a drain is running included.
    package var waiting: Int
    /// The age of the oldest readable waiting item, or nil when none is.
    package var oldestAge: Duration?
    /// Items in `queue/dead/`.
    package var dead: Int

    /// Creates a summary.
    /// - Parameters:
    ///   - waiting: the items waiting.
    ///   - oldestAge: the oldest readable item's age, or nil.
    ///   - dead: the dead items.
    package init(waiting: Int, oldestAge: Duration?, dead: Int) {
        self.waiting = waiting
        self.oldestAge = oldestAge
        self.dead = dead
    }
}

/// What `QueueStore.drop(id:)` did.
package enum DropOutcome: Sendable, Equatable {
    /// The item was removed from the queue (`fromDead` false) or from
    /// `queue/dead/` (`fromDead` true).
    case dropped(QueueItem, fromDead: Bool)
    /// A drain is running the item now; it was left alone.
    case busy
    /// No item has that identifier.
    case notFound
}

/// What `QueueClaim.recordFailure(maxAttempts:)` did.
package enum FailureOutcome: Sendable, Equatable {
    /// The item stays queued with `attempts` failed replays.
    case kept(attempts: Int)
    /// The item failed `attempts` times, `maxAttempts` or more: it was
    /// moved to `queue/dead/`, at `path`, and is not replayed again.
    case dead(attempts: Int, path: String)
}

/// Something in a queue that is not a readable item, found by a listing or
/// a claim: reported once per pass, never run. A damaged item, or anything
/// that is not a regular file at an item's name (a symbolic link, a
/// directory, a FIFO, a file with a second hard link in a shared
/// directory), is moved aside by a claim to `NAME.corrupt-TIME` in the
/// same directory (never followed, never read through); an item of a newer
/// format stays where it is.
package struct QueueProblem: Sendable, Equatable, CustomStringConvertible {
    /// The item file's path.
    package var path: String
    /// Why it is not an item, one phrase (`not valid JSON`, `no 'call'`).
    package var reason: String
    /// Where it was moved, or nil when it was left where it is.
    package var movedTo: String?

    /// Creates a report.
    /// - Parameters:
    ///   - path: the item file's path.
    ///   - reason: why it is not an item.
    ///   - movedTo: where it was moved, or nil.
    package init(path: String, reason: String, movedTo: String?) {
        self.path = path
        self.reason = reason
        self.movedTo = movedTo
    }

    /// One line for the operator, without the `breaker-run: ` prefix.
    package var description: String {
        if let movedTo {
            return "queue item \(path) was unreadable (\(reason)); moved aside to \(movedTo), never run"
        }
        return "queue item \(path) is not run (\(reason)); it is left where it is"
    }
}
