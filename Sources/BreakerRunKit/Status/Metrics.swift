import CircuitBreaker

/// Breakers in the Prometheus text exposition format (version 0.0.4), for
/// `breaker-run metrics` and for node_exporter's textfile collector
/// (`metrics_file`).
///
/// Every family is named under `breaker_run_`, with its unit in the name as
/// Prometheus's naming guide asks (`_seconds`, `_total` for counters), and
/// carries a `breaker` label. The families, with all breakers' samples of a
/// family together as the format requires:
///
///     breaker_run_state{breaker,state}              gauge: 1 for the effective state, 0 for the others
///     breaker_run_held{breaker}                     gauge: 1 when held open until a reset
///     breaker_run_calls_total{breaker,outcome}      counter: success, failure, ignored, rejected
///     breaker_run_fallbacks_total{breaker}          counter: rejected calls answered by a fallback
///     breaker_run_transitions_total{breaker}        counter: stored transitions
///     breaker_run_consecutive_failures{breaker}     gauge
///     breaker_run_next_trial_seconds{breaker}       gauge: 0 unless open; +Inf when held
///     breaker_run_open_interval_seconds{breaker}    gauge: the current opening's length when open,
///                                                   else reset_timeout; +Inf when held
///     breaker_run_opened_timestamp_seconds{breaker} gauge: Unix time of the last opening, 0 if never
///     breaker_run_queue_items{breaker}              gauge: items waiting in a queue fallback (breakers with one only)
///     breaker_run_queue_dead_items{breaker}         gauge: items of it moved to queue/dead/
///     breaker_run_queue_items_total{breaker,event}  counter: queued, replayed, dropped
public enum Metrics {
    /// The content type of the output, for an HTTP exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// One breaker to export: its name, state and rules.
    public struct Breaker: Sendable {
        /// The breaker's name.
        public var name: String
        /// Its stored state.
        public var state: BreakerRecord
        /// Its rules (for `reset_timeout`).
        public var policy: Policy
        /// Its queue's figures; nil when it has no queue (no sample then).
        package var queue: QueueSummary?
        /// Its queue's lifetime totals; nil when it has no queue.
        package var queueTotals: QueueTotals?
        /// A keyed breaker's keys by state (`breaker_run_keys`); nil for a
        /// plain breaker. Its `state.counts` are then the whole breaker's
        /// own and every tracked key's, summed: never one series per key.
        package var keys: KeysStatus?

        /// Creates an entry.
        /// - Parameters:
        ///   - name: the breaker's name.
        ///   - state: its stored state.
        ///   - policy: its rules.
        public init(name: String, state: BreakerRecord, policy: Policy) {
            self.name = name
            self.state = state
            self.policy = policy
        }
    }

    private struct Family {
        var name: String
        var type: String
        var help: String
        /// Left out altogether when no breaker has a sample of it.
        var isOptional = false
        var samples: @Sendable (Breaker, Instant) -> [(labels: [(String, String)], value: String)]
    }

    /// The exposition of `breakers` as of `now`: HELP and TYPE lines, then
    /// one sample per breaker (per label value), families in a fixed order,
    /// breakers in the order given. Ends with a newline.
    /// - Parameters:
    ///   - breakers: the breakers, in the order to print them.
    ///   - now: the current time, for the effective state and the time to
    ///     the next trial.
    /// - Returns: the text.
    public static func render(_ breakers: [Breaker], at now: Instant) -> String {
        var lines: [String] = []
        for family in families {
            let samples = breakers.map { ($0, family.samples($0, now)) }
            // The queue families only when a breaker has a queue.
            if family.isOptional && samples.allSatisfy({ $0.1.isEmpty }) { continue }
            lines.append("# HELP \(family.name) \(escapeHelp(family.help))")
            lines.append("# TYPE \(family.name) \(family.type)")
            for (breaker, breakerSamples) in samples {
                for sample in breakerSamples {
                    let labels = ([("breaker", breaker.name)] + sample.labels)
                        .map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }
                        .joined(separator: ",")
                    lines.append("\(family.name){\(labels)} \(sample.value)")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A label value escaped as the text format asks: backslash, double
    /// quote and line feed as `\\`, `\"` and `\n`.
    /// - Parameter value: the raw value.
    /// - Returns: the escaped value, without the surrounding quotes.
    public static func escapeLabelValue(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    private static func escapeHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    private static func seconds(_ duration: Duration) -> String {
        let (whole, attoseconds) = duration.components
        if attoseconds == 0 { return String(whole) }
        return String(Double(whole) + Double(attoseconds) / 1e18)
    }

    private static func count(_ value: UInt64) -> String { String(value) }

    private static let families: [Family] = [
        Family(name: "breaker_run_state", type: "gauge",
               help: "Whether the breaker is in this state (1) or not (0), effective as of the scrape.") { breaker, now in
            let current = breaker.state.effectiveCircuitState(at: now).name
            return CircuitState.Name.allCases.map { ([("state", $0.rawValue)], $0 == current ? "1" : "0") }
        },
        Family(name: "breaker_run_held", type: "gauge",
               help: "Whether an operator holds the breaker open until a reset (1) or not (0).") { breaker, now in
            [([], breaker.state.effectiveCircuitState(at: now) == .held ? "1" : "0")]
        },
        Family(name: "breaker_run_calls_total", type: "counter",
               help: "Calls by outcome since the breaker was first used: success, failure and ignored ran; rejected did not.") { breaker, _ in
            let counts = breaker.state.counts
            return [
                ([("outcome", "success")], count(counts.successes)),
                ([("outcome", "failure")], count(counts.failures)),
                ([("outcome", "ignored")], count(counts.ignored)),
                ([("outcome", "rejected")], count(counts.rejected)),
            ]
        },
        Family(name: "breaker_run_fallbacks_total", type: "counter",
               help: "Rejected calls answered by a fallback.") { breaker, _ in
            [([], count(breaker.state.counts.fallbacks))]
        },
        Family(name: "breaker_run_transitions_total", type: "counter",
               help: "State transitions stored since the breaker was first used.") { breaker, _ in
            [([], count(breaker.state.generation))]
        },
        Family(name: "breaker_run_consecutive_failures", type: "gauge",
               help: "Failures in a row since the last success.") { breaker, _ in
            [([], String(breaker.state.consecutiveFailures))]
        },
        Family(name: "breaker_run_next_trial_seconds", type: "gauge",
               help: "Seconds until an open breaker lets a trial through; 0 when not open, +Inf when held until a reset.") { breaker, now in
            switch breaker.state.effectiveCircuitState(at: now) {
            case .held: return [([], "+Inf")]
            case .open(let until): return [([], seconds(until.duration(since: now)))]
            case .closed, .halfOpen: return [([], "0")]
            }
        },
        Family(name: "breaker_run_open_interval_seconds", type: "gauge",
               help: "Length of the current opening when open (after backoff and jitter), else reset_timeout; +Inf when held.") { breaker, _ in
            switch breaker.state.circuitState {
            case .held: return [([], "+Inf")]
            case .open(let until):
                if let opened = breaker.state.openedAt { return [([], seconds(until.duration(since: opened)))] }
                return [([], seconds(breaker.policy.resetTimeout))]
            case .closed, .halfOpen: return [([], seconds(breaker.policy.resetTimeout))]
            }
        },
        Family(name: "breaker_run_opened_timestamp_seconds", type: "gauge",
               help: "Unix time of the breaker's last opening; 0 if it never opened.") { breaker, _ in
            guard let opened = breaker.state.openedAt else { return [([], "0")] }
            let nanoseconds = opened.wallNanoseconds
            if nanoseconds % 1_000_000_000 == 0 { return [([], String(nanoseconds / 1_000_000_000))] }
            return [([], String(Double(nanoseconds) / 1e9))]
        },
        Family(name: "breaker_run_keys", type: "gauge",
               help: "Keys a keyed breaker (per_key) tracks, by effective state.", isOptional: true) { breaker, _ in
            guard let keys = breaker.keys else { return [] }
            return [([("state", "closed")], String(keys.closed)), ([("state", "open")], String(keys.open)),
                    ([("state", "half-open")], String(keys.halfOpen))]
        },
        Family(name: "breaker_run_queue_items", type: "gauge",
               help: "Items waiting in the breaker's queue fallback, those a drain is running included.", isOptional: true) { breaker, _ in
            breaker.queue.map { [([], String($0.waiting))] } ?? []
        },
        Family(name: "breaker_run_queue_dead_items", type: "gauge",
               help: "Items of the breaker's queue that failed max_attempts times (queue/dead/).", isOptional: true) { breaker, _ in
            breaker.queue.map { [([], String($0.dead))] } ?? []
        },
        Family(name: "breaker_run_queue_items_total", type: "counter",
               help: "Items of the breaker's queue by event: queued, replayed (run with success and removed), dropped (older than max_age).",
               isOptional: true) { breaker, _ in
            guard let totals = breaker.queueTotals else { return [] }
            return [([("event", "queued")], count(totals.queued)), ([("event", "replayed")], count(totals.replayed)),
                    ([("event", "dropped")], count(totals.dropped))]
        },
    ]
}
