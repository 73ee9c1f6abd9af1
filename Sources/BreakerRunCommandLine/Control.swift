import ArgumentParser
import BreakerRunKit
import CircuitBreaker

extension BreakerRun {
    /// `breaker-run trip NAME [--for DURATION] [--hold] [--reason TEXT]`.
    struct Trip: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "trip",
            _superCommandName: BreakerRun.name,
            abstract: "Open a breaker now; with --hold, keep it open until reset."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Option(name: .customLong("for"), help: ArgumentHelp("How long to stay open (such as 10m), instead of reset_timeout.", valueName: "duration"))
        var interval: String?

        @Flag(help: "Keep the breaker open until 'breaker-run reset'.")
        var hold = false

        @Option(help: ArgumentHelp("Why, for status and hooks: one line of printable text.", valueName: "text"))
        var reason = "manual"

        func validate() throws {
            if reason.allSatisfy(\.isWhitespace) {
                throw ValidationError("--reason needs some text, such as --reason 'acquirer maintenance'")
            }
            // Shown by status, logged to stderr and the journal, given to
            // hooks: a newline or an escape sequence there could forge a line
            // or drive the reader's terminal.
            if let control = reason.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
                let code = "U+" + String(control.value, radix: 16, uppercase: true).leftPadded(to: 4)
                throw ValidationError("--reason must be one line of printable text; it has a control character (\(code))")
            }
            if hold && interval != nil {
                throw ValidationError("--for and --hold exclude each other: a held breaker stays open until reset")
            }
            if let interval {
                guard let duration = try? DurationParser.parse(interval), duration > .zero else {
                    throw ValidationError("--for takes a duration longer than 0, such as 30s, 10m or 1h30m, not '\(interval)'")
                }
            }
        }

        func run(with registry: KindRegistry) throws {
            let context = try options.loadContext(only: [name], registry: registry)
            let breaker = try context.breaker(name)
            let duration = try interval.map { try DurationParser.parse($0) }
            let actor = InvokingUser.current()
            let jitter = Double.random(in: 0..<1)
            try update(context, breaker, action: "trip", by: actor) { state, now in
                state.trip(at: now, for: duration, hold: hold, reason: reason, policy: breaker.policy, random: jitter, by: actor)
            }
        }
    }

    /// `breaker-run reset NAME`.
    struct Reset: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            _superCommandName: BreakerRun.name,
            abstract: "Close a breaker now and clear its consecutive failures, any hold and the backoff."
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        func run(with registry: KindRegistry) throws {
            let context = try options.loadContext(only: [name], registry: registry)
            let breaker = try context.breaker(name)
            let actor = InvokingUser.current()
            try update(context, breaker, action: "reset", by: actor) { state, now in
                state.reset(at: now, by: actor)
            }
        }
    }
}

/// A locked update of one breaker's state that reports its transitions (and
/// runs its hook) once they are stored, or exits 74 when the state cannot be
/// written. An action that made no transition (a reset of a closed breaker,
/// a trip of an open one) is recorded as one notice, with who did it, and
/// runs no hook.
private func update(_ context: Context, _ breaker: BreakerConfiguration, action: String, by actor: String,
                    _ body: (inout BreakerState, Instant) -> Void) throws {
    let (transitions, before, state, now): ([Transition], BreakerState, BreakerState, Instant)
    do {
        (transitions, before, state, now) = try context.store.update(breaker.name) { state, now in
            let before = state
            body(&state, now)
            return (state.transitions(after: before.generation), before, state, now)
        }
    } catch {
        report(error)
        throw ExitCode(ExitStatus.ioError.rawValue)
    }
    guard transitions.isEmpty else {
        TransitionReporter(logger: context.logger, environment: context.environment)
            .report(transitions, of: breaker, state: state, at: now)
        return
    }
    context.logger.notice(
        "\(breaker.name): \(action) by \(actor): \(unchanged(breaker.name, from: before, to: state, at: now)); no transition",
        metadata: ["event": "manual", "breaker": .string(breaker.name), "action": .string(action), "by": .string(actor)]
    )
}

/// What a manual action that made no transition did, for its audit line.
private func unchanged(_ name: String, from before: BreakerState, to after: BreakerState, at now: Instant) -> String {
    switch (before.phase, after.phase) {
    case (.closed, _):
        "already closed (consecutive failures cleared)"
    case (.held, _):
        "held open until 'breaker-run reset \(name)'; left as it is"
    case (_, .held):
        "was open already; now held open until 'breaker-run reset \(name)'"
    case (let old, .open(let until)) where old != after.phase:
        "was open already; next trial moved to \(until.duration(since: now).secondsRoundedUp)s from now"
    default:
        "already open (next trial in \((after.retryAfter(at: now) ?? .zero).secondsRoundedUp)s); left as it is"
    }
}

extension String {
    /// The string with zeros before it up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
