import BreakerRunKit
import Testing

/// An unknown breaker name is answered with the known ones, at most 20 of
/// them: a configuration of thousands is not printed on one line.
@Suite struct UnknownBreakerMessageTests {
    static func configuration(count: Int) throws -> Configuration {
        var yaml = "version: 1\nbreakers:\n"
        for index in 0..<count { yaml += "  job-\(1000 + index): {command: [\"true\"]}\n" }
        return try ConfigurationLoader.parse(yaml: yaml, file: "b.yaml")
    }

    @Test func aFewNamesAreListedWhole() throws {
        let configuration = try Self.configuration(count: 3)
        #expect(throws: ConfigurationError.self) { try configuration.definition(named: "xyz") }
        do {
            _ = try configuration.definition(named: "xyz")
        } catch {
            #expect("\(error)" == "no breaker named 'xyz' in the configuration; the breakers are: job-1000, job-1001, job-1002")
        }
    }

    @Test func manyNamesAreCutAfterTwenty() throws {
        let configuration = try Self.configuration(count: 1500)
        do {
            _ = try configuration.definition(named: "xyz")
            Issue.record("an unknown name was found")
        } catch {
            let message = "\(error)"
            #expect(message.contains("job-1019 and 1480 more ('breaker-run status' lists them all)"), "\(message)")
            #expect(!message.contains("job-1020"))
        }
    }
}
