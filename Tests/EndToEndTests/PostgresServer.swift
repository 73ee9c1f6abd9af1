import Foundation
import Testing

/// A throwaway PostgreSQL server for one test: its own data directory under
/// /tmp, owned by the `postgres` user (the server refuses to run as root),
/// listening on 127.0.0.1 only, on a free port, with a role `breaker` whose
/// password is checked (scram-sha-256). Stopped and deleted on deinit.
final class PostgresServer: @unchecked Sendable {
    /// The directory of Debian's server binaries (`initdb`, `pg_ctl`), newest
    /// version first; nil when the server is not installed.
    static let binDirectory: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }()

    /// Whether the tests can start a server here. In CI (`CI=true`) the
    /// tests run regardless and fail loudly when it is missing.
    static var isUsable: Bool {
        binDirectory != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    static let role = "breaker"
    static let password = "s3cret-for-tests"

    let directory: String
    let port: Int
    /// The server's TLS, or nil for a plain server (`ssl=off`).
    let tls: TLS?
    private var dataDirectory: String { directory + "/data" }
    private var tlsDirectory: String { directory + "/tls" }
    private var isRunning = false

    /// TLS for a test server (`ssl=on`): a throwaway CA and a server
    /// certificate signed by it, made with the openssl command when the
    /// server is created, in the server's directory.
    struct TLS {
        /// The server certificate's subjectAltName entries, as openssl
        /// writes them (`DNS:localhost`, `IP:127.0.0.1`).
        var names: [String] = ["DNS:localhost"]
        /// Whether pg_hba.conf takes TCP connections with TLS only
        /// (`hostssl` lines in place of `host`), so that plain ones are refused.
        var isRequired = false
    }

    /// The PEM file of the CA that signed the server's certificate (with
    /// `tls` only).
    var caFile: String { tlsDirectory + "/ca.crt" }

    /// Creates and starts a server.
    /// - Parameter tls: nil for a plain server, as every test but the TLS
    ///   ones uses; else the certificate's names and whether TLS is required.
    init(tls: TLS? = nil) throws {
        guard let bin = Self.binDirectory else {
            throw Failure("PostgreSQL server binaries not found under /usr/lib/postgresql; install Debian's postgresql (scripts/install-deps.sh)")
        }
        directory = "/tmp/breaker-run-pg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try Self.password.write(toFile: directory + "/pwfile", atomically: false, encoding: .utf8)
        try Self.check(Self.sh("chown postgres '\(directory)' '\(directory)/pwfile'"), "chown")
        try Self.check(Self.sh("""
            runuser -u postgres -- '\(bin)/initdb' -D '\(directory)/data' -U \(Self.role) --pwfile='\(directory)/pwfile' \
              --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-sync --no-instructions >'\(directory)/initdb.log' 2>&1
            """), "initdb (see \(directory)/initdb.log)")
        self.tls = tls
        port = closedPort()
        if let tls {
            try makeServerCertificate(tls)
            if tls.isRequired {
                try Self.check(Self.sh("""
                    runuser -u postgres -- sed -i 's/^host /hostssl /' '\(dataDirectory)/pg_hba.conf'
                    """), "making pg_hba.conf hostssl-only")
            }
        }
        try start()
    }

    /// Makes a throwaway certificate authority, `ca.crt` and `ca.key` (P-256,
    /// valid 2 days), in `directory` with the openssl command.
    /// - Parameters:
    ///   - directory: an existing directory.
    ///   - name: the CA's common name.
    /// - Returns: the path of the CA's certificate (PEM).
    /// - Throws: `Failure` when openssl fails (its output is in `openssl.log`).
    @discardableResult
    static func makeCertificateAuthority(in directory: String, name: String = "breaker-run test CA") throws -> String {
        try """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            CN = \(name)
            [ext]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash

            """.write(toFile: directory + "/ca.cnf", atomically: false, encoding: .utf8)
        try check(sh("""
            cd '\(directory)' && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
              -keyout ca.key -out ca.crt -days 2 -config ca.cnf -extensions ext >>openssl.log 2>&1
            """), "openssl making a CA (see \(directory)/openssl.log)")
        return directory + "/ca.crt"
    }

    /// Makes the CA and the server's certificate and key in `tls/`: the
    /// key and certificate owned by postgres, the key mode 0600, as the
    /// server demands.
    private func makeServerCertificate(_ tls: TLS) throws {
        try FileManager.default.createDirectory(atPath: tlsDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try Self.makeCertificateAuthority(in: tlsDirectory)
        let commonName = tls.names.first.map { String($0.drop { $0 != ":" }.dropFirst()) } ?? "localhost"
        try """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            CN = \(commonName)
            [ext]
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = \(tls.names.joined(separator: ","))

            """.write(toFile: tlsDirectory + "/server.cnf", atomically: false, encoding: .utf8)
        try Self.check(Self.sh("""
            cd '\(tlsDirectory)' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
              -keyout server.key -out server.csr -config server.cnf >>openssl.log 2>&1 \
            && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
              -extfile server.cnf -extensions ext -out server.crt >>openssl.log 2>&1 \
            && chown postgres server.key server.crt && chmod 0600 server.key
            """), "openssl making the server's certificate (see \(tlsDirectory)/openssl.log)")
    }

    deinit {
        stop(immediately: true)
        _ = Self.sh("rm -rf '\(directory)'")
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    func start() throws {
        let bin = Self.binDirectory!
        var options = "-c listen_addresses=127.0.0.1 -p \(port) -k \(directory) -c fsync=off -c synchronous_commit=off -c max_connections=200"
        if tls != nil {
            options += " -c ssl=on -c ssl_cert_file=\(tlsDirectory)/server.crt -c ssl_key_file=\(tlsDirectory)/server.key"
        }
        try Self.check(Self.sh("""
            runuser -u postgres -- '\(bin)/pg_ctl' -D '\(dataDirectory)' -o '\(options)' -l '\(directory)/server.log' -w -t 60 start >/dev/null 2>&1
            """), "pg_ctl start (see \(directory)/server.log)")
        isRunning = true
    }

    /// Stops the server: `immediately` aborts its processes (as a crash
    /// would), else a fast shutdown.
    func stop(immediately: Bool = false) {
        guard isRunning, let bin = Self.binDirectory else { return }
        _ = Self.sh("runuser -u postgres -- '\(bin)/pg_ctl' -D '\(dataDirectory)' -m \(immediately ? "immediate" : "fast") -w stop >/dev/null 2>&1")
        isRunning = false
    }

    /// The postmaster's process id.
    var pid: Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// The `url` of a configuration.
    var url: String { "postgresql://\(Self.role)@127.0.0.1:\(port)/postgres" }

    /// The `url` of a configuration that names the server by `host`
    /// (`localhost`, to match a certificate made for that name).
    func url(host: String) -> String { "postgresql://\(Self.role)@\(host):\(port)/postgres" }

    /// The `state:` mapping of a configuration, in flow style. The default
    /// connect_timeout is long: a test that is not about faults must not see
    /// one because the machine is busy.
    func stateYAML(schema: String = "breaker_run", connectTimeout: String = "30s", extra: String = "") -> String {
        "{backend: postgresql, url: '\(url)', schema: \(schema), sslmode: disable, connect_timeout: \(connectTimeout)\(extra)}"
    }

    /// Runs `sql` with psql and returns its unaligned, tuples-only output.
    func psql(_ sql: String) throws -> String {
        let output = directory + "/psql-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let quoted = "'" + sql.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let status = Self.sh("PGPASSWORD='\(Self.password)' psql -X -h 127.0.0.1 -p \(port) -U \(Self.role) -d postgres -Atqc \(quoted) >'\(output)' 2>&1")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Failure("psql failed: \(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func check(_ status: Int32, _ what: String) throws {
        if status != 0 { throw Failure("\(what) failed with status \(status)") }
    }

    /// Runs `script` with /bin/sh and waits for it with waitpid(2).
    /// Foundation's Process is not used here: when the script starts a
    /// daemon (pg_ctl start), its waitUntilExit never returns.
    @discardableResult
    static func sh(_ script: String) -> Int32 {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
