// libFuzzer entry for the state file parser, compiled by scripts/fuzz-state.sh
// into the BreakerRunKit module together with
// Sources/BreakerRunKit/StateStore/*.swift (not part of the SwiftPM build).
//
// Each input is written as a breaker's `state.json` in a state directory on
// /dev/shm (tmpfs: the store's fsyncs cost nothing there) and goes through
// the store's public API, exactly as `status` and `run` read it, whatever
// parser the store uses inside. Beyond "no crash, no hang, bounded memory",
// it checks:
//
// - `read` (status) and `update` (run) see the same state;
// - an unreadable file (not a JSON object) is moved aside byte for byte and
//   the breaker starts closed; a file of a newer format is left untouched;
// - a state whose fields were repaired with "the breaker gets one trial" is
//   half-open with no successful trial yet, never closed;
// - an accepted document round-trips: the state written back reads as the
//   same state, and writing it again gives the same bytes;
// - the state machine, started from whatever was accepted, admits or
//   rejects one call and counts it exactly once (through NAME/counts when
//   only counts change).
//
// A violated property is a crash (`fatalError`) with the input in the message.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CircuitBreaker

/// A clock that stands still, so that an input behaves the same on every run.
private struct StillClock: BreakerClock {
    let bootID = "fuzz-boot-0000"
    func now() -> Instant {
        Instant(monotonicNanoseconds: 86_400_000_000_000, wallNanoseconds: 1_796_000_000_000_000_000)
    }
}

nonisolated(unsafe) private var warnings: [String] = []

/// A new directory under `$FUZZ_STATE_PARENT` (the script's, removed when
/// it ends), else under /dev/shm: one per fuzzing process.
private let stateDirectory: String = {
    let parent = getenv("FUZZ_STATE_PARENT").map { String(cString: $0) } ?? "/dev/shm"
    var template = Array("\(parent)/breaker-run-fuzz-state.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("cannot create a directory under \(parent): \(errno)") }
    return String(cString: made)
}()

private let store = FileStateStore(directory: stateDirectory, clock: StillClock()) { warnings.append($0) }
/// The same store, but writing every change to `state.json` (none to
/// `NAME/counts`), for the byte-for-byte round trip.
private let rewritingStore: FileStateStore = {
    var rewriting = store
    rewriting.writesCountsInPlace = false
    return rewriting
}()
private let name = "fuzz"

/// The policies an input may be run under, chosen by its bytes: a stored
/// state meets rules other than those it was written under when an operator
/// edits the configuration.
private let policies = [
    Policy(failMax: 3, resetTimeout: .milliseconds(150)),
    Policy(failMax: 50, resetTimeout: .milliseconds(100), halfOpenMaxCalls: 2,
           failureRate: FailureRate(threshold: 0.5, window: .calls(10), minimumCalls: 4),
           backoff: Backoff(multiplier: 2, max: .milliseconds(400), jitter: 0.2)),
    Policy(failMax: 4, resetTimeout: .seconds(120), successThreshold: 2, halfOpenMaxCalls: 3,
           failureRate: FailureRate(threshold: 0.6, window: .duration(.seconds(2)), minimumCalls: 5)),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStateFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let directory = "\(stateDirectory)/\(name)"
    emptyDirectory(directory)
    warnings = []
    writeFile("\(directory)/state.json", input)

    let shown: BreakerRecord
    do {
        shown = try store.read(name).0
    } catch StateStoreError.unsupportedFormat {
        expectNewerFormatUntouched(input, directory: directory)
        return 0
    } catch {
        fail("read threw \(error)", input)
    }
    // Other warnings are fields repaired one by one: the rest of the file is kept.
    let unreadable = warnings.contains { $0.contains(" was unreadable (") }
    let givenOneTrial = warnings.contains { $0.hasSuffix("; the breaker gets one trial") }

    // The state as `run` loads it; the change makes the store write it.
    var loaded = BreakerRecord()
    _ = update(through: rewritingStore) { state in
        loaded = state
        state.counts.fallbacks ^= 1
    }
    if unreadable {
        expectMovedAside(input, directory: directory)
        if loaded != BreakerRecord() { fail("an unreadable file did not start closed: \(loaded)", input) }
    } else if loaded != shown {
        fail("status showed \(shown), run loaded \(loaded)", input)
    } else if givenOneTrial && loaded.circuitState != .halfOpen(successes: 0) {
        fail("a state said to get one trial loaded as \(loaded.circuitState)", input)
    }
    let written = readFile("\(directory)/state.json")
    var roundTrip = loaded
    roundTrip.counts.fallbacks ^= 1
    let reread = (try? store.read(name).0) ?? BreakerRecord()
    if reread != roundTrip {
        fail("the state written reads back as \(reread), not \(roundTrip)", input)
    }
    // Twice more through the parser and the writer: the same bytes.
    _ = update(through: rewritingStore) { $0.counts.fallbacks ^= 1 }
    _ = update(through: rewritingStore) { $0.counts.fallbacks ^= 1 }
    let rewritten = readFile("\(directory)/state.json")
    if rewritten != written {
        fail("writing the state read back changed the file:\n\(text(written))\n--- became:\n\(text(rewritten))", input)
    }

    // One call under one of the policies, from whatever was accepted.
    let policy = policies[input.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF } % policies.count]
    let outcome: Outcome = input.last.map { $0 % 3 == 0 ? .success : $0 % 3 == 1 ? .failure(reason: "fuzz") : .ignored(reason: "fuzz") } ?? .success
    var before = Counts()
    let after = update { state in
        before = state.counts
        let now = StillClock().now()
        if case .admitted(let ticket) = state.admit(at: now, policy: policy, trialPermit: { true }) {
            state.record(outcome, for: ticket, at: now, policy: policy)
        }
    }
    if !countedOnce(before, after.counts) {
        fail("one call changed the counts from \(before) to \(after.counts)", input)
    }
    let final = (try? store.read(name).0) ?? BreakerRecord()
    if final != after {
        fail("the state after a call reads back as \(final), not \(after)", input)
    }
    return 0
}

/// Runs `body` in `update` and returns the state it left.
private func update(through store: FileStateStore = store, _ body: (inout BreakerRecord) -> Void) -> BreakerRecord {
    do {
        return try store.update(name) { state, _ in
            body(&state)
            return state
        }
    } catch {
        fatalError("update threw \(error)")
    }
}

/// Whether exactly one of the counts grew by one and the others stayed, or
/// none moved because the one the call adds to was at its maximum (counting
/// saturates rather than crash).
private func countedOnce(_ before: Counts, _ after: Counts) -> Bool {
    let old = [before.successes, before.failures, before.ignored, before.rejected, before.fallbacks]
    let new = [after.successes, after.failures, after.ignored, after.rejected, after.fallbacks]
    let grown = zip(old, new).map { $1 &- $0 }.filter { $0 != 0 }
    return grown == [1] || (grown.isEmpty && old.contains(.max))
}

private func expectNewerFormatUntouched(_ input: [UInt8], directory: String) {
    do {
        _ = try store.update(name) { _, _ in () }
        fail("update accepted a state file that read refused as a newer format", input)
    } catch StateStoreError.unsupportedFormat {
        if readFile("\(directory)/state.json") != input { fail("a newer format's file was changed", input) }
    } catch {
        fail("update threw \(error) on a newer format's file", input)
    }
}

private func expectMovedAside(_ input: [UInt8], directory: String) {
    let aside = entries(directory).filter { $0.hasPrefix("state.json.corrupt-") }
    if aside.count != 1 { fail("an unreadable file was moved aside \(aside.count) times", input) }
    if readFile("\(directory)/\(aside[0])") != input { fail("the file moved aside differs from the input", input) }
}

private func fail(_ message: String, _ input: [UInt8]) -> Never {
    fatalError("\(message)\n--- input (\(input.count) bytes):\n\(text(input))")
}

private func text(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self)
}

private func entries(_ directory: String) -> [String] {
    guard let handle = opendir(directory) else { return [] }
    defer { closedir(handle) }
    var names: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

private func emptyDirectory(_ directory: String) {
    if mkdir(directory, 0o700) != 0 && errno != EEXIST { fatalError("mkdir \(directory): \(errno)") }
    for entry in entries(directory) { unlink("\(directory)/\(entry)") }
}

private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { fatalError("open \(path): \(errno)") }
    defer { close(descriptor) }
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
        guard written > 0 else { fatalError("write \(path): \(errno)") }
        offset += written
    }
}

private func readFile(_ path: String) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return [] }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { return bytes }
        bytes += chunk[..<count]
    }
}
