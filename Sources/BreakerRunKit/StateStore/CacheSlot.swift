/// Which call a cached output belongs to, so that a `cached` fallback only
/// ever serves the answer of the call that was rejected: the breaker's
/// configured call keeps `NAME/cache`; a command given after `--` keeps
/// `NAME/cache.cmd-HASH`, HASH being the FNV-1a 64-bit hash of its argv (each
/// argument followed by a NUL byte) in hexadecimal. A one-off command run
/// under a breaker therefore never replaces the configured call's answer.
public struct CacheSlot: Sendable, Equatable {
    /// The file's name in the breaker's directory.
    public let fileName: String

    /// The slot of the configured call.
    public static let configuredCall = CacheSlot(fileName: "cache")

    /// The slot of a command given after `--`: `cache.cmd-HASH`.
    /// - Parameter arguments: the command's argv.
    /// - Returns: the slot.
    public static func command(_ arguments: [String]) -> CacheSlot {
        let hash = fnv1a64(arguments.flatMap { Array($0.utf8) + [0] })
        let hex = String(hash, radix: 16)
        return CacheSlot(fileName: "cache.cmd-" + String(repeating: "0", count: 16 - hex.count) + hex)
    }
}
