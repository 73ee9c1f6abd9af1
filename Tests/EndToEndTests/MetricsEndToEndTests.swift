import Foundation
import Testing

/// Parses Prometheus text with the reference parser (`prometheus_client`),
/// returning `family type name{labels} value` lines sorted, or the parser's
/// error as a failed expectation.
func parseWithPrometheusClient(_ text: String) throws -> [String] {
    let script = """
        import sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                out.append(f"{family.name} {family.type} {s.name}{{{labels}}} {float(s.value):g}")
        print("\\n".join(sorted(out)))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "prometheus_client rejected the text (pip install prometheus-client): \(problems)")
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

@Suite("metrics and metrics_file")
struct MetricsEndToEndTests {
    static let config = """
        version: 1
        metrics_file: metrics/breaker-run.prom
        breakers:
          db:
            command: [/bin/false]
            fail_max: 2
            reset_timeout: 1m
          api:
            command: [/bin/true]
        """

    @Test func metricsParseWithTheReferenceParserAndCountEveryOutcome() throws {
        let sandbox = try Sandbox(config: Self.config)
        try FileManager.default.createDirectory(atPath: sandbox.path("metrics"), withIntermediateDirectories: true)
        #expect(try sandbox.run(["run", "api"]).status == 0)
        #expect(try sandbox.run(["run", "db"]).status == 1)
        #expect(try sandbox.run(["run", "db"]).status == 1)
        #expect(try sandbox.run(["run", "db"]).status == 75)
        let result = try sandbox.run(["metrics"])
        #expect(result.status == 0, "\(result.stderr)")
        let samples = try parseWithPrometheusClient(result.stdout)
        #expect(samples.contains(#"breaker_run_state gauge breaker_run_state{breaker="db",state="open"} 1"#))
        #expect(samples.contains(#"breaker_run_state gauge breaker_run_state{breaker="api",state="closed"} 1"#))
        #expect(samples.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="db",outcome="failure"} 2"#))
        #expect(samples.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="db",outcome="rejected"} 1"#))
        #expect(samples.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="api",outcome="success"} 1"#))
        #expect(samples.contains(#"breaker_run_transitions counter breaker_run_transitions_total{breaker="db"} 1"#))
        #expect(samples.contains(#"breaker_run_consecutive_failures gauge breaker_run_consecutive_failures{breaker="db"} 2"#))
        #expect(samples.contains(#"breaker_run_open_interval_seconds gauge breaker_run_open_interval_seconds{breaker="db"} 60"#))
        let nextTrial = try #require(samples.first { $0.hasPrefix(#"breaker_run_next_trial_seconds gauge breaker_run_next_trial_seconds{breaker="db"}"#) })
        let seconds = try #require(Double(nextTrial.split(separator: " ").last!))
        #expect(seconds > 50 && seconds <= 60)
        // The textfile holds what `metrics` prints for the same states.
        let file = try String(contentsOfFile: sandbox.path("metrics/breaker-run.prom"), encoding: .utf8)
        let fileSamples = try parseWithPrometheusClient(file)
        #expect(fileSamples.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="db",outcome="rejected"} 1"#))
    }

    @Test func metricsFileFollowsTripAndResetAtomically() throws {
        let sandbox = try Sandbox(config: Self.config)
        let directory = sandbox.path("metrics")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/breaker-run.prom"
        #expect(!FileManager.default.fileExists(atPath: path))
        let trip = try sandbox.run(["trip", "api", "--hold"])
        #expect(trip.status == 0, "\(trip.stderr)")
        var samples = try parseWithPrometheusClient(try String(contentsOfFile: path, encoding: .utf8))
        #expect(samples.contains(#"breaker_run_held gauge breaker_run_held{breaker="api"} 1"#))
        #expect(samples.contains(#"breaker_run_next_trial_seconds gauge breaker_run_next_trial_seconds{breaker="api"} inf"#))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try sandbox.run(["reset", "api"]).status == 0)
        samples = try parseWithPrometheusClient(try String(contentsOfFile: path, encoding: .utf8))
        #expect(samples.contains(#"breaker_run_state gauge breaker_run_state{breaker="api",state="closed"} 1"#))
        #expect(samples.contains(#"breaker_run_transitions counter breaker_run_transitions_total{breaker="api"} 2"#))
        // Only the file itself is left: the temporary files were renamed.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["breaker-run.prom"])
    }

    @Test func aBreakerWhoseStateCannotBeReadIsLeftOutAndTheOthersAreStillPrinted() throws {
        let sandbox = try Sandbox(config: Self.config)
        try FileManager.default.createDirectory(atPath: sandbox.path("metrics"), withIntermediateDirectories: true)
        #expect(try sandbox.run(["run", "api"]).status == 0)
        // db's state.json is a directory: its state cannot be read.
        try FileManager.default.createDirectory(atPath: sandbox.stateDirectory + "/db/state.json", withIntermediateDirectories: true)
        let result = try sandbox.run(["metrics"])
        #expect(result.status == 74)
        #expect(result.stderr.contains("breaker-run: db: left out:"), "\(result.stderr)")
        let samples = try parseWithPrometheusClient(result.stdout)
        #expect(samples.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="api",outcome="success"} 1"#))
        #expect(!samples.contains { $0.contains(#"breaker="db""#) })
        // metrics_file follows api's next run, leaving db out with a warning.
        let run = try sandbox.run(["run", "api"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("db left out"), "\(run.stderr)")
        let file = try parseWithPrometheusClient(try String(contentsOfFile: sandbox.path("metrics/breaker-run.prom"), encoding: .utf8))
        #expect(file.contains(#"breaker_run_calls counter breaker_run_calls_total{breaker="api",outcome="success"} 2"#))
    }

    @Test func anUnwritableMetricsFileIsAWarningNotAFailure() throws {
        let sandbox = try Sandbox(config: Self.config.replacingOccurrences(of: "metrics/breaker-run.prom", with: "taken/x.prom"))
        // A directory where the file should be: the rename over it fails.
        try FileManager.default.createDirectory(atPath: sandbox.path("taken/x.prom"), withIntermediateDirectories: true)
        let result = try sandbox.run(["run", "api"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: metrics_file"))
        #expect(result.stderr.contains("taken/x.prom"))
    }
}
