import BreakerRunKit
import Testing

/// The YAML of a file with one breaker `x` whose keys are `body` (one key
/// per line, indented as the breaker's).
private func yaml(breakerBody body: String) -> String {
    "version: 1\nbreakers:\n  x:\n" + body.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
}

/// Breaker `x` of a one-breaker file `b.yaml` whose keys are `body`.
func oneBreaker(_ body: String) throws -> BreakerConfiguration {
    try #require(try ConfigurationLoader.parse(yaml: yaml(breakerBody: body), file: "b.yaml").breakers["x"])
}

/// The error that loading a one-breaker file `b.yaml` whose keys are `body`
/// gives, as printed; nil when it loads.
func loadError(_ body: String) -> String? {
    do {
        _ = try ConfigurationLoader.parse(yaml: yaml(breakerBody: body), file: "b.yaml")
        return nil
    } catch {
        return String(describing: error)
    }
}
