/// FNV-1a, 64 bits (Fowler, Noll and Vo; IETF draft-eastlake-fnv): the
/// check that a file the store or the configuration cache wrote is what was
/// written, against damage (a flipped bit, a torn write, a block of another
/// file), not against someone who can write the file.
/// - Parameter bytes: the bytes to hash.
/// - Returns: the hash.
func fnv1a64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
    return hash
}
