import CircuitBreaker

extension BreakerRunner {
    /// Answers a rejected call: the breaker's fallbacks in order
    /// (`FallbackRunner`), counting one that answered, or the breaker's
    /// `open_exit_code`; says the rejection's line either way.
    /// - Parameters:
    ///   - rejection: why the call was rejected.
    ///   - breaker: the breaker.
    ///   - state: the breaker's state at the rejection.
    ///   - now: the time of the rejection.
    ///   - call: the rejected call, whose kept output a `cached` fallback serves.
    ///   - arguments: its argv, for the fallbacks' `BREAKER_COMMAND`.
    /// - Returns: `.fellBack` when a fallback ran, else `.rejected`.
    func reject(_ rejection: Rejection, breaker: BreakerConfiguration, state: BreakerRecord, at now: Instant,
                call: CallSpecification, arguments: [String]) -> RunResult {
        let key = Self.cacheKey(for: call, of: breaker)
        var runner = FallbackRunner(supervisor: supervisor, environment: environment, logger: logger)
        runner.write = write
        runner.queue = queue
        runner.isConfiguredCall = call == breaker.call
        runner.readInput = readInput
        runner.workingDirectory = workingDirectory
        runner.cache = { [store, narrator] name in
            do {
                return try store.readCache(name, key: key)
            } catch {
                narrator.tell(.cacheNotRead(name, error))
                return nil
            }
        }
        guard let answer = runner.run(breaker.fallbacks, for: breaker, state: state, rejection: rejection, arguments: arguments, now: now) else {
            narrator.tell(.rejected(breaker.name, rejection, at: now, how: "exiting \(breaker.openExitCode)"))
            return .rejected(rejection, exitCode: breaker.openExitCode)
        }
        // Answered: it gave its output and exited, whatever its status.
        // Timed out, killed or unable to write: it did not answer.
        let (how, answered): (String, Bool)
        switch answer {
        case .process(.exited(0), timedOut: false):
            (how, answered) = ("fallback answered", true)
        case .answered(_, let answer):
            (how, answered) = (answer, true)
        case .process(.exited(let code), timedOut: false):
            (how, answered) = ("fallback answered with exit status \(code)", true)
        case .process(.signaled(let signal), timedOut: false):
            (how, answered) = ("fallback was killed by \(SignalName.of(signal))", false)
        case .process(_, timedOut: true), .outputLost:
            (how, answered) = ("fallback failed", false)
        }
        if answered { countFallback(of: breaker) }
        narrator.tell(.rejected(breaker.name, rejection, at: now, how: how))
        return .fellBack(rejection, answer)
    }

    /// Counts a rejected call that a fallback answered (`counts.fallbacks`),
    /// once it has: a rejection whose fallbacks all declined (no fresh
    /// cache), or whose fallback timed out, was killed or could not write
    /// its output, is not counted as answered.
    private func countFallback(of breaker: BreakerConfiguration) {
        do {
            _ = try transaction.change(breaker.name) { state, _ in
                if state.counts.fallbacks < .max { state.counts.fallbacks += 1 }
            }
        } catch {
            narrator.tell(.stateFault("\(breaker.name): fallback not counted (\(error))"))
        }
    }

    /// The key under which the output of `call` is cached: empty for the
    /// breaker's configured call (`NAME/cache`), else a digest of the argv
    /// (`NAME/cache.KEY`), so that a one-off command never replaces, nor is
    /// served for, another call's answer.
    /// - Parameters:
    ///   - call: the call that ran, or that was rejected.
    ///   - breaker: the breaker.
    /// - Returns: the key.
    public static func cacheKey(for call: CallSpecification, of breaker: BreakerConfiguration) -> String {
        if call == breaker.call { return "" }
        // NUL cannot occur in an argument, so the joined argv names one argv.
        let identity = (call.processArguments ?? []).joined(separator: "\0")
        let digest = String(fnv1a64(identity.utf8), radix: 16)
        return String(repeating: "0", count: 16 - digest.count) + digest
    }
}
