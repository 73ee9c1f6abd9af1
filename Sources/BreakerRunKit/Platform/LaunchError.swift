/// A child that could not be started. Only this throws: once the child runs,
/// whatever it does is a `Termination`.
public enum LaunchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command was not found: no such file, or no match in `PATH`.
    case notFound(String)
    /// The command was found but could not be executed: no execute
    /// permission (`EACCES`, `EPERM`), not an executable format (`ENOEXEC`),
    /// or a directory (`EISDIR`). The `errno` says which.
    case notExecutable(String, errno: Int32)
    /// Anything else: the working directory is unusable, or a system call
    /// around the spawn failed (such as `E2BIG` or `ENOMEM`).
    case failed(SystemError)

    /// The exit status a shell gives for this failure (POSIX shell
    /// convention, "Command Search and Execution"): 127 for a command not
    /// found, 126 for one that could not be executed.
    public var exitStatus: Int32 {
        switch self {
        case .notFound: 127
        case .notExecutable, .failed: 126
        }
    }

    /// One sentence naming the command and what to check.
    public var description: String {
        switch self {
        case .notFound(let command):
            "command not found: \(command) (check the path, or PATH for a bare name)"
        case .notExecutable(let command, let code):
            "cannot execute \(command): \(String(cString: strerror(code))) (check its permissions and format)"
        case .failed(let error):
            "cannot start the command: \(error)"
        }
    }
}
