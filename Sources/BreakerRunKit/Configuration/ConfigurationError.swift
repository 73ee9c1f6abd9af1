/// One problem in a configuration file, at a place: printed as
/// `FILE:LINE:COLUMN: message`, as compilers print theirs.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is (1-based line and column).
    public var location: SourceLocation
    /// What is wrong and, where possible, what to write instead.
    public var message: String

    /// Creates a diagnostic.
    /// - Parameters:
    ///   - location: where the problem is.
    ///   - message: what is wrong.
    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    /// `FILE:LINE:COLUMN: message`.
    public var description: String { "\(location): \(message)" }
}

/// Why a configuration could not be used. Every case maps to exit status 78
/// (EX_CONFIG).
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file at `path` could not be opened or read (missing, a directory,
    /// no permission); `reason` is the system's explanation.
    case unreadable(path: String, reason: String)
    /// The files were read but are wrong: bad YAML, unknown keys, bad values.
    /// Holds every problem found in one pass, sorted by position within each
    /// file, files in the order they were read.
    case invalid([Diagnostic])
    /// No configuration file exists in any of the places searched.
    case notFound(searched: [String])
    /// A command named a breaker that the configuration does not define;
    /// `known` lists the defined names, `suggestion` the nearest one.
    case unknownBreaker(name: String, known: [String], suggestion: String?)
    /// A command named a breaker that the configuration does not define,
    /// and the drop-ins `files` could not be parsed: it may be there.
    case unknownBreakerInUnparsedFile(name: String, files: [String])
    /// Running as root, the file or directory at `path` could be changed by
    /// someone other than root, so it is refused (as cron and sudo refuse
    /// theirs).
    case unsafe(path: String, reason: String)
    /// The breaker `breaker` reads the environment variable `name` (`${NAME}`)
    /// in its `key` (such as `env.TOKEN`), written at `location`, and the
    /// variable is not set. Raised only when that breaker is used.
    case unsetVariable(name: String, breaker: String, key: String, location: SourceLocation)

    /// One sentence (one per problem for `.invalid`) that names the file,
    /// place or breaker and says what to do.
    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read configuration file \(path): \(reason); check the path and its permissions"
        case let .invalid(diagnostics):
            return diagnostics.map(\.description).joined(separator: "\n")
        case let .notFound(searched):
            let places = searched.isEmpty ? "no places given" : searched.joined(separator: ", ")
            return "no configuration file found (searched \(places)); create one or pass --config FILE"
        case let .unknownBreaker(name, known, suggestion):
            if let suggestion {
                return "no breaker named '\(name)' in the configuration; did you mean '\(suggestion)'?"
            }
            if known.isEmpty {
                return "no breaker named '\(name)': the configuration defines no breakers; add it under 'breakers:'"
            }
            // A configuration of thousands of breakers is not listed whole.
            let shown = known.prefix(Self.namesListed).joined(separator: ", ")
            let more = known.count > Self.namesListed
                ? " and \(known.count - Self.namesListed) more ('breaker-run status' lists them all)" : ""
            return "no breaker named '\(name)' in the configuration; the breakers are: \(shown)\(more)"
        case let .unknownBreakerInUnparsedFile(name, files):
            let list = files.joined(separator: ", ")
            return "no breaker named '\(name)' in the configuration; it may be defined in \(list), which could not be parsed: run 'breaker-run validate' and fix \(files.count == 1 ? "it" : "them")"
        case let .unsafe(path, reason):
            let remedy = reason.contains("owned by") ? "chown root" : "chmod go-w"
            return "refusing configuration \(path): \(reason); make it owned by root and writable only by root (\(remedy))"
        case let .unsetVariable(name, breaker, key, location):
            return "\(location): \(Self.unsetVariableMessage(name: name, breakers: [breaker], key: key))"
        }
    }
}

extension ConfigurationError {
    /// How many breaker names a message about an unknown name lists.
    static let namesListed = 20

    /// The message for a variable that is not set, as `run` and `validate`
    /// print it.
    static func unsetVariableMessage(name: String, breakers: [String], key: String) -> String {
        let shown = breakers.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
        let more = breakers.count > 3 ? " and \(breakers.count - 3) more" : ""
        let who = breakers.count == 1 ? "breaker \(shown)" : "breakers \(shown)\(more)"
        return "environment variable '\(name)' is not set; \(who) read\(breakers.count == 1 ? "s" : "") it in '\(key)'; set it, or write $${\(name)} for the literal text"
    }
}
