import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Synchronization
import Testing

/// The one codec every backend reads and writes its stored state with: what
/// a backend gets back for each kind of document, and what it is told.
@Suite("The state-document codec")
struct StateDocumentCodecTests {
    /// Collects the codec's warnings.
    final class Warnings: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var sink: @Sendable (String) -> Void { { [self] line in lines.withLock { $0.append(line) } } }
    }

    let warnings = Warnings()
    var codec: StateDocumentCodec { StateDocumentCodec(clockID: "boot-a", warn: warnings.sink) }
    let policy = Policy(failMax: 1, resetTimeout: .seconds(60))

    func decode(_ json: String, at now: Instant = t(10)) -> Result<StateDocumentCodec.Decoded, StateDocumentCodec.Failure> {
        codec.decode(Array(json.utf8), at: now, place: "state of X")
    }

    @Test func aStateWrittenIsReadBackUnchangedWithNothingToRewrite() throws {
        var state = BreakerRecord()
        state.call(failure, at: t(1), policy: policy)
        let bytes = try codec.encode(state, countsEpoch: 7)
        let decoded = try decode(String(decoding: bytes, as: UTF8.self)).get()
        #expect(decoded.state == state)
        #expect(decoded.countsEpoch == 7)
        #expect(!decoded.needsRewrite)
        #expect(warnings.all.isEmpty)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["boot_id"] as? String == "boot-a", "stamped with the backend's clock")
        #expect(object["format"] as? Int == StoredDocument.currentFormat)
        #expect(bytes.last == UInt8(ascii: "\n"))
    }

    @Test func eachRepairIsOneWarningNamingThePlaceAndTheFieldAndTheStateIsRewritten() throws {
        let decoded = try decode(#"{"format": 1, "boot_id": "boot-a", "state": "open", "counts": {"failures": "x"}}"#).get()
        #expect(decoded.state.circuitState == .halfOpen(successes: 0))
        #expect(decoded.needsRewrite)
        #expect(warnings.all == [
            "state of X lacked 'next_trial_at'; the breaker gets one trial",
            "state of X had an unreadable 'counts.failures'; counted from 0, the other counts kept",
        ])
    }

    @Test func aStateOfAnotherClockIsRebasedByTheWallClockAndRewritten() throws {
        // Opened 10 s ago for a minute, by the wall clock, on a clock whose
        // readings mean nothing here.
        let now = Instant(monotonicNanoseconds: 5_000_000_000, wallNanoseconds: wallOrigin + 100_000_000_000)
        let json = """
            {"format": 1, "boot_id": "boot-b", "state": "open",
             "opened_at": {"boottime_ns": 7, "unix_ns": \(wallOrigin + 90_000_000_000)},
             "next_trial_at": {"boottime_ns": 60000000007, "unix_ns": \(wallOrigin + 150_000_000_000)}}
            """
        let decoded = try decode(json, at: now).get()
        #expect(decoded.state.retryAfter(at: now) == .seconds(50))
        #expect(decoded.needsRewrite)
        #expect(warnings.all.isEmpty)
    }

    @Test func aStateWithoutClockIdentityIsTakenAsOfAnotherClock() throws {
        #expect(try decode(#"{"format": 1, "state": "closed"}"#).get().needsRewrite)
        #expect(try !decode(#"{"format": 1, "boot_id": "boot-a", "state": "closed"}"#).get().needsRewrite)
        #expect(try decode(#"{"boot_id": "boot-a", "state": "closed"}"#).get().needsRewrite, "an older document is rewritten")
    }

    @Test(arguments: [
        ("", "empty file"),
        ("{\"state\": ", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (String(repeating: " ", count: StateDocumentCodec.maximumSize + 1), "larger than 1048576 bytes"),
    ])
    func aDocumentThatIsNoObjectIsUnreadableWithItsReason(json: String, reason: String) {
        #expect(decode(json) == .failure(.unreadable(reason: reason)))
        #expect(warnings.all.isEmpty, "the backend decides what to say")
    }

    @Test func aNewerFormatIsRefusedNeverGuessed() {
        #expect(decode(#"{"format": 2, "boot_id": "boot-a", "state": "open"}"#) == .failure(.newerFormat(found: 2)))
        #expect(warnings.all.isEmpty)
    }
}
