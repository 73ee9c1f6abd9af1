import CircuitBreaker
import Logging

/// Says what one `run` invocation did, from typed events, keeping to the
/// rule that an invocation prints at most one line at the default level
/// (notice), so that cron mails stay quiet (`LineBudget`), and that unusable
/// state is warned about once (`StateFaultLatch`). Every line of the run
/// stages goes through here.
final class RunNarrator {
    /// What happened, as the run's stages tell it.
    enum Event {
        /// State could not be used and the run goes on (fail-open, or a
        /// count or permit that could not be taken): warned about once per
        /// invocation, at debug level after.
        case stateFault(String)
        /// State could not be used and the call does not run
        /// (`on_state_error: fail-closed`); the message is the whole line.
        case stateRefusal(String)
        /// Transitions stored by an admission or an outcome; `cause` is the
        /// failure to add to an opening's line, if nothing else says it.
        case transitions([Transition], of: BreakerConfiguration, state: BreakerRecord, at: Instant, cause: String?)
        /// A call forced past the breaker (`run --force`) in the circuit state `circuitState`.
        case forced(String, circuitState: CircuitState.Name)
        /// The call ran past its `timeout`; a process was killed, a network
        /// call abandoned.
        case callTimedOut(String, after: Duration, isNetwork: Bool)
        /// A network call failed: said at the end of the invocation unless a
        /// retry follows or a more notable line is said meanwhile.
        case callFailed(String, cause: String)
        /// An attempt failed and another follows after `delay`.
        case attemptFailed(String, attempt: Int, of: Int, reason: String, delay: Duration)
        /// The probe passed; the call runs.
        case probePassed(String)
        /// The probe failed; the attempt is rejected.
        case probeFailed(String, reason: String)
        /// The probe was inconclusive; the call is the trial.
        case probeIgnored(String, reason: String)
        /// A rejected call, and what answered it (`how`): a fallback, or
        /// `exiting CODE`.
        case rejected(String, Rejection, at: Instant, how: String)
        /// The call's stdout, copied for the `cached` fallback, could not all
        /// be delivered, for another reason than a reader that went away
        /// (which SIGPIPE says, as without the copy).
        case outputLost(String, SystemError)
        /// A successful call's stdout was over the `cached` fallback's limit.
        case outputNotCached(String, limit: Int)
        /// A successful call's stdout could not be kept.
        case cacheNotWritten(String, any Error)
        /// The kept output could not be read for a `cached` fallback.
        case cacheNotRead(String, any Error)
    }

    /// Where the lines go.
    let logger: Logger
    /// Reports transitions (and runs their hooks, which the stages ask for).
    let reporter: TransitionReporter
    private let budget = LineBudget()
    private let faults = StateFaultLatch()

    /// Creates the narrator of one invocation.
    /// - Parameters:
    ///   - logger: where the lines go.
    ///   - reporter: reports transitions.
    init(logger: Logger, reporter: TransitionReporter) {
        self.logger = logger
        self.reporter = reporter
    }

    /// Says `event`, at the level the one-line rule gives it.
    /// - Parameter event: what happened.
    func tell(_ event: Event) {
        switch event {
        case .stateFault(let message):
            faults.warn(logger, message)
        case .stateRefusal(let message):
            logger.error("\(message)")
        case .transitions(let transitions, let breaker, let state, let now, let cause):
            reporter.report(transitions, of: breaker, state: state, at: now, budget: budget, cause: cause, runsHooks: false)
        case .forced(let name, let circuitState):
            logger.log(level: budget.takeLevel(), "\(name): forced past the breaker (\(circuitState.rawValue))")
        case .callTimedOut(let name, let timeout, let isNetwork):
            logger.log(level: budget.takeLevel(), "\(name): call timed out after \(DurationFormat.string(timeout))\(isNetwork ? "" : "; killed")")
        case .callFailed(let name, let cause):
            budget.hold("\(name): call failed: \(cause)")
        case .attemptFailed(let name, let attempt, let attempts, let reason, let delay):
            budget.dropHeld()
            logger.info("\(name): attempt \(attempt) of \(attempts) failed (\(reason)); next in \(DurationFormat.string(delay))")
        case .probePassed(let name):
            logger.info("\(name): probe passed; running the call")
        case .probeFailed(let name, let reason):
            logger.log(level: budget.takeLevel(), "\(name): probe failed (\(reason))")
        case .probeIgnored(let name, let reason):
            logger.log(level: budget.takeLevel(), "\(name): probe ignored (\(reason))")
        case .rejected(let name, let rejection, let now, let how):
            logger.log(level: budget.takeLevel(), "\(name): rejected, \(Self.describe(rejection, now: now)); \(how)")
        case .outputLost(let name, let lost):
            logger.error("\(name): the call's output was lost (\(lost)); exiting 74")
        case .outputNotCached(let name, let limit):
            logger.notice("\(name): output not cached: larger than max_size (\(limit) bytes)")
        case .cacheNotWritten(let name, let error):
            logger.warning("\(name): output not cached (\(error))")
        case .cacheNotRead(let name, let error):
            // Said, not swallowed: a planted link or an unreadable file
            // would otherwise look like an empty cache.
            logger.warning("\(name): cached output not used (\(error)); trying the next fallback")
        }
    }

    /// Ends the invocation: says the line held for the end, if any.
    func finish() {
        budget.flush(to: logger)
    }

    private static func describe(_ rejection: Rejection, now: Instant) -> String {
        switch rejection {
        case .open(let retryAfter): "breaker is open (next trial in \(retryAfter.secondsRoundedUp)s)"
        default: rejection.description
        }
    }
}
