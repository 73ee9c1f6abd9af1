/// The stdout of a breaker's last successful call, for the `cached` fallback.
public struct CachedOutput: Sendable, Equatable {
    /// The output, byte for byte.
    public var bytes: [UInt8]
    /// When it was written: wall time, nanoseconds since the Unix epoch.
    public var writtenAtWallNanoseconds: Int64

    /// Creates a cached output.
    /// - Parameters:
    ///   - bytes: the output.
    ///   - writtenAtWallNanoseconds: when it was written.
    public init(bytes: [UInt8], writtenAtWallNanoseconds: Int64) {
        self.bytes = bytes
        self.writtenAtWallNanoseconds = writtenAtWallNanoseconds
    }
}

extension FileStateStore {
    /// The largest cache file read back, in bytes (1 GiB, the largest `max_size`).
    static let maximumCacheSize = 1 << 30

    /// The file in the breaker's directory that keeps the output of the
    /// call `key`: `cache` for the breaker's configured call (empty key),
    /// `cache.KEY` for another.
    /// - Parameter key: the call's key (`BreakerRunner.cacheKey`).
    /// - Returns: the file's name.
    static func cacheFile(key: String) -> String {
        key.isEmpty ? "cache" : "cache.\(key)"
    }

    /// Replaces `NAME/cache` (or `NAME/cache.KEY`) with `bytes`: atomically
    /// (a temporary file named with this process's id, fsync'd, renamed over
    /// it), mode 0600, never through a symbolic link. Takes no lock: the last
    /// writer wins, and a reader sees one whole output.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: which call's output (see `cacheFile(key:)`).
    ///   - bytes: the output.
    /// - Throws: `StateStoreError`.
    public func writeCache(_ name: String, key: String, bytes: [UInt8]) throws {
        let files = try BreakerDirectory.open(store: self, name: name, creating: true)!
        defer { files.close() }
        let file = Self.cacheFile(key: key)
        try files.replaceFile(file, with: bytes, temporary: "\(file).tmp.\(getpid())")
    }

    /// Reads `NAME/cache` (or `NAME/cache.KEY`).
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - key: which call's output (see `cacheFile(key:)`).
    /// - Returns: the output and when it was written, or nil when there is none.
    /// - Throws: `StateStoreError`.
    public func readCache(_ name: String, key: String) throws -> CachedOutput? {
        guard let files = try BreakerDirectory.open(store: self, name: name, creating: false) else { return nil }
        defer { files.close() }
        return try files.readFile(Self.cacheFile(key: key), limit: Self.maximumCacheSize).map {
            CachedOutput(bytes: $0.bytes, writtenAtWallNanoseconds: $0.modifiedWallNanoseconds)
        }
    }
}
