extension Session {
    /// `queue list NAME`: breaker `name`'s waiting items, oldest first,
    /// read without a lock and without writing (an unreadable item is listed
    /// as such; the next drain moves it aside).
    /// - Parameter name: the breaker's name.
    /// - Returns: the entries, and the figures (dead items among them).
    /// - Throws: `.configuration` for an unknown breaker; `.state` when the
    ///   queue cannot be opened or listed.
    package func queueItems(_ name: String) throws(UseCaseError) -> (entries: [QueueEntry], summary: QueueSummary) {
        _ = try definition(name)
        let queue = queue(of: name)
        do {
            return (try queue.list(), try queue.summary(nowWallNanoseconds: clock.now().wallNanoseconds))
        } catch {
            throw .state(error)
        }
    }

    /// `queue drop NAME ID`: removes item `id` from breaker `name`'s queue,
    /// or from its dead items, for an operator; an item a drain is running
    /// is left alone.
    /// - Parameters:
    ///   - name: the breaker's name.
    ///   - id: the item's id (`q-` and 32 hexadecimal digits).
    /// - Returns: what was done.
    /// - Throws: `.configuration` for an unknown breaker; `.state` when the
    ///   queue cannot be opened, listed or changed.
    package func dropQueueItem(_ name: String, id: String) throws(UseCaseError) -> DropOutcome {
        _ = try definition(name)
        do {
            let outcome = try queue(of: name).drop(id: id)
            if case .dropped(let item, let fromDead) = outcome {
                logger.notice("\(name): queue item \(item.id) dropped\(fromDead ? " from the dead items" : "") by \(InvokingUser.current())")
            }
            return outcome
        } catch {
            throw .state(error)
        }
    }
}
