import Foundation
import Testing

/// What one run of the built binary did.
struct Invocation: Sendable {
    var status: Int32
    /// The signal that ended breaker-run, if it died of one.
    var signal: Int32?
    var stdout: String
    var stderr: String
    var seconds: Double
}

/// A per-test sandbox: a temporary directory holding a configuration and a
/// state directory, and a way to run the built `breaker-run` in it.
final class Sandbox: @unchecked Sendable {
    let directory: URL
    var configPath: String { directory.appendingPathComponent("breakers.yaml").path }
    var stateDirectory: String { directory.appendingPathComponent("state").path }
    /// The configuration cache of this sandbox's runs (`BREAKER_RUN_CACHE_DIR`).
    var cacheDirectory: String { directory.appendingPathComponent("cache").path }

    init(config: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("breaker-run-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let config { try write(config: config) }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(config: String) throws {
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// The built binary: `$BREAKER_RUN_BIN`, else `breaker-run` beside the
    /// test bundle in the build folder.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["BREAKER_RUN_BIN"] { return path }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("breaker-run")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate.path
            }
        }
        return "breaker-run"
    }()

    /// Starts the binary with `--config` and `--state-dir` of this sandbox
    /// placed before the subcommand's own arguments.
    func start(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, input: [UInt8]? = nil,
               binary: String = Sandbox.binary) throws -> Running {
        let id = UUID().uuidString
        let out = path("out-\(id)")
        let err = path("err-\(id)")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        var full = arguments
        if let subcommand = full.first, !subcommand.hasPrefix("-") {
            if !full.contains("--state-dir") { full.insert(contentsOf: ["--state-dir", stateDirectory], at: 1) }
            if !full.contains("--config") { full.insert(contentsOf: ["--config", configPath], at: 1) }
        }
        process.arguments = full
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "BREAKER_RUN_CONFIG")
        env.removeValue(forKey: "BREAKER_RUN_STATE_DIR")
        // Each test's own configuration cache, never the machine's.
        env["BREAKER_RUN_CACHE_DIR"] = cacheDirectory
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        if let bytes = input ?? stdin.map({ Array($0.utf8) }) {
            let input = path("in-\(id)")
            _ = FileManager.default.createFile(atPath: input, contents: Data(bytes))
            process.standardInput = FileHandle(forReadingAtPath: input)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let clock = Stopwatch()
        process.terminationHandler = { _ in clock.stop() }
        try process.run()
        return Running(process: process, out: out, err: err, stopwatch: clock)
    }

    /// Runs the binary to its end.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, input: [UInt8]? = nil,
             binary: String = Sandbox.binary) throws -> Invocation {
        try start(arguments, environment: environment, stdin: stdin, input: input, binary: binary).wait()
    }

    /// Starts `count` shell loops at once, each `/bin/sh -c LOOP` with `$0`
    /// the binary, `$1` the configuration, `$2` the state directory and `$3`
    /// the loop's number (from 1); their standard error is dropped.
    /// - Returns: the running shells.
    func startLoops(_ count: Int, _ loop: String) throws -> [Process] {
        try (1...count).map { number in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", loop, Sandbox.binary, configPath, stateDirectory, String(number)]
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
    }

    /// `status --json` of one breaker, decoded.
    func status(_ name: String) throws -> [String: Any] {
        let result = try run(["status", "--json", name])
        #expect(result.status == 0, "status failed: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let breakers = object?["breakers"] as? [[String: Any]]
        return try #require(breakers?.first)
    }

    func counts(_ name: String) throws -> [String: Int] {
        (try status(name)["counts"] as? [String: Int]) ?? [:]
    }
}

/// A started binary.
struct Running: @unchecked Sendable {
    let process: Process
    let out: String
    let err: String
    let stopwatch: Stopwatch

    var pid: Int32 { process.processIdentifier }

    func wait() -> Invocation {
        process.waitUntilExit()
        let seconds = stopwatch.seconds
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        let signaled = process.terminationReason == .uncaughtSignal
        return Invocation(
            status: signaled ? 128 + process.terminationStatus : process.terminationStatus,
            signal: signaled ? process.terminationStatus : nil,
            stdout: stdout,
            stderr: stderr,
            seconds: seconds
        )
    }
}

/// The time from a process's start to its end, stamped when it ends (not
/// when a test gets round to waiting for it).
final class Stopwatch: @unchecked Sendable {
    private let lock = NSLock()
    private let started = Date()
    private var ended: Date?

    func stop() {
        lock.withLock { ended = Date() }
    }

    var seconds: Double {
        lock.withLock { (ended ?? Date()).timeIntervalSince(started) }
    }
}

/// The processes of a process group that are still running (zombies, which
/// are dead but not yet reaped by their new parent, do not count).
func liveProcesses(inGroup group: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state, ppid, pgrp, ...
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, fields[0] != "Z", Int32(fields[2]) == group else { return nil }
        return pid
    }
}

/// Waits until `condition` holds, polling, for at most `seconds`.
func eventually(within seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}
