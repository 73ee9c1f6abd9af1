import BreakerRunKit
import CircuitBreaker
import Synchronization

/// A clock the test moves by hand: both readings advance together, and
/// nothing ever sleeps.
public final class ManualClock: BreakerClock, Sendable {
    /// The boot the readings belong to.
    public let bootID: String
    private let current: Mutex<Instant>

    /// Creates a clock reading `start`.
    /// - Parameters:
    ///   - start: the first reading; `t(0)` of the tests' vocabulary by default.
    ///   - bootID: the boot the readings belong to.
    public init(at start: Instant = t(0), bootID: String = "test-boot") {
        self.bootID = bootID
        current = Mutex(start)
    }

    /// The current reading.
    /// - Returns: the instant the test has moved the clock to.
    public func now() -> Instant {
        current.withLock { $0 }
    }

    /// Moves both readings forward.
    /// - Parameter duration: how far, such as `.seconds(61)`.
    public func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        current.withLock { now in
            now = Instant(monotonicNanoseconds: now.monotonicNanoseconds + nanoseconds, wallNanoseconds: now.wallNanoseconds + nanoseconds)
        }
    }
}
