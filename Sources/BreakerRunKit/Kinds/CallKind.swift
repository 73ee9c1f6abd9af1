/// A call kind: one way of calling the guarded service (`command`, `shell`,
/// `http`, `tcp`), as a `call`, a `probe` or (a process kind) an
/// `on_transition` hook. One type in one file decodes its YAML mapping,
/// prints itself for `validate --print`, says which plugin it needs and
/// makes the `Call` that runs it; a `KindRegistry` maps its YAML key to it.
package protocol CallKind: Sendable, Equatable {
    /// The key the configuration writes it under, such as `tcp`.
    static var key: String { get }
    /// The network plugin that runs it, which only `breaker-run-full`
    /// links; nil for a kind the core binary runs itself.
    static var plugin: NetworkPlugin? { get }
    /// Whether it runs a process, which makes it an `on_transition` kind too.
    static var isProcess: Bool { get }

    /// Reads the kind's value, reporting every problem to `decoder` with its
    /// position.
    /// - Parameters:
    ///   - node: the value under the key.
    ///   - key: the key as messages name it: `tcp`, or `probe.tcp` inside a probe.
    ///   - decoder: the decoder that types scalars and collects problems.
    /// - Returns: the call, or nil when the value has an error (reported).
    static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> Self?

    /// The call as `validate --print` writes it, starting with its key, as
    /// lines relative to the key's indentation; it loads back as the same call.
    func effectiveYAMLLines() -> [String]

    /// The `Call` that runs it.
    /// - Parameters:
    ///   - arguments: the argv of a process call given on the command line.
    ///   - registry: the kinds and plugins of this binary.
    /// - Returns: the call.
    func makeCall(arguments: [String]?, registry: KindRegistry) -> any Call

    /// The argv of a process kind; nil for a network kind.
    /// - Parameter scriptName: for a shell, the `$0` the script sees; nil
    ///   for the shell's own.
    func processArguments(scriptName: String?) -> [String]?

    /// Every value that reads the environment (`${VAR}`), with the key it is
    /// written under (`http.url`).
    var interpolatedValues: [(key: String, value: InterpolatedString)] { get }

    /// The call with the values that must be literal to run it resolved
    /// from `environment`.
    /// - Parameter environment: what `${VAR}` reads.
    /// - Returns: the resolved call.
    /// - Throws: `.invalid` when a resolved value is not valid.
    func resolved(in environment: [String: String]) throws(ConfigurationError) -> Self
}

extension CallKind {
    package static var plugin: NetworkPlugin? { nil }
    package static var isProcess: Bool { false }
    package func processArguments(scriptName: String?) -> [String]? { nil }
    package var interpolatedValues: [(key: String, value: InterpolatedString)] { [] }
    package func resolved(in environment: [String: String]) throws(ConfigurationError) -> Self { self }

    /// Whether `other` is the same call.
    fileprivate func isEqual(to other: any CallKind) -> Bool {
        (other as? Self) == self
    }
}

/// A call: what `run` executes under the breaker, of any registered kind.
public struct CallSpecification: Sendable, Equatable {
    /// The call's kind and values.
    package var kind: any CallKind

    /// Wraps a call of some kind.
    /// - Parameter kind: the call.
    package init(_ kind: any CallKind) {
        self.kind = kind
    }

    /// The key of the call's kind, such as `command`.
    public var key: String { type(of: kind).key }

    /// The network plugin the call needs; nil for one the core runs.
    public var plugin: NetworkPlugin? { type(of: kind).plugin }

    /// The argv of a command or shell call; nil for a network call.
    public var processArguments: [String]? {
        kind.processArguments(scriptName: nil)
    }

    /// The argv of a command or shell call; nil for a network call.
    /// - Parameter scriptName: for a shell call, the `$0` the script sees
    ///   (a hook sees its breaker's name); nil for the shell's own.
    /// - Returns: the argv.
    public func processArguments(scriptName: String?) -> [String]? {
        kind.processArguments(scriptName: scriptName)
    }

    /// Every value that may read the environment, with the key it is
    /// written under (`http.url`, `tcp.host`); empty for a process call.
    public var interpolatedValues: [(key: String, value: InterpolatedString)] {
        kind.interpolatedValues
    }

    /// The call that runs this specification.
    /// - Parameters:
    ///   - arguments: the argv of a process call, when it came from the
    ///     command line; ignored for network calls.
    ///   - registry: the kinds and plugins of this binary; a kind whose
    ///     plugin it lacks makes a call that runs nothing and reports the
    ///     plugin missing (exit 69).
    /// - Returns: the call.
    public func makeCall(arguments: [String]? = nil, registry: KindRegistry) -> any Call {
        kind.makeCall(arguments: arguments, registry: registry)
    }

    /// The call with its `${VAR}`s that must be literal to run resolved.
    func resolved(in environment: [String: String]) throws(ConfigurationError) -> CallSpecification {
        CallSpecification(try kind.resolved(in: environment))
    }

    /// Whether both are the same call of the same kind.
    public static func == (lhs: CallSpecification, rhs: CallSpecification) -> Bool {
        lhs.kind.isEqual(to: rhs.kind)
    }
}
