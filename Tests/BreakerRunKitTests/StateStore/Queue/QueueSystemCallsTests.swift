@testable import BreakerRunKit
import Foundation
import Testing

/// The check that makes a claim worth something: a lock taken on a file that
/// was removed or renamed over after it was opened is on the wrong inode.
/// The race it closes is too narrow to hit reliably through the store.
@Suite struct QueueSystemCallsTests {
    let directory = QueueTestDirectory()

    @Test func aDescriptorIsStillNamedOnlyUntilItsNameIsRemovedOrReplaced() throws {
        let file = "\(directory.path)/00000000000000000001.item"
        try writeFile(Array("one".utf8), to: file)
        let folder = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(folder) }
        let opened = open(file, O_RDONLY | O_CLOEXEC)
        defer { close(opened) }
        #expect(QueueSystemCalls.isStillNamed(opened, "00000000000000000001.item", in: folder))

        // A rewrite: a new file renamed over the name.
        try writeFile(Array("two".utf8), to: "\(file).tmp")
        #expect(rename("\(file).tmp", file) == 0)
        #expect(!QueueSystemCalls.isStillNamed(opened, "00000000000000000001.item", in: folder))

        let rewritten = open(file, O_RDONLY | O_CLOEXEC)
        defer { close(rewritten) }
        #expect(QueueSystemCalls.isStillNamed(rewritten, "00000000000000000001.item", in: folder))
        // A removal.
        #expect(unlink(file) == 0)
        #expect(!QueueSystemCalls.isStillNamed(rewritten, "00000000000000000001.item", in: folder))
    }

    @Test func aSecondOpenOfAFileCannotTakeItsLockButAnotherInodeCan() throws {
        let file = "\(directory.path)/item"
        try writeFile(Array("one".utf8), to: file)
        let first = open(file, O_RDONLY | O_CLOEXEC)
        let second = open(file, O_RDONLY | O_CLOEXEC)
        defer { close(first); close(second) }
        #expect(try QueueSystemCalls.lockExclusively(first, path: file, waiting: false))
        #expect(try !QueueSystemCalls.lockExclusively(second, path: file, waiting: false))
        // What a late claimer would get without the name check.
        try writeFile(Array("two".utf8), to: "\(file).new")
        #expect(rename("\(file).new", file) == 0)
        let third = open(file, O_RDONLY | O_CLOEXEC)
        defer { close(third) }
        #expect(try QueueSystemCalls.lockExclusively(third, path: file, waiting: false))
    }
}
