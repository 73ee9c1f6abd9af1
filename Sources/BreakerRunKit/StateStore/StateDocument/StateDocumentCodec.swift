import CircuitBreaker
import FoundationEssentials

/// The one codec of a breaker's stored state, shared by every backend (the
/// file store's `state.json`, the PostgreSQL store's `state` column), so that
/// a stored state means the same wherever it is kept:
///
/// - the bytes are checked (not empty, at most `maximumSize`, a JSON object)
///   and decoded field by field (`StoredDocument`), a damaged field being
///   repaired, never fatal;
/// - a document of a newer `format` is refused, never guessed at;
/// - each repaired field is reported in the same words by every backend:
///   "PLACE lacked 'next_trial_at'; the breaker gets one trial", where PLACE
///   names the document ("state file PATH", "state of breaker NAME at URL");
/// - a state stored on another clock (`boot_id` other than the backend's
///   `clockID`, or none) is re-expressed on the backend's clock with
///   `BreakerRecord.rebase(toBootOf:)`; instants ahead of now on the same
///   clock are left to admission, which clamps them with the policy.
///
/// The backend decides what to do with a document it cannot read (the file
/// store moves it aside; the PostgreSQL store refuses it) and when to write
/// a repaired or rebased one back (`Decoded.needsRewrite`).
package struct StateDocumentCodec: Sendable {
    /// The largest document read, in bytes (1 MiB). A state is a few
    /// kilobytes; a larger document is damaged and treated as unreadable.
    package static let maximumSize = 1 << 20

    /// The identity of the clock that the backend's instants are read on,
    /// stored as `boot_id`: the host's boot id for the file store
    /// (CLOCK_BOOTTIME restarts with every boot), `"postgresql"` for the
    /// PostgreSQL store (the server's `clock_timestamp()`, which never
    /// restarts).
    package let clockID: String
    /// Receives one warning line per repaired field, without the
    /// `breaker-run: ` prefix.
    package let warn: @Sendable (String) -> Void

    /// Creates a codec for one backend.
    /// - Parameters:
    ///   - clockID: the identity of the backend's clock (see `clockID`).
    ///   - warn: receives the repair warnings.
    package init(clockID: String, warn: @escaping @Sendable (String) -> Void) {
        self.clockID = clockID
        self.warn = warn
    }

    /// A stored state, as this backend's clock sees it.
    package struct Decoded: Equatable {
        /// The state, rebased onto this backend's clock when it was stored
        /// on another.
        package var state: BreakerRecord
        /// The document's `counts_epoch`, or `PendingCounts.initialEpoch`.
        package var countsEpoch: UInt64
        /// Whether the document must be written back even if the state is
        /// unchanged: it was repaired, or is of another clock or format.
        package var needsRewrite: Bool

        /// Creates a decoded state.
        /// - Parameters:
        ///   - state: the state, on this backend's clock.
        ///   - countsEpoch: the epoch of its pending counts.
        ///   - needsRewrite: whether it must be written back.
        package init(state: BreakerRecord, countsEpoch: UInt64 = PendingCounts.initialEpoch, needsRewrite: Bool = false) {
            self.state = state
            self.countsEpoch = countsEpoch
            self.needsRewrite = needsRewrite
        }
    }

    /// Why a stored document could not be used.
    package enum Failure: Error, Equatable {
        /// Not a document at all: empty, too large, not JSON, or not a JSON
        /// object; `reason` says which, in a few words ("not valid JSON").
        case unreadable(reason: String)
        /// Written in a newer format than this breaker-run reads.
        case newerFormat(found: Int)
    }

    /// Decodes a stored document: checks it, reads it field by field,
    /// reports each repair to `warn` as "`place` lacked 'FIELD'; REMEDY",
    /// and rebases a state of another clock onto this backend's.
    /// - Parameters:
    ///   - bytes: the stored document, UTF-8 JSON.
    ///   - now: the current time on this backend's clock.
    ///   - place: the document's name in warnings ("state file PATH").
    /// - Returns: the state as of this backend's clock, or why the
    ///   document cannot be used (nothing is warned about then).
    package func decode(_ bytes: [UInt8], at now: Instant, place: String) -> Result<Decoded, Failure> {
        let document: StoredDocument
        switch Self.document(from: bytes) {
        case .success(let decoded): document = decoded
        case .failure(let failure): return .failure(failure)
        }
        if let format = document.format, format > StoredDocument.currentFormat {
            return .failure(.newerFormat(found: format))
        }
        // A field repaired is reported each time it is read; the next update
        // writes the repaired state back, so a run reports it once.
        for repair in document.repairs {
            warn("\(place) \(repair)")
        }
        var state = document.state
        let isOtherClock = document.bootID != clockID
        if isOtherClock {
            state.rebase(toBootOf: now)
        }
        let needsRewrite = isOtherClock || document.format != StoredDocument.currentFormat || !document.repairs.isEmpty
        return .success(Decoded(state: state, countsEpoch: document.countsEpoch ?? PendingCounts.initialEpoch, needsRewrite: needsRewrite))
    }

    /// The document in `bytes`, decoded field by field, or why there is none.
    static func document(from bytes: [UInt8]) -> Result<StoredDocument, Failure> {
        if bytes.isEmpty { return .failure(.unreadable(reason: "empty file")) }
        if bytes.count > maximumSize {
            return .failure(.unreadable(reason: "larger than \(maximumSize) bytes"))
        }
        do {
            return .success(try JSONDecoder().decode(StoredDocument.self, from: Data(bytes)))
        } catch DecodingError.dataCorrupted {
            return .failure(.unreadable(reason: "not valid JSON"))
        } catch {
            return .failure(.unreadable(reason: "not a JSON object"))
        }
    }

    /// Encodes a state as a document of the current format, stamped with
    /// this backend's `clockID`: pretty-printed JSON with sorted keys and a
    /// final newline, readable with `jq` and in a diff.
    /// - Parameters:
    ///   - state: the state, on this backend's clock.
    ///   - countsEpoch: the epoch of the pending counts that belong to it;
    ///     `PendingCounts.initialEpoch` is left out.
    /// - Returns: the document's bytes.
    /// - Throws: `EncodingError` when the state cannot be encoded.
    package func encode(_ state: BreakerRecord, countsEpoch: UInt64 = PendingCounts.initialEpoch) throws -> [UInt8] {
        let epoch = countsEpoch == PendingCounts.initialEpoch ? nil : countsEpoch
        let document = StoredDocument(bootID: clockID, countsEpoch: epoch, state: state)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var bytes = Array(try encoder.encode(document))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}
