/// One breaker in `status`: its status, or why its state could not be read.
public enum StatusEntry: Encodable, Sendable {
    /// The breaker's status.
    case status(BreakerStatus)
    /// Its state could not be read; `message` is the error.
    case error(name: String, message: String)
    /// A breaker not loaded: its definition, or its file, has an error.
    case broken(name: String, message: String)

    /// Whether its state could not be read.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    private enum CodingKeys: String, CodingKey {
        case name, error, broken
    }

    /// Encodes the status, or `{"name": ..., "error"|"broken": ...}`.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .status(let status):
            try status.encode(to: encoder)
        case .error(let name, let message):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(message, forKey: .error)
        case .broken(let name, let message):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(message, forKey: .broken)
        }
    }
}

/// What `status` shows: each breaker's entry, and which backend keeps it.
public struct StatusReport {
    /// The breakers asked for (every one when none was named), then the
    /// broken ones when none was named.
    public var entries: [StatusEntry]
    /// Each breaker's backend and where it is (never a password), in the
    /// order of `entries`.
    public var locations: [(name: String, location: String)]
}

extension Session {
    /// `status`: the breakers' effective state, counts and recent
    /// transitions; never writes state. One unreadable state does not hide
    /// the others: it is an `.error` entry.
    ///
    /// A keyed breaker shows its own state (its roll-up, an operator's
    /// trip, the rejections it made and the counts of forgotten keys) and
    /// its keys summarised from the key index (`KeysStatus`); one key is
    /// shown like a plain breaker with `key`.
    /// - Parameters:
    ///   - names: the breakers to show; empty for all, and then the broken
    ///     ones too, so that none is silently missing.
    ///   - key: `--key`: show this key of the one keyed breaker named.
    /// - Returns: the entries and where each breaker's state is kept.
    /// - Throws: `.configuration` for an unknown breaker; `.key` for a
    ///   `--key` without exactly one keyed breaker, or not a key.
    public func status(_ names: [String], key: String? = nil) throws(UseCaseError) -> StatusReport {
        if let key {
            guard names.count == 1 else { throw .key("--key shows one key of one breaker: give exactly one NAME with it") }
            let (breaker, keyed) = try keyedTarget(names[0], key: key, requiresKey: false)
            let name = keyed?.storeName ?? breaker.name
            let entry: StatusEntry
            do {
                let (state, now) = try store.read(name)
                var status = BreakerStatus(name: breaker.name, state: state, now: now, policy: breaker.policy)
                status.key = key
                entry = .status(status)
            } catch {
                entry = .error(name: breaker.name, message: String(describing: error))
            }
            return StatusReport(entries: [entry], locations: [(name: breaker.name, location: store.location(of: breaker.name))])
        }
        let selected = names.isEmpty ? configuration.breakerNames : names
        var breakers: [BreakerConfiguration] = []
        for name in selected { breakers.append(try definition(name)) }
        var entries: [StatusEntry] = breakers.map { breaker in
            do {
                let (state, now) = try store.read(breaker.name)
                var status = BreakerStatus(name: breaker.name, state: state, now: now, policy: breaker.policy)
                status.queue = queueSummary(of: breaker).map { BreakerStatus.QueueStatus(items: $0.waiting, oldestAge: $0.oldestAge, deadItems: $0.dead) }
                if breaker.perKey != nil {
                    status.keys = KeysStatus(try store.keyEntries(of: breaker.name), nowWallNanoseconds: now.wallNanoseconds)
                }
                return .status(status)
            } catch {
                return .error(name: breaker.name, message: String(describing: error))
            }
        }
        if names.isEmpty {
            entries += configuration.brokenBreakers.keys.sorted().map { name in
                StatusEntry.broken(name: name, message: "\(configuration.brokenBreakers[name]?.first.map { "\($0)" } ?? "") (run 'breaker-run validate')")
            }
        }
        return StatusReport(entries: entries, locations: breakers.map { (name: $0.name, location: store.location(of: $0.name)) })
    }
}

extension Session {
    /// The figures of `breaker`'s queue, read without a lock and without
    /// writing; nil when the breaker has no `queue` fallback or the queue
    /// cannot be read (an error that `drain` and `queue list` report).
    /// - Parameter breaker: the breaker.
    /// - Returns: the items waiting, the oldest one's age, the dead items.
    func queueSummary(of breaker: BreakerConfiguration) -> QueueSummary? {
        guard breaker.fallbacks.contains(where: { $0.kind is QueueFallback }) else { return nil }
        return try? queue(of: breaker.name).summary(nowWallNanoseconds: clock.now().wallNanoseconds)
    }
}
