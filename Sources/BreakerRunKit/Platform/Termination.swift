/// How a child process ended, as `waitpid(2)` reports it (POSIX). A non-zero
/// exit is a result, not an error.
public enum Termination: Equatable, Sendable {
    /// The child called `exit` with this status (0...255).
    case exited(Int32)
    /// The child was killed by this signal.
    case signaled(Int32)

    /// Decodes a `waitpid` status word of a child that has terminated.
    ///
    /// Swift does not import the `WIFEXITED` family of macros; this is their
    /// Linux definition: the low 7 bits hold the killing signal, 0 meaning a
    /// normal exit whose status is in bits 8...15.
    /// - Parameter status: the status word from `waitpid`.
    /// - Returns: the termination, or `nil` when the word reports a stopped or
    ///   continued child rather than a terminated one.
    public init?(waitStatus status: Int32) {
        let low = status & 0x7f
        if low == 0 {
            self = .exited((status >> 8) & 0xff)
        } else if low != 0x7f && status != 0xffff {
            self = .signaled(low)
        } else {
            return nil
        }
    }
}
