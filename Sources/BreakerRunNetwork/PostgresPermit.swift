import BreakerRunKit

/// A trial permit or bulkhead slot held as a session-level advisory lock.
final class PostgresPermit: StatePermit {
    private weak var store: PostgresStateStore?
    private let name: String
    private let key: Int
    private let connection: ObjectIdentifier
    private(set) var isHeld = true

    init(store: PostgresStateStore, name: String, key: Int, connection: ObjectIdentifier) {
        self.store = store
        self.name = name
        self.key = key
        self.connection = connection
    }

    /// Unlocks it on the server (a lost connection has unlocked it already).
    func release() {
        guard isHeld else { return }
        isHeld = false
        store?.releaseAdvisoryLock(name, key: key, connection: connection)
    }

    deinit {
        release()
    }
}
