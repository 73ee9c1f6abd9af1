import CircuitBreaker

/// Every key of a breaker (and of `defaults`) besides the calls' (the kinds
/// of a `KindRegistry`), each declared once: name, type (how it is read and
/// written), default and one line of documentation. The decoder accepts and
/// suggests these names and no others, merges `defaults` key by key, and
/// `validate --print` writes them; the man-page test reads them too.
@usableFromInline
enum BreakerKeys {
    /// The keys, in the order the decoder has always listed them (the
    /// nearest of two equally near keys to a misspelled one is the earlier).
    static let all: [BreakerKey] = [
        description.erased,
        failMax.erased, resetTimeout.erased, successThreshold.erased, halfOpenMaxCalls.erased,
        timeout.erased, killAfter.erased, successExitCodes.erased, ignoreExitCodes.erased, openExitCode.erased,
        environment, workingDirectory.erased, fallback.erased, slowCallDuration.erased, retry.erased,
        maxConcurrent, maxWait, probe.erased, onTransition.erased, failureRate.erased, backoff.erased,
        onStateError.erased, state.erased, perKey.erased,
    ]

    /// The index of `state` in `all`: a breaker that sets none, in itself or
    /// in `defaults`, takes its file's top-level `state`.
    static let stateIndex = all.firstIndex { $0.name == "state" }!

    /// The keys in the order `validate --print` writes them.
    static let printed: [BreakerKey] = all.enumerated().sorted { ($0.element.group, $0.offset) < ($1.element.group, $1.offset) }.map(\.element)

    static let description = Key<String?>(
        "description", .about, get: { $0.description }, set: { $0.description = $1 }, absent: "none",
        doc: "What the breaker guards, for people.",
        read: { decoder, pair, _ in decoder.string(pair.value, key: pair.key, example: "Card payments") },
        write: { .value(YAMLText.scalar($0)) })

    static let failMax = Key<Int>(
        "fail_max", .trip, get: { $0.policy.failMax }, set: { $0.policy.failMax = $1 }, default: 5,
        doc: "Trip after this many consecutive failures.",
        read: { decoder, pair, _ in decoder.integer(pair.value, key: pair.key, in: 1...Int(Int32.max), example: "5") },
        write: { .value("\($0)") })

    static let resetTimeout = Key<Duration>(
        "reset_timeout", .trip, get: { $0.policy.resetTimeout }, set: { $0.policy.resetTimeout = $1 }, default: .seconds(60),
        doc: "How long the breaker stays open before a trial (a duration, default 60 seconds).",
        read: { decoder, pair, _ in decoder.duration(pair.value, key: pair.key, allowsZero: false) },
        write: { .value(YAMLText.duration($0)) })

    static let successThreshold = Key<Int>(
        "success_threshold", .trip, get: { $0.policy.successThreshold }, set: { $0.policy.successThreshold = $1 }, default: 1,
        doc: "Successful trials needed to close the breaker.",
        read: { decoder, pair, _ in decoder.integer(pair.value, key: pair.key, in: 1...Int(Int32.max), example: "1") },
        write: { .value("\($0)") })

    static let halfOpenMaxCalls = Key<Int>(
        "half_open_max_calls", .trip, get: { $0.policy.halfOpenMaxCalls }, set: { $0.policy.halfOpenMaxCalls = $1 }, default: 1,
        doc: "Trial calls allowed at once, across all processes.",
        read: { decoder, pair, _ in decoder.integer(pair.value, key: pair.key, in: 1...Int(Int32.max), example: "1") },
        write: { .value("\($0)") })

    static let timeout = Key<Duration?>(
        "timeout", .call, get: { $0.timeout }, set: { $0.timeout = $1 }, absent: "no limit",
        doc: "How long the call may run before its process group gets SIGTERM (a duration).",
        read: { decoder, pair, _ in decoder.duration(pair.value, key: pair.key, allowsZero: false) },
        write: { .value(YAMLText.duration($0)) })

    @usableFromInline
    static let killAfter = Key<Duration>(
        "kill_after", .call, get: { $0.killAfter }, set: { $0.killAfter = $1 }, default: .seconds(5),
        doc: "Grace between SIGTERM and SIGKILL after a timeout (a duration, default 5 seconds).",
        read: { decoder, pair, _ in decoder.duration(pair.value, key: pair.key, allowsZero: true) },
        write: { .value(YAMLText.duration($0)) })

    @usableFromInline
    static let successExitCodes = Key<ExitCodeSet>(
        "success_exit_codes", .call, get: { $0.successExitCodes }, set: { $0.successExitCodes = $1 }, default: ExitCodeSet([0...0]),
        doc: "Exit statuses that count as success.",
        read: { decoder, pair, fields in
            fields.exitCodeLocations[pair.key] = pair.keyLocation
            return decoder.exitCodes(pair.value, key: pair.key, allowsEmpty: false)
        },
        write: { .value($0.description) })

    @usableFromInline
    static let ignoreExitCodes = Key<ExitCodeSet>(
        "ignore_exit_codes", .call, get: { $0.ignoreExitCodes }, set: { $0.ignoreExitCodes = $1 }, default: ExitCodeSet([]),
        doc: "Exit statuses that count as neither success nor failure.",
        read: { decoder, pair, fields in
            fields.exitCodeLocations[pair.key] = pair.keyLocation
            return decoder.exitCodes(pair.value, key: pair.key, allowsEmpty: true)
        },
        write: { .value($0.description) })

    @usableFromInline
    static let openExitCode = Key<Int32>(
        "open_exit_code", .call, get: { $0.openExitCode }, set: { $0.openExitCode = $1 }, default: 75,
        doc: "The exit status of a rejected call with no fallback (75, EX_TEMPFAIL).",
        read: { decoder, pair, _ in decoder.integer(pair.value, key: pair.key, in: 0...255, example: "75").map { Int32($0) } },
        write: { .value("\($0)") })

    /// `env`: two properties of the breaker, the values ready to use and
    /// those that read variables.
    static let environment = BreakerKey(
        name: "env", group: .call, doc: "Extra environment for the call; values may read variables (${VAR}).",
        decode: { decoder, pair, fields in
            guard let environment = decoder.environment(pair.value) else { return false }
            fields.values.environment = [:]
            fields.values.interpolatedEnvironment = [:]
            for (key, value) in environment {
                if let text = value.literalValue { fields.values.environment[key] = text } else { fields.values.interpolatedEnvironment[key] = value }
            }
            return true
        },
        merge: { breaker, fields in
            breaker.environment = fields.values.environment
            breaker.interpolatedEnvironment = fields.values.interpolatedEnvironment
        },
        print: { breaker in
            var text: [String: String] = breaker.interpolatedEnvironment.mapValues(\.description)
            for (key, value) in breaker.environment where text[key] == nil {
                text[key] = InterpolatedString.escaped(value)
            }
            return text.isEmpty ? .value("{}") : .lines(text.keys.sorted().map { "\($0): \(YAMLText.scalar(text[$0]!))" })
        })

    static let workingDirectory = Key<String?>(
        "working_dir", .call, get: { $0.workingDirectory }, set: { $0.workingDirectory = $1 }, absent: "breaker-run's own",
        doc: "The call's working directory.",
        read: { decoder, pair, _ in decoder.nonEmptyString(pair.value, key: pair.key, example: "/srv/app") },
        write: { .value(YAMLText.scalar($0)) })

    static let fallback = Key<[FallbackSpecification]>(
        "fallback", .fallback, get: { $0.fallbacks }, set: { $0.fallbacks = $1 }, default: [],
        doc: "What answers a rejected call: one fallback or a list, tried in order.",
        read: { decoder, pair, _ in decoder.fallbacks(pair.value) },
        write: { fallbacks in
            // A list item: the first line after "- ", the others under it.
            fallbacks.isEmpty ? .value("[]") : .lines(fallbacks.flatMap {
                $0.kind.effectiveYAMLLines().enumerated().map { index, line in (index == 0 ? "- " : "  ") + line }
            })
        })

    static let slowCallDuration = Key<Duration?>(
        "slow_call_duration", .call, get: { $0.slowCallDuration }, set: { $0.slowCallDuration = $1 }, absent: "none",
        doc: "A success slower than this counts as a failure in the statistics (a duration).",
        read: { decoder, pair, _ in decoder.duration(pair.value, key: pair.key, allowsZero: false) },
        write: { .value(YAMLText.duration($0)) })

    static let retry = Key<RetryPolicy?>(
        "retry", .call, get: { $0.retry }, set: { $0.retry = $1 }, absent: "one attempt",
        doc: "Attempts inside the breaker: {attempts, delay, multiplier, max_delay, jitter}.",
        read: { decoder, pair, _ in decoder.retry(pair.value) },
        write: { retry in
            .value("{attempts: \(retry.attempts), delay: \(YAMLText.duration(retry.delay)), multiplier: \(YAMLText.number(retry.multiplier)), "
                + "max_delay: \(YAMLText.duration(retry.maxDelay)), jitter: \(YAMLText.number(retry.jitter * 100))%}")
        })

    /// `max_concurrent`: with `max_wait`, the breaker's `bulkhead`.
    static let maxConcurrent = BreakerKey(
        name: "max_concurrent", group: .call, doc: "Calls of the breaker allowed at once, across processes.",
        decode: { decoder, pair, fields in
            fields.maxConcurrent = decoder.integer(pair.value, key: pair.key, in: 1...Int(Int32.max), example: "1")
            return fields.maxConcurrent != nil
        },
        merge: { breaker, fields in
            breaker.bulkhead = Bulkhead(maxConcurrent: fields.maxConcurrent!, maxWait: breaker.bulkhead?.maxWait ?? .zero)
        },
        print: { breaker in breaker.bulkhead.map { .value("\($0.maxConcurrent)") } ?? .absent("no limit") })

    /// `max_wait`: merged after `max_concurrent`, into its bulkhead.
    static let maxWait = BreakerKey(
        name: "max_wait", group: .call, doc: "How long a call may wait for a free slot of max_concurrent (a duration, default 0: none).",
        decode: { decoder, pair, fields in
            fields.maxWait = (decoder.duration(pair.value, key: pair.key, allowsZero: true), pair.keyLocation)
            return fields.maxWait?.value != nil
        },
        merge: { breaker, fields in
            breaker.bulkhead?.maxWait = fields.maxWait!.value!
        },
        print: { breaker in breaker.bulkhead.map { .value(YAMLText.duration($0.maxWait)) } ?? .hidden })

    static let probe = Key<Probe?>(
        "probe", .call, get: { $0.probe }, set: { $0.probe = $1 }, absent: "the real call is the trial",
        doc: "A cheap call run as the half-open trial instead of the real call, with its own timeout.",
        read: { decoder, pair, _ in
            decoder.timedCall(pair.value, key: pair.key, allowsNetwork: true).map { Probe(call: $0.call, timeout: $0.timeout) }
        },
        write: { .lines(timedCallLines($0.call, $0.timeout)) })

    /// The time limit of an `on_transition` hook that sets none: 10 seconds.
    @usableFromInline
    static let hookTimeout: Duration = .seconds(10)

    static let onTransition = Key<TransitionHook?>(
        "on_transition", .call, get: { $0.onTransition }, set: { $0.onTransition = $1 }, absent: "none",
        doc: "A command or shell run once per transition, with its timeout (a duration, default 10 seconds).",
        read: { decoder, pair, _ in
            decoder.timedCall(pair.value, key: pair.key).map { TransitionHook(call: $0.call, timeout: $0.timeout ?? hookTimeout) }
        },
        write: { .lines(timedCallLines($0.call, $0.timeout)) })

    /// The calls a `failure_rate` window needs before it can trip, when it
    /// sets no `minimum_calls`: 10.
    static let failureRateMinimumCalls = 10

    static let failureRate = Key<FailureRate?>(
        "failure_rate", .trip, get: { $0.policy.failureRate }, set: { $0.policy.failureRate = $1 }, absent: "fail_max alone trips",
        doc: "Trip on the failure share over a window: {threshold, window, minimum_calls}.",
        read: { decoder, pair, _ in decoder.failureRate(pair.value) },
        write: { rate in
            let window = switch rate.window {
            case let .calls(calls): "\(calls)"
            case let .duration(duration): YAMLText.duration(duration)
            }
            return .value("{threshold: \(YAMLText.number(rate.threshold * 100))%, window: \(window), minimum_calls: \(rate.minimumCalls)}")
        })

    /// The longest opening of a `backoff` that sets no `max`: 30 minutes
    /// (its `multiplier` and `jitter` default to `Backoff.init`'s 2 and 0%).
    static let backoffMax: Duration = .seconds(1800)

    static let backoff = Key<Backoff?>(
        "backoff", .trip, get: { $0.policy.backoff }, set: { $0.policy.backoff = $1 }, absent: "every opening lasts reset_timeout",
        doc: "Longer openings after failed trials: {multiplier, max, jitter}.",
        read: { decoder, pair, _ in decoder.backoff(pair.value) },
        write: { backoff in
            .value("{multiplier: \(YAMLText.number(backoff.multiplier)), max: \(YAMLText.duration(backoff.max)), jitter: \(YAMLText.number(backoff.jitter * 100))%}")
        })

    @usableFromInline
    static let onStateError = Key<StateErrorPolicy>(
        "on_state_error", .call, get: { $0.onStateError }, set: { $0.onStateError = $1 }, default: .failOpen,
        doc: "What a state that cannot be read or written does: fail-open or fail-closed.",
        read: { decoder, pair, _ in decoder.stateErrorPolicy(pair.value, key: pair.key) },
        write: { .value($0.rawValue) })

    @usableFromInline
    static let state = Key<StateBackendConfiguration>(
        "state", .call, get: { $0.state }, set: { $0.state = $1 }, default: .file,
        doc: "Where the state lives: {backend: file} or {backend: postgresql, url, ...}.",
        read: { decoder, pair, _ in decoder.stateBackend(pair.value, key: pair.key) },
        write: { .value($0.effectiveYAML) })

    static let perKey = Key<PerKey?>(
        "per_key", .call, get: { $0.perKey }, set: { $0.perKey = $1 }, absent: "none: a plain breaker",
        doc: "One independent breaker per --key: {max_keys, expire_after (a duration, default 7 days), open_when: {keys_open, minimum_keys}, bulkhead}.",
        read: { decoder, pair, fields in
            let perKey = decoder.perKey(pair.value)
            if perKey != nil { fields.perKeyLocation = pair.keyLocation }
            return perKey
        },
        write: { perKey in
            let openWhen = perKey.openWhen.map {
                ", open_when: {keys_open: \(YAMLText.number($0.keysOpen * 100))%, minimum_keys: \($0.minimumKeys)}"
            }
            return .value("{max_keys: \(perKey.maxKeys), expire_after: \(YAMLText.duration(perKey.expireAfter))\(openWhen ?? ""), bulkhead: \(perKey.bulkhead.rawValue)}")
        })

    /// The trip and recovery rules of a breaker that sets none of their keys.
    @usableFromInline
    static var defaultPolicy: Policy {
        Policy(failMax: failMax.defaultValue, resetTimeout: resetTimeout.defaultValue, successThreshold: successThreshold.defaultValue,
               halfOpenMaxCalls: halfOpenMaxCalls.defaultValue, failureRate: failureRate.defaultValue, backoff: backoff.defaultValue)
    }

    /// A probe or hook under its key: the call's lines, then its `timeout`.
    private static func timedCallLines(_ call: CallSpecification, _ timeout: Duration?) -> [String] {
        call.kind.effectiveYAMLLines() + (timeout.map { ["timeout: \(YAMLText.duration($0))"] } ?? [])
    }
}
