/// Why the state store could not read or write a breaker's state.
///
/// Each case names the path concerned; its `description` is one sentence that
/// says what failed and what to do. The run maps every case to exit status 74
/// (EX_IOERR) when the breaker's `on_state_error` is `fail-closed`, and to a
/// warning when it is `fail-open`.
public enum StateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The state directory, or a breaker's directory in it, does not exist and
    /// could not be created (`mkdir(2)` failed).
    case cannotCreateDirectory(path: String, SystemError)
    /// A directory or file of the store exists but could not be opened.
    case cannotOpen(path: String, SystemError)
    /// A symbolic link stands where the store expects a directory or a file
    /// of its own. The store never follows one (`O_NOFOLLOW`), so that a link
    /// planted in the state directory cannot redirect a write.
    case symlinkRefused(path: String)
    /// Something other than a regular file (a directory, a FIFO, a device)
    /// stands where the store expects a file.
    case notARegularFile(path: String)
    /// Something other than a directory stands where the store expects a
    /// breaker's directory.
    case notADirectory(path: String)
    /// The state directory, or a breaker's directory in it, belongs to
    /// another user than the one running breaker-run (`owner` and `user` are
    /// uids), who could plant or swap its files. It is then not used at all.
    case ownedByAnotherUser(path: String, owner: UInt32, user: UInt32)
    /// The state directory, or a breaker's directory in it, can be written
    /// by its group or by others (`mode` has 0o020 or 0o002), who could
    /// plant or swap its files. It is then not used at all.
    case writableByOthers(path: String, mode: UInt32)
    /// The state directory is shared by a group (root-owned, setgid,
    /// group-writable) that the user running breaker-run is not in, so it
    /// cannot use it; breaker-run never falls back to a private state.
    case notInSharedGroup(path: String, group: String, user: String)
    /// A breaker's file in a shared state directory has more than one hard
    /// link (`links`), so a member of the group may have linked it to a
    /// file elsewhere; it is neither read nor written.
    case hardLinked(path: String, links: UInt64)
    /// Taking the `flock(2)` on a lock file failed (other than by being taken).
    case cannotLock(path: String, SystemError)
    /// Reading the state file failed.
    case cannotRead(path: String, SystemError)
    /// Writing the state file failed: creating, writing or syncing the
    /// temporary file, renaming it over `state.json`, or syncing the directory.
    /// The previous `state.json` is then still intact (rename(2) is atomic).
    case cannotWrite(path: String, SystemError)
    /// A state file that could not be parsed could not be moved aside.
    case cannotMoveAside(path: String, SystemError)
    /// The state could not be encoded as JSON (a bug).
    case cannotEncode(path: String, reason: String)
    /// The state file was written by a newer breaker-run, in a format this one
    /// does not know. It is left untouched, so that the newer version's state
    /// is not destroyed.
    case unsupportedFormat(path: String, found: Int, highestSupported: Int)
    /// A long key's directory (`NAME/keys/hHASH`, `KeyedName.fileComponent`)
    /// belongs to another key of the same hash: the key is refused rather
    /// than given the other's state.
    case keyCollision(path: String)

    /// The path the error concerns.
    public var path: String {
        switch self {
        case .cannotCreateDirectory(let path, _), .cannotOpen(let path, _), .symlinkRefused(let path),
             .notARegularFile(let path), .notADirectory(let path), .cannotLock(let path, _),
             .ownedByAnotherUser(let path, _, _), .writableByOthers(let path, _), .notInSharedGroup(let path, _, _), .hardLinked(let path, _),
             .cannotRead(let path, _), .cannotWrite(let path, _), .cannotMoveAside(let path, _),
             .cannotEncode(let path, _), .unsupportedFormat(let path, _, _), .keyCollision(let path):
            return path
        }
    }

    /// One sentence: what failed, on which path, and what to do.
    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let error) where path == StateDirectory.system && error.errno == EACCES:
            return "cannot create state directory \(path): \(error.reason); create it as root, shared by the group breaker-run: install -d -o root -g breaker-run -m 2770 \(path) (make install does)"
        case .cannotCreateDirectory(let path, let error):
            return "cannot create state directory \(path): \(error.reason); create it or pass --state-dir"
        case .cannotOpen(let path, let error) where path == StateDirectory.system && error.errno == EACCES:
            return "cannot open \(path): \(error.reason); it is private to root, not shared by the group breaker-run: as root, chgrp breaker-run \(path) && chmod 2770 \(path) (make install does), then usermod -aG breaker-run USER"
        case .cannotOpen(let path, let error):
            return "cannot open \(path): \(error.reason); check its owner and permissions or pass --state-dir"
        case .symlinkRefused(let path):
            return "refusing to follow symlink \(path) in the state directory; remove it or pass another --state-dir"
        case .notARegularFile(let path):
            return "\(path) is not a regular file; remove it so that breaker-run can recreate it"
        case .notADirectory(let path):
            return "\(path) is not a directory, where breaker-run keeps state; check --state-dir, or move the file away"
        case .ownedByAnotherUser(let path, let owner, let user):
            return "refusing state directory \(path): it is owned by uid \(owner), not by the user running breaker-run (uid \(user)); chown it to uid \(user) or pass another --state-dir"
        case .writableByOthers(let path, let mode):
            return "refusing state directory \(path): its mode \(String(mode, radix: 8)) lets its group or others write to it; run chmod go-w on it (or chmod 2770 on root's directory that a group shares) or pass another --state-dir"
        case .notInSharedGroup(let path, let group, let user):
            return "cannot use the shared state directory \(path): \(user) is not in its group \(group); run 'usermod -aG \(group) \(user)' as root, then log in again"
        case .hardLinked(let path, let links):
            return "refusing \(path): it has \(links) hard links, so writing it could change a file elsewhere; remove it so that breaker-run can recreate it"
        case .cannotLock(let path, let error):
            return "cannot lock \(path): \(error.reason); check the file system supports flock(2) or pass --state-dir"
        case .cannotRead(let path, let error):
            return "cannot read state file \(path): \(error.reason); check its permissions"
        case .cannotWrite(let path, let error):
            return "cannot write state file \(path) (\(error.operation)): \(error.reason); check free space and permissions"
        case .cannotMoveAside(let path, let error):
            return "cannot move unreadable state file \(path) aside: \(error.reason); move or remove it by hand"
        case .cannotEncode(let path, let reason):
            return "cannot encode the state for \(path) (\(reason)); this is a bug, please report it"
        case .unsupportedFormat(let path, let found, let highest):
            return "state file \(path) has format \(found), newer than this breaker-run reads (up to \(highest)); upgrade breaker-run or move the file aside"
        case .keyCollision(let path):
            return "key directory \(path) holds another key of the same hash; use a shorter key (keys of up to 66 bytes are never hashed)"
        }
    }
}

extension SystemError {
    /// The `strerror(3)` text alone, such as "Permission denied".
    var reason: String {
        String(cString: strerror(errno))
    }
}
