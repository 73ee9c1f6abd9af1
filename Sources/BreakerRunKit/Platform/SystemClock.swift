import CircuitBreaker

/// Where a breaker gets the time: passed in everywhere, so that tests can
/// drive time by hand.
public protocol BreakerClock: Sendable {
    /// The current time on both clocks.
    func now() -> Instant
    /// An identifier of this boot of the machine; monotonic readings are
    /// comparable only between instants of the same boot.
    var bootID: String { get }
}

/// The machine's clocks: CLOCK_BOOTTIME for decisions (it never jumps and
/// keeps counting through suspend), CLOCK_REALTIME for people, and the
/// kernel's boot id (`/proc/sys/kernel/random/boot_id`).
public struct SystemClock: BreakerClock {
    /// The kernel's boot id, read once; "unknown" where it cannot be read.
    public let bootID: String

    /// Reads the boot id.
    public init() {
        bootID = SystemClock.readBootID() ?? "unknown"
    }

    /// Reads both clocks.
    /// - Returns: the current instant.
    public func now() -> Instant {
        var boot = timespec()
        var wall = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_REALTIME, &wall)
        return Instant(
            monotonicNanoseconds: Int64(boot.tv_sec) * 1_000_000_000 + Int64(boot.tv_nsec),
            wallNanoseconds: Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec)
        )
    }

    private static func readBootID() -> String? {
        let fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init)
    }
}
