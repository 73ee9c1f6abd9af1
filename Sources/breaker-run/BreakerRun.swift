import ArgumentParser
import BreakerRunKit

@main
struct BreakerRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "breaker-run")
    func run() throws {}
}
