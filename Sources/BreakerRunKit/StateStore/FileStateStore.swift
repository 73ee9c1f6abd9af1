import CircuitBreaker

/// The breakers' state, kept in files so that every short-lived breaker-run
/// process sees and changes the same state, exactly as one in-process breaker
/// would.
///
/// Layout, under the state directory (created mode 0700, parents too):
///
///     NAME/             0700, one per breaker
///     NAME/state.json   0600, the state (flat JSON with "format" and "boot_id")
///     NAME/lock         0600, the lock file taken around every change
///     NAME/permit.K     0600, half-open trial permits, K from 0
///     NAME/counts       0600, counts not yet in state.json (`PendingCounts`)
///
/// Every change is a read-modify-write under an exclusive `flock(2)` on
/// `NAME/lock`, a file that is never replaced or renamed (locking `state.json`
/// itself would lose updates, because a rename replaces the locked inode).
/// A change of the lifetime counts alone is written to `NAME/counts` in
/// place, synced with one fdatasync (`PendingCounts`). Any other
/// change goes to a temporary file in the same directory, is fsync'd,
/// and is renamed over `state.json`; rename(2) replaces the name atomically
/// (POSIX: "If the link named by the new argument exists, it shall be removed
/// and old renamed to new ... there shall be no point at which new does not
/// exist"), so readers that take no lock always see one whole state.
///
/// Symbolic links inside the state directory are never followed: each path
/// component is opened relative to its directory's descriptor with
/// `O_NOFOLLOW`. The state directory itself is opened as given (an operator
/// may point `--state-dir` through a link on purpose).
///
/// Every descriptor is opened `O_CLOEXEC`, so a spawned call inherits no lock.
///
/// Breaker names are validated by the configuration
/// (`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`); a name that is not a single safe path
/// component (empty, `.`, `..`, or with a `/`) is a programming error and
/// stops the process (precondition).
public struct FileStateStore: Sendable {
    /// The state directory, as given (without trailing slashes).
    public let directory: String
    let clock: any BreakerClock
    /// Where one-line warnings for the operator go (see `init`); the
    /// PostgreSQL store, which keeps its `cached` output here, warns there too.
    package let warn: @Sendable (String) -> Void
    /// Called after every change that `update` wrote, once the breaker's
    /// lock is released: the one place where derived files (the
    /// `metrics_file`) follow the state, whichever command changed it.
    /// Nil for nothing.
    public var afterWrite: (@Sendable () -> Void)?
    /// Whether a change of the counts alone goes to `NAME/counts` in place
    /// (`PendingCounts`); when false, every change rewrites `state.json`, as
    /// the state fuzzer's byte-for-byte round trip needs. True by default.
    package var writesCountsInPlace = true

    /// The largest state file read, in bytes (`StateDocumentCodec.maximumSize`).
    static let maximumStateFileSize = StateDocumentCodec.maximumSize

    /// The codec of `state.json`, stamping this boot's id.
    private var codec: StateDocumentCodec {
        StateDocumentCodec(clockID: clock.bootID, warn: warn)
    }

    /// Creates a store. Nothing is read or created until the first call.
    /// - Parameters:
    ///   - directory: the state directory; created with its missing parents,
    ///     mode 0700, on the first change.
    ///   - clock: where `update` and `read` get the current time and boot id.
    ///   - warn: receives one-line warnings meant for the operator (an
    ///     unreadable state file moved aside or ignored), without the
    ///     `breaker-run: ` prefix.
    public init(directory: String, clock: any BreakerClock, warn: @escaping @Sendable (String) -> Void) {
        var trimmed = directory.isEmpty ? "." : directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.directory = trimmed
        self.clock = clock
        self.warn = warn
    }

    /// Changes a breaker's state under its lock: the read-modify-write
    /// behind every admission and every recorded outcome.
    ///
    /// Creates the state directory and `NAME/` when missing, opens `NAME/lock`
    /// and takes an exclusive `flock(2)` on it (waiting for other processes,
    /// retrying `EINTR`), reads the clock, reads `state.json` and the
    /// pending counts of `NAME/counts` (added to the state `body` sees), and
    /// calls `body`. When only counts went up, they are written to
    /// `NAME/counts` in place and fdatasync'd. When anything else changed, the
    /// state (the pending counts folded in, under a new `counts_epoch`) is
    /// written to a temporary file, fsync'd, renamed over `state.json`, and
    /// the directory is fsync'd. Then the lock is released, and `afterWrite`
    /// runs if anything was written. The lock is held for this call
    /// only: never call the guarded command from `body`.
    ///
    /// A missing `state.json` is a new closed breaker. One that is not JSON,
    /// or not a JSON object, is renamed to
    /// `state.json.corrupt-YYYYMMDDTHHMMSSZ` (UTC), a warning goes to the
    /// warning channel, and the breaker starts closed. An object with fields
    /// missing or unreadable is read field by field (`StateDocumentCodec`):
    /// every readable field is kept, each repair is a warning ("state file
    /// PATH lacked 'next_trial_at'; the breaker gets one trial"), and the
    /// repaired state is written back. A state stored on another boot (a
    /// different boot id) is re-expressed on this boot's clock by the codec
    /// before `body` sees it. Instants ahead of `now` on the same boot are
    /// left to `BreakerRecord.admit(at:policy:trialPermit:)`, which clamps
    /// them with the policy.
    ///
    /// `body` may call `acquirePermit(_:slots:)`: permits are separate locks.
    /// It must not call `update` for the same breaker: that waits for a lock
    /// this call holds (flock(2) locks of two open file descriptions conflict
    /// even within one process), and never returns.
    /// - Parameters:
    ///   - name: the breaker's name, a validated safe file name.
    ///   - body: changes the state; gets the current time, read after the lock
    ///     was taken. If it throws, nothing is written.
    /// - Returns: what `body` returns.
    /// - Throws: `StateStoreError` when the directory, the lock or the file
    ///   cannot be created, opened, locked, read or written, when a symlink
    ///   stands in the way, or when `state.json` has a newer format (it is
    ///   then left untouched); anything `body` throws.
    public func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T {
        let (result, wrote) = try lockedUpdate(name, body)
        if wrote { afterWrite?() }
        return result
    }

    private func lockedUpdate<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> (T, wrote: Bool) {
        let files = try BreakerDirectory.open(store: self, name: name, creating: true)!
        defer { files.close() }
        let lockPath = files.path("lock")
        let lock = try files.openRegularFile("lock", flags: O_RDONLY | O_CREAT)
        // Closing the descriptor releases the lock (flock(2)); an explicit
        // unlock first is not needed, and close must happen on every path.
        defer { closeDescriptor(lock) }
        do {
            try retryingInterrupts("flock", path: lockPath) { flock(lock, LOCK_EX) }
        } catch {
            throw StateStoreError.cannotLock(path: lockPath, error)
        }

        let now = clock.now()
        let loaded = try load(from: files, now: now, movingCorruptAside: true)
        var state = loaded.state
        let result = try body(&state, now)
        if !loaded.needsRewrite {
            if state == loaded.state { return (result, false) }
            // Only counts went up: they go to NAME/counts in place, synced.
            if writesCountsInPlace, loaded.isFromFile, let added = Self.countsIncrease(from: loaded.state, to: state) {
                let pending = PendingCounts(epoch: loaded.countsEpoch, counts: PendingCounts.adding(added, to: loaded.pendingCounts))
                if (try? writePendingCounts(pending, to: files, durably: true)) != nil {
                    // A temporary file a killed writer left is removed by the
                    // next writer, whichever file it writes.
                    files.removeLeftoverTemporary("state.json.tmp")
                    return (result, true)
                }
                // Not written: the durable write below records them instead.
            }
        }
        // The pending counts are in `state` now; a new epoch disowns the
        // counts file, so that they are never counted twice.
        let epoch = loaded.hasCountsFile ? UInt64.random(in: 1...PendingCounts.largestEpoch) : loaded.countsEpoch
        try write(state, countsEpoch: epoch, to: files)
        if loaded.hasCountsFile {
            try? writePendingCounts(PendingCounts(epoch: epoch, counts: Counts()), to: files, durably: false)
        }
        return (result, true)
    }

    /// How much each count went up from `before` to `after`, when nothing
    /// else changed and no count went down; nil otherwise.
    package static func countsIncrease(from before: BreakerRecord, to after: BreakerRecord) -> Counts? {
        var others = after
        others.counts = before.counts
        guard others == before else { return nil }
        return PendingCounts.increase(from: before.counts, to: after.counts)
    }

    /// Reads a breaker's state without locking and without writing anything,
    /// as `status` must: `state.json` is only ever replaced by an atomic
    /// rename(2), so a plain read sees one whole state. The pending counts of
    /// `NAME/counts` are added when they belong to it; if `state.json` was
    /// replaced while the two were read (a fold), or the counts line was
    /// caught mid-write, both are read again (three tries; a counts file
    /// still damaged then is reported and left out).
    ///
    /// A missing state directory, breaker directory or state file reads as a
    /// new closed breaker. A state stored on another boot is rebased in
    /// memory. A state file that is not a JSON object reads as a new closed
    /// breaker, with a warning; the file is left as it is (the next `update`
    /// moves it aside). Repaired fields are warned about as `update` does,
    /// and left for the next `update` to rewrite.
    /// - Parameter name: the breaker's name, a validated safe file name.
    /// - Returns: the state, and the current time it was read at.
    /// - Throws: `StateStoreError` when a directory or the file exists but
    ///   cannot be opened or read, when a symlink stands in the way, or when
    ///   the file has a newer format.
    public func read(_ name: String) throws -> (BreakerRecord, Instant) {
        guard let files = try BreakerDirectory.open(store: self, name: name, creating: false) else {
            return (BreakerRecord(), clock.now())
        }
        defer { files.close() }
        // `state.json` and `NAME/counts` are read apart, without the lock: a
        // writer that replaced `state.json` in between (folding the counts
        // into it) makes the pair disagree, so read them again.
        var attempt = 1
        while true {
            let before = files.identity(of: "state.json")
            let now = clock.now()
            let loaded = try load(from: files, now: now, movingCorruptAside: false, warnsOfDamagedCounts: attempt == 3)
            if attempt == 3 || (files.identity(of: "state.json") == before && !loaded.hasDamagedCounts) {
                return (loaded.state, now)
            }
            attempt += 1
        }
    }

    /// Tries to take one of a breaker's half-open trial permits without
    /// waiting: an exclusive, non-blocking `flock(2)` (`LOCK_EX | LOCK_NB`) on
    /// `NAME/permit.0`, then `permit.1`, up to `permit.(slots-1)`.
    ///
    /// The permit is held by this process until `HeldLock.release()` (or the
    /// `HeldLock` is deinitialized, or the process dies): hold it for the
    /// whole trial call. It is independent of the state lock, so it may be
    /// taken inside an `update` body. `flock(2)` locks belong to open file
    /// descriptions, so two acquisitions in one process conflict like two
    /// processes would.
    /// - Parameters:
    ///   - name: the breaker's name, a validated safe file name.
    ///   - slots: how many permits exist (`half_open_max_calls`); below 1
    ///     there are none.
    /// - Returns: the permit taken, or nil when all `slots` are held.
    /// - Throws: `StateStoreError` when the directory or a permit file cannot
    ///   be created or opened, a symlink stands in the way, or `flock` fails
    ///   other than by the lock being taken.
    public func acquirePermit(_ name: String, slots: Int) throws -> HeldLock? {
        try acquireFirstFree(prefix: "permit", of: name, slots: slots)
    }

    /// Takes a free bulkhead slot of breaker `name` (`max_concurrent`), as
    /// `acquirePermit(_:slots:)` takes a trial permit: an exclusive
    /// non-blocking `flock(2)` on the first free of `NAME/slot.0` ...
    /// `NAME/slot.(slots-1)`, held for the call's duration and freed by the
    /// kernel if the process dies.
    /// - Parameters:
    ///   - name: the breaker's name, a validated safe file name.
    ///   - slots: how many slots exist (`max_concurrent`).
    /// - Returns: the slot taken, or nil when all are held.
    /// - Throws: `StateStoreError`, as `acquirePermit(_:slots:)` does.
    public func acquireSlot(_ name: String, slots: Int) throws -> HeldLock? {
        try acquireFirstFree(prefix: "slot", of: name, slots: slots)
    }

    /// Whether one of breaker `name`'s `slots` lock files `PREFIX.K` is
    /// free now, found without creating anything: a missing directory or
    /// file is free, and an existing one is tried with a non-blocking
    /// `flock(2)` that is released at once.
    /// - Parameters:
    ///   - prefix: `permit` (half-open trials) or `slot` (the bulkhead).
    ///   - name: the breaker's name, a validated safe file name.
    ///   - slots: how many exist; below 1 none is free.
    /// - Returns: true when one is free.
    /// - Throws: `StateStoreError`, as `acquirePermit(_:slots:)` does.
    public func hasFreeLock(_ prefix: String, of name: String, slots: Int) throws -> Bool {
        guard slots > 0 else { return false }
        guard let files = try BreakerDirectory.open(store: self, name: name, creating: false) else { return true }
        defer { files.close() }
        for slot in 0..<slots {
            let file = "\(prefix).\(slot)"
            guard files.identity(of: file) != nil else { return true }
            let descriptor = try files.openRegularFile(file, flags: O_RDONLY)
            defer { closeDescriptor(descriptor) }
            switch valueOrError("flock", path: files.path(file), { flock(descriptor, LOCK_EX | LOCK_NB) }) {
            case .success: return true
            case .failure(EWOULDBLOCK): break
            case .failure(let error): throw StateStoreError.cannotLock(path: files.path(file), error)
            }
        }
        return false
    }

    private func acquireFirstFree(prefix: String, of name: String, slots: Int) throws -> HeldLock? {
        guard slots > 0 else { return nil }
        let files = try BreakerDirectory.open(store: self, name: name, creating: true)!
        defer { files.close() }
        for slot in 0..<slots {
            let file = "\(prefix).\(slot)"
            let descriptor = try files.openRegularFile(file, flags: O_RDONLY | O_CREAT)
            switch valueOrError("flock", path: files.path(file), { flock(descriptor, LOCK_EX | LOCK_NB) }) {
            case .success:
                return HeldLock(descriptor: descriptor, path: files.path(file), slot: slot)
            case .failure(EWOULDBLOCK):
                closeDescriptor(descriptor)
            case .failure(let error):
                closeDescriptor(descriptor)
                throw StateStoreError.cannotLock(path: files.path(file), error)
            }
        }
        return nil
    }

    // MARK: Reading and writing state.json

    private struct Loaded {
        /// The state as of this boot, with the pending counts added.
        var state: BreakerRecord
        /// Whether the file must be rewritten even if the state is unchanged:
        /// it was moved aside, or it is of another boot or format.
        var needsRewrite: Bool
        /// Whether the state was read from `state.json` (not new or reset).
        var isFromFile = false
        /// The state's `counts_epoch`.
        var countsEpoch = PendingCounts.initialEpoch
        /// The counts of `NAME/counts` that belong to the state (added to
        /// `state`); zero when none do.
        var pendingCounts = Counts()
        /// Whether `NAME/counts` exists, whatever it holds.
        var hasCountsFile = false
        /// Whether it exists but is not an intact counts file.
        var hasDamagedCounts = false
    }

    private func load(from files: BreakerDirectory, now: Instant, movingCorruptAside: Bool, warnsOfDamagedCounts: Bool = true) throws -> Loaded {
        var loaded = try loadState(from: files, now: now, movingCorruptAside: movingCorruptAside)
        let countsPath = files.path(PendingCounts.fileName)
        let bytes: [UInt8]
        do {
            guard let read = try files.readFile(PendingCounts.fileName, limit: PendingCounts.encodedLength + 1)?.bytes else {
                return loaded
            }
            bytes = read
        } catch let error as StateStoreError {
            // Something planted there (a symlink, a directory, a FIFO) costs
            // the pending counts only: the state itself is intact, and
            // counts go to state.json until it is removed.
            loaded.hasCountsFile = true
            loaded.hasDamagedCounts = true
            if warnsOfDamagedCounts {
                warn("counts file \(countsPath) cannot be used (\(error)); the counts go to state.json until it is removed")
            }
            return loaded
        }
        loaded.hasCountsFile = true
        guard let pending = PendingCounts.decode(bytes) else {
            loaded.hasDamagedCounts = true
            if warnsOfDamagedCounts {
                warn("counts file \(countsPath) was damaged; the counts recorded since the last state change are lost, and the next run rewrites it")
            }
            return loaded
        }
        if loaded.isFromFile && pending.epoch == loaded.countsEpoch {
            loaded.pendingCounts = pending.counts
            loaded.state.counts = PendingCounts.adding(pending.counts, to: loaded.state.counts)
        }
        return loaded
    }

    private func loadState(from files: BreakerDirectory, now: Instant, movingCorruptAside: Bool) throws -> Loaded {
        let path = files.path("state.json")
        guard let bytes = try files.readStateFile() else {
            return Loaded(state: BreakerRecord(), needsRewrite: false)
        }
        switch codec.decode(bytes, at: now, place: "state file \(path)") {
        case .success(let decoded):
            return Loaded(state: decoded.state, needsRewrite: decoded.needsRewrite, isFromFile: true, countsEpoch: decoded.countsEpoch)
        case .failure(.newerFormat(let format)):
            throw StateStoreError.unsupportedFormat(path: path, found: format, highestSupported: StoredDocument.currentFormat)
        case .failure(.unreadable(let reason)):
            if movingCorruptAside {
                let aside = try files.moveStateFileAside(suffix: formatCompactUTC(wallNanoseconds: now.wallNanoseconds))
                warn("state file \(path) was unreadable (\(reason)); moved aside to \(aside), starting closed")
                return Loaded(state: BreakerRecord(), needsRewrite: true)
            }
            warn("state file \(path) was unreadable (\(reason)); showing a new closed breaker until the next run moves it aside")
            return Loaded(state: BreakerRecord(), needsRewrite: false)
        }
    }

    private func write(_ state: BreakerRecord, countsEpoch: UInt64, to files: BreakerDirectory) throws {
        let bytes: [UInt8]
        do {
            bytes = try codec.encode(state, countsEpoch: countsEpoch)
        } catch {
            throw StateStoreError.cannotEncode(path: files.path("state.json"), reason: "\(error)")
        }
        try files.replaceStateFile(with: bytes)
    }
}

extension FileStateStore {
    /// Writes `NAME/counts` in place: one pwrite(2) of a fixed-length line
    /// (`PendingCounts`), under the breaker's lock; when `durably`, then
    /// fdatasync(2) (the size does not change, so no metadata is waited for),
    /// and, when the file was just created, an fsync of the directory.
    /// - Parameters:
    ///   - pending: the counts to write.
    ///   - files: the breaker's directory.
    ///   - durably: whether the counts must be on disk when this returns
    ///     (false for the reset after a fold, whose loss is harmless).
    /// - Throws: `StateStoreError` when the file cannot be opened or written.
    fileprivate func writePendingCounts(_ pending: PendingCounts, to files: BreakerDirectory, durably: Bool) throws {
        let path = files.path(PendingCounts.fileName)
        let descriptor = try files.openRegularFile(PendingCounts.fileName, flags: O_WRONLY | O_CREAT)
        defer { closeDescriptor(descriptor) }
        let bytes = pending.encoded()
        var status = stat()
        let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : -1
        do throws(SystemError) {
            let written = try retryingInterrupts("pwrite", path: path) {
                bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
            }
            if written != bytes.count { throw SystemError("pwrite", path: path, errno: EIO) }
            if size != bytes.count {
                _ = try retryingInterrupts("ftruncate", path: path) { ftruncate(descriptor, off_t(bytes.count)) }
            }
            if durably {
                _ = try retryingInterrupts("fdatasync", path: path) { fdatasync(descriptor) }
                if size == 0 { try files.syncDirectory() }
            }
        } catch {
            throw StateStoreError.cannotWrite(path: path, error)
        }
    }
}
