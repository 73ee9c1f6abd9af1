import CircuitBreaker

// A keyed breaker's keys in the file store (issue 19):
//
//     NAME/keys/COMPONENT/   one per key (`KeyedName.fileComponent`): the
//                            files of a breaker's directory, and `inuse`
//                            (held shared by every invocation using the
//                            key) and `record` (its index record's number)
//     NAME/keys.index        the index (`KeyIndexFile`)
//     NAME/keys.lock         the index's lock
//
// The bounds are kept by the invocations themselves, in bounded time each:
// a new key looks at 32 records for idle keys to forget (the expiry sweep,
// which also runs at one invocation in 16) and, when `max_keys` are
// tracked, at four random windows of 16 records for the least recently
// used closed key; only when those hold none it reads the whole index.

extension FileStateStore {
    /// How many records one expiry sweep looks at.
    static let sweepLength = 32
    /// How many records one window of the least-recently-used search reads.
    static let sampleLength = 16

    /// Tracks `name.key` of its keyed breaker: a key seen before is marked
    /// in use (a shared `flock(2)` on `NAME/keys/COMPONENT/inuse`, held
    /// until the lease is released, so that it cannot be forgotten
    /// meanwhile); a new one is registered in the index first, under the
    /// index's lock, after forgetting idle keys and, at `max_keys`, the
    /// least recently used closed one.
    /// - Parameters:
    ///   - name: the key.
    ///   - bounds: the breaker's `per_key` settings.
    /// - Returns: the lease, or `.full` when the key is new and every
    ///   tracked key is open, held or in use.
    /// - Throws: `StateStoreError` when the directories, the index or the
    ///   lock cannot be used.
    public func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease {
        for _ in 0..<8 {
            let keys = try BreakerDirectory.openKeys(store: self, breaker: name.breaker, creating: true)!
            defer { keys.close() }
            if let lease = try lease(name.key, in: keys) {
                if UInt8.random(in: 0..<16) == 0 {
                    try? withIndex(of: name.breaker) { index in
                        guard var header = try index.readHeader() else { return }
                        try sweep(&header, index: index, keys: keys, breaker: name.breaker, bounds: bounds)
                        try index.write(header)
                    }
                }
                return .tracked(lease)
            }
            let full = try withIndex(of: name.breaker) { index in
                try register(name, bounds: bounds, index: index, keys: keys)
            }
            if let full { return .full(tracked: full) }
        }
        throw StateStoreError.cannotLock(path: "\(directory)/\(name.breaker)/keys", SystemError("flock", errno: EAGAIN))
    }

    /// Copies the key's stored circuit state into its index record, for
    /// `status` and the roll-up: called after each of its transitions. A
    /// key no longer tracked is left alone.
    /// - Parameter name: the key.
    /// - Throws: `StateStoreError` when the index or the state cannot be used.
    public func recordKeyState(_ name: KeyedName) throws {
        try withIndex(of: name.breaker) { index in
            guard let keys = try BreakerDirectory.openKeys(store: self, breaker: name.breaker, creating: false),
                  let directory = try keys.openKey(name.key, creating: false) else { return }
            defer { keys.close(); directory.close() }
            guard let number = try recordNumber(of: name.key, in: directory, index: index) else { return }
            let (state, now) = try read(name.storeName)
            try index.write(KeyIndexFile.Record(isLive: true, entry: KeyEntry(key: name.key, record: state, at: now)), at: number)
        }
    }

    /// Every key the breaker tracks, as the index records them (without
    /// its lock: each record is one pwrite(2), and a record read while it
    /// changes is at worst one step stale).
    /// - Parameter breaker: the keyed breaker's name.
    /// - Returns: the entries, in the index's order; none when the breaker
    ///   has never had a key.
    /// - Throws: `StateStoreError` when the index cannot be read.
    public func keyEntries(of breaker: String) throws -> [KeyEntry] {
        guard let files = try BreakerDirectory.open(store: self, name: breaker, creating: false) else { return [] }
        defer { files.close() }
        let descriptor: Int32
        do {
            descriptor = try files.openRegularFile(KeyIndexFile.fileName, flags: O_RDONLY)
        } catch StateStoreError.cannotOpen(_, let error) where error.errno == ENOENT {
            return try entriesOfDamagedIndex(of: breaker, at: files.path(KeyIndexFile.fileName), missing: true)
        }
        defer { closeDescriptor(descriptor) }
        let index = KeyIndexFile(descriptor: descriptor, path: files.path(KeyIndexFile.fileName))
        do {
            guard let header = try index.readHeader() else { throw KeyIndexFile.Damaged() }
            if header.highWater == 0 { return try entriesOfDamagedIndex(of: breaker, at: index.path, missing: true) }
            return try index.records(from: 0, count: Int(header.highWater)).filter(\.isLive).map(\.entry)
        } catch is KeyIndexFile.Damaged {
            return try entriesOfDamagedIndex(of: breaker, at: index.path, missing: false)
        }
    }

    /// The entries of an index that is damaged, or missing or empty while
    /// keys have directories: read from the directories (a full scan, only
    /// then), with a warning; nothing is written (the next change of the
    /// index rebuilds it).
    private func entriesOfDamagedIndex(of breaker: String, at path: String, missing: Bool) throws -> [KeyEntry] {
        let entries = try entriesFromDirectories(of: breaker)
        if !missing || !entries.isEmpty {
            warn("\(path) is \(missing ? "missing" : "damaged"); its keys were read from their directories, and the next new key or key transition rebuilds it")
        }
        return entries
    }

    // MARK: The index

    /// Runs `body` with the index open, under an exclusive lock on
    /// `NAME/keys.lock`; an index that is not one (a wrong magic) is
    /// rebuilt from `NAME/keys/` first.
    private func withIndex<T>(of breaker: String, _ body: (KeyIndexFile) throws -> T) throws -> T {
        let files = try BreakerDirectory.open(store: self, name: breaker, creating: true)!
        defer { files.close() }
        let lock = try files.openRegularFile(KeyIndexFile.lockName, flags: O_RDONLY | O_CREAT)
        defer { closeDescriptor(lock) }
        do {
            try retryingInterrupts("flock", path: files.path(KeyIndexFile.lockName)) { flock(lock, LOCK_EX) }
        } catch {
            throw StateStoreError.cannotLock(path: files.path(KeyIndexFile.lockName), error)
        }
        let descriptor = try files.openRegularFile(KeyIndexFile.fileName, flags: O_RDWR | O_CREAT)
        defer { closeDescriptor(descriptor) }
        let index = KeyIndexFile(descriptor: descriptor, path: files.path(KeyIndexFile.fileName))
        let header = try index.readHeader()
        let emptyWithKeys = try header?.highWater == 0 && !entriesFromDirectories(of: breaker, namesOnly: true).isEmpty
        if header == nil || emptyWithKeys {
            try rebuild(index, breaker: breaker, missing: header != nil)
        }
        do {
            return try body(index)
        } catch is KeyIndexFile.Damaged {
            try rebuild(index, breaker: breaker, missing: false)
            return try body(index)
        }
    }

    /// Registers a new key, under the index's lock.
    /// - Returns: nil when registered (or registered meanwhile by another
    ///   invocation); the number of keys tracked when no room could be made.
    private func register(_ name: KeyedName, bounds: PerKey, index: KeyIndexFile, keys: BreakerDirectory) throws -> Int? {
        let component = KeyedName.fileComponent(for: name.key)
        var status = stat()
        if fstatat(keys.descriptor, component, &status, AT_SYMLINK_NOFOLLOW) == 0 { return nil }
        var header = try index.readHeader() ?? KeyIndexFile.Header()
        try sweep(&header, index: index, keys: keys, breaker: name.breaker, bounds: bounds)
        if Int(header.live) >= bounds.maxKeys {
            guard try forgetLeastRecentlyUsed(&header, index: index, keys: keys, breaker: name.breaker) else {
                try index.write(header)
                return Int(header.live)
            }
        }
        let number = try allocate(&header, index: index)
        let directory = try keys.openKey(name.key, creating: true)!
        defer { directory.close() }
        try directory.writeRecordNumber(number)
        try index.write(KeyIndexFile.Record(isLive: true, entry: KeyEntry(key: name.key)), at: number)
        header.live += 1
        try index.write(header)
        return nil
    }

    /// A record for a new key: the head of the free list, or a new one.
    private func allocate(_ header: inout KeyIndexFile.Header, index: KeyIndexFile) throws -> Int {
        if header.freeHead != KeyIndexFile.none {
            let number = Int(header.freeHead)
            if let record = try index.record(number), !record.isLive {
                header.freeHead = record.nextFree
                return number
            }
            // A damaged list: drop it; its records stay unused.
            header.freeHead = KeyIndexFile.none
        }
        header.highWater += 1
        return Int(header.highWater - 1)
    }

    /// The expiry sweep: forgets the closed keys idle longer than
    /// `expire_after` among the next `sweepLength` records.
    private func sweep(_ header: inout KeyIndexFile.Header, index: KeyIndexFile, keys: BreakerDirectory, breaker: String,
                       bounds: PerKey) throws {
        guard header.highWater > 0 else { return }
        let start = Int(header.cursor % header.highWater)
        let records = try index.records(from: start, count: min(Self.sweepLength, Int(header.highWater) - start))
        let now = clock.now().wallNanoseconds
        let limit = Int64(bounds.expireAfter.components.seconds) * 1_000_000_000
        for (offset, record) in records.enumerated() where record.isLive {
            let number = start + offset
            // A record whose key has no directory (removed by hand), or
            // whose directory names another record (a second record of the
            // same key), holds no state: it is freed.
            guard let directory = try? keys.openKey(record.entry.key, creating: false) else {
                try free(number, &header, index: index)
                continue
            }
            let named = try? directory.recordNumber()
            directory.close()
            if let named, named != number {
                try free(number, &header, index: index)
                continue
            }
            guard record.entry.state == .closed else {
                // An open key's record follows its state (a state moved
                // aside as unreadable starts closed).
                // A state that cannot be read now is left to the key's own run.
                guard let (state, stateNow) = try? read(KeyedName(breaker: breaker, key: record.entry.key).storeName) else { continue }
                let entry = KeyEntry(key: record.entry.key, record: state, at: stateNow)
                if entry.state != record.entry.state { try index.write(KeyIndexFile.Record(isLive: true, entry: entry), at: number) }
                continue
            }
            guard let used = lastUse(of: record.entry.key, in: keys), now - used > limit else { continue }
            _ = try forget(number, record, &header, index: index, keys: keys, breaker: breaker)
        }
        let next = start + records.count
        header.cursor = next >= Int(header.highWater) ? 0 : UInt32(next)
    }

    /// Forgets the least recently used closed key that is not in use: the
    /// oldest of four random windows of `sampleLength` records, or of the
    /// whole index when those hold none.
    /// - Returns: whether one was forgotten.
    private func forgetLeastRecentlyUsed(_ header: inout KeyIndexFile.Header, index: KeyIndexFile, keys: BreakerDirectory,
                                         breaker: String) throws -> Bool {
        let high = Int(header.highWater)
        guard high > 0 else { return false }
        for window in 0...4 {
            let whole = window == 4 || high <= Self.sampleLength
            let start = whole ? 0 : Int.random(in: 0..<high)
            let records = try index.records(from: start, count: whole ? high : min(Self.sampleLength, high - start))
            let candidates = records.enumerated().compactMap { offset, record -> (Int, KeyIndexFile.Record, Int64)? in
                guard record.isLive, record.entry.state == .closed else { return nil }
                return (start + offset, record, lastUse(of: record.entry.key, in: keys) ?? 0)
            }.sorted { $0.2 < $1.2 }
            for (number, record, _) in candidates {
                if try forget(number, record, &header, index: index, keys: keys, breaker: breaker) { return true }
            }
            if whole { return false }
        }
        return false
    }

    /// When the key was last used: the latest modification of its
    /// directory, `state.json` or `counts` (every invocation writes one of
    /// them); nil when it has no directory.
    private func lastUse(of key: String, in keys: BreakerDirectory) -> Int64? {
        let component = KeyedName.fileComponent(for: key)
        var status = stat()
        guard fstatat(keys.descriptor, component, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        var latest = modificationNanoseconds(status)
        for file in ["state.json", PendingCounts.fileName] where fstatat(keys.descriptor, "\(component)/\(file)", &status, AT_SYMLINK_NOFOLLOW) == 0 {
            latest = max(latest, modificationNanoseconds(status))
        }
        return latest
    }

    /// Forgets the key of record `number` when it is closed (in effect,
    /// not held) and no invocation uses it: its lifetime counts go to the
    /// breaker's own state (so that the totals stay exact), its directory
    /// is renamed away and removed, and its record freed. A key found open
    /// has its record brought up to date instead.
    /// - Returns: whether it was forgotten.
    private func forget(_ number: Int, _ record: KeyIndexFile.Record, _ header: inout KeyIndexFile.Header, index: KeyIndexFile,
                        keys: BreakerDirectory, breaker: String) throws -> Bool {
        let key = record.entry.key
        let component = KeyedName.fileComponent(for: key)
        if let directory = try? keys.openKey(key, creating: false) {
            defer { directory.close() }
            let inUse = try directory.openRegularFile("inuse", flags: O_RDONLY | O_CREAT)
            defer { closeDescriptor(inUse) }
            guard case .success = valueOrError("flock", { flock(inUse, LOCK_EX | LOCK_NB) }) else { return false }
            let name = KeyedName(breaker: breaker, key: key)
            let (state, now) = try read(name.storeName)
            guard state.effectiveCircuitState(at: now) == .closed else {
                try index.write(KeyIndexFile.Record(isLive: true, entry: KeyEntry(key: key, record: state, at: now)), at: number)
                return false
            }
            let gone = ".gone-\(UInt64.random(in: 0...UInt64.max))"
            guard renameat(keys.descriptor, component, keys.descriptor, gone) == 0 else { return false }
            if state.counts != Counts() {
                try? update(breaker) { whole, _ in whole.counts = PendingCounts.adding(state.counts, to: whole.counts) }
            }
            for file in (try? directoryNames(directory.descriptor, path: directory.directoryPath)) ?? [] {
                _ = unlinkat(directory.descriptor, file, 0)
            }
            _ = unlinkat(keys.descriptor, gone, AT_REMOVEDIR)
        }
        try free(number, &header, index: index)
        return true
    }

    /// Frees record `number`: it heads the free list.
    private func free(_ number: Int, _ header: inout KeyIndexFile.Header, index: KeyIndexFile) throws {
        try index.write(KeyIndexFile.Record(isLive: false, nextFree: header.freeHead), at: number)
        header.freeHead = UInt32(number)
        header.live = header.live > 0 ? header.live - 1 : 0
    }

    /// A key's lease, when its directory exists: a shared lock on its
    /// `inuse`, taken, then checked to be still the key's directory's (a
    /// key forgotten meanwhile has had its directory renamed away).
    private func lease(_ key: String, in keys: BreakerDirectory) throws -> HeldLock? {
        guard let directory = try keys.openKey(key, creating: false) else { return nil }
        defer { directory.close() }
        let descriptor = try directory.openRegularFile("inuse", flags: O_RDONLY | O_CREAT)
        do {
            try retryingInterrupts("flock", path: directory.path("inuse")) { flock(descriptor, LOCK_SH) }
        } catch {
            closeDescriptor(descriptor)
            throw StateStoreError.cannotLock(path: directory.path("inuse"), error)
        }
        guard QueueSystemCalls.isStillNamed(directory.descriptor, KeyedName.fileComponent(for: key), in: keys.descriptor) else {
            closeDescriptor(descriptor)
            return nil
        }
        return HeldLock(descriptor: descriptor, path: directory.path("inuse"), slot: 0)
    }

    /// The number of the key's record: the one its directory names when
    /// that record holds the key, else the one found by reading the index.
    private func recordNumber(of key: String, in directory: BreakerDirectory, index: KeyIndexFile) throws -> Int? {
        if let number = try directory.recordNumber(),
           let record = try index.record(number), record.isLive, record.entry.key == key {
            return number
        }
        guard let header = try index.readHeader() else { return nil }
        let records = try index.records(from: 0, count: Int(header.highWater))
        guard let found = records.firstIndex(where: { $0.isLive && $0.entry.key == key }) else { return nil }
        try? directory.writeRecordNumber(found)
        return found
    }

    /// Rebuilds an index that is damaged (or missing while keys have
    /// directories) from the keys' directories: each key's name is read
    /// back from its directory's name (or its `key` file, when hashed) and
    /// its state from its own files.
    private func rebuild(_ index: KeyIndexFile, breaker: String, missing: Bool) throws {
        warn("\(index.path) is \(missing ? "missing" : "damaged"); rebuilding it from \(directory)/\(breaker)/keys")
        guard ftruncate(index.descriptor, 0) == 0 else {
            throw StateStoreError.cannotWrite(path: index.path, SystemError("ftruncate", path: index.path, errno: errno))
        }
        var header = KeyIndexFile.Header()
        let entries = try entriesFromDirectories(of: breaker)
        let keys = try BreakerDirectory.openKeys(store: self, breaker: breaker, creating: false)
        defer { keys?.close() }
        for entry in entries {
            let number = Int(header.highWater)
            try index.write(KeyIndexFile.Record(isLive: true, entry: entry), at: number)
            if let directory = try keys?.openKey(entry.key, creating: false) {
                try? directory.writeRecordNumber(number)
                directory.close()
            }
            header.highWater += 1
            header.live += 1
        }
        try index.write(header)
    }

    /// The keys that have a directory under `NAME/keys/`, with their state
    /// read from it (or, `namesOnly`, closed: only the names are read).
    private func entriesFromDirectories(of breaker: String, namesOnly: Bool = false) throws -> [KeyEntry] {
        guard let keys = try BreakerDirectory.openKeys(store: self, breaker: breaker, creating: false) else { return [] }
        defer { keys.close() }
        let names = (try? directoryNames(keys.descriptor, path: keys.directoryPath)) ?? []
        var entries: [KeyEntry] = []
        for component in names.sorted() where component.hasPrefix("k") || component.hasPrefix("h") {
            guard let key = originalKey(component, in: keys) else { continue }
            if namesOnly { return [KeyEntry(key: key)] }
            let (state, now) = try read(KeyedName(breaker: breaker, key: key).storeName)
            entries.append(KeyEntry(key: key, record: state, at: now))
        }
        return entries
    }

    /// The key a directory of `NAME/keys/` is for, or nil when it is none.
    private func originalKey(_ component: String, in keys: BreakerDirectory) -> String? {
        if KeyedName.isHashed(component) {
            guard let directory = try? BreakerDirectory.openChild(component, of: keys.descriptor, path: keys.path(component),
                                                                  sharedGroup: keys.sharedGroup, creating: false),
                  let bytes = try? directory.readFile("key", limit: KeyedName.maximumKeyLength)?.bytes else { return nil }
            directory.close()
            return String(decoding: bytes, as: UTF8.self)
        }
        var bytes: [UInt8] = []
        var iterator = component.utf8.dropFirst().makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
        }
        let key = String(decoding: bytes, as: UTF8.self)
        return KeyedName.fileComponent(for: key) == component ? key : nil
    }
}
