import BreakerRunKit
import NIOSSL
import PostgresNIO

/// TLS to the server (libpq's `sslmode`), and what went wrong in words when
/// connecting failed.
extension PostgresStateStore {
    /// The TLS of libpq's `sslmode` (https://www.postgresql.org/docs/current/libpq-ssl.html):
    /// `disable` none; `prefer` TLS when the server offers it, unchecked;
    /// `require` TLS, unchecked; `verify-full` TLS with the chain checked
    /// against `ca_file` (else the system's roots) and the url's host checked
    /// against the certificate's names.
    /// - Throws: `PostgresStateStoreError.cannotConnect` naming `ca_file`
    ///   when it cannot be read or holds no PEM certificate.
    func tls() throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch settings.sslMode {
        case .disable:
            return .disable
        case .prefer, .require:
            configuration.certificateVerification = .none
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            if let caFile = settings.caFile { configuration.trustRoots = .certificates(try certificates(in: caFile)) }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw PostgresStateStoreError.cannotConnect(url: settings.url, reason: "TLS set-up failed (\(error))")
        }
        return settings.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    /// Why connecting failed, in words: for TLS, what was wrong with the
    /// server's certificate, naming what it was checked against; else the
    /// server's or the driver's message (`reason(_:)`).
    func connectionFailure(_ error: any Error) -> String {
        let psql = error as? PSQLError
        if psql?.code == .sslUnsupported {
            return "the server does not offer TLS, which sslmode: \(settings.sslMode.rawValue) demands (turn ssl on at the server, or use sslmode: prefer)"
        }
        let underlying = psql?.underlying ?? error
        if let extra = underlying as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "host name mismatch: the server's certificate is not for \(settings.host) (sslmode: verify-full)"
        }
        if let ssl = underlying as? NIOSSLError, case .handshakeFailed(let detail) = ssl, "\(detail)".contains("CERTIFICATE_VERIFY_FAILED") {
            // BoringSSL's error does not say which check failed: name them all.
            let roots = settings.caFile.map { "by ca_file \($0)" } ?? "by the system's CA certificates, and no ca_file is set"
            return "the server's certificate is not trusted \(roots) (sslmode: verify-full; signed by another CA, or out of its validity dates)"
        }
        if underlying is NIOSSLError || underlying is NIOSSLExtraError || underlying is BoringSSLError {
            return "the TLS handshake failed (\(underlying))"
        }
        return Self.reason(error)
    }
}
