extension Session {
    /// Starts `breaker-run drain NAME` detached when a trial of this
    /// invocation closed `breaker`, its `queue` fallback says `drain:
    /// on_close`, and items wait: in a session of its own, so that recovery
    /// needs no operator and this invocation does not wait for it. The
    /// drain's output (its lines, and the output of the calls it replays) is
    /// appended to `NAME/queue/drain.log`; a drain that cannot be started
    /// is a warning, and the items wait for the next drain.
    /// - Parameter breaker: the breaker that closed.
    func startDrainOnClose(of breaker: BreakerConfiguration) {
        guard breaker.fallbacks.contains(where: { ($0.kind as? QueueFallback)?.drainsOnClose == true }) else { return }
        let name = breaker.name
        let queue = queue(of: name)
        guard let waiting = try? queue.summary(nowWallNanoseconds: clock.now().wallNanoseconds).waiting, waiting > 0 else { return }
        let advice = "run 'breaker-run drain \(name)'"
        guard let executable = CurrentProcess.executablePath() else {
            logger.warning("\(name): the queue's drain not started (this program's path cannot be read); \(advice)")
            return
        }
        let log: (descriptor: Int32, path: String)
        do {
            guard let opened = try queue.openDrainLog() else { return }
            log = opened
        } catch {
            logger.warning("\(name): the queue's drain not started (\(error)); \(advice)")
            return
        }
        defer { closeDescriptor(log.descriptor) }
        var arguments = [executable]
        if let file = configurationFileOption { arguments += ["--config", file] }
        arguments += ["--state-dir", stateDirectory, "drain", name]
        do {
            let pid = try supervisor.startDetached(ProcessSpecification(arguments: arguments, environment: environment), output: log.descriptor)
            logger.info("\(name): closed with \(waiting) queued item\(waiting == 1 ? "" : "s"); draining in process \(pid), output to \(log.path)")
        } catch {
            logger.warning("\(name): the queue's drain not started (\(error)); \(advice)")
        }
    }
}
