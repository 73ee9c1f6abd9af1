// A state directory shared by a group (issue 16): root:breaker-run 2770,
// its breaker directories 2770 and files 0660 with the group. The rule that
// accepts it is `BreakerDirectory.refuseIfAnotherUserControls`.

extension BreakerDirectory {
    /// Makes a breaker's directory that this user owns in a shared state
    /// directory shared too: the group `group` and mode 2770, set
    /// explicitly since mkdir(2)'s mode is masked by the umask. This covers a
    /// directory just created (whose group the setgid bit already gave) and
    /// one an install before the directory was shared left 0700 (so that
    /// members can use root's breakers after an upgrade). A directory of
    /// another user is left to `refuseIfAnotherUserControls`.
    /// - Throws: `StateStoreError.cannotCreateDirectory` when fchown(2) or
    ///   fchmod(2) fails.
    static func adopt(_ descriptor: Int32, path: String, group: gid_t) throws {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_uid == geteuid() else { return }
        if status.st_gid != group && fchown(descriptor, uid_t.max, group) != 0 {
            throw StateStoreError.cannotCreateDirectory(path: path, SystemError("chown", path: path, errno: errno))
        }
        if status.st_mode & 0o7777 != 0o2770 {
            if fchmod(descriptor, 0o2770) != 0 {
                throw StateStoreError.cannotCreateDirectory(path: path, SystemError("chmod", path: path, errno: errno))
            }
            adoptFiles(in: descriptor, group: group)
        }
    }

    /// Gives the group `group` and mode 0660 to the regular files of a
    /// directory being adopted (`adopt`) that this user owns, opened with
    /// `O_NOFOLLOW` and checked by fstat(2), so a link is never followed.
    /// A file that cannot be changed is left for its own open to report.
    static func adoptFiles(in directory: Int32, group: gid_t) {
        guard let names = try? directoryNames(directory, path: "") else { return }
        for name in names {
            let file = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
            guard file >= 0 else { continue }
            var status = stat()
            if fstat(file, &status) == 0, isRegularFile(status), status.st_uid == geteuid(), status.st_nlink == 1 {
                _ = fchown(file, uid_t.max, group)
                _ = fchmod(file, 0o660)
            }
            closeDescriptor(file)
        }
    }
}

/// Whether a directory is set up to be shared by its group: group-writable
/// (and searchable), with the setgid bit so that what is created in it
/// belongs to the group.
func isGroupShared(_ status: stat) -> Bool {
    status.st_mode & S_ISGID != 0 && status.st_mode & 0o070 == 0o070
}

/// Whether this process has `group` as its effective or a supplementary group.
func isMember(of group: gid_t) -> Bool {
    if getegid() == group { return true }
    let count = getgroups(0, nil)
    guard count > 0 else { return false }
    var groups = [gid_t](repeating: 0, count: Int(count))
    let filled = getgroups(count, &groups)
    return filled > 0 && groups.prefix(Int(filled)).contains(group)
}

/// The name of a group, or its number when it has none.
func groupName(_ group: gid_t) -> String {
    guard let entry = getgrgid(group), let name = entry.pointee.gr_name else { return String(group) }
    return String(cString: name)
}

/// The name of a user, or its number when it has none.
func userName(_ user: uid_t) -> String {
    guard let entry = getpwuid(user), let name = entry.pointee.pw_name else { return String(user) }
    return String(cString: name)
}
