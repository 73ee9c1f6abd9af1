import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
/// The key is the exact content of every file (its path, length and
/// SHA-256, in order) and the identity of the breaker-run binary (device,
/// inode, size and modification time of `/proc/self/exe`): any edit, a new
/// or removed drop-in, or an upgrade misses. An entry is written only after
/// every file loaded without a single diagnostic, so a hit can only be a
/// configuration that `validate` accepts whole.
///
/// Trust: the directory must be a real directory (not a symbolic link)
/// owned by the effective user and writable by nobody else, and the cache
/// file likewise; otherwise the cache is not used (nothing is read from it or
/// written to it) and the configuration is parsed as if there were none.
/// Files are written 0600 to a temporary name, flushed with fsync(2) and
/// renamed into place; a file cut short, damaged or foreign is a miss, never
/// an error.
struct ConfigurationCache {
    /// Configurations smaller than this, in bytes of YAML in all, are
    /// parsed directly: libyaml reads them faster than the cache's checks.
    static let minimumSize = 64 * 1024

    /// The first bytes of every cache file; the number is the format's
    /// version, raised whenever the layout or `YAMLReader`'s results change.
    private static let magic = Array("breaker-run configuration cache 1\n".utf8)

    /// The directory, checked or created by `init`.
    let directory: String

    /// The cache in `directory`, creating it (mode 0700) when it is missing
    /// and its parent exists; nil when it cannot be used safely.
    /// - Parameter directory: an absolute path.
    init?(directory: String) {
        guard directory.hasPrefix("/") else { return nil }
        var info = stat()
        if lstat(directory, &info) != 0 {
            guard errno == ENOENT, mkdir(directory, 0o700) == 0 || errno == EEXIST,
                  lstat(directory, &info) == 0 else { return nil }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR, Self.isTrusted(info) else { return nil }
        self.directory = directory
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

    /// The key of these files' contents, as read for this invocation.
    /// - Parameter files: each file's path and bytes, in load order.
    /// - Returns: the key's bytes.
    static func key(_ files: [(path: String, bytes: [UInt8])]) -> [UInt8] {
        var writer = BinaryWriter()
        var info = stat()
        if stat("/proc/self/exe", &info) == 0 {
            for number in [Int(info.st_dev), Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec] {
                writer.integer(number)
            }
        }
        writer.integer(files.count)
        for file in files {
            writer.text(file.path)
            writer.integer(file.bytes.count)
            writer.raw(Array(SHA256.hash(data: file.bytes)))
        }
        return writer.bytes
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
        guard let bytes = readFile(at: path(for: files)) else { return nil }
        var reader = BinaryReader(bytes)
        guard reader.raw(Self.magic.count)?.elementsEqual(Self.magic) == true,
              let keyLength = reader.integer(), reader.raw(keyLength)?.elementsEqual(key) == true,
              reader.integer() == files.count else { return nil }
        var roots: [YAMLNode] = []
        for file in files {
            guard let root = reader.node(file: file) else { return nil }
            roots.append(root)
        }
        // The index: every breaker's name, file and offset in the pairs that
        // follow it. One name is compared byte for byte, without a String.
        guard let count = reader.integer() else { return nil }
        let wanted = names.map { Array($0).map { Array($0.utf8) } }
        var found: [(file: Int, offset: Int)] = []
        for _ in 0..<count {
            if let wanted {
                let start = reader.offset
                var isWanted = false
                for name in wanted {
                    guard reader.seek(to: start), let equal = reader.textEquals(name) else { return nil }
                    if equal { isWanted = true; break }
                }
                guard let file = reader.integer(), let offset = reader.integer() else { return nil }
                if isWanted { found.append((file, offset)) }
            } else {
                guard reader.text() != nil, let file = reader.integer(), let offset = reader.integer() else { return nil }
                found.append((file, offset))
            }
        }
        if let wanted, found.count != wanted.count { return nil }
        guard let pairsLength = reader.integer(), reader.offset + pairsLength == bytes.count else { return nil }
        let pairsStart = reader.offset
        var breakers = [[YAMLPair]](repeating: [], count: files.count)
        for (file, offset) in found {
            guard file < files.count, reader.seek(to: pairsStart + offset),
                  let pair = reader.pair(file: files[file]) else { return nil }
            breakers[file].append(pair)
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
    /// - Parameters:
    ///   - files: the files' paths, in load order.
    ///   - key: `key(_:)` of the files as read.
    ///   - roots: each file's root node, as `YAMLReader` returned it.
    func write(files: [String], key: [UInt8], roots: [YAMLNode]) {
        var writer = BinaryWriter()
        writer.raw(Self.magic)
        writer.integer(key.count)
        writer.raw(key)
        writer.integer(files.count)
        var pairs = BinaryWriter()
        var index = BinaryWriter()
        var count = 0
        for (file, root) in roots.enumerated() {
            guard case let .mapping(top) = root.content else { return }
            for pair in top where pair.key == "breakers" {
                guard case let .mapping(breakers) = pair.value.content else { return }
                for breaker in breakers {
                    index.text(breaker.key)
                    index.integer(file)
                    index.integer(pairs.bytes.count)
                    pairs.pair(breaker)
                    count += 1
                }
            }
            guard let skeleton = Self.replacingBreakers(of: root, with: []) else { return }
            writer.node(skeleton)
        }
        writer.integer(count)
        writer.raw(index.bytes)
        // The pairs' length, so that a file cut short is a miss even where
        // the breakers asked for lie in the part that remains.
        writer.integer(pairs.bytes.count)
        writer.raw(pairs.bytes)
        writeFile(writer.bytes, to: path(for: files))
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

    /// The cache file of this list of files: one per list (and working
    /// directory, which relative paths depend on), so that a few
    /// configurations in use at once do not evict each other.
    private func path(for files: [String]) -> String {
        var name = files.joined(separator: "\n")
        if files.contains(where: { !$0.hasPrefix("/") }) {
            name = ConfigurationDecoder.currentDirectory() + "\n" + name
        }
        let digest = SHA256.hash(data: Array(name.utf8))
        let hex = Array(digest).prefix(12).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
        return directory + "/config-" + hex + ".cache"
    }

    private static func isTrusted(_ info: stat) -> Bool {
        info.st_uid == geteuid() && info.st_mode & (S_IWGRP | S_IWOTH) == 0
    }

    private func readFile(at path: String) -> [UInt8]? {
        var descriptor: Int32
        repeat { descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Self.isTrusted(info) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            filled += count
        }
        return bytes
    }

    private func writeFile(_ bytes: [UInt8], to path: String) {
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        // Flushed before the rename, so that a crash leaves the old file or
        // the whole new one, never a new name over blocks not yet written.
        let synced = written == bytes.count && fsync(descriptor) == 0
        let closed = close(descriptor) == 0
        if !synced || !closed || rename(temporary, path) != 0 {
            unlink(temporary)
        }
    }
}
