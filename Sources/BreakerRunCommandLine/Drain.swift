import ArgumentParser
import BreakerRunKit

extension BreakerRun {
    /// `breaker-run drain NAME [--max N]`: replays a `queue` fallback's items.
    struct Drain: RegistryCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain",
            abstract: "Replay a queue fallback's items under the breaker, oldest first.",
            discussion: """
                Drops the items older than the queue's max_age (each reported), then runs each \
                item's call as 'run' would (admitted, supervised and recorded by the breaker; \
                its output to this command's), with the item's standard input and \
                BREAKER_QUEUE_ITEM and BREAKER_QUEUE_ATTEMPT in its environment. A success \
                removes the item; a failure keeps it (max_attempts failures move it to \
                queue/dead/); a rejection stops the drain and keeps the item. Items run at \
                least once: a drain killed while an item runs may run that item again. Exits 0 \
                when the queue is empty, 75 when the breaker stopped the drain, else the last \
                item's status.
                """
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Option(name: .customLong("max"), help: ArgumentHelp("Run at most this many items.", valueName: "n"))
        var maximum: Int?

        func validate() throws {
            if let maximum, maximum < 1 { throw ValidationError("--max must be at least 1, not \(maximum)") }
        }

        func run(with registry: KindRegistry) throws {
            let session = try options.openSession(only: [name], runsCalls: true, registry: registry)
            let report: DrainReport
            do throws(UseCaseError) {
                report = try session.drain(name, maximum: maximum)
            } catch {
                throw exitError(for: error)
            }
            switch report.ending {
            case .stoppedByBreaker:
                throw ExitCode(ExitStatus.rejected.rawValue)
            case .stateUnavailable:
                throw ExitCode(ExitStatus.ioError.rawValue)
            case .noItemLeft, .limitReached, .interrupted:
                if report.waiting == 0 && report.ending != .interrupted { return }
                if let last = report.last { Run.exit(for: last) }
            }
        }
    }
}
