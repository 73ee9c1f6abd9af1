/// The `queue` fallback kind (issue 18): "queuing the request for later
/// processing". A rejected invocation is stored in the breaker's queue
/// (`NAME/queue/` of the local state directory, `QueueStore`): its argv (or
/// a reference to the configured call), working directory, standard input
/// (read whole, at most `max_stdin` bytes), the variables named in `env`,
/// the time and the user; the invocation then answers `exit_code` (default
/// 0) with the rejection's one line ending `queued as item 17 of 3 waiting`.
/// `breaker-run drain` replays the items later, at least once, in order.
///
/// It declines, passing the rejection to the next fallback (or
/// `open_exit_code`), with a warning saying why, when the input is larger
/// than `max_stdin`, the queue already holds `max_items` items, or the item
/// cannot be written. Its standard input has been read by then: a next
/// fallback gets what is left of it.
package struct QueueFallback: FallbackKind {
    package static let key = "queue"
    package static let takesExitCode = true
    /// The keys of its mapping.
    static let keys = ["max_items", "max_age", "max_stdin", "max_attempts", "env", "exit_code", "drain"]
    /// The largest `max_stdin`: 32 MiB, so that an item (base64 adds a
    /// third) stays under what the store reads back.
    static let largestStandardInput = 32 << 20

    /// The most items the queue holds (`max_items`, default 1000).
    package var maxItems = 1000
    /// The age above which a drain drops an item (`max_age`, default 7 days).
    package var maxAge: Duration = .seconds(7 * 86_400)
    /// The most bytes of standard input kept (`max_stdin`, default 1 MiB).
    package var maxStandardInput = 1 << 20
    /// Failed replays after which an item is dead (`max_attempts`, default 5).
    package var maxAttempts = 5
    /// The environment variables kept in an item, by name (`env`, none by
    /// default: secrets stay out unless asked for).
    package var environmentNames: [String] = []
    /// The answer's exit status (`exit_code`, default 0, so cron stays quiet).
    package var exitCode: Int32 = 0
    /// Whether the invocation whose trial closes the breaker starts
    /// `breaker-run drain NAME`, detached (`drain: on_close`); false for
    /// drains started by hand, cron or a timer only (`drain: manual`, the
    /// default).
    package var drainsOnClose = false

    /// Creates a queue fallback with the defaults.
    package init() {}

    /// Reads `queue: {max_items: 1000, max_age: 7d, max_stdin: 1MiB,
    /// max_attempts: 5, env: [A, B], exit_code: 0, drain: on_close}`; every
    /// key is optional,
    /// and `queue: {}` is the defaults.
    package static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> QueueFallback? {
        guard let pairs = decoder.mapping(node, key: key, example: "{max_items: 1000, max_age: 7d}") else { return nil }
        var fallback = QueueFallback()
        var isValid = true
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            switch pair.key {
            case "max_items":
                if let value = decoder.integer(pair.value, key: name, in: 1...1_000_000, example: "1000") { fallback.maxItems = value } else { isValid = false }
            case "max_age":
                if let value = decoder.duration(pair.value, key: name, allowsZero: false) { fallback.maxAge = value } else { isValid = false }
            case "max_stdin":
                guard let value = decoder.size(pair.value, key: name, example: "1MiB") else { isValid = false; continue }
                if value > largestStandardInput {
                    decoder.report(at: pair.value.location, "'\(name)' is at most 32MiB, not \(value) bytes")
                    isValid = false
                }
                fallback.maxStandardInput = value
            case "max_attempts":
                if let value = decoder.integer(pair.value, key: name, in: 1...1_000, example: "5") { fallback.maxAttempts = value } else { isValid = false }
            case "env":
                if let names = environmentNames(pair.value, key: name, decoder: &decoder) { fallback.environmentNames = names } else { isValid = false }
            case "exit_code":
                if let value = decoder.integer(pair.value, key: name, in: 0...255, example: "0") { fallback.exitCode = Int32(value) } else { isValid = false }
            case "drain":
                switch decoder.string(pair.value, key: name, example: "on_close") {
                case "on_close": fallback.drainsOnClose = true
                case "manual": fallback.drainsOnClose = false
                case nil: isValid = false
                case let other?:
                    decoder.report(at: pair.value.location, "'\(name)' is on_close or manual, not '\(other)'")
                    isValid = false
                }
            default:
                decoder.unknownOrFuture(pair, known: keys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        return isValid ? fallback : nil
    }

    /// Reads `env: [A, B]`: a list of variable names.
    private static func environmentNames(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> [String]? {
        guard case let .sequence(items) = node.content else {
            decoder.report(at: node.location, "'\(key)' must be a list of variable names such as [TZ, BATCH_DATE], not \(decoder.describe(node))")
            return nil
        }
        var names: [String] = []
        for item in items {
            guard case let .scalar(text, _) = item.content, !item.isNull, isVariableName(text) else {
                decoder.report(at: item.location, "each item of '\(key)' must be a variable name such as TZ (letters, digits and '_', not first a digit)")
                return nil
            }
            if !names.contains(text) { names.append(text) }
        }
        return names
    }

    /// Whether `text` is a portable variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    static func isVariableName(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return text.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
    }

    package func settingExitCode(_ exitCode: Int32) -> QueueFallback {
        var fallback = self
        fallback.exitCode = exitCode
        return fallback
    }

    package func effectiveYAMLLines() -> [String] {
        let env = "[" + environmentNames.map(YAMLText.scalar).joined(separator: ", ") + "]"
        return ["\(Self.key): {max_items: \(maxItems), max_age: \(YAMLText.duration(maxAge)), max_stdin: \(maxStandardInput), max_attempts: \(maxAttempts), env: \(env), drain: \(drainsOnClose ? "on_close" : "manual")}",
                "exit_code: \(exitCode)"]
    }

    package func answer(_ context: FallbackContext) -> FallbackAnswer {
        let name = context.breaker.name
        let next = context.hasNext ? "; trying the next fallback" : ""
        guard let queue = context.queue else {
            context.logger.warning("\(name): not queued: this command keeps no queue\(next)")
            return .declined
        }
        let input: [UInt8]
        do {
            input = try context.readInput(maxStandardInput + 1)
        } catch {
            context.logger.warning("\(name): not queued: the standard input could not be read (\(error))\(next)")
            return .declined
        }
        if input.count > maxStandardInput {
            context.logger.warning("\(name): not queued: the standard input is larger than max_stdin (\(maxStandardInput) bytes)\(next)")
            return .declined
        }
        guard let directory = context.workingDirectory() else {
            context.logger.warning("\(name): not queued: the working directory cannot be read\(next)")
            return .declined
        }
        let item = QueueItem(
            call: context.isConfiguredCall ? .configured : .command(context.arguments),
            workingDirectory: directory,
            standardInput: input,
            environment: context.environment.filter { environmentNames.contains($0.key) },
            queuedAtWallNanoseconds: context.now.wallNanoseconds
        )
        do {
            switch try queue.enqueue(item, maxItems: maxItems) {
            case .queued(let position):
                return .answered(.answered(exitCode: exitCode, how: "queued as \(position)"))
            case .full(let waiting, let maxItems):
                context.logger.warning("\(name): not queued: the queue is full (\(waiting) items waiting, max_items \(maxItems))\(next)")
            case .tooLarge(let bytes, let limit):
                context.logger.warning("\(name): not queued: the item would be \(bytes) bytes, over \(limit)\(next)")
            }
        } catch {
            context.logger.error("\(name): not queued: \(error)\(next)")
        }
        return .declined
    }
}
