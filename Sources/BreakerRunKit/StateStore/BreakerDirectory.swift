/// One breaker's directory in the state directory, open: every file of the
/// breaker is opened relative to this descriptor with `O_NOFOLLOW`
/// (openat(2)), so no symbolic link inside the state directory is followed,
/// and a directory renamed while in use cannot redirect a write.
struct BreakerDirectory {
    /// The directory, opened `O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC`.
    let descriptor: Int32
    /// `STATE_DIR/NAME`, for messages.
    let directoryPath: String
    /// The group that shares the state directory (see
    /// `refuseIfAnotherUserControls`), or nil for a private one. Files are
    /// then created 0660 with that group, so that every member can update
    /// what another created, whatever the umask.
    var sharedGroup: gid_t? = nil

    /// Whether the state directory is shared by a group.
    var isShared: Bool { sharedGroup != nil }

    /// The mode of a file this directory's breaker creates.
    var fileMode: mode_t { isShared ? 0o660 : 0o600 }

    /// The path of a file in this directory, for messages.
    func path(_ file: String) -> String {
        "\(directoryPath)/\(file)"
    }

    /// Closes the directory's descriptor.
    func close() {
        closeDescriptor(descriptor)
    }

    /// Opens (and, when `creating`, creates) a breaker's directory, or a
    /// key's (`NAME/keys/COMPONENT`, `KeyedName`) when `name` is a key's
    /// `storeName`.
    /// - Returns: the directory, or nil when it or the state directory does
    ///   not exist and `creating` is false.
    /// - Throws: `StateStoreError`; `.keyCollision` when a hashed key's
    ///   directory keeps another key.
    static func open(store: FileStateStore, name: String, creating: Bool) throws -> BreakerDirectory? {
        let (breaker, key) = KeyedName.split(name)
        precondition(
            !breaker.isEmpty && breaker != "." && breaker != ".." && !breaker.utf8.contains(0),
            "breaker name \(breaker) is not a safe file name; names are validated with the configuration"
        )
        guard let opened = try openStateDirectory(store.directory, creating: creating) else { return nil }
        let (stateDirectory, sharedGroup) = opened
        defer { closeDescriptor(stateDirectory) }
        let path = store.directory == "/" ? "/\(breaker)" : "\(store.directory)/\(breaker)"
        guard let key else {
            return try openChild(breaker, of: stateDirectory, path: path, sharedGroup: sharedGroup, creating: creating)
        }
        guard let keys = try openKeysDirectory(breaker, of: stateDirectory, path: path, sharedGroup: sharedGroup, creating: creating) else {
            return nil
        }
        defer { keys.close() }
        return try keys.openKey(key, creating: creating)
    }

    /// Opens (and, when `creating`, creates) the directory `name` inside
    /// the directory `parent`, never through a symbolic link: a breaker's
    /// directory in the state directory, or one inside a breaker's (the
    /// queue's). A new one is 0700, or 2770 with `sharedGroup`
    /// (`adopt`), and its name is made durable with an fsync(2) of
    /// `parent` before files go in it; then the ownership rule of
    /// `refuseIfAnotherUserControls` applies.
    /// - Parameters:
    ///   - parent: the open directory it is in.
    ///   - path: its path, for messages.
    ///   - sharedGroup: the group of the shared state directory it is in;
    ///     nil in a private one.
    /// - Returns: the directory, or nil when it does not exist and not `creating`.
    /// - Throws: `StateStoreError.symlinkRefused`, `.notADirectory`,
    ///   `.cannotCreateDirectory`, `.cannotOpen`, `.ownedByAnotherUser`,
    ///   `.writableByOthers` or `.notInSharedGroup`.
    static func openChild(_ name: String, of parent: Int32, path: String, sharedGroup: gid_t?, creating: Bool) throws -> BreakerDirectory? {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        var result = valueOrError("open") { openat(parent, name, flags) }
        if case .failure(ENOENT) = result, creating {
            if mkdirat(parent, name, 0o700) == 0 {
                // Make the new directory's name durable before files go in it.
                _ = fsync(parent)
            } else if errno != EEXIST {
                throw StateStoreError.cannotCreateDirectory(path: path, SystemError("mkdir", path: path, errno: errno))
            }
            result = valueOrError("open") { openat(parent, name, flags) }
        }
        switch result {
        case .success(let descriptor):
            do {
                if let sharedGroup, creating {
                    try adopt(descriptor, path: path, group: sharedGroup)
                }
                _ = try refuseIfAnotherUserControls(descriptor, path: path, sharedGroup: sharedGroup)
            } catch {
                closeDescriptor(descriptor)
                throw error
            }
            return BreakerDirectory(descriptor: descriptor, directoryPath: path, sharedGroup: sharedGroup)
        case .failure(ENOENT) where !creating:
            return nil
        case .failure(ELOOP):
            throw StateStoreError.symlinkRefused(path: path)
        case .failure(ENOTDIR):
            var status = stat()
            if fstatat(parent, name, &status, AT_SYMLINK_NOFOLLOW) == 0, isSymlink(status) {
                throw StateStoreError.symlinkRefused(path: path)
            }
            throw StateStoreError.notADirectory(path: path)
        case .failure(let code):
            throw StateStoreError.cannotOpen(path: path, SystemError("open", path: path, errno: code.errno))
        }
    }

    /// Opens the state directory itself, following links in its path (the
    /// operator chose it), creating it and its missing parents (0700) when
    /// `creating`.
    /// - Returns: the descriptor and, when the directory is shared by a
    ///   group, that group; nil when it does not exist and not `creating`.
    static func openStateDirectory(_ path: String, creating: Bool) throws -> (Int32, gid_t?)? {
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC
        var result = valueOrError("open") { openPath(path, flags) }
        switch result {
        case .failure(ENOENT), .failure(ENOTDIR):
            // ENOTDIR: a file stands where a parent should be; mkdir names it.
            if creating {
                try makeDirectories(path)
                result = valueOrError("open") { openPath(path, flags) }
            }
        default:
            break
        }
        switch result {
        case .success(let descriptor):
            do {
                return (descriptor, try refuseIfAnotherUserControls(descriptor, path: path, sharedGroup: nil))
            } catch {
                closeDescriptor(descriptor)
                throw error
            }
        case .failure(ENOENT) where !creating:
            return nil
        case .failure(EACCES):
            var status = stat()
            if stat(path, &status) == 0, isGroupShared(status), status.st_uid == 0 {
                throw StateStoreError.notInSharedGroup(path: path, group: groupName(status.st_gid), user: userName(geteuid()))
            }
            throw StateStoreError.cannotOpen(path: path, SystemError("open", path: path, errno: EACCES))
        case .failure(ENOTDIR):
            var status = stat()
            if stat(path, &status) == 0 {
                throw StateStoreError.notADirectory(path: path)
            }
            throw StateStoreError.cannotOpen(path: path, SystemError("open", path: path, errno: ENOTDIR))
        case .failure(let code):
            throw StateStoreError.cannotOpen(path: path, SystemError("open", path: path, errno: code.errno))
        }
    }

    /// Refuses a directory that someone other than the running user could
    /// have prepared or could change under us. Accepted are:
    /// - a private directory: owned by the effective user (so by root when
    ///   running as root) and writable by neither its group nor others
    ///   (mode & 0o022 == 0), the rule OpenSSH applies to `~/.ssh`;
    /// - a directory shared by a group: group-writable with the setgid bit,
    ///   not writable by others, used by root or by a member of its group,
    ///   and owned by root (the state directory itself) or, for a breaker's
    ///   directory in a shared state directory, carrying that directory's
    ///   group. Being in the group is the trust decision, as for `adm`.
    /// Otherwise another user could plant or swap a breaker's files, and
    /// through them open or close a breaker that root's cron jobs obey.
    /// - Parameters:
    ///   - sharedGroup: the group of the shared state directory this is a
    ///     breaker's directory of; nil for the state directory itself or a
    ///     breaker's directory in a private one.
    /// - Returns: the directory's group when it is shared, else nil.
    /// - Throws: `StateStoreError.ownedByAnotherUser`, `.writableByOthers`,
    ///   `.notInSharedGroup`, or `.cannotOpen` when fstat(2) fails.
    private static func refuseIfAnotherUserControls(_ descriptor: Int32, path: String, sharedGroup: gid_t?) throws -> gid_t? {
        var status = stat()
        if fstat(descriptor, &status) != 0 {
            throw StateStoreError.cannotOpen(path: path, SystemError("fstat", path: path, errno: errno))
        }
        let user = geteuid()
        let isGroupWritable = status.st_mode & 0o020 != 0
        // A group-writable directory of root's (or, in a shared state
        // directory, of its group) is judged by its mode and the group below.
        let isMeantToBeShared = isGroupWritable && (sharedGroup.map { status.st_gid == $0 } ?? (status.st_uid == 0))
        if status.st_uid != user && !isMeantToBeShared {
            throw StateStoreError.ownedByAnotherUser(path: path, owner: status.st_uid, user: user)
        }
        if status.st_mode & 0o002 != 0 || (isGroupWritable && !(isMeantToBeShared && isGroupShared(status))) {
            throw StateStoreError.writableByOthers(path: path, mode: status.st_mode & 0o7777)
        }
        guard isGroupWritable else { return nil }
        guard user == 0 || isMember(of: status.st_gid) else {
            throw StateStoreError.notInSharedGroup(path: path, group: groupName(status.st_gid), user: userName(user))
        }
        return status.st_gid
    }

    /// `mkdir -p -m 0700`: creates each missing directory of `path`.
    private static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? String(component) : "/\(component)"
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw StateStoreError.cannotCreateDirectory(path: path, SystemError("mkdir", path: prefix, errno: errno))
            }
        }
    }

    /// Opens (creating it 0600 when `flags` has `O_CREAT`) a regular file of
    /// this directory, never through a symlink, never blocking on a FIFO.
    /// - Returns: the descriptor, close-on-exec.
    /// - Throws: `StateStoreError.symlinkRefused`, `.notARegularFile` or `.cannotOpen`.
    func openRegularFile(_ file: String, flags: Int32) throws -> Int32 {
        let path = path(file)
        let result = valueOrError("open") { openat(descriptor, file, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, fileMode) }
        switch result {
        case .success(let opened):
            var status = stat()
            if fstat(opened, &status) != 0 || !isRegularFile(status) {
                closeDescriptor(opened)
                throw StateStoreError.notARegularFile(path: path)
            }
            if let sharedGroup {
                // A second name elsewhere would let a member who planted it
                // have root write through it (where the kernel's
                // protected_hardlinks does not already forbid the link).
                if status.st_nlink > 1 {
                    closeDescriptor(opened)
                    throw StateStoreError.hardLinked(path: path, links: UInt64(status.st_nlink))
                }
                // A file this user created, to be written: the umask may have
                // taken the group's bits, and a file of an install before the
                // directory was shared is root's group and 0600.
                if status.st_uid == geteuid() && flags & (O_WRONLY | O_RDWR | O_CREAT) != 0 {
                    if status.st_gid != sharedGroup { _ = fchown(opened, uid_t.max, sharedGroup) }
                    if status.st_mode & 0o777 != fileMode { _ = fchmod(opened, fileMode) }
                }
            }
            return opened
        case .failure(ELOOP):
            throw StateStoreError.symlinkRefused(path: path)
        case .failure(EISDIR), .failure(ENXIO):
            throw StateStoreError.notARegularFile(path: path)
        case .failure(let code):
            throw StateStoreError.cannotOpen(path: path, SystemError("open", path: path, errno: code.errno))
        }
    }

    /// What identifies the file `file` of this directory as it stands: its
    /// inode and change time, which a rename over it changes; nil when it
    /// does not exist or cannot be examined. Symbolic links are not followed.
    func identity(of file: String) -> FileIdentity? {
        var status = stat()
        guard fstatat(descriptor, file, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino),
                            changeSeconds: Int64(status.st_ctim.tv_sec), changeNanoseconds: Int64(status.st_ctim.tv_nsec))
    }

    /// fsync(2) of this directory, so that a file just created in it is
    /// there after a power cut; a file system that cannot sync a directory
    /// (EINVAL, ENOTSUP) is let be, as `replaceFile` does.
    /// - Throws: `SystemError` when the sync fails otherwise.
    func syncDirectory() throws(SystemError) {
        do {
            _ = try retryingInterrupts("fsync", path: directoryPath) { fsync(descriptor) }
        } catch where error.errno == EINVAL || error.errno == ENOTSUP {
            // Nothing to do: the file system keeps no directory to sync.
        }
    }

    /// Removes the temporary file `file` that a writer killed mid-write
    /// left, if any. The caller holds the lock, so no live writer owns it.
    func removeLeftoverTemporary(_ file: String) {
        _ = unlinkat(descriptor, file, 0)
    }

    /// Reads `state.json` whole, up to one byte more than the largest state
    /// file accepted (so that a larger one is seen as such).
    /// - Returns: its bytes, or nil when it does not exist.
    /// - Throws: `StateStoreError`.
    func readStateFile() throws -> [UInt8]? {
        try readFile("state.json", limit: FileStateStore.maximumStateFileSize + 1)?.bytes
    }

    /// Reads a file of this directory whole, up to `limit` bytes.
    /// - Returns: its bytes and its modification time (nanoseconds since
    ///   the epoch), or nil when it does not exist.
    /// - Throws: `StateStoreError`.
    func readFile(_ file: String, limit: Int) throws -> (bytes: [UInt8], modifiedWallNanoseconds: Int64)? {
        let descriptor: Int32
        do {
            descriptor = try openRegularFile(file, flags: O_RDONLY)
        } catch StateStoreError.cannotOpen(_, let error) where error.errno == ENOENT {
            return nil
        }
        defer { closeDescriptor(descriptor) }
        var status = stat()
        _ = fstat(descriptor, &status)
        let modified = modificationNanoseconds(status)
        var bytes: [UInt8] = []
        // Sized by the file (a state file is a few hundred bytes): a
        // zero-filled 64 KiB buffer per read cost more than the read.
        var chunk = [UInt8](repeating: 0, count: max(1, min(64 * 1024, limit, Int(status.st_size) + 1)))
        while bytes.count < limit {
            let count: Int
            do {
                count = try retryingInterrupts("read", path: path(file)) {
                    chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                }
            } catch {
                throw StateStoreError.cannotRead(path: path(file), error)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return (bytes, modified)
    }

    /// Renames `state.json` to `state.json.corrupt-SUFFIX` (or `-SUFFIX-2`, and
    /// so on, when that name is taken; the caller holds the lock, so no other
    /// breaker-run races for the name).
    /// - Parameter suffix: a timestamp, such as `20261130T011500Z`.
    /// - Returns: the new path.
    /// - Throws: `StateStoreError.cannotMoveAside`.
    func moveStateFileAside(suffix: String) throws -> String {
        let base = "state.json.corrupt-\(suffix)"
        var candidate = base
        var number = 1
        var status = stat()
        while fstatat(descriptor, candidate, &status, AT_SYMLINK_NOFOLLOW) == 0 {
            number += 1
            candidate = "\(base)-\(number)"
        }
        if renameat(descriptor, "state.json", descriptor, candidate) != 0 {
            let original = path("state.json")
            throw StateStoreError.cannotMoveAside(path: original, SystemError("rename", path: original, errno: errno))
        }
        return path(candidate)
    }

    /// Replaces `state.json` with `bytes` atomically and durably: a new
    /// temporary file (`O_EXCL | O_NOFOLLOW`, 0600), every byte written,
    /// fsync(2), rename(2) over `state.json`, fsync of the directory. A
    /// temporary file left by a crashed writer is removed first: the caller
    /// holds the lock, so no live writer owns it.
    /// - Throws: `StateStoreError.cannotWrite`; `state.json` is then either
    ///   the old state or (when only the directory's fsync failed) the new one.
    func replaceStateFile(with bytes: [UInt8]) throws {
        try replaceFile("state.json", with: bytes, temporary: "state.json.tmp")
    }

    /// Replaces `file` with `bytes` atomically and durably, as
    /// `replaceStateFile(with:)` does, through the temporary file
    /// `temporary`, which a leftover of a crashed writer may hold: the
    /// caller makes sure no live writer uses the same name (a lock, or a
    /// name with its process id).
    /// - Parameter mode: the file's mode; nil for `fileMode` (0600, or 0660
    ///   in a directory shared by a group).
    /// - Throws: `StateStoreError.cannotWrite`.
    func replaceFile(_ name: String, with bytes: [UInt8], temporary: String, mode: mode_t? = nil) throws {
        let temporaryPath = path(temporary)
        let target = path(name)
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var result = valueOrError("open") { openat(descriptor, temporary, flags, 0o600) }
        if case .failure(EEXIST) = result {
            _ = unlinkat(descriptor, temporary, 0)
            result = valueOrError("open") { openat(descriptor, temporary, flags, 0o600) }
        }
        let file: Int32
        switch result {
        case .success(let opened): file = opened
        case .failure(let code): throw StateStoreError.cannotWrite(path: target, SystemError("open", path: temporaryPath, errno: code.errno))
        }
        do {
            try retryingInterrupts("chmod", path: temporaryPath) { fchmod(file, mode ?? fileMode) }
            try writeAll(bytes, to: file, path: temporaryPath)
            try retryingInterrupts("fsync", path: temporaryPath) { fsync(file) }
            closeDescriptor(file)
            try retryingInterrupts("rename", path: temporaryPath) { renameat(descriptor, temporary, descriptor, name) }
        } catch {
            closeDescriptor(file)
            _ = unlinkat(descriptor, temporary, 0)
            throw StateStoreError.cannotWrite(path: target, error)
        }
        do {
            try retryingInterrupts("fsync", path: directoryPath) { fsync(descriptor) }
        } catch where error.errno == EINVAL || error.errno == ENOTSUP {
            // This file system cannot sync a directory; the rename stands.
        } catch {
            throw StateStoreError.cannotWrite(path: target, error)
        }
    }
}

/// When the file `status` describes was last modified, in nanoseconds
/// since the Unix epoch.
func modificationNanoseconds(_ status: stat) -> Int64 {
    Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
}

/// Whether `status` is that of a regular file.
func isRegularFile(_ status: stat) -> Bool {
    (status.st_mode & S_IFMT) == S_IFREG
}

private func isSymlink(_ status: stat) -> Bool {
    (status.st_mode & S_IFMT) == S_IFLNK
}

/// open(2) on a path, named apart from `BreakerDirectory.open`.
private func openPath(_ path: String, _ flags: Int32) -> Int32 {
    open(path, flags)
}

/// A file's identity as `BreakerDirectory.identity(of:)` sees it.
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    var changeSeconds: Int64
    var changeNanoseconds: Int64
}
