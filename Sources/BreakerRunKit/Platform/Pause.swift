/// Waits without a thread or a run loop.
public enum Pause {
    /// Sleeps for `duration`, resuming after a signal handler interrupts
    /// `nanosleep(2)` (POSIX) with the time that remains.
    /// - Parameter duration: how long to sleep; zero or less returns at once.
    public static func sleep(for duration: Duration) {
        guard duration > .zero else { return }
        let nanoseconds = duration.nanoseconds
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR {
            request = remaining
        }
    }
}
