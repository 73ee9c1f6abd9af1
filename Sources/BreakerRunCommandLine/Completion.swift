import ArgumentParser
import BreakerRunKit

#if canImport(Glibc)
import Glibc
#endif

/// Shell completion of breaker names: the shells' completion scripts (from
/// `breaker-run --generate-completion-script bash|zsh|fish`) call back into
/// breaker-run, which loads the configuration the command line names
/// (`--config`, else the usual places) and offers its breakers.
enum BreakerNameCompletion {
    /// The completion kind of every argument that names a breaker.
    static let kind = CompletionKind.custom { words, _, prefix in
        names(words: words, prefix: prefix, environment: ProcessEnvironment.current())
    }

    /// The breaker names that start with `prefix`, from the configuration
    /// named by `--config` in `words` (else `$BREAKER_RUN_CONFIG`, else the
    /// usual places); none when it cannot be loaded. Never prints anything:
    /// a shell is waiting for the answer.
    /// - Parameters:
    ///   - words: the command line being completed.
    ///   - prefix: what has been typed of the word being completed.
    ///   - environment: the process environment.
    /// - Returns: the names, sorted.
    static func names(words: [String], prefix: String, environment: [String: String]) -> [String] {
        var explicit: String?
        for (index, word) in words.enumerated() {
            if word == "--config", index + 1 < words.count {
                explicit = words[index + 1]
            } else if word.hasPrefix("--config=") {
                explicit = String(word.dropFirst("--config=".count))
            }
        }
        // `~/x` as typed, before the shell expands it.
        if let path = explicit, path.hasPrefix("~/"), let home = environment["HOME"] {
            explicit = home + path.dropFirst()
        }
        guard let configuration = try? ConfigurationLoader.load(explicit: explicit, environment: environment, isRoot: getuid() == 0) else {
            return []
        }
        return configuration.breakerNames.filter { $0.hasPrefix(prefix) }
    }
}
