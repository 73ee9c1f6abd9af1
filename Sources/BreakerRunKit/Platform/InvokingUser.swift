/// Who runs this process, for the event log of manual transitions.
public enum InvokingUser {
    /// The real user: `uid 0 (root)`, or `uid 1000` when the user database
    /// has no name for it.
    /// - Returns: the description.
    public static func current() -> String {
        let uid = getuid()
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        let code = getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
        if code == 0, let found = result, let name = found.pointee.pw_name {
            return "uid \(uid) (\(String(cString: name)))"
        }
        return "uid \(uid)"
    }
}
