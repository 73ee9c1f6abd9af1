/// The `output` fallback kind: a fixed answer, `output` written to stdout
/// as is, then `exit_code` (default 0).
package struct OutputFallback: FallbackKind {
    package static let key = "output"
    package static let takesExitCode = true

    /// What is written.
    package var output: String
    /// The answer's exit status.
    package var exitCode: Int32

    package static func decode(_ node: YAMLNode, decoder: inout ConfigurationDecoder) -> OutputFallback? {
        decoder.string(node, key: key, example: "'service down'").map { OutputFallback(output: $0, exitCode: 0) }
    }

    package func settingExitCode(_ exitCode: Int32) -> OutputFallback {
        OutputFallback(output: output, exitCode: exitCode)
    }

    package func effectiveYAMLLines() -> [String] {
        ["\(Self.key): \(YAMLText.scalar(output))", "exit_code: \(exitCode)"]
    }

    package func answer(_ context: FallbackContext) -> FallbackAnswer {
        context.answer(writing: Array(output.utf8), exitCode: exitCode, how: "fallback answered", what: "the fallback's output")
    }
}

extension FallbackSpecification {
    /// An `output` fallback: a fixed answer.
    /// - Parameters:
    ///   - output: what is written to stdout.
    ///   - exitCode: the exit status.
    /// - Returns: the fallback.
    public static func fixed(output: String, exitCode: Int32) -> FallbackSpecification {
        FallbackSpecification(OutputFallback(output: output, exitCode: exitCode))
    }
}
