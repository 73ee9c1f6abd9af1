/// `NAME/keys.index`: the keys of a keyed breaker, one fixed-size record
/// each, so that every operation on it reads and writes a few records with
/// pread(2) and pwrite(2) instead of listing `NAME/keys/`.
///
///     header (64 bytes): "BRKEYS2\n", then little-endian UInt32s:
///         high water (records ever used), live (keys tracked), sweep
///         cursor (the next record the expiry sweep looks at), free list
///         head (a forgotten record to reuse; 0xFFFFFFFF for none);
///         56-63 the checksum of the rest
///     record (320 bytes), at 64 + 320 * N:
///         0 live (1) or free (0); 1 state (`KeyEntry.State`); 2-3 key
///         length; 4 reason length; 8-15 opened at; 16-23 next trial
///         (wall clock, ns since the epoch; 0 for none); 24-27 the next free
///         record of a free one; 24-55 the reason; 56-63 the checksum of
///         the rest (FNV-1a, as the state files'); 64-319 the key
///
/// A header or a record whose checksum fails (a torn write, a damaged
/// block) makes the whole index damaged: it is rebuilt from the keys'
/// directories (`FileStateStore.rebuild`), and read from them meanwhile.
///
/// It is changed only under an exclusive `flock(2)` on `NAME/keys.lock`
/// and read under a shared one. A record is written before the header that
/// points at it, so that a crash between the two leaves at worst a free
/// record unused or a count off by one, never a record of one key taken
/// for another's: each key's directory keeps its record's number
/// (`NAME/keys/COMPONENT/record`), which is checked against the record's
/// key before use.
struct KeyIndexFile {
    /// The file's name in the breaker's directory.
    static let fileName = "keys.index"
    /// The lock's name in the breaker's directory.
    static let lockName = "keys.lock"
    static let magic = Array("BRKEYS2\n".utf8)
    static let headerSize = 64
    static let recordSize = 320
    static let none = UInt32.max

    /// The index's header.
    struct Header: Equatable {
        var highWater: UInt32 = 0
        var live: UInt32 = 0
        var cursor: UInt32 = 0
        var freeHead: UInt32 = KeyIndexFile.none
    }

    /// One record: a key and its state as last recorded, or a free record.
    struct Record: Equatable {
        var isLive = false
        var entry = KeyEntry(key: "")
        var nextFree = KeyIndexFile.none
    }

    let descriptor: Int32
    let path: String

    /// A record or header whose checksum failed.
    struct Damaged: Error {}

    /// The header; a new (empty) file's is all zeros but for the free list.
    /// - Returns: the header, or nil when the file is not an index (its
    ///   magic or checksum is wrong): it is then rebuilt by the caller.
    func readHeader() throws -> Header? {
        let bytes = try read(at: 0, count: Self.headerSize)
        if bytes.isEmpty { return Header() }
        guard bytes.count == Self.headerSize, Array(bytes[0..<8]) == Self.magic, Self.checksumHolds(bytes[...]) else { return nil }
        return Header(highWater: Self.uint32(bytes, 8), live: Self.uint32(bytes, 12), cursor: Self.uint32(bytes, 16),
                      freeHead: Self.uint32(bytes, 20))
    }

    /// Writes the header.
    func write(_ header: Header) throws {
        var bytes = Self.magic + [UInt8](repeating: 0, count: Self.headerSize - 8)
        Self.put(header.highWater, into: &bytes, at: 8)
        Self.put(header.live, into: &bytes, at: 12)
        Self.put(header.cursor, into: &bytes, at: 16)
        Self.put(header.freeHead, into: &bytes, at: 20)
        Self.seal(&bytes)
        try write(bytes, at: 0)
    }

    /// Records `first ..< first + count` (fewer past the end of the file).
    /// - Throws: `Damaged` when a record's checksum fails;
    ///   `StateStoreError.cannotRead`.
    func records(from first: Int, count: Int) throws -> [Record] {
        guard count > 0 else { return [] }
        let bytes = try read(at: Self.headerSize + first * Self.recordSize, count: count * Self.recordSize)
        return try stride(from: 0, to: bytes.count - Self.recordSize + 1, by: Self.recordSize).map {
            let record = bytes[$0 ..< $0 + Self.recordSize]
            guard Self.checksumHolds(record) else { throw Damaged() }
            return Self.decode(record)
        }
    }

    /// Whether the checksum at 56-63 of a header or record is that of the
    /// rest of it.
    private static func checksumHolds(_ bytes: ArraySlice<UInt8>) -> Bool {
        let base = bytes.startIndex
        return UInt64(bitPattern: int64(bytes, base + 56)) == checksum(bytes)
    }

    private static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        let base = bytes.startIndex
        return fnv1a64(bytes[base ..< base + 56]) ^ fnv1a64(bytes[(base + 64)...])
    }

    /// Writes the checksum of a header or record at 56-63.
    private static func seal(_ bytes: inout [UInt8]) {
        putInt64(Int64(bitPattern: checksum(bytes[...])), into: &bytes, at: 56)
    }

    /// Record `number`.
    func record(_ number: Int) throws -> Record? {
        try records(from: number, count: 1).first
    }

    /// Writes record `number`.
    func write(_ record: Record, at number: Int) throws {
        try write(Self.encode(record), at: Self.headerSize + number * Self.recordSize)
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> Record {
        let base = bytes.startIndex
        var record = Record()
        record.isLive = bytes[base] == 1
        guard record.isLive else {
            record.nextFree = uint32(Array(bytes[base + 24 ..< base + 28]), 0)
            return record
        }
        let keyLength = min(Int(bytes[base + 2]) | Int(bytes[base + 3]) << 8, KeyedName.maximumKeyLength)
        let reasonLength = min(Int(bytes[base + 4]), KeyEntry.reasonLimit)
        let opened = int64(bytes, base + 8)
        let next = int64(bytes, base + 16)
        record.entry = KeyEntry(
            key: String(decoding: bytes[base + 64 ..< base + 64 + keyLength], as: UTF8.self),
            state: KeyEntry.State(rawValue: bytes[base + 1]) ?? .closed,
            openedAtWallNanoseconds: opened == 0 ? nil : opened,
            nextTrialAtWallNanoseconds: next == 0 ? nil : next,
            reason: reasonLength == 0 ? nil : String(decoding: bytes[base + 24 ..< base + 24 + reasonLength], as: UTF8.self))
        return record
    }

    static func encode(_ record: Record) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: recordSize)
        guard record.isLive else {
            put(record.nextFree, into: &bytes, at: 24)
            seal(&bytes)
            return bytes
        }
        let entry = record.entry
        let key = Array(entry.key.utf8.prefix(KeyedName.maximumKeyLength))
        let reason = Array((entry.reason ?? "").utf8.prefix(KeyEntry.reasonLimit))
        bytes[0] = 1
        bytes[1] = entry.state.rawValue
        bytes[2] = UInt8(key.count & 0xFF)
        bytes[3] = UInt8(key.count >> 8)
        bytes[4] = UInt8(reason.count)
        putInt64(entry.openedAtWallNanoseconds ?? 0, into: &bytes, at: 8)
        putInt64(entry.nextTrialAtWallNanoseconds ?? 0, into: &bytes, at: 16)
        bytes.replaceSubrange(24 ..< 24 + reason.count, with: reason)
        bytes.replaceSubrange(64 ..< 64 + key.count, with: key)
        seal(&bytes)
        return bytes
    }

    private func read(at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got: Int
            do {
                got = try retryingInterrupts("pread", path: path) {
                    bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
                }
            } catch {
                throw StateStoreError.cannotRead(path: path, error)
            }
            if got == 0 { break }
            done += got
        }
        return Array(bytes[..<done])
    }

    private func write(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            do {
                done += try retryingInterrupts("pwrite", path: path) {
                    bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
                }
            } catch {
                throw StateStoreError.cannotWrite(path: path, error)
            }
        }
    }

    private static func uint32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }

    private static func int64(_ bytes: ArraySlice<UInt8>, _ at: Int) -> Int64 {
        Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) })
    }

    private static func put(_ value: UInt32, into bytes: inout [UInt8], at: Int) {
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    private static func putInt64(_ value: Int64, into bytes: inout [UInt8], at: Int) {
        let bits = UInt64(bitPattern: value)
        for index in 0..<8 { bytes[at + index] = UInt8(truncatingIfNeeded: bits >> (8 * index)) }
    }
}
