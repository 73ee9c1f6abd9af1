import CircuitBreaker

/// Lifetime counts recorded since `state.json` was last written: the
/// contents of `NAME/counts`.
///
/// Most invocations change nothing but a count: a success on a closed
/// breaker with no failures to forget, a rejection by an open one. Rewriting
/// `state.json` durably for those (a temporary file, two fsyncs, a rename)
/// was the largest cost of the open path. Such a change is written here
/// instead, in place, under the same exclusive lock, and synced with one
/// fdatasync(2): the size never changes, so no metadata and no rename wait
/// for the disk, and the state that decides admissions (circuit state, opening,
/// failures, window) is untouched.
///
/// - Exact under concurrency and process crashes: every change is made under
///   the breaker's lock, and a process killed at any point has either
///   written its count to the page cache or not.
/// - Durable when the invocation returns, as `state.json` is. A power cut
///   in the middle of this one write could tear the line (a sector holds
///   it whole on the disks we know); the checksum then fails, the counts
///   pending since the last write of `state.json` are lost with a warning,
///   and never a transition.
/// - The counts are folded into `state.json` by the next write of it, which
///   then moves to a new random `epoch`; a file whose epoch is not the
///   state's (a fold whose reset of this file was lost) is already counted
///   and is ignored.
///
/// The file is one line of fixed length, so an update is one pwrite(2):
///
///     breaker-run-counts 1 epoch 00000000000000000000 successes 0000... failures ... ignored ... rejected ... fallbacks ... check 0123456789abcdef
package struct PendingCounts: Equatable {
    /// The file's name in the breaker's directory.
    package static let fileName = "counts"
    /// The epoch of a state that has never been folded (a `state.json`
    /// without `counts_epoch`).
    package static let initialEpoch: UInt64 = 0
    /// The largest epoch chosen: 2^53 - 1, so that `counts_epoch` reads
    /// exactly in tools that hold JSON numbers as doubles (jq).
    package static let largestEpoch: UInt64 = (1 << 53) - 1

    /// The `counts_epoch` of the `state.json` these counts belong to.
    package var epoch: UInt64
    /// The counts not yet in `state.json`.
    package var counts: Counts

    /// Creates pending counts.
    /// - Parameters:
    ///   - epoch: the `counts_epoch` of the state they belong to.
    ///   - counts: the counts not yet in `state.json`.
    package init(epoch: UInt64, counts: Counts) {
        self.epoch = epoch
        self.counts = counts
    }

    private static let magic = "breaker-run-counts 1"
    private static let fields = ["successes", "failures", "ignored", "rejected", "fallbacks"]

    /// The file's bytes: one line of `encodedLength` bytes.
    package func encoded() -> [UInt8] {
        var line = "\(Self.magic) epoch \(Self.padded(epoch))"
        for (field, value) in zip(Self.fields, Self.values(of: counts)) {
            line += " \(field) \(Self.padded(value))"
        }
        let body = Array(line.utf8)
        return body + Array(" check \(Self.hex(fnv1a64(body)))\n".utf8)
    }

    /// The length of every encoding, in bytes.
    package static let encodedLength = PendingCounts(epoch: 0, counts: Counts()).encoded().count

    /// Parses the file's bytes.
    /// - Returns: the counts, or nil when the bytes are not a whole, intact
    ///   encoding (a torn or foreign file).
    package static func decode(_ bytes: [UInt8]) -> PendingCounts? {
        guard bytes.count == encodedLength, bytes.last == UInt8(ascii: "\n") else { return nil }
        let checkStart = bytes.count - " check ".utf8.count - 16 - 1
        let body = bytes[..<checkStart]
        guard Array(bytes[checkStart...]) == Array(" check \(hex(fnv1a64(body)))\n".utf8) else { return nil }
        let words = String(decoding: body, as: UTF8.self).split(separator: " ")
        let names = ["epoch"] + fields
        guard words.count == 2 + 2 * names.count, words[0...1].joined(separator: " ") == magic else { return nil }
        var values: [UInt64] = []
        for (index, name) in names.enumerated() {
            guard words[2 + 2 * index] == name, let value = UInt64(words[3 + 2 * index]) else { return nil }
            values.append(value)
        }
        return PendingCounts(
            epoch: values[0],
            counts: Counts(successes: values[1], failures: values[2], ignored: values[3], rejected: values[4], fallbacks: values[5]))
    }

    /// `base` plus `extra`, each total saturating at `UInt64.max`.
    package static func adding(_ extra: Counts, to base: Counts) -> Counts {
        let sums = zip(values(of: base), values(of: extra)).map { $0.addingReportingOverflow($1).overflow ? UInt64.max : $0 &+ $1 }
        return Counts(successes: sums[0], failures: sums[1], ignored: sums[2], rejected: sums[3], fallbacks: sums[4])
    }

    /// `after - before`, when no total went down; nil when one did.
    package static func increase(from before: Counts, to after: Counts) -> Counts? {
        let pairs = zip(values(of: after), values(of: before))
        guard pairs.allSatisfy({ $0 >= $1 }) else { return nil }
        let differences = pairs.map { $0 - $1 }
        return Counts(successes: differences[0], failures: differences[1], ignored: differences[2],
                      rejected: differences[3], fallbacks: differences[4])
    }

    private static func values(of counts: Counts) -> [UInt64] {
        [counts.successes, counts.failures, counts.ignored, counts.rejected, counts.fallbacks]
    }

    private static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: 20 - digits.count) + digits
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
