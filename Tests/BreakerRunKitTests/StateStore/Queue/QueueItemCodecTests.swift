import BreakerRunKit
import Testing

@Suite struct QueueItemCodecTests {
    @Test func roundTripsEveryFieldWithBinaryStandardInputByteForByte() throws {
        let everyByte = (0...255).map(UInt8.init) + [0, 0, 0xFF, 0x0A, 0x0D]
        let item = QueueItem(call: .command(["/usr/local/bin/pay-batch", "--since", "yesterday", "ünï cödé", ""]),
                             workingDirectory: "/srv/batch", standardInput: everyByte,
                             environment: ["TZ": "UTC", "EMPTY": ""], queuedAtWallNanoseconds: 1_796_001_300_123_456_789,
                             user: QueueItem.User(id: 34, name: "backup"), attempts: 2)
        let decoded = try QueueItemCodec.decode(QueueItemCodec.encode(item))
        #expect(decoded == item)
        #expect(decoded.standardInput == everyByte)
        let configured = QueueItem(call: .configured, workingDirectory: "/", queuedAtWallNanoseconds: 0)
        #expect(try QueueItemCodec.decode(QueueItemCodec.encode(configured)) == configured)
    }

    @Test func writesOneSortedJSONLineWithTheTimeForPeople() {
        let item = QueueItem(id: "q-0123456789abcdef0123456789abcdef", call: .configured, workingDirectory: "/srv",
                             standardInput: [0, 1, 2, 255], queuedAtWallNanoseconds: 1_796_001_300_000_000_000,
                             user: QueueItem.User(id: 0, name: "root"))
        let text = String(decoding: QueueItemCodec.encode(item), as: UTF8.self)
        #expect(text == #"{"attempts":0,"call":"configured","environment":{},"format":1,"id":"q-0123456789abcdef0123456789abcdef","queued_at":"2026-11-30T01:15:00Z","queued_at_ns":1796001300000000000,"stdin_base64":"AAEC/w==","user":{"name":"root","uid":0},"working_directory":"/srv"}"# + "\n")
    }

    @Test func newIdentifiersAreDistinctAndWellFormed() {
        let ids = (0..<100).map { _ in QueueItem.newID() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy(QueueItem.isValidID))
        #expect(!QueueItem.isValidID("q-../../etc/passwd"))
    }

    @Test func absentOptionalFieldsTakeTheirDefaultsAndUnknownKeysAreIgnored() throws {
        let minimal = #"{"format":1,"id":"q-0123456789abcdef0123456789abcdef","call":{"command":["/bin/true"]},"#
            + #""working_directory":"/tmp","queued_at_ns":5,"from_the_future":[1,2]}"#
        let item = try QueueItemCodec.decode(Array(minimal.utf8))
        #expect(item.call == .command(["/bin/true"]))
        #expect(item.attempts == 0)
        #expect(item.environment.isEmpty)
        #expect(item.standardInput.isEmpty)
        #expect(item.user == QueueItem.User(id: UInt32.max, name: "unknown"))
        #expect(item.queuedAtWallNanoseconds == 5)
    }

    @Test func readsTheTimeForPeopleWhenTheExactOneIsMissing() throws {
        let document = #"{"format":1,"id":"q-0123456789abcdef0123456789abcdef","call":"configured","#
            + #""working_directory":"/tmp","queued_at":"2026-11-30T01:15:00Z"}"#
        #expect(try QueueItemCodec.decode(Array(document.utf8)).queuedAtWallNanoseconds == 1_796_001_300_000_000_000)
    }

    static let valid: [String: String] = [
        "format": "1", "id": #""q-0123456789abcdef0123456789abcdef""#, "call": #""configured""#,
        "working_directory": #""/tmp""#, "queued_at_ns": "5",
    ]

    /// The valid document with `changes` applied (nil removes a key).
    static func document(_ changes: [String: String?]) -> [UInt8] {
        var fields = valid
        for (key, value) in changes { fields[key] = value }
        return Array(("{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}").utf8)
    }

    @Test(arguments: [
        (Array("".utf8), QueueItemDecodingError.notJSON),
        (Array(#"{"format":1,"id":"#.utf8), .notJSON),
        (Array("[1]".utf8), .notAnObject),
        (Array(#""text""#.utf8), .notAnObject),
        (document(["format": nil]), .missingField("format")),
        (document(["format": "2"]), .unsupportedFormat(found: 2, highestSupported: 1)),
        (document(["format": #""one""#]), .invalidField("format", reason: "is not an integer")),
        (document(["id": nil]), .missingField("id")),
        (document(["id": #""../x""#]), .invalidField("id", reason: "is not q- and 32 hexadecimal digits")),
        (document(["call": nil]), .missingField("call")),
        (document(["call": #""shell""#]), .invalidField("call", reason: #"is "shell", not "configured" or {"command": [...]}"#)),
        (document(["call": #"{"command":[]}"#]), .invalidField("call", reason: "has an empty command")),
        (document(["call": "42"]), .invalidField("call", reason: #"is neither "configured" nor {"command": [strings]}"#)),
        (document(["working_directory": nil]), .missingField("working_directory")),
        (document(["working_directory": #""relative""#]), .invalidField("working_directory", reason: "is not an absolute path")),
        (document(["stdin_base64": #""not base64!""#]), .invalidField("stdin_base64", reason: "is not base64")),
        (document(["environment": #"{"A":1}"#]), .invalidField("environment", reason: "is not an object of strings")),
        (document(["queued_at_ns": nil]), .missingField("queued_at_ns")),
        (document(["queued_at_ns": nil, "queued_at": #""yesterday""#]), .invalidField("queued_at", reason: "is not an RFC 3339 time in UTC")),
        (document(["attempts": "-1"]), .invalidField("attempts", reason: "is negative")),
        (document(["user": "7"]), .invalidField("user", reason: "is not an object")),
    ])
    func aDamagedItemIsRefusedWithThePreciseReason(bytes: [UInt8], expected: QueueItemDecodingError) {
        #expect(throws: expected) { try QueueItemCodec.decode(bytes) }
    }

    @Test func onlyANewerFormatIsNotDamage() {
        #expect(!QueueItemDecodingError.unsupportedFormat(found: 2, highestSupported: 1).isDamage)
        #expect(QueueItemDecodingError.notJSON.isDamage)
        #expect(QueueItemDecodingError.missingField("call").description == "no 'call'")
    }
}
