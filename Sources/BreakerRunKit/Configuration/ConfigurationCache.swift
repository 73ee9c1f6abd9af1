/// The parsed configuration kept between invocations, so that `run NAME` in
/// a configuration of thousands of breakers reads one breaker's nodes instead
/// of parsing every file with libyaml (issue 9: `run` with 10,000 breakers
/// within 2x of `run` with 1).
///
/// What is kept is the `YAMLNode` tree of each file (aliases and merge keys
/// already resolved, every line and column kept), split into the file's
/// top level and one entry per breaker. A hit decodes the top levels and
/// the breakers asked for with the same `ConfigurationDecoder` as a miss,
/// so a breaker reads the same either way; only the YAML parsing and the
/// decoding of the other breakers are skipped.
///
/// The key is what stat(2) says of every file, in order (path, device,
/// inode, size, modification and change times to the nanosecond) and the
/// same of the breaker-run binary (`/proc/self/exe`): an edit, a file
/// replaced or renamed over, a new or removed drop-in, or an upgrade misses.
/// A file's change time (ctime) is set by the kernel on every write and
/// cannot be set back; so that a write within the same clock tick as the
/// read that filled an entry cannot go unseen, an entry is written only when
/// every file last changed at least `settling` seconds before the load began
/// (git's "racy clean" rule: the same cause and cure), and only after every
/// file loaded without a single diagnostic, so that a hit can only be a
/// configuration that `validate` accepts whole.
///
/// Trust: the directory must be a real directory (not a symbolic link)
/// owned by the effective user and writable by nobody else, and the cache
/// file likewise; otherwise the cache is not used (nothing is read from it or
/// written to it) and the configuration is parsed as if there were none.
/// Files are written 0600 to a temporary name, flushed with fsync(2) and
/// renamed into place; a file cut short, damaged (a checksum of the head and
/// of each breaker's bytes) or foreign is a miss, never an error.
struct ConfigurationCache {
    /// Configurations smaller than this, in bytes of YAML in all, are
    /// parsed directly: libyaml reads them faster than the cache's checks.
    static let minimumSize = 64 * 1024

    /// The first bytes of every cache file; the number is the format's
    /// version, raised whenever the layout or `YAMLReader`'s results change.
    private static let magic = Array("breaker-run configuration cache 2\n".utf8)

    /// How long a file must have been left alone before an entry is made of
    /// it, in seconds: far more than a clock tick of the kernel's file times,
    /// or a small step of the wall clock.
    static let settling = 2

    /// The directory, checked or created by `init`.
    let directory: String
    /// What stat(2) says of this breaker-run binary, read once: part of every
    /// key and of every cache file's name.
    private let binary: stat?
    /// The wall clock (CLOCK_REALTIME, as file times use), passed in for tests.
    let now: @Sendable () -> timespec

    /// The cache in `directory`, creating it and any missing parent (mode
    /// 0700) when it is missing; nil when it cannot be used safely.
    /// - Parameters:
    ///   - directory: an absolute path.
    ///   - now: the wall clock that file times are compared with.
    init?(directory: String, now: @escaping @Sendable () -> timespec = ConfigurationCache.realTime) {
        guard directory.hasPrefix("/") else { return nil }
        var info = stat()
        if lstat(directory, &info) != 0 {
            guard errno == ENOENT, Self.makeDirectories(directory), lstat(directory, &info) == 0 else { return nil }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR, Self.isTrusted(info) else { return nil }
        self.directory = directory
        self.now = now
        var binary = stat()
        self.binary = stat("/proc/self/exe", &binary) == 0 ? binary : nil
    }

    /// Creates `path` and any missing parent, each mode 0700 (a new user's
    /// `~/.cache` may not exist yet); whether the last one exists now.
    private static func makeDirectories(_ path: String) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return false }
        }
        return true
    }

    /// CLOCK_REALTIME now.
    @Sendable static func realTime() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    /// Whether a file last changed at least `settling` seconds before
    /// `start` (its change time, and its modification time in case that is
    /// in the future), so that an entry may be made of it.
    static func isSettled(_ info: stat, before start: timespec) -> Bool {
        func nanoseconds(_ time: timespec) -> Int { time.tv_sec &* 1_000_000_000 &+ time.tv_nsec }
        let limit = nanoseconds(start) - settling * 1_000_000_000
        return nanoseconds(info.st_ctim) < limit && nanoseconds(info.st_mtim) < limit
    }

    /// Where the cache lives: `$BREAKER_RUN_CACHE_DIR`, else
    /// `/var/cache/breaker-run` for root (the Filesystem Hierarchy Standard's
    /// place for data an application can regenerate), else
    /// `$XDG_CACHE_HOME/breaker-run` (default `~/.cache/breaker-run`, per the
    /// XDG Base Directory specification).
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - isRoot: whether breaker-run runs as root.
    /// - Returns: the directory, or nil when there is none to use.
    static func directory(environment: [String: String], isRoot: Bool) -> String? {
        if let path = environment["BREAKER_RUN_CACHE_DIR"], !path.isEmpty { return path }
        if isRoot { return "/var/cache/breaker-run" }
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/breaker-run" }
        guard let home = environment["HOME"], home.hasPrefix("/") else { return nil }
        return home + "/.cache/breaker-run"
    }

    /// The key of these files as they are now.
    /// - Parameter files: each file's path and fstat(2), in load order.
    /// - Returns: the key's bytes.
    func key(_ files: [(path: String, info: stat)]) -> [UInt8] {
        var writer = BinaryWriter()
        if let binary { Self.identity(binary, into: &writer) }
        writer.integer(files.count)
        for file in files {
            writer.text(file.path)
            Self.identity(file.info, into: &writer)
        }
        return writer.bytes
    }

    private static func identity(_ info: stat, into writer: inout BinaryWriter) {
        for number in [Int(info.st_dev), Int(info.st_ino), Int(info.st_size),
                       info.st_mtim.tv_sec, info.st_mtim.tv_nsec, info.st_ctim.tv_sec, info.st_ctim.tv_nsec] {
            writer.integer(number)
        }
    }

    /// The top level and the breakers of each file, as a hit rebuilds them.
    struct Entry {
        /// Each file's root mapping, its `breakers` holding only the
        /// breakers asked for that this file defines.
        var roots: [YAMLNode]
    }

    /// Reads the entry for `key`, with the breakers named in `names` (all
    /// when nil).
    /// - Parameters:
    ///   - files: the files' paths, in load order (the locations' files).
    ///   - key: `key(_:)` of the files as read now.
    ///   - names: the breakers wanted; nil for every breaker.
    /// - Returns: the entry, or nil on a miss: no file, another key, a name
    ///   not defined (so that the full load reports it as it always does),
    ///   or a damaged file.
    func read(files: [String], key: [UInt8], names: Set<String>?) -> Entry? {
        // The head (key, top levels, index) is read whole; of the breakers'
        // pairs, only those asked for, each with one pread(2).
        guard let file = CacheFile(path: path(for: files)),
              let prefix = file.read(at: 0, count: Self.magic.count + 16), prefix.starts(with: Self.magic) else { return nil }
        let headLength = Int(truncatingIfNeeded: Self.littleEndian(prefix.dropFirst(Self.magic.count).prefix(8)))
        let headChecksum = Self.littleEndian(prefix.suffix(8))
        guard headLength >= 0, headLength <= file.size, let head = file.read(at: prefix.count, count: headLength),
              Self.checksum(head[...]) == headChecksum else { return nil }
        var reader = BinaryReader(head)
        guard let keyLength = reader.integer(), reader.raw(keyLength)?.elementsEqual(key) == true,
              reader.integer() == files.count else { return nil }
        var roots: [YAMLNode] = []
        for file in files {
            guard let root = reader.node(file: file) else { return nil }
            roots.append(root)
        }
        // The index: every breaker's name, file, offset and length in the
        // pairs that follow the head. Names are compared byte for byte.
        guard let count = reader.integer() else { return nil }
        let wanted = names.map { Array($0).map { Array($0.utf8) } }
        var found: [(file: Int, offset: Int, length: Int, checksum: Int)] = []
        for _ in 0..<count {
            var isWanted = wanted == nil
            if let wanted {
                let start = reader.offset
                for name in wanted {
                    guard reader.seek(to: start), let equal = reader.textEquals(name) else { return nil }
                    if equal { isWanted = true; break }
                }
            } else {
                guard reader.text() != nil else { return nil }
            }
            guard let file = reader.integer(), let offset = reader.integer(), let length = reader.integer(),
                  let checksum = reader.integer() else { return nil }
            if isWanted { found.append((file, offset, length, checksum)) }
        }
        if let wanted, found.count != wanted.count { return nil }
        // A file cut short is a miss, even where the pairs asked for remain.
        guard let pairsLength = reader.integer(), reader.isAtEnd,
              file.size == prefix.count + headLength + pairsLength else { return nil }
        let pairsStart = prefix.count + headLength
        var breakers = [[YAMLPair]](repeating: [], count: files.count)
        for (index, offset, length, checksum) in found {
            guard index < files.count, offset + length <= pairsLength,
                  let bytes = file.read(at: pairsStart + offset, count: length),
                  Self.checksum(bytes[...]) & Self.indexChecksumMask == UInt64(checksum) else { return nil }
            var pairReader = BinaryReader(bytes)
            guard let pair = pairReader.pair(file: files[index]), pairReader.isAtEnd else { return nil }
            breakers[index].append(pair)
        }
        for index in roots.indices {
            guard let root = Self.replacingBreakers(of: roots[index], with: breakers[index]) else { return nil }
            roots[index] = root
        }
        return Entry(roots: roots)
    }

    /// Writes the entry for `key`: the files' roots as loaded, without a
    /// diagnostic. Any failure leaves the cache as it was (a cache is never
    /// worth an error); a concurrent writer of the same entry is harmless,
    /// the last rename wins and both wrote the same bytes.
    ///
    /// Layout: the magic line; the head's length and checksum (8 bytes
    /// each, little-endian); the head (the key; each file's root with an
    /// empty `breakers`; the index of the breakers: name, file, offset,
    /// length and checksum of each pair; the pairs' total length); the pairs.
    /// - Parameters:
    ///   - files: the files' paths, in load order.
    ///   - key: `key(_:)` of the files as read.
    ///   - roots: each file's root node, as `YAMLReader` returned it.
    func write(files: [String], key: [UInt8], roots: [YAMLNode]) {
        var head = BinaryWriter()
        head.integer(key.count)
        head.raw(key)
        head.integer(files.count)
        var pairs = BinaryWriter()
        var index = BinaryWriter()
        var count = 0
        for (file, root) in roots.enumerated() {
            guard case let .mapping(top) = root.content else { return }
            for pair in top where pair.key == "breakers" {
                guard case let .mapping(breakers) = pair.value.content else { return }
                for breaker in breakers {
                    let offset = pairs.bytes.count
                    pairs.pair(breaker)
                    index.text(breaker.key)
                    index.integer(file)
                    index.integer(offset)
                    index.integer(pairs.bytes.count - offset)
                    index.integer(Int(Self.checksum(pairs.bytes[offset...]) & Self.indexChecksumMask))
                    count += 1
                }
            }
            guard let skeleton = Self.replacingBreakers(of: root, with: []) else { return }
            head.node(skeleton)
        }
        head.integer(count)
        head.raw(index.bytes)
        head.integer(pairs.bytes.count)
        var whole = BinaryWriter()
        whole.raw(Self.magic)
        let length = UInt64(head.bytes.count)
        whole.raw(Self.littleEndianBytes(length))
        whole.raw(Self.littleEndianBytes(Self.checksum(head.bytes[...])))
        whole.raw(head.bytes)
        whole.raw(pairs.bytes)
        writeFile(whole.bytes, to: path(for: files))
    }

    /// FNV-1a, 64 bits, of `bytes`: the check that a cache file's head and
    /// each breaker's bytes are what was written, against damage (a flipped
    /// bit, a block of another file), not against someone who can write the
    /// file, who could as well write the configuration.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        fnv1a64(bytes)
    }

    /// The bits of a checksum kept in the index, where integers are LEB128
    /// numbers that fit an `Int`.
    private static let indexChecksumMask: UInt64 = (1 << 62) - 1

    private static func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func littleEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// `root` with the value of its `breakers` key replaced by a mapping of
    /// `pairs` (its location kept); nil when `root` is not a mapping.
    private static func replacingBreakers(of root: YAMLNode, with pairs: [YAMLPair]) -> YAMLNode? {
        guard case var .mapping(top) = root.content else { return nil }
        for index in top.indices where top[index].key == "breakers" {
            top[index].value.content = .mapping(pairs)
        }
        return YAMLNode(content: .mapping(top), location: root.location)
    }

    /// The cache file of this list of files and this binary: one per list
    /// (and working directory, which relative paths depend on), so that a
    /// few configurations in use at once do not evict each other; and one
    /// per binary, so that the core and `breaker-run-full`, which it hands
    /// some breakers over to, each keep their own entry instead of
    /// replacing each other's on every hand-over.
    private func path(for files: [String]) -> String {
        var name = files.joined(separator: "\n")
        if files.contains(where: { !$0.hasPrefix("/") }) {
            name = ConfigurationDecoder.currentDirectory() + "\n" + name
        }
        if let binary {
            name += "\n\(binary.st_dev):\(binary.st_ino)"
        }
        // The name only spreads lists over files; the key inside decides a hit.
        let hex = String(Self.checksum(Array(name.utf8)[...]), radix: 16)
        return directory + "/config-" + hex + ".cache"
    }

    private static func isTrusted(_ info: stat) -> Bool {
        info.st_uid == geteuid() && info.st_mode & (S_IWGRP | S_IWOTH) == 0
    }

    private func writeFile(_ bytes: [UInt8], to path: String) {
        // A cache that cannot be written is only a slower next run.
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        try? replaceFileAtomically(path, with: bytes, temporary: temporary, mode: 0o600)
    }
}

/// A cache file opened for reading: a regular file (never through a
/// symbolic link) owned by the effective user and writable by nobody else.
private final class CacheFile {
    let descriptor: Int32
    /// Its size in bytes, from fstat(2).
    let size: Int

    init?(path: String) {
        guard let descriptor = try? retryingInterrupts("open", path: path, { open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }) else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
              info.st_uid == geteuid(), info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// `count` bytes at `offset`, or nil when the file is shorter.
    func read(at offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, offset <= size - count else { return nil }
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var filled = 0
            while filled < count {
                let got = try? retryingInterrupts("pread") {
                    pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
                }
                guard let got, got > 0 else { failed = true; break }
                filled += got
            }
            initialized = filled
        }
        return failed ? nil : bytes
    }
}
