#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The controlling terminal lent to a child's process group for the length of
/// a call, as a job-control shell lends it to a foreground job.
///
/// Callers keep SIGTTOU blocked while using this: `tcsetpgrp` from a
/// background group then succeeds instead of stopping us (POSIX).
struct TerminalHandoff {
    /// The child's process group.
    let childGroup: pid_t
    /// breaker-run's own process group.
    let ownGroup: pid_t
    /// Whether the child's group holds the terminal now.
    private(set) var isLent: Bool

    /// Gives the terminal on stdin to `group` when stdin is a terminal and
    /// breaker-run's group is its foreground group.
    /// - Returns: `nil` when there is no terminal to lend.
    init?(handingOverTo group: pid_t) {
        let own = getpgrp()
        guard isatty(0) == 1, tcgetpgrp(0) == own, tcsetpgrp(0, group) == 0 else { return nil }
        childGroup = group
        ownGroup = own
        isLent = true
    }

    /// Takes the terminal back for breaker-run's group, if it is still lent.
    mutating func takeBack() {
        if isLent { _ = tcsetpgrp(0, ownGroup) }
        isLent = false
    }

    /// Reacts to the child stopping, as a shell's job would.
    ///
    /// SIGTTIN or SIGTTOU mean the child touched the terminal before it got
    /// it: continue it. A stop from the keyboard (SIGTSTP) or SIGSTOP: take
    /// the terminal back and stop breaker-run too, so the user's shell sees
    /// the job stopped; on `fg` lend the terminal again, and continue the
    /// child either way.
    /// - Parameter signal: the signal that stopped the child.
    mutating func childStopped(by signal: Int32) {
        if signal == SIGTTIN || signal == SIGTTOU {
            if isLent { _ = kill(-childGroup, SIGCONT) }
            return
        }
        guard isLent else { return }
        takeBack()
        _ = kill(getpid(), SIGSTOP)
        if tcgetpgrp(0) == ownGroup, tcsetpgrp(0, childGroup) == 0 { isLent = true }
        _ = kill(-childGroup, SIGCONT)
    }
}
