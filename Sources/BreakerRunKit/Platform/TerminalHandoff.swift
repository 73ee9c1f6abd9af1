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
    private(set) var isLent = false

    /// Whether the child may have the terminal at all.
    let mayLend: Bool

    /// Gives the terminal on stdin to `group` when stdin is a terminal and
    /// breaker-run's group is its foreground group; otherwise (no terminal,
    /// or started in the background) lends it later, if ever, from
    /// `childStopped(by:)`.
    /// - Parameters:
    ///   - group: the child's process group.
    ///   - lending: false for a child that must never have the terminal.
    init(handingOverTo group: pid_t, lending: Bool = true) {
        childGroup = group
        ownGroup = getpgrp()
        mayLend = lending
        lendIfForeground()
    }

    /// Lends the terminal to the child's group when breaker-run's group is
    /// the terminal's foreground group.
    mutating func lendIfForeground() {
        guard mayLend, !isLent, isatty(0) == 1, tcgetpgrp(0) == ownGroup, tcsetpgrp(0, childGroup) == 0 else { return }
        isLent = true
    }

    /// Takes the terminal back for breaker-run's group, if it is still lent.
    mutating func takeBack() {
        if isLent { _ = tcsetpgrp(0, ownGroup) }
        isLent = false
    }

    /// Reacts to the child stopping, as a shell's job would.
    ///
    /// SIGTTIN or SIGTTOU mean the child touched the terminal without holding
    /// it: lend it the terminal if breaker-run is in the foreground (it may
    /// have been brought there by `fg` since the call started); if it is in
    /// the background, stop breaker-run too, so that the user's shell shows
    /// the job stopped, and lend the terminal once continued in the
    /// foreground. A stop from the keyboard (SIGTSTP) or SIGSTOP: take the
    /// terminal back and stop breaker-run too; on `fg` lend the terminal
    /// again. The child is continued either way.
    /// - Parameter signal: the signal that stopped the child.
    mutating func childStopped(by signal: Int32) {
        if signal == SIGTTIN || signal == SIGTTOU {
            lendIfForeground()
            if mayLend && !isLent && isatty(0) == 1 {
                _ = kill(getpid(), SIGSTOP)
                lendIfForeground()
            }
            _ = kill(-childGroup, SIGCONT)
            return
        }
        guard isLent else { return }
        takeBack()
        _ = kill(getpid(), SIGSTOP)
        lendIfForeground()
        _ = kill(-childGroup, SIGCONT)
    }
}
