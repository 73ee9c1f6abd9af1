/// Every exit status breaker-run chooses itself, with the source of each.
/// A call's own status, and the status of a fallback, pass through unchanged.
enum ExitStatus: Int32 {
    /// All went well (`status`, `trip`, `reset`, `validate`).
    case success = 0
    /// Bad command line: EX_USAGE, sysexits.h.
    case usage = 64
    /// Internal error, a bug: EX_SOFTWARE, sysexits.h.
    case software = 70
    /// State could not be read or written: EX_IOERR, sysexits.h.
    case ioError = 74
    /// Rejected with no fallback (the default of `open_exit_code`):
    /// EX_TEMPFAIL, sysexits.h.
    case rejected = 75
    /// Bad or unsafe configuration: EX_CONFIG, sysexits.h.
    case configuration = 78
    /// The call ran past its timeout and was killed: GNU timeout's 124.
    case timedOut = 124
    /// The command could not be executed: the shell's 126 (POSIX, 2.8.2).
    case cannotExecute = 126
    /// The command was not found: the shell's 127 (POSIX, 2.8.2).
    case notFound = 127
}
