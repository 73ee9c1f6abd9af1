extension QueueStore {
    /// Claims the oldest item that no one else holds, for a replay: the
    /// first, in sequence order after `after`, whose file this call can lock
    /// with a non-blocking exclusive flock(2). Unreadable items met on the
    /// way are moved aside and reported; an item of a newer format is
    /// reported and left; an item another drain holds is passed over.
    ///
    /// Exclusivity. A claim is `LOCK_EX | LOCK_NB` on the item file's own
    /// open file description (flock(2) locks belong to it, so two stores,
    /// two processes or two opens in one process conflict). The lock is only
    /// worth anything while the name still leads to the locked inode: after
    /// locking, the claimer checks with fstat(2)/fstatat(2) that the name is
    /// still that inode; a holder that removed the item (unlink), moved it
    /// to `dead/` or rewrote it (rename over it) did so before releasing, so
    /// a late claimer that opened the old inode sees the name gone or
    /// changed and lets go. Hence no two claims of one item overlap, and
    /// two concurrent drains never run the same item at the same time.
    ///
    /// At least once, never lost (for docs/RELIABILITY.md). An item file is
    /// only ever created whole (rename of an fsync'd temporary file), and
    /// leaves the queue only by an operation its claimer makes after the
    /// outcome is known: `remove()` after a success, a rename into `dead/`,
    /// or a rename of a rewrite over it (`recordFailure`) that is again a
    /// whole item. Each is atomic (rename(2), unlink(2)), so a SIGKILL at
    /// any moment leaves the item either in the queue, whole, or gone
    /// because its outcome was recorded. The kernel frees a dead process's
    /// flock at once, so the item it was running is claimable again and runs
    /// again: at most that item runs twice, and a job tells repeats apart by
    /// `BREAKER_QUEUE_ITEM` (`QueueItem.id`). A killed rewrite's temporary
    /// file (`SEQ.item.tmp`) is removed by the next claimer of that item.
    /// - Parameter after: claim only items with a larger sequence number
    ///   (0 for all), so that a drain that keeps a failed item can go on.
    /// - Returns: the claim, held until it is completed or released; nil
    ///   when no item is free.
    /// - Throws: `StateStoreError` when the queue cannot be opened, listed,
    ///   locked or read, or a symlink stands for the queue directory.
    package func claimOldest(after: UInt64 = 0) throws -> QueueClaim? {
        guard let queue = try openQueue(creating: false) else { return nil }
        defer { queue.close() }
        for (sequence, name) in try Self.itemNames(in: queue) where sequence > after {
            if let claim = try claim(name, sequence: sequence, in: queue) { return claim }
        }
        return nil
    }

    /// Claims item file `name` of `queue` as `claimOldest` describes.
    /// - Returns: the claim, or nil when the item is gone, held by another
    ///   claimer, or unreadable (then moved aside and reported).
    /// - Throws: `StateStoreError`.
    func claim(_ name: String, sequence: UInt64, in queue: BreakerDirectory) throws -> QueueClaim? {
        // A rewrite renamed over the name between the open and the lock:
        // open the new file. Bounded, since each retry follows a completed
        // rewrite by a claimer that holds the lock meanwhile.
        for _ in 0..<8 {
            let descriptor: Int32
            do {
                descriptor = try QueueSystemCalls.openItem(name, in: queue)
            } catch StateStoreError.cannotOpen(_, let error) where error.isMissing {
                return nil
            } catch let error as StateStoreError {
                switch error {
                case .symlinkRefused, .notARegularFile, .hardLinked:
                    // Never followed nor read: the link or file itself moves.
                    moveAside(name, in: queue, reason: "\(error)")
                    return nil
                default:
                    throw error
                }
            }
            do {
                guard try QueueSystemCalls.lockExclusively(descriptor, path: queue.path(name), waiting: false) else {
                    closeDescriptor(descriptor)
                    return nil
                }
                guard QueueSystemCalls.isStillNamed(descriptor, name, in: queue.descriptor) else {
                    closeDescriptor(descriptor)
                    continue
                }
                queue.removeLeftoverTemporary("\(name).tmp")
                let bytes = try QueueSystemCalls.readFromStart(descriptor, path: queue.path(name), limit: QueueItemCodec.maximumSize + 1)
                let item: QueueItem
                do {
                    item = try QueueItemCodec.decode(bytes)
                } catch {
                    if error.isDamage {
                        moveAside(name, in: queue, reason: error.description)
                    } else {
                        reportLeftInPlace(queue.path(name), reason: error.description)
                    }
                    closeDescriptor(descriptor)
                    return nil
                }
                return QueueClaim(item: item, sequence: sequence, name: name,
                                  queue: try QueueSystemCalls.duplicate(queue), descriptor: descriptor)
            } catch {
                closeDescriptor(descriptor)
                throw error
            }
        }
        return nil
    }
}

/// An item claimed for a replay (`QueueStore.claimOldest(after:)`): an
/// exclusive flock(2) on its file, held until the claim is completed
/// (`remove()`, `recordFailure(maxAttempts:)`, `moveToDead()`), released
/// (`release()`), deinitialized, or its process dies (the kernel then frees
/// it, and the item is claimable again). The descriptors are close-on-exec,
/// so the replayed call never inherits the claim.
package final class QueueClaim {
    /// The item, as read under the claim.
    package let item: QueueItem
    /// Its sequence number in the queue.
    package let sequence: UInt64
    private let name: String
    private let queue: BreakerDirectory
    private var descriptor: Int32

    init(item: QueueItem, sequence: UInt64, name: String, queue: BreakerDirectory, descriptor: Int32) {
        self.item = item
        self.sequence = sequence
        self.name = name
        self.queue = queue
        self.descriptor = descriptor
    }

    deinit {
        release()
    }

    /// The item file's path, for messages.
    package var path: String { queue.path(name) }

    /// Whether the claim is still held.
    package var isHeld: Bool { descriptor >= 0 }

    /// Whether a drain running as `user` may run the item: its file is
    /// owned by `user` and writable by no one else. The owner is the
    /// kernel's (fstat(2) of the claimed file), not the item's `user`
    /// field, which its writer chose; in a directory shared by a group an
    /// item written by another member, or rewritten by one, is that
    /// member's command, and a drain that ran it would run it as `user`
    /// (as root, from the shipped crontab and unit).
    /// - Parameter user: the drain's effective user id.
    /// - Returns: nil when it may, else the file's owner, to report.
    package func ownerIfNotRunnable(byUser user: uid_t) -> uid_t? {
        var status = stat()
        guard descriptor >= 0, fstat(descriptor, &status) == 0 else { return uid_t.max }
        if status.st_uid == user && status.st_mode & 0o022 == 0 { return nil }
        return status.st_uid
    }

    /// Lets the item go, unchanged, for another drain or a later one (a
    /// drain stopped by the breaker before running it). Calling it again
    /// does nothing.
    package func release() {
        guard descriptor >= 0 else { return }
        // The lock goes with the descriptor (flock(2)); close(2) is not
        // retried on EINTR on Linux.
        closeDescriptor(descriptor)
        descriptor = -1
        queue.close()
    }

    /// Removes the item after a successful replay whose outcome is
    /// recorded: unlink(2) under the claim, fsync(2) of the directory, then
    /// the claim is released. An item file replaced by hand meanwhile (not
    /// the claimed one any more) is left.
    /// - Throws: `StateStoreError.cannotWrite` when unlink(2) or the fsync
    ///   fails; the claim is released either way (a removal not made durable
    ///   may make the item run again: at least once).
    package func remove() throws {
        precondition(isHeld, "a queue claim is completed once")
        defer { release() }
        guard QueueSystemCalls.isStillNamed(descriptor, name, in: queue.descriptor) else { return }
        do {
            try QueueSystemCalls.remove(name, in: queue)
            try queue.syncDirectory()
        } catch {
            throw StateStoreError.cannotWrite(path: path, error)
        }
    }

    /// Records a failed replay: the item with `attempts + 1`, rewritten
    /// atomically (temporary file `SEQ.item.tmp`, fsync, rename over the
    /// item, fsync of the directory), or, when that reaches `maxAttempts`
    /// (`max_attempts`), moved to `queue/dead/` (`moveToDead()`) with
    /// the new count. The claim is then released.
    /// - Parameter maxAttempts: the failed replays after which the item is dead.
    /// - Returns: the new count, and whether the item is dead.
    /// - Throws: `StateStoreError` when the rewrite or the move fails; the
    ///   item is then still queued with its former count.
    @discardableResult
    package func recordFailure(maxAttempts: Int) throws -> FailureOutcome {
        precondition(isHeld, "a queue claim is completed once")
        var failed = item
        failed.attempts += 1
        if failed.attempts >= maxAttempts {
            return .dead(attempts: failed.attempts, path: try moveToDead(rewrittenAs: failed))
        }
        defer { release() }
        try queue.replaceFile(name, with: QueueItemCodec.encode(failed), temporary: "\(name).tmp", mode: QueueStore.itemMode(in: queue))
        return .kept(attempts: failed.attempts)
    }

    /// Moves the item to `queue/dead/` (created when missing), where no
    /// drain runs it and an operator can read or drop it: rename(2) into the
    /// directory (same file system, so atomic), fsync of both directories,
    /// then the claim is released.
    /// - Returns: the dead item's path.
    /// - Throws: `StateStoreError` when the directory cannot be created or
    ///   the rename fails; the item is then still queued.
    @discardableResult
    package func moveToDead() throws -> String {
        precondition(isHeld, "a queue claim is completed once")
        return try moveToDead(rewrittenAs: nil)
    }

    /// Moves the item to `dead/` and, when `rewritten` is given, rewrites
    /// it there: a kill in between leaves it dead with its former count,
    /// never both queued and dead.
    private func moveToDead(rewrittenAs rewritten: QueueItem?) throws -> String {
        defer { release() }
        guard let dead = try QueueSystemCalls.openDirectory(QueueStore.deadDirectory, in: queue, creating: true) else {
            preconditionFailure("openDirectory(creating: true) returns a directory")
        }
        defer { dead.close() }
        var target = name
        var number = 1
        while QueueSystemCalls.kind(of: target, in: dead.descriptor) != .missing {
            number += 1
            target = "\(name.dropLast(".item".count))-\(number).item"
        }
        do {
            try QueueSystemCalls.rename(name, in: queue, to: target, in: dead)
            try dead.syncDirectory()
            try queue.syncDirectory()
        } catch {
            throw StateStoreError.cannotWrite(path: path, error)
        }
        if let rewritten {
            try dead.replaceFile(target, with: QueueItemCodec.encode(rewritten), temporary: "\(target).tmp", mode: QueueStore.itemMode(in: dead))
        }
        return dead.path(target)
    }
}
