// The system calls of the queue's store (issue 18). Each call that can be
// interrupted goes through the platform layer's `valueOrError` or
// `retryingInterrupts` (SystemCall.swift); every descriptor is opened
// close-on-exec, relative to a directory descriptor, with `O_NOFOLLOW`.

/// The system calls `QueueStore` needs, over directories opened as
/// `BreakerDirectory` values.
enum QueueSystemCalls {
    /// Opens (and, when `creating`, creates) the directory `name` inside
    /// `parent` as the breakers' own directories are opened
    /// (`BreakerDirectory.openChild`: never through a symbolic link, 0700
    /// or 2770 with the shared group, the same ownership rule).
    /// - Returns: the directory, or nil when it does not exist and not `creating`.
    /// - Throws: `StateStoreError`, as `BreakerDirectory.openChild` says.
    static func openDirectory(_ name: String, in parent: BreakerDirectory, creating: Bool) throws -> BreakerDirectory? {
        try BreakerDirectory.openChild(name, of: parent.descriptor, path: parent.path(name),
                                       sharedGroup: parent.sharedGroup, creating: creating)
    }

    /// The names in a directory, without `.` and `..`, in no order.
    /// - Throws: `StateStoreError.cannotRead` when the directory cannot be listed.
    static func names(in directory: BreakerDirectory) throws -> [String] {
        do {
            return try directoryNames(directory.descriptor, path: directory.directoryPath)
        } catch {
            throw StateStoreError.cannotRead(path: directory.directoryPath, error)
        }
    }

    /// What stands at a name of a directory, not following a symbolic link.
    enum Kind: Equatable { case missing, regularFile, directory, symlink, other }

    /// What stands at `name` in `directory` (fstatat(2), `AT_SYMLINK_NOFOLLOW`).
    static func kind(of name: String, in directory: Int32) -> Kind {
        var status = stat()
        guard fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return .missing }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Takes an exclusive `flock(2)` on an open file: waiting for it when
    /// `waiting`, else failing at once when another open file description
    /// holds it (flock(2) locks belong to the open file description, so two
    /// opens of one file conflict even within a process).
    /// - Returns: whether the lock is held now (always true when `waiting`).
    /// - Throws: `StateStoreError.cannotLock` for a failure other than the lock being held.
    static func lockExclusively(_ descriptor: Int32, path: String, waiting: Bool) throws -> Bool {
        do {
            try retryingInterrupts("flock", path: path) { flock(descriptor, waiting ? LOCK_EX : LOCK_EX | LOCK_NB) }
            return true
        } catch where !waiting && error.errno == EWOULDBLOCK {
            return false
        } catch {
            throw StateStoreError.cannotLock(path: path, error)
        }
    }

    /// Whether the open file `descriptor` is still the file named `name` in
    /// `directory`: the same device and inode. False when the name is gone
    /// or was renamed over since it was opened.
    static func isStillNamed(_ descriptor: Int32, _ name: String, in directory: Int32) -> Bool {
        var opened = stat()
        var named = stat()
        guard fstat(descriptor, &opened) == 0, fstatat(directory, name, &named, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    /// Reads an open file from its start, up to `limit` bytes (pread(2)).
    /// - Returns: the bytes read, at most `limit`.
    /// - Throws: `StateStoreError.cannotRead`.
    static func readFromStart(_ descriptor: Int32, path: String, limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let offset = off_t(bytes.count)
            let count: Int
            do {
                count = try retryingInterrupts("read", path: path) {
                    chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, offset) }
                }
            } catch {
                throw StateStoreError.cannotRead(path: path, error)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// Writes `bytes` at the start of an open file and cuts it there
    /// (pwrite(2), ftruncate(2)); not synced.
    /// - Throws: `StateStoreError.cannotWrite`.
    static func overwrite(_ descriptor: Int32, with bytes: [UInt8], path: String) throws {
        do {
            var offset = 0
            while offset < bytes.count {
                let start = offset
                offset += try retryingInterrupts("write", path: path) {
                    bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + start, $0.count - start, off_t(start)) }
                }
            }
            try retryingInterrupts("ftruncate", path: path) { ftruncate(descriptor, off_t(bytes.count)) }
        } catch {
            throw StateStoreError.cannotWrite(path: path, error)
        }
    }

    /// renameat(2) of `name` in `from` to `newName` in `to`, replacing
    /// what `newName` names: atomic (POSIX: "there shall be no point at which
    /// new does not exist"), on one file system. A symbolic link is moved
    /// itself, never followed.
    /// - Throws: `SystemError` of rename(2).
    static func rename(_ name: String, in from: BreakerDirectory, to newName: String, in to: BreakerDirectory) throws(SystemError) {
        try retryingInterrupts("rename", path: from.path(name)) { renameat(from.descriptor, name, to.descriptor, newName) }
    }

    /// Opens a queue item for reading (and locking), never through a
    /// symbolic link (`BreakerDirectory.openRegularFile`).
    /// - Throws: `StateStoreError`.
    static func openItem(_ name: String, in directory: BreakerDirectory) throws -> Int32 {
        try directory.openRegularFile(name, flags: O_RDONLY)
    }

    /// Opens (creating it) a lock file that also holds a little data: read and write.
    /// - Throws: `StateStoreError`.
    static func openLockFile(_ name: String, in directory: BreakerDirectory) throws -> Int32 {
        try directory.openRegularFile(name, flags: O_RDWR | O_CREAT)
    }

    /// A second descriptor of `directory` (close-on-exec), owned by the caller.
    /// - Throws: `StateStoreError.cannotOpen` when fcntl(2) fails.
    static func duplicate(_ directory: BreakerDirectory) throws -> BreakerDirectory {
        let copy = fcntl(directory.descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else {
            throw StateStoreError.cannotOpen(path: directory.directoryPath, SystemError("fcntl", path: directory.directoryPath, errno: errno))
        }
        return BreakerDirectory(descriptor: copy, directoryPath: directory.directoryPath, sharedGroup: directory.sharedGroup)
    }

    /// unlinkat(2) of a file of `directory`.
    /// - Returns: false when it was already gone (`ENOENT`).
    /// - Throws: `SystemError` for another failure.
    @discardableResult
    static func remove(_ name: String, in directory: BreakerDirectory) throws(SystemError) -> Bool {
        do {
            try retryingInterrupts("unlink", path: directory.path(name)) { unlinkat(directory.descriptor, name, 0) }
            return true
        } catch where error.errno == ENOENT {
            return false
        }
    }

    /// The effective user: its uid and name (its number when it has no name).
    static func effectiveUser() -> (id: UInt32, name: String) {
        let user = geteuid()
        return (UInt32(user), userName(user))
    }
}

extension SystemError {
    /// Whether this failure means "nothing with that name" (`ENOENT`).
    var isMissing: Bool { errno == ENOENT }
}
