import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run queue list NAME` and `breaker-run queue drop NAME ID`:
    /// a queue fallback's items, for an operator.
    struct Queue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "queue",
            abstract: "List or drop the items of a breaker's queue fallback.",
            subcommands: [List.self, Drop.self]
        )

        /// `queue list NAME`.
        struct List: RegistryCommand {
            static let configuration = CommandConfiguration(
                commandName: "list",
                abstract: "List a queue's waiting items, oldest first (writes nothing).",
                discussion: """
                    One line per item: its number, its id (BREAKER_QUEUE_ITEM), when it was \
                    queued, its failed attempts, the user who queued it and its command \
                    (the breaker's configured call, or the argv given after --). An unreadable \
                    item is listed as such. A last line counts the dead items.
                    """
            )

            @OptionGroup var options: GlobalOptions

            @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
            var name: String

            func run(with registry: KindRegistry) throws {
                let session = try options.openSession(only: [name], registry: registry)
                let listed: (entries: [QueueEntry], summary: QueueSummary)
                do throws(UseCaseError) {
                    listed = try session.queueItems(name)
                } catch {
                    throw exitError(for: error)
                }
                var lines: [String] = []
                for entry in listed.entries {
                    switch entry.contents {
                    case .success(let item):
                        let command = switch item.call {
                        case .configured: "(the configured call)"
                        case .command(let argv): argv.map(ShellQuote.quote).joined(separator: " ")
                        }
                        let queued = formatRFC3339(wallNanoseconds: item.queuedAtWallNanoseconds)
                        lines.append("\(entry.sequence)  \(item.id)  \(queued)  attempts \(item.attempts)  \(item.user.name)  \(command)")
                    case .failure(let error):
                        lines.append("\(entry.sequence)  unreadable: \(error) (\(entry.path))")
                    }
                }
                lines.append("\(listed.entries.count) waiting, \(listed.summary.dead) dead")
                try output(lines.joined(separator: "\n") + "\n")
            }
        }

        /// `queue drop NAME ID`.
        struct Drop: RegistryCommand {
            static let configuration = CommandConfiguration(
                commandName: "drop",
                abstract: "Remove one item from a queue, or from its dead items.",
                discussion: """
                    The item is named by its id, as 'queue list' shows it. An item that a drain \
                    is running is left alone (exit 75). Exits 1 when no item has that id.
                    """
            )

            @OptionGroup var options: GlobalOptions

            @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
            var name: String

            @Argument(help: "The item's id (q- and 32 hexadecimal digits).")
            var id: String

            func run(with registry: KindRegistry) throws {
                let session = try options.openSession(only: [name], registry: registry)
                let outcome: DropOutcome
                do throws(UseCaseError) {
                    outcome = try session.dropQueueItem(name, id: id)
                } catch {
                    throw exitError(for: error)
                }
                switch outcome {
                case .dropped:
                    return
                case .busy:
                    reportLines("\(name): queue item \(id) is being run by a drain; left alone")
                    throw ExitCode(ExitStatus.rejected.rawValue)
                case .notFound:
                    reportLines("\(name): no queue item \(id)")
                    throw ExitCode(1)
                }
            }
        }
    }
}
