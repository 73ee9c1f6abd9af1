import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Testing

/// `trip` and `reset` change the state through the same transaction as
/// `run`, and say what they did.
@Suite struct ControlSpecs {
    static let yaml = """
        version: 1
        breakers:
          svc: {scripted: 'success', reset_timeout: 30s}
        """

    @Test func aTripOpensTheBreakerAndARunIsThenRejected() throws {
        let fixture = try SessionFixture(yaml: Self.yaml)

        let change = try fixture.session.trip("svc", for: .seconds(600), hold: false, reason: "maintenance", by: "uid 0 (root)")

        #expect(change.transitions.map(\.to) == [.open])
        let result = try fixture.session.run("svc", command: [], force: false)
        #expect(result == .rejected(.open(retryAfter: .seconds(600)), exitCode: 75))
        #expect(fixture.script(of: "svc")?.runs.isEmpty == true)
    }

    @Test func aResetOfAClosedBreakerIsOneNoticeWithoutTransition() throws {
        let fixture = try SessionFixture(yaml: Self.yaml)

        let change = try fixture.session.reset("svc", by: "uid 0 (root)")

        #expect(change.transitions.isEmpty)
        #expect(fixture.log.messages(at: .notice)
            == ["svc: reset by uid 0 (root): already closed (consecutive failures cleared); no transition"])
    }

    @Test func anUnknownBreakerIsAConfigurationError() throws {
        let fixture = try SessionFixture(yaml: Self.yaml)

        #expect(throws: UseCaseError.self) { try fixture.session.reset("nope", by: "test") }
        #expect(throws: UseCaseError.self) { try fixture.session.run("nope", command: [], force: false) }
    }
}
