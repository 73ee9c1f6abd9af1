/// The `command` fallback kind: an argv list run instead of the call, with
/// the `BREAKER_*` environment; its own exit status is the answer's.
package struct CommandFallback: FallbackKind {
    package static let key = "command"

    /// The program and its arguments.
    package var arguments: [String]

    package static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> CommandFallback? {
        decoder.commandList(node, key: key).map { CommandFallback(arguments: $0) }
    }

    package func effectiveYAMLLines() -> [String] {
        ["\(Self.key): \(YAMLText.flowList(arguments))"]
    }

    package func answer(_ context: FallbackContext) -> FallbackAnswer {
        context.runProcess(arguments)
    }
}

extension FallbackSpecification {
    /// A `command` fallback.
    /// - Parameter arguments: the program and its arguments.
    /// - Returns: the fallback.
    public static func command(_ arguments: [String]) -> FallbackSpecification {
        FallbackSpecification(CommandFallback(arguments: arguments))
    }
}
