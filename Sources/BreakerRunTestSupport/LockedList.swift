import Foundation

/// A list that several threads append to (the codec's warnings, the pauses
/// a run asked for).
final class LockedList<Element>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Element] = []

    func append(_ element: Element) {
        lock.lock()
        defer { lock.unlock() }
        stored.append(element)
    }

    var elements: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
