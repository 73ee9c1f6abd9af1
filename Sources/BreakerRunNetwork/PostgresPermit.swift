import BreakerRunKit

/// A trial permit, bulkhead slot or key lease held as a session-level
/// advisory lock on the store's connection.
final class PostgresPermit: StatePermit {
    private weak var store: PostgresStateStore?
    private let giveBack: (PostgresStateStore) -> Void
    private(set) var isHeld = true

    /// - Parameters:
    ///   - store: the store whose connection holds the lock.
    ///   - giveBack: unlocks it on the store, once.
    init(store: PostgresStateStore, giveBack: @escaping (PostgresStateStore) -> Void) {
        self.store = store
        self.giveBack = giveBack
    }

    /// Unlocks it on the server (a lost connection has unlocked it already).
    func release() {
        guard isHeld else { return }
        isHeld = false
        if let store { giveBack(store) }
    }

    deinit {
        release()
    }
}
