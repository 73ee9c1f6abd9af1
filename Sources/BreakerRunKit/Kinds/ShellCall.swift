/// The `shell` call kind: a string run by `/bin/sh -c`.
package struct ShellCall: CallKind {
    package static let key = "shell"
    package static let isProcess = true

    /// The script.
    package var script: String

    package static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> ShellCall? {
        // A probe or hook checks something; a breaker's own call does the work.
        let example = key == Self.key ? "'echo hi'" : "'curl -fs http://127.0.0.1/health'"
        return decoder.nonEmptyString(node, key: key, example: example).map { ShellCall(script: $0) }
    }

    package func effectiveYAMLLines() -> [String] {
        ["shell: \(YAMLText.scalar(script))"]
    }

    package func makeCall(arguments: [String]?, registry: KindRegistry) -> any Call {
        ProcessCall(arguments: arguments ?? processArguments(scriptName: nil) ?? [])
    }

    package func processArguments(scriptName: String?) -> [String]? {
        ["/bin/sh", "-c", script] + (scriptName.map { [$0] } ?? [])
    }
}

extension CallSpecification {
    /// A `shell` call.
    /// - Parameter script: the script `/bin/sh -c` runs.
    /// - Returns: the call.
    public static func shell(_ script: String) -> CallSpecification {
        CallSpecification(ShellCall(script: script))
    }
}
