/// The `shell` fallback kind: a string run by `/bin/sh -c` instead of the
/// call, with the `BREAKER_*` environment, the breaker's name as `$0` and
/// the rejected call's argv as `$1`, `$2`, ...
package struct ShellFallback: FallbackKind {
    package static let key = "shell"

    /// The script.
    package var script: String

    package static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> ShellFallback? {
        decoder.nonEmptyString(node, key: key, example: "'echo down'").map { ShellFallback(script: $0) }
    }

    package func effectiveYAMLLines() -> [String] {
        ["\(Self.key): \(YAMLText.scalar(script))"]
    }

    package func answer(_ context: FallbackContext) -> FallbackAnswer {
        context.runProcess(["/bin/sh", "-c", script, context.breaker.name] + context.arguments)
    }
}

extension FallbackSpecification {
    /// A `shell` fallback.
    /// - Parameter script: the script `/bin/sh -c` runs.
    /// - Returns: the fallback.
    public static func shell(_ script: String) -> FallbackSpecification {
        FallbackSpecification(ShellFallback(script: script))
    }
}
