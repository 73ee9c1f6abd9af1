import Foundation

/// A real HTTP(S) server on 127.0.0.1 for the tests: Python's `http.server`
/// with a handler that answers each path as `routes.json` in its directory
/// says (read again on every request, so a test can change the answers).
///
/// A route is `{"status": 200, "body": "...", "headers": {...}, "sleep": 0}`,
/// or a list of them served in turn (the last one repeats).
final class HTTPServer: @unchecked Sendable {
    let directory: URL
    let process: Process
    let port: Int
    private var routesPath: String { directory.appendingPathComponent("routes.json").path }

    static let script = #"""
import http.server, json, os, ssl, sys, time, threading
directory, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
counts = {}
lock = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def answer(self):
        with open(os.path.join(directory, "routes.json")) as f: routes = json.load(f)
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length) if length else b""
        with open(os.path.join(directory, "requests.log"), "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": received.decode("utf-8", "replace")}) + "\n")
        route = routes.get(self.path.split("?")[0], {"status": 404, "body": "no route"})
        if isinstance(route, list):
            with lock:
                n = counts.get(self.path, 0); counts[self.path] = n + 1
            route = route[min(n, len(route) - 1)]
        time.sleep(route.get("sleep", 0))
        body = route.get("body", "").encode("utf-8")
        self.send_response(route.get("status", 200))
        for k, v in route.get("headers", {}).items(): self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = answer
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(os.path.join(directory, "port.tmp"), "w") as f: f.write(str(server.server_address[1]))
os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
server.serve_forever()
"""#

    /// Starts a server in `directory` answering `routes`; TLS with the given
    /// certificate and key files when set.
    init(in directory: URL, routes: [String: Any], certificate: String? = nil, key: String? = nil) throws {
        self.directory = directory.appendingPathComponent("server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let scriptPath = self.directory.appendingPathComponent("server.py").path
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptPath, self.directory.path, certificate ?? "", key ?? ""]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let portPath = self.directory.appendingPathComponent("port").path
        try JSONSerialization.data(withJSONObject: routes).write(to: URL(fileURLWithPath: self.directory.appendingPathComponent("routes.json").path))
        try process.run()
        var found: Int?
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: portPath, encoding: .utf8), let value = Int(text) { found = value; break }
            usleep(10_000)
        }
        guard let found else { kill(process.processIdentifier, SIGKILL); throw ServerError.didNotStart }
        port = found
    }

    enum ServerError: Error { case didNotStart }

    deinit {
        // SIGKILL: the test process may hand its children a blocked SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Changes the answers.
    func set(routes: [String: Any]) throws {
        let temporary = directory.appendingPathComponent("routes.json.tmp")
        try JSONSerialization.data(withJSONObject: routes).write(to: temporary)
        _ = rename(temporary.path, routesPath)
    }

    /// The requests received so far, each a JSON object.
    func requests() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: directory.appendingPathComponent("requests.log").path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func url(_ path: String, scheme: String = "http") -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
func closedPort() -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
