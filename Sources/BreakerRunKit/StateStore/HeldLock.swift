/// An exclusive `flock(2)` held on a file of the state store, such as a
/// half-open trial permit: held from acquisition until `release()` or until
/// this object is deinitialized, whichever comes first.
///
/// The lock belongs to the open file description, which is opened
/// close-on-exec: a spawned call never inherits it, and if the process dies
/// (even by SIGKILL) the kernel closes the descriptor and frees the lock, so
/// no crash leaves a permit taken (flock(2): "the lock is released either by
/// an explicit LOCK_UN operation on any of these duplicate file descriptors,
/// or when all such file descriptors have been closed").
public final class HeldLock {
    /// The path of the locked file, for messages.
    public let path: String
    /// Which slot this is: `K` of `permit.K`, from 0.
    public let slot: Int
    private var descriptor: Int32

    init(descriptor: Int32, path: String, slot: Int) {
        self.descriptor = descriptor
        self.path = path
        self.slot = slot
    }

    /// Whether the lock is still held (`release()` has not been called).
    public var isHeld: Bool { descriptor >= 0 }

    /// Releases the lock by closing its descriptor. Calling it again does
    /// nothing.
    public func release() {
        guard descriptor >= 0 else { return }
        // close(2) must not be retried on EINTR on Linux: the descriptor is
        // gone either way, and with it the lock.
        _ = close(descriptor)
        descriptor = -1
    }

    deinit {
        release()
    }
}
