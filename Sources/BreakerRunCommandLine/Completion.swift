import ArgumentParser
import BreakerRunKit

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
                // bash splits `--config=FILE` at the `=` (COMP_WORDBREAKS).
                let value = words[index + 1] == "=" && index + 2 < words.count ? index + 2 : index + 1
                explicit = words[value]
            } else if word.hasPrefix("--config=") {
                explicit = String(word.dropFirst("--config=".count))
            }
        }
        explicit = explicit.map(unquoted)
        // `~/x` as typed, before the shell expands it.
        if let path = explicit, path.hasPrefix("~/"), let home = environment["HOME"] {
            explicit = home + path.dropFirst()
        }
        guard let configuration = try? ConfigurationLoader.load(explicit: explicit, environment: environment, isRoot: getuid() == 0, isLenient: true) else {
            return []
        }
        return configuration.breakerNames.filter { $0.hasPrefix(prefix) }
    }

    /// A word as typed on the command line, which the shells pass to the
    /// callback before they remove its quoting: `'a b'` or `"a b"` loses its
    /// quotes, and a backslash escapes the character after it (`a\ b`).
    /// - Parameter word: the word as typed.
    /// - Returns: the word the shell would pass to the command.
    static func unquoted(_ word: String) -> String {
        if word.count >= 2, let first = word.first, first == "'" || first == "\"", word.last == first {
            return String(word.dropFirst().dropLast())
        }
        var result = ""
        var escaped = false
        for character in word {
            if escaped || character != "\\" {
                result.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return result
    }
}
