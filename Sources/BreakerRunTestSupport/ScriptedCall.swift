import BreakerRunKit
import CircuitBreaker
import Foundation

/// What a scripted call does, step by step, and what it was asked to do:
/// shared by the calls the runner makes from one configured `scripted` call.
public final class CallScript: @unchecked Sendable {
    /// One run of a scripted call.
    public enum Step: Equatable, Sendable {
        /// Exits 0: a success.
        case success
        /// Exits 1: a failure with this reason.
        case failure(String)
        /// Exits 75: ignored, with this reason.
        case ignored(String)
        /// Runs past the breaker's `timeout` and is killed: a failure, exit 124.
        case timeout
        /// Could not be started (exit 127, ignored).
        case launchFailure

        /// The step as the YAML of a `scripted` call writes it.
        var word: String {
            switch self {
            case .success: "success"
            case .failure: "failure"
            case .ignored: "ignored"
            case .timeout: "timeout"
            case .launchFailure: "launch_failure"
            }
        }

        /// The step a YAML word names, if any.
        init?(word: String) {
            switch word {
            case "success": self = .success
            case "failure": self = .failure("scripted failure")
            case "ignored": self = .ignored("scripted ignored")
            case "timeout": self = .timeout
            case "launch_failure": self = .launchFailure
            default: return nil
            }
        }
    }

    /// One run, as the call saw it.
    public struct Run: Equatable, Sendable {
        /// The call itself, or the probe.
        public var role: CallRole
        /// The breaker it ran under.
        public var breaker: String
    }

    private let lock = NSLock()
    private var steps: [Step]
    private var done: [Run] = []
    /// Called during each run, with its index (0 for the first), before it
    /// ends: what another process does while the call runs.
    public var whileRunning: ((Int) -> Void)?

    /// Creates a script.
    /// - Parameter steps: what the runs do, in order; the last one repeats.
    public init(_ steps: [Step]) {
        self.steps = steps
    }

    /// The steps, in order.
    public var plannedSteps: [Step] {
        lock.lock()
        defer { lock.unlock() }
        return steps
    }

    /// The runs so far, oldest first.
    public var runs: [Run] {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    /// Records a run and gives its step.
    func next(role: CallRole, breaker: String) -> (index: Int, step: Step) {
        lock.lock()
        defer { lock.unlock() }
        let index = done.count
        done.append(Run(role: role, breaker: breaker))
        return (index, steps.isEmpty ? .success : steps[min(index, steps.count - 1)])
    }
}

/// A call kind for specs: `scripted: 'failure failure success'` runs
/// nothing and ends as the next step of its script says (the last step
/// repeating). Register it with `registry.register(call: ScriptedCall.self)`.
public struct ScriptedCall: CallKind {
    /// `scripted`.
    public static let key = "scripted"
    /// The script, shared by every call made from this configuration.
    public let script: CallScript

    /// Wraps a script.
    /// - Parameter script: the steps.
    public init(script: CallScript) {
        self.script = script
    }

    /// Reads `'STEP STEP ...'`, each step one of `success`, `failure`,
    /// `ignored`, `timeout`, `launch_failure`, reporting an unknown one
    /// with its position.
    package static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> ScriptedCall? {
        guard let text = decoder.string(node, key: key, example: "'failure failure success'") else { return nil }
        var steps: [CallScript.Step] = []
        for word in text.split(separator: " ") {
            guard let step = CallScript.Step(word: String(word)) else {
                decoder.report(at: node.location, "'\(key)' takes success, failure, ignored, timeout or launch_failure, not '\(word)'")
                return nil
            }
            steps.append(step)
        }
        return ScriptedCall(script: CallScript(steps))
    }

    /// `scripted: 'STEP STEP ...'`.
    package func effectiveYAMLLines() -> [String] {
        ["\(Self.key): '\(script.plannedSteps.map(\.word).joined(separator: " "))'"]
    }

    /// The call that plays the next step.
    package func makeCall(arguments: [String]?, registry: KindRegistry) -> any Call {
        Player(script: script)
    }

    /// The same script.
    public static func == (lhs: ScriptedCall, rhs: ScriptedCall) -> Bool {
        lhs.script === rhs.script
    }

    private struct Player: Call {
        let script: CallScript

        func run(_ context: CallContext) -> CallResult {
            let (index, step) = script.next(role: context.role, breaker: context.breaker.name)
            script.whileRunning?(index)
            let outcome: Outcome
            let ending: CallEnding
            switch step {
            case .success:
                outcome = .success
                ending = .ran(CallRun(termination: .exited(0), timedOut: false, interruption: nil, outcome: outcome))
            case .failure(let reason):
                outcome = .failure(reason: reason)
                ending = .ran(CallRun(termination: .exited(1), timedOut: false, interruption: nil, outcome: outcome))
            case .ignored(let reason):
                outcome = .ignored(reason: reason)
                ending = .ran(CallRun(termination: .exited(75), timedOut: false, interruption: nil, outcome: outcome))
            case .timeout:
                outcome = .failure(reason: "timeout")
                ending = .ran(CallRun(termination: .exited(124), timedOut: true, interruption: nil, outcome: outcome))
            case .launchFailure:
                let error = LaunchError.notFound("scripted")
                outcome = .ignored(reason: "could not start: \(error)")
                ending = .launchFailed(error)
            }
            return CallResult(ending: ending, outcome: outcome, output: outcome == .success ? Array("scripted output \(index)\n".utf8) : nil)
        }
    }
}
