/// Ends breaker-run the way its child ended, as GNU `timeout` does: with the
/// same exit status, or by the same signal.
///
/// For a signal: core dumps are turned off (`RLIMIT_CORE` 0, so breaker-run
/// leaves no core of its own), the signal's action is set to the default and
/// the signal unblocked, and breaker-run raises it. Should it survive (the
/// signal's default action is not to terminate), it exits with 128 + the
/// signal number, the shell's convention. Buffered stdio output is flushed
/// first in both cases.
/// - Parameter termination: how the child ended.
public func exitLikeChild(_ termination: Termination) -> Never {
    switch termination {
    case .exited(let status):
        exit(status)
    case .signaled(let number):
        fflush(nil)  // exit flushes stdio; dying by a signal would not
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        _ = signal(number, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, number)
        _ = pthread_sigmask(SIG_UNBLOCK, &set, nil)
        _ = raise(number)
        exit(128 + number)
    }
}
