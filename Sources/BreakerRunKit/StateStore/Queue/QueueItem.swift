/// One rejected invocation kept by a `queue` fallback, to be run again by
/// `breaker-run drain`: what is needed to run the same call later, and
/// nothing more (issue 18). The environment holds only the variables the
/// configuration names (`env: [A, B]`), so secrets stay out unless asked for.
package struct QueueItem: Sendable, Equatable {
    /// The call to run again.
    package enum Call: Sendable, Equatable {
        /// The breaker's configured call (`command`, `shell`, `http` or
        /// `tcp`), as the configuration says when the item is replayed.
        case configured
        /// The command given after `--`: its argv, the program first.
        case command([String])
    }

    /// Who queued the item.
    package struct User: Sendable, Equatable {
        /// The effective uid.
        package var id: UInt32
        /// The user's name, or the uid in decimal when it has none.
        package var name: String

        /// Creates a user.
        /// - Parameters:
        ///   - id: the effective uid.
        ///   - name: the user's name.
        package init(id: UInt32, name: String) {
            self.id = id
            self.name = name
        }

        /// The user running this process.
        package static var current: User {
            let user = QueueSystemCalls.effectiveUser()
            return User(id: user.id, name: user.name)
        }
    }

    /// A stable identifier, kept across attempts and given to the replayed
    /// call as `BREAKER_QUEUE_ITEM`, so that a job can make itself
    /// idempotent: `q-` and 32 lowercase hexadecimal digits (128 random bits).
    package var id: String
    /// The call to run again.
    package var call: Call
    /// The working directory of the invocation, absolute.
    package var workingDirectory: String
    /// The invocation's standard input, read whole, byte for byte (any
    /// bytes, not only text); empty when it had none.
    package var standardInput: [UInt8]
    /// The environment variables kept, by name: only those the queue's
    /// `env` names.
    package var environment: [String: String]
    /// When the invocation was queued: wall-clock time (CLOCK_REALTIME),
    /// nanoseconds since the Unix epoch. Used for `max_age` and shown to
    /// people; it may jump with the clock.
    package var queuedAtWallNanoseconds: Int64
    /// Who queued it.
    package var user: User
    /// How many replays of it have failed so far (0 when new).
    package var attempts: Int

    /// Creates an item.
    /// - Parameters:
    ///   - id: its identifier; a new random one (`QueueItem.newID()`) by default.
    ///   - call: the call to run again.
    ///   - workingDirectory: the invocation's working directory.
    ///   - standardInput: its standard input, whole.
    ///   - environment: the variables kept, by name.
    ///   - queuedAtWallNanoseconds: when it was queued, nanoseconds since the epoch.
    ///   - user: who queued it; the running user by default.
    ///   - attempts: failed replays so far; 0 by default.
    package init(
        id: String = QueueItem.newID(),
        call: Call,
        workingDirectory: String,
        standardInput: [UInt8] = [],
        environment: [String: String] = [:],
        queuedAtWallNanoseconds: Int64,
        user: User = .current,
        attempts: Int = 0
    ) {
        self.id = id
        self.call = call
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.environment = environment
        self.queuedAtWallNanoseconds = queuedAtWallNanoseconds
        self.user = user
        self.attempts = attempts
    }

    /// A new identifier: `q-` and 128 random bits in hexadecimal, from the
    /// system's random number generator (getrandom(2) on Linux).
    /// - Returns: an identifier such as `q-3f9c0b1e2d4a5f6789abcdef01234567`.
    package static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "q-" + hexadecimal(high) + hexadecimal(low)
    }

    /// Whether `text` has the form of an identifier `newID()` makes, which
    /// is also what makes it safe in a message or an environment variable.
    /// - Parameter text: the text to check.
    /// - Returns: true for `q-` and 32 lowercase hexadecimal digits.
    package static func isValidID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 34, bytes[0] == UInt8(ascii: "q"), bytes[1] == UInt8(ascii: "-") else { return false }
        return bytes.dropFirst(2).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// How long ago the item was queued, as of `nowWallNanoseconds`; zero
    /// when its time lies in the future (the wall clock was stepped back).
    /// - Parameter nowWallNanoseconds: the current wall time, nanoseconds since the epoch.
    /// - Returns: the item's age.
    package func age(atWallNanoseconds nowWallNanoseconds: Int64) -> Duration {
        let (difference, overflow) = nowWallNanoseconds.subtractingReportingOverflow(queuedAtWallNanoseconds)
        guard !overflow, difference > 0 else { return .zero }
        return .nanoseconds(difference)
    }
}

private func hexadecimal(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
