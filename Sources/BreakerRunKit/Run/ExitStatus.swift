/// Every exit status breaker-run chooses itself, with the source of each: the
/// one table that the executable's `main`, the network calls and the man page
/// test all read. A call's own status, and a fallback's, pass through
/// unchanged; a call that died of a signal ends breaker-run by the same signal
/// (or 128 plus its number).
///
/// The network statuses are curl's, which operators already know: libcurl's
/// `CURLcode` values (libcurl-errors(3)), as curl(1) exits with them
/// ("EXIT CODES").
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// All went well (`status`, `trip`, `reset`, `validate`; a network call
    /// that got the expected answer).
    case success = 0
    /// The host name could not be resolved: CURLE_COULDNT_RESOLVE_HOST (6).
    case unresolvedHost = 6
    /// The connection could not be made (refused, unreachable, reset):
    /// CURLE_COULDNT_CONNECT (7).
    case connectionFailed = 7
    /// The response's status or body was not the expected one:
    /// CURLE_HTTP_RETURNED_ERROR (22), curl's `--fail`.
    case unexpectedResponse = 22
    /// The TLS handshake failed: CURLE_SSL_CONNECT_ERROR (35).
    case tlsHandshakeFailed = 35
    /// More redirects than `follow_redirects` allows (5), or a cycle:
    /// CURLE_TOO_MANY_REDIRECTS (47).
    case tooManyRedirects = 47
    /// The server's certificate is not trusted: CURLE_PEER_FAILED_VERIFICATION (60).
    case untrustedCertificate = 60
    /// The response body is larger than `max_body`: CURLE_FILESIZE_EXCEEDED (63).
    case responseTooLarge = 63
    /// Bad command line: EX_USAGE, sysexits.h.
    case usage = 64
    /// A breaker needs a plugin (`http`, `postgresql`) that this binary
    /// lacks and `breaker-run-full` is not installed: EX_UNAVAILABLE, sysexits.h.
    case unavailable = 69
    /// Internal error, a bug: EX_SOFTWARE, sysexits.h.
    case software = 70
    /// State could not be read or written, or output was lost: EX_IOERR, sysexits.h.
    case ioError = 74
    /// Rejected with no fallback (the default of `open_exit_code`):
    /// EX_TEMPFAIL, sysexits.h.
    case rejected = 75
    /// Bad or unsafe configuration, or a request that cannot be made as
    /// configured (an unset `${VAR}`, a missing `body_file`): EX_CONFIG, sysexits.h.
    case configuration = 78
    /// The call ran past its timeout and was killed: GNU timeout's 124.
    case timedOut = 124
    /// The command could not be executed: the shell's 126 (POSIX, 2.8.2).
    case cannotExecute = 126
    /// The command was not found: the shell's 127 (POSIX, 2.8.2).
    case notFound = 127

    /// The statuses of a network (`http`, `tcp`) call that did not succeed,
    /// in curl's numbering; a timeout is 124, as for every call kind.
    public static let network: [ExitStatus] = [
        .unresolvedHost, .connectionFailed, .unexpectedResponse, .tlsHandshakeFailed,
        .tooManyRedirects, .untrustedCertificate, .responseTooLarge,
    ]
}
