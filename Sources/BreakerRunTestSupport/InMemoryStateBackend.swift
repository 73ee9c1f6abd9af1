import BreakerRunKit
import CircuitBreaker
import Foundation

/// A state backend in memory, for in-process specs of the run: it keeps the
/// `StateBackend` contract (exclusive updates, permits and slots held until
/// released, kept output per call) and stores each breaker's state as the
/// document every backend stores, through the shared `StateDocumentCodec`,
/// so that a damaged document is repaired and warned about in the same words.
///
/// A test can break it (`breakDown(with:)`) to specify what a run does when
/// the state cannot be used.
public final class InMemoryStateBackend: StateBackend, @unchecked Sendable {
    /// The clock whose readings updates and reads get.
    public let clock: any BreakerClock
    // Recursive: an update's body takes and releases trial permits, as a
    // run's admission and outcome do.
    private let lock = NSRecursiveLock()
    private var storage = Storage()
    private let codec: StateDocumentCodec

    private struct Storage {
        var documents: [String: [UInt8]] = [:]
        var permits: [String: Int] = [:]
        var slots: [String: Int] = [:]
        var cache: [String: CachedOutput] = [:]
        /// Each keyed breaker's keys, in the order they were registered.
        var keys: [String: [TrackedKey]] = [:]
        var fault: (any Error)?
        var warnings: [String] = []
        var updates = 0
    }

    /// Creates an empty backend.
    /// - Parameter clock: the clock the backend reads.
    public init(clock: any BreakerClock) {
        self.clock = clock
        let warnings = LockedList<String>()
        codec = StateDocumentCodec(clockID: clock.bootID) { warnings.append($0) }
        self.warningSink = warnings
    }

    private let warningSink: LockedList<String>

    /// The repair warnings the codec gave, oldest first.
    public var warnings: [String] { warningSink.elements }

    /// How many updates were committed.
    public var committedUpdates: Int { locked { $0.updates } }

    /// Makes every operation throw `error` until `repair()`, as a state
    /// directory that became unwritable or a database that went away.
    /// - Parameter error: what every operation throws.
    public func breakDown(with error: any Error) {
        locked { $0.fault = error }
    }

    /// Undoes `breakDown(with:)`.
    public func repair() {
        locked { $0.fault = nil }
    }

    /// The stored document of breaker `name`, as another backend would
    /// store it; nil when there is none.
    /// - Parameter name: the breaker's name.
    /// - Returns: the document's bytes.
    public func document(of name: String) -> [UInt8]? {
        locked { $0.documents[name] }
    }

    /// Replaces breaker `name`'s stored document, as a hand edit or a
    /// damaged disk would.
    /// - Parameters:
    ///   - bytes: the document.
    ///   - name: the breaker's name.
    public func store(document bytes: [UInt8], of name: String) {
        locked { $0.documents[name] = bytes }
    }

    /// How many of breaker `name`'s trial permits are held now.
    /// - Parameter name: the breaker's name.
    /// - Returns: the count.
    public func heldPermits(of name: String) -> Int {
        locked { $0.permits[name, default: 0] }
    }

    /// Changes breaker `name`'s state exclusively; the body gets the clock's reading.
    /// - Throws: the error given to `breakDown(with:)`; what `body` throws
    ///   (nothing is written then); `StateStoreError`-like failures of the
    ///   codec as `InMemoryStateError`.
    public func update<T>(_ name: String, _ body: (inout BreakerRecord, Instant) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if let fault = storage.fault { throw fault }
        let now = clock.now()
        var state = try decoded(storage.documents[name], of: name, at: now)
        let value = try body(&state, now)
        let bytes = try codec.encode(state)
        storage.documents[name] = bytes
        storage.updates += 1
        return value
    }

    /// Reads breaker `name`'s state without changing it.
    /// - Throws: the error given to `breakDown(with:)`; `InMemoryStateError`
    ///   for a document the codec cannot use.
    public func read(_ name: String) throws -> (BreakerRecord, Instant) {
        lock.lock()
        defer { lock.unlock() }
        if let fault = storage.fault { throw fault }
        let now = clock.now()
        return (try decoded(storage.documents[name], of: name, at: now), now)
    }

    private func decoded(_ bytes: [UInt8]?, of name: String, at now: Instant) throws -> BreakerRecord {
        guard let bytes else { return BreakerRecord() }
        switch codec.decode(bytes, at: now, place: "state of breaker \(name) in memory") {
        case .success(let decoded): return decoded.state
        case .failure(let failure): throw InMemoryStateError(breaker: name, failure: "\(failure)")
        }
    }

    /// Takes one of `slots` trial permits, held until released.
    /// - Throws: the error given to `breakDown(with:)`.
    public func takePermit(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try take(\.permits, name, slots: slots)
    }

    /// Takes one of `slots` bulkhead slots, held until released.
    /// - Throws: the error given to `breakDown(with:)`.
    public func takeSlot(_ name: String, slots: Int) throws -> (any StatePermit)? {
        try take(\.slots, name, slots: slots)
    }

    private func take(_ pool: WritableKeyPath<Storage, [String: Int]>, _ name: String, slots: Int) throws -> (any StatePermit)? {
        let granted = try locked { storage throws -> Bool in
            if let fault = storage.fault { throw fault }
            guard storage[keyPath: pool][name, default: 0] < slots else { return false }
            storage[keyPath: pool][name, default: 0] += 1
            return true
        }
        guard granted else { return nil }
        return InMemoryPermit { self.locked { $0[keyPath: pool][name, default: 0] -= 1 } }
    }

    /// Runs `body` on the storage under the lock; `body` must not call
    /// back into the backend.
    private func locked<T>(_ body: (inout Storage) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&storage)
    }

    /// Keeps a call's output.
    /// - Throws: the error given to `breakDown(with:)`.
    public func writeCache(_ name: String, key: String, bytes: [UInt8]) throws {
        try locked { storage throws in
            if let fault = storage.fault { throw fault }
            storage.cache[name + "/" + key] = CachedOutput(bytes: bytes, writtenAtWallNanoseconds: clock.now().wallNanoseconds)
        }
    }

    /// The output kept for a call, if any.
    /// - Throws: the error given to `breakDown(with:)`.
    public func readCache(_ name: String, key: String) throws -> CachedOutput? {
        try locked { storage throws -> CachedOutput? in
            if let fault = storage.fault { throw fault }
            return storage.cache[name + "/" + key]
        }
    }

    /// `memory`.
    public func location(of name: String) -> String {
        "memory"
    }

    // MARK: Keyed breakers

    /// A key as this backend tracks it.
    struct TrackedKey {
        var entry: KeyEntry
        /// When it was last tracked, on the clock's wall reading.
        var lastUse: Int64
        /// How many leases are held.
        var inUse = 0
    }

    /// Tracks a key with the file store's rules, over all keys at once:
    /// idle closed keys are forgotten, then at `max_keys` the least
    /// recently used closed key not in use; their counts go to the
    /// breaker's own state.
    /// - Throws: the error given to `breakDown(with:)`.
    public func trackKey(_ name: KeyedName, bounds: PerKey) throws -> KeyLease {
        if let fault = locked({ $0.fault }) { throw fault }
        let now = clock.now()
        let known = locked { storage -> Bool in
            guard let index = storage.keys[name.breaker]?.firstIndex(where: { $0.entry.key == name.key }) else { return false }
            storage.keys[name.breaker]![index].inUse += 1
            storage.keys[name.breaker]![index].lastUse = now.wallNanoseconds
            return true
        }
        if !known {
            let idleLimit = Int64(bounds.expireAfter.components.seconds) * 1_000_000_000
            for tracked in locked({ $0.keys[name.breaker] ?? [] }) where now.wallNanoseconds - tracked.lastUse > idleLimit {
                _ = try forget(tracked.entry.key, of: name.breaker, at: now)
            }
            var tracked = locked { $0.keys[name.breaker] ?? [] }
            if tracked.count >= bounds.maxKeys {
                var forgotten = false
                for candidate in tracked.sorted(by: { $0.lastUse < $1.lastUse }) where try forget(candidate.entry.key, of: name.breaker, at: now) {
                    forgotten = true
                    break
                }
                tracked = locked { $0.keys[name.breaker] ?? [] }
                if !forgotten { return .full(tracked: tracked.count) }
            }
            locked { $0.keys[name.breaker, default: []].append(TrackedKey(entry: KeyEntry(key: name.key), lastUse: now.wallNanoseconds, inUse: 1)) }
        }
        return .tracked(InMemoryPermit {
            self.locked { storage in
                guard let index = storage.keys[name.breaker]?.firstIndex(where: { $0.entry.key == name.key }) else { return }
                storage.keys[name.breaker]![index].inUse -= 1
            }
        })
    }

    /// Forgets a key when it is closed in effect and not in use.
    private func forget(_ key: String, of breaker: String, at now: Instant) throws -> Bool {
        let storeName = KeyedName(breaker: breaker, key: key).storeName
        guard let tracked = locked({ $0.keys[breaker]?.first { $0.entry.key == key } }), tracked.inUse == 0 else { return false }
        let state = try decoded(locked { $0.documents[storeName] }, of: storeName, at: now)
        guard state.effectiveCircuitState(at: now) == .closed else { return false }
        if state.counts != Counts() {
            try update(breaker) { whole, _ in
                whole.counts.successes += state.counts.successes
                whole.counts.failures += state.counts.failures
                whole.counts.ignored += state.counts.ignored
                whole.counts.rejected += state.counts.rejected
                whole.counts.fallbacks += state.counts.fallbacks
            }
        }
        locked { storage in
            storage.documents[storeName] = nil
            storage.keys[breaker]?.removeAll { $0.entry.key == key }
        }
        return true
    }

    /// Copies the key's state into its entry.
    /// - Throws: the error given to `breakDown(with:)`.
    public func recordKeyState(_ name: KeyedName) throws {
        let (state, now) = try read(name.storeName)
        locked { storage in
            guard let index = storage.keys[name.breaker]?.firstIndex(where: { $0.entry.key == name.key }) else { return }
            storage.keys[name.breaker]![index].entry = KeyEntry(key: name.key, record: state, at: now)
        }
    }

    /// The breaker's keys, in the order they were registered.
    /// - Throws: the error given to `breakDown(with:)`.
    public func keyEntries(of breaker: String) throws -> [KeyEntry] {
        try locked { storage throws -> [KeyEntry] in
            if let fault = storage.fault { throw fault }
            return (storage.keys[breaker] ?? []).map(\.entry)
        }
    }
}

/// A stored document the codec could not use.
public struct InMemoryStateError: Error, CustomStringConvertible {
    /// The breaker.
    public var breaker: String
    /// Why, as the codec says it.
    public var failure: String

    /// `state of breaker NAME in memory: unusable (WHY)`.
    public var description: String { "state of breaker \(breaker) in memory: unusable (\(failure))" }
}

/// A permit or slot of the in-memory backend.
final class InMemoryPermit: StatePermit, @unchecked Sendable {
    private var giveBack: (() -> Void)?

    init(giveBack: @escaping () -> Void) {
        self.giveBack = giveBack
    }

    var isHeld: Bool { giveBack != nil }

    func release() {
        giveBack?()
        giveBack = nil
    }

    deinit { release() }
}
