import ArgumentParser
import BreakerRunKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension BreakerRun {
    /// `breaker-run run NAME [--force] [-- COMMAND [ARG...]]`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            _superCommandName: BreakerRun.name,
            abstract: "Run a call under a breaker, or its fallback when the breaker is open.",
            discussion: """
                The call is COMMAND ARG... when given after --, executed directly (no shell), \
                else the breaker's configured call. Its stdin, stdout, stderr and exit status \
                pass through unchanged. A rejected call runs the breaker's fallback, or exits \
                with the breaker's open_exit_code (75, EX_TEMPFAIL, by default).
                """
        )

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The breaker's name.", completion: BreakerNameCompletion.kind)
        var name: String

        @Flag(help: "Run even when the breaker is open; the outcome counts as a trial.")
        var force = false

        @Argument(parsing: .postTerminator, help: ArgumentHelp("The command to run, after --.", valueName: "command"))
        var command: [String] = []

        func run() throws {
            let context = try options.loadContext(only: [name], runsCalls: true)
            let breaker = try context.runnableBreaker(name)
            guard let call = BreakerRunner.call(for: breaker, command: command) else {
                throw ValidationError("breaker '\(name)' has no configured call: give the command after --, as in 'breaker-run run \(name) -- COMMAND'")
            }
            let runner = BreakerRunner(store: context.store, logger: context.logger, environment: context.environment)
            let result = runner.run(call, under: breaker, force: force)
            Self.exit(for: result)
        }

        /// Ends breaker-run as the run asks: the call's own status or signal,
        /// 124 after a timeout (of the call or of a fallback), 126/127 for a
        /// launch failure, the fallback's status, 74 when a static fallback's
        /// output or the call's copied output could not be written (SIGPIPE
        /// when its reader went away), or the breaker's `open_exit_code`;
        /// 74 when the state is unusable and `on_state_error` is `fail-closed`.
        static func exit(for result: RunResult) -> Never {
            switch result {
            case .ran(let call):
                if call.timedOut { exitLikeChild(.exited(ExitStatus.timedOut.rawValue)) }
                // Interrupted by an operator: end by the same signal, whatever the
                // call made of it, so that an enclosing shell loop stops too.
                if let signal = call.interruption { exitLikeChild(.signaled(signal)) }
                if let lost = call.outputLost {
                    // Output that did not reach the caller is never a success:
                    // a reader that went away ends breaker-run as it would have
                    // ended the call (SIGPIPE); any other error is 74.
                    guard lost.errno == EPIPE else { exitLikeChild(.exited(ExitStatus.ioError.rawValue)) }
                    if case .signaled = call.termination { exitLikeChild(call.termination) }
                    exitLikeChild(.signaled(SIGPIPE))
                }
                exitLikeChild(call.termination)
            case .launchFailed(let error):
                exitLikeChild(.exited(error.exitStatus))
            case .fellBack(_, .process(_, timedOut: true)):
                exitLikeChild(.exited(ExitStatus.timedOut.rawValue))
            case .fellBack(_, .process(let termination, timedOut: false)):
                exitLikeChild(termination)
            case .fellBack(_, .fixed(let exitCode)), .fellBack(_, .cached(_, let exitCode)):
                exitLikeChild(.exited(exitCode))
            case .fellBack(_, .outputLost):
                exitLikeChild(.exited(ExitStatus.ioError.rawValue))
            case .rejected(_, let exitCode):
                exitLikeChild(.exited(exitCode))
            case .stateUnavailable:
                exitLikeChild(.exited(ExitStatus.ioError.rawValue))
            }
        }
    }
}
