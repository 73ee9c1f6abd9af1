/// The items a `queue` fallback keeps for a breaker, one file each, in
/// `NAME/queue/` of the state directory (issue 18): the storage under
/// `breaker-run drain`.
///
/// Layout (modes as the breaker's own files: 0700/0600, or 2770/0660 with
/// the group in a state directory shared by a group):
///
///     NAME/queue/                            the queue
///     NAME/queue/lock                        the enqueuers' lock; holds the last sequence number given
///     NAME/queue/00000000000000000017.item   an item (`QueueItemCodec`), sequence 17
///     NAME/queue/enqueue.tmp                 an enqueuer's temporary file (under the lock)
///     NAME/queue/SEQ.item.tmp                a claimer's rewrite of item SEQ (under its claim)
///     NAME/queue/SEQ.item.corrupt-TIME       an unreadable item, moved aside
///     NAME/queue/dead/SEQ.item               an item that failed `max_attempts` times
///
/// Order: an item's sequence number is given under an exclusive flock(2)
/// on `queue/lock`, one more than both the last number given (kept in the
/// lock file) and the highest item present, so items sort by arrival even
/// under concurrent enqueuers. The names are zero-padded to 20 digits, so
/// their order as text is their order as numbers.
///
/// Atomicity: an item is written to a temporary file, fsync(2)'d, renamed
/// to its name and the directory fsync'd (`BreakerDirectory.replaceFile`):
/// POSIX rename(2) replaces a name atomically ("there shall be no point at
/// which new does not exist"), and fsync of the file then of the directory
/// makes the data and then the name durable. A reader sees a whole item or
/// none; temporary files never have an item's name, so they are ignored,
/// and the next writer under the same lock removes a killed writer's.
///
/// Symbolic links are never followed: every file is opened relative to the
/// queue directory's descriptor, itself opened with `O_NOFOLLOW` in the
/// breaker's directory, and every open uses `O_NOFOLLOW` (a link planted
/// at an item's name is moved aside by the next claim, never read through).
///
/// Replay, exclusivity and crashes: see `QueueStore.claimOldest()`.
package struct QueueStore: Sendable {
    /// The file store whose state directory holds the queue.
    package let stateStore: FileStateStore
    /// The breaker's name, a validated safe file name.
    package let breaker: String
    private let clock: any BreakerClock
    private let report: @Sendable (QueueProblem) -> Void

    /// Creates the queue store of one breaker. Nothing is read or created
    /// until the first call.
    /// - Parameters:
    ///   - stateStore: the file store of the state directory.
    ///   - breaker: the breaker's name, validated by the configuration.
    ///   - clock: the wall time of the names of items moved aside.
    ///   - report: receives each unreadable item found, once per pass.
    package init(stateStore: FileStateStore, breaker: String, clock: any BreakerClock,
                 report: @escaping @Sendable (QueueProblem) -> Void) {
        self.stateStore = stateStore
        self.breaker = breaker
        self.clock = clock
        self.report = report
    }

    /// The lock file of the queue's enqueuers.
    static let lockFile = "lock"
    /// The temporary file of an enqueuer, who holds the lock.
    static let enqueueTemporary = "enqueue.tmp"
    /// The directory of dead items, in the queue's.
    static let deadDirectory = "dead"

    /// The file name of item `sequence`: 20 digits and `.item`.
    static func fileName(of sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: 20 - digits.count) + digits + ".item"
    }

    /// The sequence number of an item's file name; nil for any other name.
    static func sequence(ofFileName name: String) -> UInt64? {
        let bytes = Array(name.utf8)
        guard bytes.count == 25, name.hasSuffix(".item"),
              bytes[..<20].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return UInt64(String(decoding: bytes[..<20], as: UTF8.self))
    }

    /// Stores an item at the end of the queue, durably, unless the queue
    /// already holds `maxItems` items.
    ///
    /// Under an exclusive flock(2) on `queue/lock` (waiting for other
    /// enqueuers, never for a drain): removes a killed enqueuer's temporary
    /// file, counts the items, gives the next sequence number, writes the
    /// item atomically and durably (temporary file, fsync, rename, fsync of
    /// the directory), then records the number in the lock file. Creates
    /// `NAME/` and `NAME/queue/` when missing.
    /// - Parameters:
    ///   - item: the item; stored as it is (its `attempts` included).
    ///   - maxItems: the most items the queue may hold (`max_items`).
    /// - Returns: the item's position, or why it was refused.
    /// - Throws: `StateStoreError` when a directory or file cannot be
    ///   created, opened, locked or written, or a symlink stands in the way;
    ///   nothing is queued then.
    package func enqueue(_ item: QueueItem, maxItems: Int) throws -> EnqueueOutcome {
        let bytes = QueueItemCodec.encode(item)
        if bytes.count > QueueItemCodec.maximumSize {
            return .tooLarge(bytes: bytes.count, limit: QueueItemCodec.maximumSize)
        }
        guard let queue = try openQueue(creating: true) else { preconditionFailure("openQueue(creating: true) returns a queue") }
        defer { queue.close() }
        let lockPath = queue.path(Self.lockFile)
        let lock = try QueueSystemCalls.openLockFile(Self.lockFile, in: queue)
        defer { closeDescriptor(lock) }
        _ = try QueueSystemCalls.lockExclusively(lock, path: lockPath, waiting: true)

        queue.removeLeftoverTemporary(Self.enqueueTemporary)
        let present = try QueueSystemCalls.names(in: queue).compactMap(Self.sequence(ofFileName:))
        if present.count >= maxItems {
            return .full(waiting: present.count, maxItems: maxItems)
        }
        let recorded = Self.lastSequence(in: try QueueSystemCalls.readFromStart(lock, path: lockPath, limit: 64)) ?? 0
        let sequence = max(recorded, present.max() ?? 0) + 1
        try queue.replaceFile(Self.fileName(of: sequence), with: bytes, temporary: Self.enqueueTemporary, mode: Self.itemMode(in: queue))
        // Not synced: were it lost, the items present still order the next
        // number; it only keeps numbers growing once the queue was emptied.
        try? QueueSystemCalls.overwrite(lock, with: Array("\(sequence)\n".utf8), path: lockPath)
        return .queued(QueuePosition(sequence: sequence, waiting: present.count + 1, id: item.id))
    }

    /// The last sequence number recorded in the lock file: decimal digits
    /// and a newline; nil when empty or damaged.
    static func lastSequence(in bytes: [UInt8]) -> UInt64? {
        guard bytes.last == UInt8(ascii: "\n") else { return nil }
        return UInt64(String(decoding: bytes.dropLast(), as: UTF8.self))
    }

    /// The queue's items, oldest first, each read without a lock and
    /// without writing anything (an item is only ever replaced by rename,
    /// so each read sees a whole one). An item that goes away while the
    /// queue is listed is left out; an unreadable one is listed as such.
    /// - Returns: the entries; none when the queue or the breaker's
    ///   directory does not exist.
    /// - Throws: `StateStoreError` when a directory cannot be opened or
    ///   listed, or a symlink stands for one.
    package func list() throws -> [QueueEntry] {
        guard let queue = try openQueue(creating: false) else { return [] }
        defer { queue.close() }
        var entries: [QueueEntry] = []
        for (sequence, name) in try Self.itemNames(in: queue) {
            let contents: Result<QueueItem, QueueItemDecodingError>
            do {
                guard let bytes = try queue.readFile(name, limit: QueueItemCodec.maximumSize + 1)?.bytes else { continue }
                contents = Result { () throws(QueueItemDecodingError) in try QueueItemCodec.decode(bytes) }
            } catch let error as StateStoreError {
                contents = .failure(.unreadableFile(error.description))
            }
            entries.append(QueueEntry(sequence: sequence, path: queue.path(name), contents: contents))
        }
        return entries
    }

    /// The queue's figures as of `nowWallNanoseconds`, read without a lock
    /// and without writing: for `status` and `metrics`.
    /// - Parameter nowWallNanoseconds: the wall time, nanoseconds since the epoch.
    /// - Returns: the items waiting, the oldest one's age, the dead items.
    /// - Throws: `StateStoreError`, as `list()` does.
    package func summary(nowWallNanoseconds: Int64) throws -> QueueSummary {
        guard let queue = try openQueue(creating: false) else { return QueueSummary(waiting: 0, oldestAge: nil, dead: 0) }
        defer { queue.close() }
        let names = try Self.itemNames(in: queue)
        var oldestAge: Duration?
        for (_, name) in names {
            guard let bytes = try? queue.readFile(name, limit: QueueItemCodec.maximumSize + 1)?.bytes,
                  let item = try? QueueItemCodec.decode(bytes) else { continue }
            oldestAge = item.age(atWallNanoseconds: nowWallNanoseconds)
            break
        }
        var dead = 0
        if let deadDirectory = try QueueSystemCalls.openDirectory(Self.deadDirectory, in: queue, creating: false) {
            defer { deadDirectory.close() }
            dead = try Self.deadItemNames(in: deadDirectory).count
        }
        return QueueSummary(waiting: names.count, oldestAge: oldestAge, dead: dead)
    }

    /// Removes the items queued more than `maxAge` before `nowWallNanoseconds`
    /// (`max_age`), oldest first, each under its claim: an item a drain is
    /// running is left to it. Unreadable items met are moved aside and
    /// reported, as by `claimOldest()`.
    /// - Parameters:
    ///   - maxAge: the age above which an item is dropped.
    ///   - nowWallNanoseconds: the wall time, nanoseconds since the epoch.
    /// - Returns: the items dropped, oldest first, for the report and the count.
    /// - Throws: `StateStoreError` when the queue cannot be opened, listed or
    ///   changed; the items dropped before the failure stay dropped.
    package func dropExpired(maxAge: Duration, nowWallNanoseconds: Int64) throws -> [QueueItem] {
        guard let queue = try openQueue(creating: false) else { return [] }
        defer { queue.close() }
        var dropped: [QueueItem] = []
        for (sequence, name) in try Self.itemNames(in: queue) {
            guard let held = try claim(name, sequence: sequence, in: queue) else { continue }
            defer { held.release() }
            if held.item.age(atWallNanoseconds: nowWallNanoseconds) > maxAge {
                try held.remove()
                dropped.append(held.item)
            }
        }
        return dropped
    }

    /// Removes the item `id`, for an operator (`queue drop NAME ID`): from
    /// the queue, under its claim, or else from `queue/dead/`.
    /// - Parameter id: the item's identifier (`QueueItem.id`).
    /// - Returns: the item dropped, `.busy` when a drain is running it, or
    ///   `.notFound`.
    /// - Throws: `StateStoreError` when the queue cannot be opened, listed or changed.
    package func drop(id: String) throws -> DropOutcome {
        guard let queue = try openQueue(creating: false) else { return .notFound }
        defer { queue.close() }
        for entry in try list() where entry.item?.id == id {
            let name = Self.fileName(of: entry.sequence)
            guard let held = try claim(name, sequence: entry.sequence, in: queue) else { return .busy }
            defer { held.release() }
            // Rewritten or replaced between the listing and the claim: check again.
            guard held.item.id == id else { continue }
            try held.remove()
            return .dropped(held.item, fromDead: false)
        }
        guard let dead = try QueueSystemCalls.openDirectory(Self.deadDirectory, in: queue, creating: false) else { return .notFound }
        defer { dead.close() }
        for name in try Self.deadItemNames(in: dead) {
            guard let bytes = try? dead.readFile(name, limit: QueueItemCodec.maximumSize + 1)?.bytes,
                  let item = try? QueueItemCodec.decode(bytes), item.id == id else { continue }
            do {
                try QueueSystemCalls.remove(name, in: dead)
                try dead.syncDirectory()
            } catch {
                throw StateStoreError.cannotWrite(path: dead.path(name), error)
            }
            return .dropped(item, fromDead: true)
        }
        return .notFound
    }

    /// The item names of a directory with their sequence numbers, oldest first.
    static func itemNames(in directory: BreakerDirectory) throws -> [(UInt64, String)] {
        try QueueSystemCalls.names(in: directory)
            .compactMap { name in sequence(ofFileName: name).map { ($0, name) } }
            .sorted { $0.0 < $1.0 }
    }

    /// The item names of `queue/dead/`, sorted: `SEQ.item`, or `SEQ-N.item`
    /// when an item of that number was already there.
    static func deadItemNames(in directory: BreakerDirectory) throws -> [String] {
        try QueueSystemCalls.names(in: directory).filter { $0.hasSuffix(".item") && !$0.hasPrefix(".") }.sorted()
    }

    /// Opens `NAME/queue/`, creating it (and `NAME/`) when `creating`.
    /// - Returns: the directory, or nil when it does not exist and not `creating`.
    /// - Throws: `StateStoreError`.
    func openQueue(creating: Bool) throws -> BreakerDirectory? {
        guard let breakerDirectory = try BreakerDirectory.open(store: stateStore, name: breaker, creating: creating) else { return nil }
        defer { breakerDirectory.close() }
        return try QueueSystemCalls.openDirectory("queue", in: breakerDirectory, creating: creating)
    }

    /// Moves `name` of `queue` aside to `NAME.corrupt-TIME` (or `-2`, ...
    /// when taken) and reports it; a failure to move is reported too, the
    /// item being left where it is. Never follows a link: rename(2) moves
    /// the link itself.
    func moveAside(_ name: String, in queue: BreakerDirectory, reason: String) {
        let base = "\(name).corrupt-\(formatCompactUTC(wallNanoseconds: clock.now().wallNanoseconds))"
        var candidate = base
        var number = 1
        while QueueSystemCalls.kind(of: candidate, in: queue.descriptor) != .missing {
            number += 1
            candidate = "\(base)-\(number)"
        }
        do {
            try QueueSystemCalls.rename(name, in: queue, to: candidate, in: queue)
            try? queue.syncDirectory()
            report(QueueProblem(path: queue.path(name), reason: reason, movedTo: queue.path(candidate)))
        } catch {
            report(QueueProblem(path: queue.path(name), reason: "\(reason); moving it aside failed: \(error)", movedTo: nil))
        }
    }

    /// Reports a problem that leaves the item where it is.
    func reportLeftInPlace(_ path: String, reason: String) {
        report(QueueProblem(path: path, reason: reason, movedTo: nil))
    }
}

extension QueueStore {
    /// The mode of an item file: 0600, or 0640 in a directory shared by a
    /// group. The group may read an item (`queue list`, `status`) but never
    /// write it: an item is a command that its owner's drain runs, and a
    /// member who could rewrite another user's item, root's among them,
    /// would run commands as that user (`QueueClaim.isRunnable(byUser:)`).
    /// - Parameter queue: the queue's directory.
    /// - Returns: the mode.
    static func itemMode(in queue: BreakerDirectory) -> mode_t {
        queue.isShared ? 0o640 : 0o600
    }
}
