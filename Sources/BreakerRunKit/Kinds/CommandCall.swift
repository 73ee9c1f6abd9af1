/// The `command` call kind: an argv list, executed directly (no shell); the
/// first element is looked up in `PATH` when it has no slash.
package struct CommandCall: CallKind {
    package static let key = "command"
    package static let isProcess = true

    /// The program and its arguments.
    package var arguments: [String]

    package static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> CommandCall? {
        decoder.commandList(node, key: key).map { CommandCall(arguments: $0) }
    }

    package func effectiveYAMLLines() -> [String] {
        ["command: \(YAMLText.flowList(arguments))"]
    }

    package func makeCall(arguments given: [String]?, registry: KindRegistry) -> any Call {
        ProcessCall(arguments: given ?? arguments)
    }

    package func processArguments(scriptName: String?) -> [String]? { arguments }
}

extension CallSpecification {
    /// A `command` call.
    /// - Parameter arguments: the program and its arguments.
    /// - Returns: the call.
    public static func command(_ arguments: [String]) -> CallSpecification {
        CallSpecification(CommandCall(arguments: arguments))
    }
}
