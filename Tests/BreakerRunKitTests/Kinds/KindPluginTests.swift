import BreakerRunKit
import BreakerRunTestSupport
import CircuitBreaker
import Foundation
import Logging
import Synchronization
import Testing

/// A call kind known only to this test: `scripted: {outcome: failure, exit_status: 3}`
/// runs nothing and ends as written.
private struct ScriptedCall: CallKind {
    static let key = "scripted"
    var succeeds: Bool
    var exitStatus: Int32

    static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> ScriptedCall? {
        guard let pairs = decoder.mapping(node, key: key, example: "{outcome: failure}") else { return nil }
        var call = ScriptedCall(succeeds: true, exitStatus: 0)
        for pair in pairs {
            switch pair.key {
            case "outcome":
                guard let text = decoder.string(pair.value, key: "\(key).outcome", example: "failure") else { return nil }
                call.succeeds = text == "success"
            case "exit_status":
                guard let status = decoder.integer(pair.value, key: "\(key).exit_status", in: 0...255, example: "3") else { return nil }
                call.exitStatus = Int32(status)
            default:
                decoder.unknownOrFuture(pair, known: ["outcome", "exit_status"], future: [], context: "'\(key)'")
                return nil
            }
        }
        return call
    }

    func effectiveYAMLLines() -> [String] {
        ["\(Self.key): {outcome: \(succeeds ? "success" : "failure"), exit_status: \(exitStatus)}"]
    }

    func makeCall(arguments: [String]?, registry: KindRegistry) -> any Call { Runner(call: self) }

    struct Runner: Call {
        var call: ScriptedCall

        func run(_ context: CallContext) -> CallResult {
            let outcome: Outcome = call.succeeds ? .success : .failure(reason: "scripted to fail")
            let run = CallRun(termination: .exited(call.exitStatus), timedOut: false, interruption: nil, outcome: outcome)
            return CallResult(ending: .ran(run), outcome: outcome)
        }
    }
}

/// A fallback kind known only to this test: `echo_back: TEXT` answers with
/// the text and the breaker's name.
private struct EchoBackFallback: FallbackKind {
    static let key = "echo_back"
    var text: String

    static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> EchoBackFallback? {
        decoder.nonEmptyString(node, key: key, example: "'busy'").map { EchoBackFallback(text: $0) }
    }

    func effectiveYAMLLines() -> [String] { ["\(Self.key): \(text)"] }

    func answer(_ context: FallbackContext) -> FallbackAnswer {
        context.answer(writing: Array("\(text) (\(context.breaker.name))\n".utf8), exitCode: 0, how: "echoed back", what: "the echo")
    }
}

/// A clock that reads one instant of one boot.
private struct StillClock: BreakerClock {
    var bootID = "test-boot"
    func now() -> Instant { Instant(monotonicNanoseconds: 50 * 1_000_000_000, wallNanoseconds: 1_796_001_300 * 1_000_000_000) }
}

/// A clock whose time the test moves.
private final class SteppingClock: BreakerClock {
    let bootID = "test-boot"
    private let seconds = Mutex<Int64>(50)

    func now() -> Instant {
        let seconds = seconds.withLock { $0 }
        return Instant(monotonicNanoseconds: seconds * 1_000_000_000, wallNanoseconds: (1_796_001_300 + seconds) * 1_000_000_000)
    }

    func advance(by step: Int64) { seconds.withLock { $0 += step } }
}

/// What fallbacks wrote to standard output.
private final class Output {
    var bytes: [UInt8] = []
}

/// Adding a kind is one new type and one registration line: a call kind and
/// a fallback kind defined here, registered in a registry of the test's
/// own, decode, print and run end to end in-process.
@Suite struct KindPluginTests {
    static let yaml = """
        version: 1
        breakers:
          svc:
            scripted: {outcome: failure, exit_status: 3}
            fail_max: 1
            reset_timeout: 1h
            fallback: [{cached: {}}, {echo_back: served by the test kind}]
        """

    static var registry: KindRegistry {
        var registry = KindRegistry.builtIn
        registry.register(call: ScriptedCall.self)
        registry.register(fallback: EchoBackFallback.self)
        return registry
    }

    @Test func aCallKindAndAFallbackKindOfTheTestRunEndToEnd() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.yaml, file: "/etc/breaker-run/breakers.yaml", registry: Self.registry)
        let breaker = try configuration.breaker(named: "svc")
        let call = try #require(BreakerRunner.call(for: breaker, command: []))
        #expect(call.key == "scripted")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kinds-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FileStateStore(directory: directory, clock: StillClock()) { _ in }
        let output = Output()
        var runner = BreakerRunner(store: store, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
                                   environment: [:], registry: Self.registry)
        runner.write = { output.bytes += $0 }

        // The scripted failure runs, ends with its status and opens the breaker.
        guard case .ran(let first) = runner.run(call, under: breaker) else {
            Issue.record("the call did not run")
            return
        }
        #expect(first.termination == .exited(3))
        #expect(try store.read("svc").0.effectiveCircuitState(at: StillClock().now()).name == CircuitState.Name.open)

        // Rejected: no output kept, so the cached fallback passes to the test's.
        let second = runner.run(call, under: breaker)
        #expect(second == .fellBack(.open(retryAfter: .seconds(3600)), .answered(exitCode: 0, how: "echoed back")))
        #expect(String(decoding: output.bytes, as: UTF8.self) == "served by the test kind (svc)\n")
        let counts = try store.read("svc").0.counts
        #expect(counts == Counts(successes: 0, failures: 1, ignored: 0, rejected: 1, fallbacks: 1))
    }

    @Test func aCallKindAndAFallbackKindOfTheTestRunThroughTheSession() throws {
        let fixture = try SessionFixture(yaml: Self.yaml, registry: Self.registry)

        // The scripted failure runs, ends with its status and opens the breaker.
        guard case .ran(let first) = try fixture.session.run("svc", command: [], force: false) else {
            Issue.record("the call did not run")
            return
        }
        #expect(first.termination == .exited(3))
        #expect(try fixture.state(of: "svc").circuitState == .open)

        // Rejected: no output kept, so the cached fallback passes to the test's.
        let second = try fixture.session.run("svc", command: [], force: false)
        #expect(second == .fellBack(.open(retryAfter: .seconds(3600)), .answered(exitCode: 0, how: "echoed back")))
        #expect(fixture.streams.standardOutput == "served by the test kind (svc)\n")
        #expect(try fixture.state(of: "svc").state.counts == Counts(successes: 0, failures: 1, ignored: 0, rejected: 1, fallbacks: 1))
        #expect(fixture.log.messages(at: .notice).last == "svc: rejected, breaker is open (next trial in 3600s); echoed back")
    }

    @Test func theKindsPrintThemselvesAndLoadBackAsTheSame() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.yaml, file: "/etc/breaker-run/breakers.yaml", registry: Self.registry)
        let printed = configuration.effectiveYAML()
        #expect(printed.contains("    scripted: {outcome: failure, exit_status: 3}\n"))
        #expect(printed.contains("      - echo_back: served by the test kind\n"))
        let reloaded = try ConfigurationLoader.parse(yaml: printed, file: "/etc/breaker-run/breakers.yaml", registry: Self.registry)
        #expect(reloaded.breakers == configuration.breakers.mapValues { breaker in
            var breaker = breaker
            breaker.location = reloaded.breakers[breaker.name]!.location
            return breaker
        })
    }

    @Test func withoutTheirRegistrationTheKeysAreUnknown() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: Self.yaml, file: "/etc/breaker-run/breakers.yaml", registry: .builtIn)
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("unknown key 'scripted' in breaker 'svc'"))
        #expect(text.contains("unknown key 'echo_back' in the fallback"))
    }

    @Test func aKindsErrorsHaveTheirPositions() {
        let yaml = Self.yaml.replacingOccurrences(of: "exit_status: 3", with: "exit_status: 300")
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: yaml, file: "/etc/breaker-run/breakers.yaml", registry: Self.registry)
        }
        #expect(error.map { "\($0)" } == "/etc/breaker-run/breakers.yaml:4:47: 'scripted.exit_status' must be between 0 and 255, not 300")
    }

    @Test func aCallKindOfTheTestIsAProbeToo() throws {
        let yaml = Self.yaml.replacingOccurrences(of: "    fallback:", with: "    probe: {scripted: {outcome: success}}\n    fallback:")
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "/etc/breaker-run/breakers.yaml", registry: Self.registry)
        let breaker = try configuration.breaker(named: "svc")
        let call = try #require(breaker.call)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kinds-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = SteppingClock()
        let store = FileStateStore(directory: directory, clock: clock) { _ in }
        var runner = BreakerRunner(store: store, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
                                   environment: [:], registry: Self.registry)
        runner.write = { _ in }
        _ = runner.run(call, under: breaker)
        clock.advance(by: 3601)
        // The trial: the scripted probe passes and closes the breaker, then
        // the scripted call fails and opens it again.
        guard case .ran(let trial) = runner.run(call, under: breaker) else {
            Issue.record("the call did not run after its probe")
            return
        }
        #expect(trial.termination == .exited(3))
        let counts = try store.read("svc").0.counts
        #expect(counts == Counts(successes: 1, failures: 2, ignored: 0, rejected: 0, fallbacks: 0))
    }
}
