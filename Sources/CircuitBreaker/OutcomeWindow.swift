/// The recent outcomes that a failure-rate rule looks at, in bounded space
/// whatever the call rate: for a count window, a ring of one bit per call (at
/// most `FailureRate.maximumCalls`); for a time window, at most
/// `FailureRate.maximumBuckets` buckets of counts on the monotonic clock.
/// These are resilience4j's two sliding windows.
///
/// The breaker clears the window on every transition and, for a time window,
/// after a reboot. A window kept for another kind of window, or for a time
/// window of another bucket width (the configuration was edited), counts as
/// empty and is started anew; a count window of another size keeps its
/// latest outcomes.
public struct OutcomeWindow: Sendable, Equatable {
    /// What the window holds; the state-document codec reads and restores
    /// it.
    package enum Storage: Sendable, Equatable {
        /// No outcome yet.
        case empty
        /// A count window's ring.
        case calls(CallRing)
        /// A time window's buckets.
        case time(TimeBuckets)
    }

    /// The outcomes held.
    package var storage: Storage = .empty

    /// Creates an empty window.
    public init() {}

    /// Whether the window holds no outcome.
    public var isEmpty: Bool {
        switch storage {
        case .empty: true
        case .calls(let ring): ring.count == 0
        case .time(let buckets): buckets.buckets.isEmpty
        }
    }

    /// The calls and failures within `window` as of `now`.
    /// - Parameters:
    ///   - now: the current time.
    ///   - window: the failure-rate rule's window.
    /// - Returns: the totals; zero when the stored window is of another kind.
    public func totals(at now: Instant, over window: FailureRate.Window) -> WindowTotals {
        switch (window.normalized, storage) {
        case (.calls(let n), .calls(let ring)):
            return ring.totals(last: n)
        case (.duration(let d), .time(let buckets)) where buckets.width == FailureRate.Window.bucketWidth(for: d):
            return buckets.totals(at: now.monotonicNanoseconds, window: d.nanoseconds)
        default:
            return WindowTotals(calls: 0, failures: 0)
        }
    }

    /// Adds one success (`isFailure` false) or failure at `now`, dropping
    /// what lies outside `window`.
    mutating func add(isFailure: Bool, at now: Instant, over window: FailureRate.Window) {
        switch (window.normalized, storage) {
        case (.calls(let n), .calls(var ring)):
            if ring.capacity != n { ring = ring.resized(to: n) }
            ring.append(isFailure: isFailure)
            storage = .calls(ring)
        case (.calls(let n), _):
            var ring = CallRing(capacity: n)
            ring.append(isFailure: isFailure)
            storage = .calls(ring)
        case (.duration(let d), let stored):
            let width = FailureRate.Window.bucketWidth(for: d)
            var buckets = TimeBuckets(width: width)
            if case .time(let kept) = stored, kept.width == width { buckets = kept }
            buckets.add(isFailure: isFailure, at: now.monotonicNanoseconds, window: d.nanoseconds)
            storage = .time(buckets)
        }
    }

    /// Empties the window.
    mutating func clear() {
        storage = .empty
    }

    /// Empties a time window: its monotonic stamps mean nothing on another boot.
    mutating func forgetTimes() {
        if case .time = storage { storage = .empty }
    }

    /// Drops time buckets that start more than `slack` after `now` (a
    /// damaged or hand-edited file): they would otherwise count for as long
    /// as they lie ahead.
    mutating func dropBuckets(after now: Instant, slack: Duration) {
        guard case .time(var buckets) = storage else { return }
        let limit = now.monotonicNanoseconds.addingSaturating(max(.zero, slack).nanoseconds)
        buckets.buckets.removeAll { $0.start > limit }
        storage = buckets.buckets.isEmpty ? .empty : .time(buckets)
    }
}

/// The calls and failures in a failure-rate window.
public struct WindowTotals: Sendable, Equatable {
    /// Successes and failures in the window (ignored outcomes are not calls).
    public var calls: Int
    /// Failures in the window.
    public var failures: Int

    /// Creates totals.
    /// - Parameters:
    ///   - calls: successes and failures.
    ///   - failures: failures among them.
    public init(calls: Int, failures: Int) {
        self.calls = calls
        self.failures = failures
    }
}

/// The last `capacity` outcomes, one bit each (1 for a failure), in a ring
/// of 64-bit words.
package struct CallRing: Sendable {
    /// How many outcomes the ring keeps, 1 to `FailureRate.maximumCalls`.
    package private(set) var capacity: Int
    private var words: [UInt64]
    /// The position of the oldest outcome.
    private var start = 0
    /// How many outcomes the ring holds, at most `capacity`.
    package private(set) var count = 0
    /// How many of them are failures: kept up to date so that the whole
    /// window's totals take no scan.
    private var failures = 0

    /// Creates an empty ring of `capacity` outcomes (clamped to 1 to
    /// `FailureRate.maximumCalls`).
    package init(capacity: Int) {
        self.capacity = min(FailureRate.maximumCalls, max(1, capacity))
        words = Array(repeating: 0, count: (self.capacity + 63) / 64)
    }

    /// Whether the `index`th outcome, counting from the oldest, is a failure.
    package func isFailure(at index: Int) -> Bool {
        let position = (start + index) % capacity
        return words[position / 64] & (1 << UInt64(position % 64)) != 0
    }

    /// Adds the newest outcome, dropping the oldest when full.
    package mutating func append(isFailure: Bool) {
        let position: Int
        if count == capacity {
            position = start
            if self.isFailure(at: 0) { failures -= 1 }
            start = (start + 1) % capacity
        } else {
            position = (start + count) % capacity
            count += 1
        }
        let bit: UInt64 = 1 << UInt64(position % 64)
        if isFailure {
            words[position / 64] |= bit
            failures += 1
        } else {
            words[position / 64] &= ~bit
        }
    }

    /// The calls and failures among the latest `n` outcomes.
    func totals(last n: Int) -> WindowTotals {
        let calls = min(max(0, n), count)
        if calls == count { return WindowTotals(calls: calls, failures: failures) }
        var failures = 0
        for index in (count - calls)..<count where isFailure(at: index) {
            failures += 1
        }
        return WindowTotals(calls: calls, failures: failures)
    }

    /// A ring of another capacity holding the latest outcomes of this one.
    func resized(to capacity: Int) -> CallRing {
        var ring = CallRing(capacity: capacity)
        for index in max(0, count - ring.capacity)..<count {
            ring.append(isFailure: isFailure(at: index))
        }
        return ring
    }
}

extension CallRing: Equatable {
    /// Rings are equal when they hold the same outcomes in the same order,
    /// wherever in their words those lie.
    package static func == (lhs: CallRing, rhs: CallRing) -> Bool {
        lhs.capacity == rhs.capacity && lhs.count == rhs.count
            && (0..<lhs.count).allSatisfy { lhs.isFailure(at: $0) == rhs.isFailure(at: $0) }
    }
}

/// Counts of outcomes in buckets of `width` nanoseconds on the monotonic
/// clock, oldest first; a bucket counts while its start lies within the
/// window, so none of its outcomes is older than the window.
package struct TimeBuckets: Sendable, Equatable {
    /// The outcomes of one bucket.
    package struct Bucket: Sendable, Equatable {
        /// Where the bucket starts on the monotonic clock, in nanoseconds: a
        /// multiple of the width.
        package var start: Int64
        /// Successes recorded in the bucket.
        package var successes: Int
        /// Failures recorded in the bucket.
        package var failures: Int

        /// Creates a bucket with the given counts.
        package init(start: Int64, successes: Int, failures: Int) {
            self.start = start
            self.successes = successes
            self.failures = failures
        }
    }

    /// The buckets' width, in nanoseconds (at least 1).
    package var width: Int64
    /// The buckets, oldest first, at most `FailureRate.maximumBuckets`.
    package var buckets: [Bucket] = []

    /// Creates buckets of `width` nanoseconds (at least 1).
    package init(width: Int64, buckets: [Bucket] = []) {
        self.width = max(1, width)
        self.buckets = buckets
    }

    func totals(at now: Int64, window: Int64) -> WindowTotals {
        let oldest = now.subtractingSaturating(window)
        var totals = WindowTotals(calls: 0, failures: 0)
        for bucket in buckets where bucket.start > oldest {
            totals.calls = totals.calls.addingSaturating(bucket.successes.addingSaturating(bucket.failures))
            totals.failures = totals.failures.addingSaturating(bucket.failures)
        }
        return totals
    }

    mutating func add(isFailure: Bool, at now: Int64, window: Int64) {
        // Floor division, so that instants before the boot clock's zero (in
        // tests, or rebased stamps) fall into the bucket that contains them.
        let start = (now >= 0 ? now / width : (now - width + 1) / width) * width
        // Another process may have stored a later bucket first: its clock
        // read came later but its lock came earlier. Keep the order by start.
        if let index = buckets.lastIndex(where: { $0.start <= start }), buckets[index].start == start {
            increment(&buckets[index], isFailure: isFailure)
        } else {
            var bucket = Bucket(start: start, successes: 0, failures: 0)
            increment(&bucket, isFailure: isFailure)
            let index = buckets.firstIndex { $0.start > start } ?? buckets.endIndex
            buckets.insert(bucket, at: index)
        }
        let oldest = now.subtractingSaturating(window)
        buckets.removeAll { $0.start <= oldest }
        if buckets.count > FailureRate.maximumBuckets {
            buckets.removeFirst(buckets.count - FailureRate.maximumBuckets)
        }
    }

    private func increment(_ bucket: inout Bucket, isFailure: Bool) {
        if isFailure {
            bucket.failures = bucket.failures.addingSaturating(1)
        } else {
            bucket.successes = bucket.successes.addingSaturating(1)
        }
    }
}

extension Int {
    func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        if !overflow { return sum }
        return other > 0 ? .max : .min
    }
}
