import CircuitBreaker

/// What one `breaker-run drain` did, for its lines and its exit status.
public struct DrainReport: Sendable, Equatable {
    /// Why the drain ended.
    public enum Ending: Sendable, Equatable {
        /// No item was left that this drain could run: the queue is empty,
        /// or what is left failed in this drain or is held by another drain.
        case noItemLeft
        /// The breaker rejected the next item (open, held, trials taken,
        /// bulkhead full): the item was released, unchanged.
        case stoppedByBreaker(Rejection)
        /// `--max` items ran.
        case limitReached
        /// breaker-run was interrupted (SIGINT, SIGTERM, SIGHUP) while an
        /// item ran: the item was released, unchanged.
        case interrupted
        /// The state could not be used and the breaker is `fail-closed`:
        /// the item was released, unchanged; the text is the line logged.
        case stateUnavailable(String)
    }

    /// Items run (whatever their outcome).
    public var replayed = 0
    /// Items that succeeded and were removed.
    public var succeeded = 0
    /// Items that failed and stay queued.
    public var kept = 0
    /// Items moved to `queue/dead/` (`max_attempts` reached).
    public var dead = 0
    /// Items dropped for being older than `max_age`.
    public var dropped = 0
    /// Items not run because their file is another user's, or writable by
    /// others (`QueueClaim.ownerIfNotRunnable(byUser:)`); they stay queued.
    public var skipped = 0
    /// The result of the last item run; nil when none ran.
    public var last: RunResult?
    /// Why the drain ended.
    public var ending: Ending = .noItemLeft
    /// Items waiting once the drain ended.
    public var waiting = 0
}

extension Session {
    /// `drain`: replays breaker `name`'s queued items (`queue` fallback),
    /// oldest first, each as a `run` of its call under the breaker.
    ///
    /// First drops the items older than the queue's `max_age` (each
    /// reported). Then, item after item: claims the oldest one that no other
    /// drain holds (`QueueStore.claimOldest(after:)`), gives the call the
    /// item's standard input, its kept variables, `BREAKER_QUEUE_ITEM` (its
    /// id) and `BREAKER_QUEUE_ATTEMPT` (1 for the first replay), and the
    /// item's working directory unless the breaker sets `working_dir`, and
    /// runs it as `run` would (admitted, supervised, recorded; its output
    /// to this process's), without the breaker's fallbacks. A success
    /// removes the item; a failure, an ignored outcome or a launch failure
    /// counts a failed attempt (`max_attempts` of them move it to
    /// `queue/dead/`) and the drain goes on with the items after it; a
    /// rejection releases the item unchanged and stops the drain, as do an
    /// interruption and an unusable fail-closed state. The item's outcome
    /// is recorded in the breaker's state before the item leaves the queue:
    /// a drain killed at any moment loses nothing, and runs at most the
    /// item it was running again (docs/RELIABILITY.md).
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - maximum: the most items to run; nil for all.
    /// - Returns: what was done.
    /// - Throws: `.configuration` for an unknown breaker or a `${VAR}` of it
    ///   unset; `.state` when the queue cannot be opened, listed or changed
    ///   (the items done before stay done).
    public func drain(_ name: String, maximum: Int? = nil) throws(UseCaseError) -> DrainReport {
        let breaker: BreakerConfiguration
        do throws(ConfigurationError) {
            breaker = try configuration.breaker(named: name)
        } catch {
            throw .configuration(error)
        }
        let options = breaker.fallbacks.lazy.compactMap { $0.kind as? QueueFallback }.first ?? QueueFallback()
        let queue = queue(of: name)
        var report = DrainReport()
        do {
            let now = clock.now().wallNanoseconds
            for item in try queue.dropExpired(maxAge: options.maxAge, nowWallNanoseconds: now) {
                logger.notice("\(name): dropped queue item \(item.id), queued \(DurationFormat.string(item.age(atWallNanoseconds: now))) ago, over max_age \(DurationFormat.string(options.maxAge))")
                report.dropped += 1
            }
            count(in: queue, replayed: 0, dropped: report.dropped)
            var after: UInt64 = 0
            while maximum.map({ report.replayed < $0 }) ?? true {
                guard let claim = try queue.claimOldest(after: after) else { break }
                after = claim.sequence
                if let owner = claim.ownerIfNotRunnable(byUser: geteuid()) {
                    logger.warning("\(name): queue item \(claim.item.id) is not run: its file \(claim.path) is owned by uid \(owner) or writable by others, and a drain runs only its own user's items (run the drain as uid \(owner))")
                    claim.release()
                    report.skipped += 1
                    continue
                }
                if let ending = try replay(claim, of: breaker, options: options, report: &report) {
                    report.ending = ending
                    break
                }
            }
            if report.ending == .noItemLeft, let maximum, report.replayed >= maximum { report.ending = .limitReached }
            report.waiting = try queue.summary(nowWallNanoseconds: now).waiting
        } catch {
            throw .state(error)
        }
        logger.log(level: report.replayed + report.dropped > 0 ? .notice : .info,
                   "\(name): drain: \(report.succeeded) replayed, \(report.kept) kept after failing, \(report.dead) dead, \(report.dropped) dropped\(report.skipped > 0 ? ", \(report.skipped) skipped (another user's)" : ""); \(report.waiting) waiting")
        return report
    }

    /// Runs one claimed item and completes or releases its claim.
    /// - Returns: why the drain stops, or nil to go on.
    private func replay(_ claim: QueueClaim, of breaker: BreakerConfiguration, options: QueueFallback,
                        report: inout DrainReport) throws -> DrainReport.Ending? {
        let item = claim.item
        let name = breaker.name
        let call: CallSpecification
        switch item.call {
        case .command(let argv): call = .command(argv)
        case .configured:
            guard let configured = breaker.call else {
                let path = try claim.moveToDead()
                logger.error("\(name): queue item \(item.id) names the configured call, and the breaker has none; moved to \(path)")
                report.dead += 1
                return nil
            }
            call = configured
        }
        var replayed = breaker
        replayed.fallbacks = []
        if replayed.workingDirectory == nil { replayed.workingDirectory = item.workingDirectory }
        var runner = runner()
        // This drain runs the queue: a trial of it that closes the breaker
        // starts no other.
        runner.afterClose = { _ in }
        runner.environment = environment.merging(item.environment) { $1 }
            .merging(["BREAKER_QUEUE_ITEM": item.id, "BREAKER_QUEUE_ATTEMPT": String(item.attempts + 1)]) { $1 }
        do {
            try replaceInput(item.standardInput, environment)
        } catch {
            claim.release()
            throw StateStoreError.cannotWrite(path: "standard input of queue item \(item.id)", error)
        }
        let result = runner.run(call, under: replayed)
        switch result {
        case .rejected(let rejection, _), .fellBack(let rejection, _):
            claim.release()
            return .stoppedByBreaker(rejection)
        case .stateUnavailable(let line):
            claim.release()
            report.last = result
            return .stateUnavailable(line)
        case .ran(let run) where run.interruption != nil:
            claim.release()
            report.replayed += 1
            report.last = result
            return .interrupted
        case .ran(let run) where run.outcome == .success:
            report.replayed += 1
            report.last = result
            try claim.remove()
            report.succeeded += 1
            count(in: queue(of: name), replayed: 1, dropped: 0)
        case .ran, .launchFailed:
            report.replayed += 1
            report.last = result
            switch try claim.recordFailure(maxAttempts: options.maxAttempts) {
            case .kept(let attempts):
                logger.notice("\(name): queue item \(item.id) failed (attempt \(attempts) of \(options.maxAttempts)); kept")
                report.kept += 1
            case .dead(let attempts, let path):
                logger.warning("\(name): queue item \(item.id) failed \(attempts) times (max_attempts); moved to \(path)")
                report.dead += 1
            }
        }
        return nil
    }

    /// Adds to the queue's totals (`metrics`' counters); a failure is a
    /// warning: the items are done, only the count is lost.
    private func count(in queue: QueueStore, replayed: Int, dropped: Int) {
        do {
            try queue.addToTotals(replayed: replayed, dropped: dropped)
        } catch {
            logger.warning("\(queue.breaker): the queue's totals not counted (\(error))")
        }
    }
}
