import ArgumentParser
import BreakerRunKit

/// The core binary's hand-over to `breaker-run-full`, the same commands with
/// the network plugins (DESIGN, "plugins of the host"): when the breakers a
/// subcommand acts on need a plugin this binary lacks, it replaces itself
/// with the full binary (`execv(3)`, same argv and environment, standard
/// streams untouched) before anything has run and while no lock is held.
enum Handover {
    /// The full binary's file name.
    static let fullBinaryName = "breaker-run-full"

    /// Where the full binary is looked for, in order: the installed layout
    /// (`<dir>/../libexec/breaker-run/breaker-run-full`, as `make install`
    /// puts it), then beside this binary (the build folder).
    /// - Parameter executable: this binary's path (`/proc/self/exe`).
    /// - Returns: the candidate paths.
    static func candidates(executable: String) -> [String] {
        let directory = parent(of: executable)
        let prefix = parent(of: directory)
        return [
            (prefix == "/" ? "" : prefix) + "/libexec/breaker-run/" + fullBinaryName,
            (directory == "/" ? "" : directory) + "/" + fullBinaryName,
        ]
    }

    /// Hands over to the full binary when one of `breakers` needs a plugin
    /// this process lacks; returns when none does.
    /// - Parameters:
    ///   - breakers: the breakers the subcommand acts on.
    ///   - runningCalls: whether it runs their calls (`run`), or only reads
    ///     or changes their state.
    ///   - isVerbose: whether to say on standard error where it hands over
    ///     (`-vv`).
    ///   - registry: the plugins this binary has.
    /// - Throws: `ExitCode(69)` (EX_UNAVAILABLE, sysexits.h) after a
    ///   one-line message naming the breaker, the plugin and where the full
    ///   binary was looked for, when it is in none of those places or cannot
    ///   be executed.
    static func ifNeeded(for breakers: some Sequence<BreakerConfiguration>, runningCalls: Bool, isVerbose: Bool, registry: KindRegistry) throws {
        guard let missing = registry.firstMissing(for: breakers, runningCalls: runningCalls) else { return }
        let executable = currentExecutable()
        let paths = executable.map(candidates(executable:)) ?? []
        let own = executable.flatMap(resolved)
        for path in paths where access(path, X_OK) == 0 {
            // A full binary that resolves to this very file would hand over
            // to itself for ever.
            if let own, resolved(path) == own { continue }
            if isVerbose {
                StandardOutput.writeError("breaker-run: handing over to \(path): breaker \(missing.breaker) needs the \(missing.plugin) plugin\n")
            }
            CurrentProcess.replace(with: path, arguments: CommandLine.unsafeArgv)
            // execv returned: it failed; try the next place.
        }
        let places = paths.isEmpty ? "(the path of this binary is unknown)" : paths.joined(separator: " nor ")
        StandardOutput.writeError("breaker-run: breaker \(missing.breaker) needs the \(missing.plugin) plugin, which this binary lacks, "
            + "and \(fullBinaryName) is not at \(places): install it (make install) or run \(fullBinaryName) directly\n")
        throw ExitCode(ExitStatus.unavailable.rawValue)
    }

    /// This binary's path, from `/proc/self/exe` (proc(5)).
    static func currentExecutable() -> String? {
        CurrentProcess.executablePath()
    }

    /// `path` with every symbolic link resolved (`realpath(3)`), or nil.
    private static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// The directory part of an absolute path: `/a/b` gives `/a`, `/a` gives `/`.
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
