#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// glibc functions that Swift's Glibc module does not import because their
/// declarations sit behind `_GNU_SOURCE`; they exist in glibc 2.34 and later.
/// Resolved once at run time with `dlsym`, so no C shim target is needed; a
/// shim declaring them would be the cleaner long-term home.
enum GlibcExtensions {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29).
    static let addChdir: AddChdir? = resolve("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34).
    static let addClosefrom: AddClosefrom? = resolve("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)

    private static func resolve<F>(_ name: String, as type: F.Type) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
}
