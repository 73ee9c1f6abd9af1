/// A keyed breaker's directories: `NAME/keys` and one directory per key in
/// it (`KeyedName.fileComponent`), opened as a breaker's own are.
extension BreakerDirectory {
    /// Opens (creating, when `creating`) `NAME/keys`, the directory of a
    /// keyed breaker's keys.
    /// - Returns: the directory, or nil when it does not exist and not `creating`.
    /// - Throws: `StateStoreError`.
    static func openKeys(store: FileStateStore, breaker: String, creating: Bool) throws -> BreakerDirectory? {
        guard let opened = try openStateDirectory(store.directory, creating: creating) else { return nil }
        let (stateDirectory, sharedGroup) = opened
        defer { closeDescriptor(stateDirectory) }
        let path = store.directory == "/" ? "/\(breaker)" : "\(store.directory)/\(breaker)"
        return try openKeysDirectory(breaker, of: stateDirectory, path: path, sharedGroup: sharedGroup, creating: creating)
    }

    static func openKeysDirectory(_ breaker: String, of stateDirectory: Int32, path: String, sharedGroup: gid_t?,
                                          creating: Bool) throws -> BreakerDirectory? {
        guard let breakerDirectory = try openChild(breaker, of: stateDirectory, path: path, sharedGroup: sharedGroup, creating: creating) else {
            return nil
        }
        defer { breakerDirectory.close() }
        return try openChild("keys", of: breakerDirectory.descriptor, path: breakerDirectory.path("keys"), sharedGroup: sharedGroup,
                             creating: creating)
    }

    /// Opens (creating, when `creating`) the directory of `key` in this
    /// directory, `NAME/keys`; a hashed key's is checked to keep `key`
    /// (its file `key`, written when it is created).
    /// - Returns: the directory, or nil when it does not exist and not `creating`.
    /// - Throws: `StateStoreError`; `.keyCollision`.
    func openKey(_ key: String, creating: Bool) throws -> BreakerDirectory? {
        let component = KeyedName.fileComponent(for: key)
        guard let directory = try Self.openChild(component, of: descriptor, path: path(component), sharedGroup: sharedGroup,
                                                 creating: creating) else { return nil }
        guard KeyedName.isHashed(component) else { return directory }
        do {
            if let kept = try directory.readFile("key", limit: KeyedName.maximumKeyLength + 1)?.bytes {
                guard kept.elementsEqual(key.utf8) else { throw StateStoreError.keyCollision(path: directory.directoryPath) }
            } else if creating {
                try directory.replaceFile("key", with: Array(key.utf8), temporary: "key.tmp")
            }
        } catch {
            directory.close()
            throw error
        }
        return directory
    }

    /// The number of the key index record this key's directory names
    /// (its file `record`), or nil when it names none.
    /// - Throws: `StateStoreError` when the file cannot be read.
    func recordNumber() throws -> Int? {
        guard let bytes = try readFile("record", limit: 16)?.bytes else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return Int(text)
    }

    /// Names the key index record of this key's directory (its file `record`).
    /// - Throws: `StateStoreError.cannotWrite`.
    func writeRecordNumber(_ number: Int) throws {
        try replaceFile("record", with: Array("\(number)\n".utf8), temporary: "record.tmp")
    }
}
