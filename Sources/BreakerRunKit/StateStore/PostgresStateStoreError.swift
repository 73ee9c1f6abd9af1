/// Why the PostgreSQL state backend could not read or write a breaker's
/// state. The run applies the breaker's `on_state_error` to every case
/// (fail-open: a warning; fail-closed: exit 74, EX_IOERR); `trip`, `reset`
/// and `status` exit 74.
public enum PostgresStateStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Connecting or authenticating failed (refused, unreachable, TLS,
    /// wrong password).
    case cannotConnect(url: String, reason: String)
    /// The server did not answer within `connect_timeout` (seconds given).
    case timedOut(url: String, operation: String, seconds: Double)
    /// A statement failed.
    case queryFailed(url: String, operation: String, reason: String)
    /// The password file could not be read.
    case cannotReadPasswordFile(path: String, reason: String)
    /// The schema was created by a newer breaker-run.
    case newerSchema(url: String, schema: String, found: Int, highestSupported: Int)
    /// A stored state could not be decoded or encoded.
    case badState(url: String, breaker: String, reason: String)

    /// One sentence: what failed, where, and what to do.
    public var description: String {
        switch self {
        case .cannotConnect(let url, let reason):
            return "cannot connect to PostgreSQL at \(url): \(reason); check that the server is up and the role, password and sslmode are right"
        case .timedOut(let url, let operation, let seconds):
            return "PostgreSQL at \(url) did not answer \(operation) within connect_timeout (\(seconds)s); check the server and the network"
        case .queryFailed(let url, let operation, let reason):
            return "PostgreSQL at \(url) failed \(operation): \(reason); check the role's privileges on the schema"
        case .cannotReadPasswordFile(let path, let reason):
            return "cannot read password_file \(path): \(reason); make it readable by breaker-run's user only"
        case .newerSchema(let url, let schema, let found, let highest):
            return "schema \(schema) at \(url) has version \(found), newer than this breaker-run knows (up to \(highest)); upgrade breaker-run on this host"
        case .badState(let url, let breaker, let reason):
            return "the state of breaker \(breaker) at \(url) is unusable (\(reason)); reset it with 'breaker-run reset \(breaker)'"
        }
    }
}
