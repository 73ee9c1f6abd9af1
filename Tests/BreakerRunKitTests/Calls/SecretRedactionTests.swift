import BreakerRunKit
import Testing

private let here = SourceLocation(file: "b.yaml", line: 1, column: 1)

/// The values a call read through `${VAR}` never reach a reason or a message.
@Suite struct SecretRedactionTests {
    func redaction(_ values: [String], _ environment: [String: String]) throws -> SecretRedaction {
        SecretRedaction(try values.map { try InterpolatedString.parse($0, at: here) }, environment: environment)
    }

    @Test func aValueReadsBackAsItsVariable() throws {
        let redaction = try redaction(["http://${HOST}.example/"], ["HOST": "SeCrEt42"])
        #expect(redaction.redact("could not resolve host SeCrEt42.example: no address")
            == "could not resolve host ${HOST}.example: no address")
    }

    @Test func aValueIsFoundWhateverItsASCIICase() throws {
        let redaction = try redaction(["http://${HOST}/"], ["HOST": "SeCrEt42"])
        #expect(redaction.redact("host secret42, SECRET42 and SeCrEt42") == "host ${HOST}, ${HOST} and ${HOST}")
    }

    @Test func aValueIsFoundPercentEncoded() throws {
        let redaction = try redaction(["http://h/${PATH_TOKEN}"], ["PATH_TOKEN": "a b/ü"])
        #expect(redaction.redact("GET /a%20b%2F%C3%BC failed; /a b/ü too") == "GET /${PATH_TOKEN} failed; /${PATH_TOKEN} too")
    }

    @Test func everyVariableOfEveryValueIsHiddenTheLongerFirst() throws {
        let redaction = try redaction(["http://${SHORT}/", "Bearer ${LONG}", "${SHORT}${BODY}"],
                                      ["SHORT": "abc", "LONG": "xabcx", "BODY": "payload"])
        #expect(redaction.redact("xabcx abc payload") == "${LONG} ${SHORT} ${BODY}")
    }

    @Test func variablesTheCallDoesNotReadAndEmptyValuesAreLeftAlone() throws {
        let redaction = try redaction(["http://${EMPTY}h/"], ["EMPTY": "", "OTHER": "host"])
        #expect(redaction.isEmpty)
        #expect(redaction.redact("could not resolve host h") == "could not resolve host h")
    }

    @Test func textWithoutTheValueIsUnchanged() throws {
        let redaction = try redaction(["${TOKEN}"], ["TOKEN": "t0k3n"])
        #expect(!redaction.isEmpty)
        #expect(redaction.redact("connection refused ✓") == "connection refused ✓")
    }
}
