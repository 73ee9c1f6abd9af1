/// The `tcp` call kind: a TCP connection to `host` and `port`, closed as
/// soon as it is established (`TCPCall` runs it). Either may read the
/// environment (`${DBHOST}`), as an http url does; a port written as a
/// number is checked to be 1-65535 when loaded, one read from the
/// environment when the breaker runs (`BreakerConfiguration.resolved(in:)`).
package struct TCPCallSpecification: CallKind {
    package static let key = "tcp"
    /// The keys of its mapping.
    static let keys = ["host", "port"]
    /// The ports it may name.
    static let portRange = 1...65535

    /// The host name or address.
    package var host: InterpolatedString
    /// The port.
    package var port: InterpolatedString

    /// Reads `tcp: {host: db.internal, port: 5432}`.
    package static func decode(_ node: YAMLNode, key: String, decoder: inout ConfigurationDecoder) -> TCPCallSpecification? {
        let example = "{host: db.internal, port: 5432}"
        guard let pairs = decoder.mapping(node, key: key, example: example) else { return nil }
        var host: InterpolatedString?
        var port: InterpolatedString?
        var isValid = true
        for pair in pairs {
            let name = "\(key).\(pair.key)"
            switch pair.key {
            case "host":
                host = decoder.interpolated(pair.value, key: name, example: "db.internal")
                if host?.description.isEmpty == true {
                    decoder.report(at: pair.value.location, "'\(name)' is empty; write a string such as db.internal")
                    host = nil
                }
                if host == nil { isValid = false }
            case "port":
                // `${DBPORT}` is read when the breaker runs; a number now.
                if case let .scalar(text, _) = pair.value.content, text.contains("$") {
                    port = decoder.interpolated(pair.value, key: name, example: "5432")
                } else {
                    port = decoder.integer(pair.value, key: name, in: portRange, example: "5432")
                        .map { InterpolatedString(segments: [.literal(String($0))], location: pair.value.location) }
                }
                if port == nil { isValid = false }
            default:
                decoder.unknownOrFuture(pair, known: keys, future: [], context: "'\(key)'")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let host, let port else {
            decoder.report(at: node.location, "'\(key)' needs 'host' and 'port', such as \(example)")
            return nil
        }
        return TCPCallSpecification(host: host, port: port)
    }

    /// `tcp: {host: db, port: 5432}`, its `${VAR}`s as written.
    package func effectiveYAMLLines() -> [String] {
        ["\(Self.key): {host: \(YAMLText.flowScalar(host.description)), port: \(YAMLText.flowScalar(port.description))}"]
    }

    package func makeCall(arguments: [String]?, registry: KindRegistry) -> any Call {
        // `resolved(in:)` has replaced every `${VAR}` before a call is made;
        // a value still unresolved connects to nothing (port 0).
        TCPCall(host: host.literalValue ?? host.description, port: port.literalValue.flatMap { Int($0) } ?? 0)
    }

    package var interpolatedValues: [(key: String, value: InterpolatedString)] {
        [("\(Self.key).host", host), ("\(Self.key).port", port)]
    }

    /// The call with its host and port read from the environment.
    /// - Throws: `.invalid` when the port read is not 1-65535.
    package func resolved(in environment: [String: String]) throws(ConfigurationError) -> TCPCallSpecification {
        guard host.literalValue == nil || port.literalValue == nil else { return self }
        func literal(_ value: InterpolatedString) -> InterpolatedString {
            guard case let .success(text) = value.resolve(in: environment) else { return value }
            return InterpolatedString(segments: [.literal(text)], location: value.location)
        }
        let resolvedPort = literal(port)
        guard let text = resolvedPort.literalValue, let number = Int(text), Self.portRange.contains(number) else {
            throw .invalid([Diagnostic(location: port.location,
                                       message: "'\(Self.key).port' is '\(port)', which reads '\(resolvedPort.literalValue ?? "")': not a port from 1 to 65535")])
        }
        return TCPCallSpecification(host: literal(host), port: resolvedPort)
    }
}

extension CallSpecification {
    /// A TCP connection call.
    /// - Parameters:
    ///   - host: the host name or address, which may read the environment.
    ///   - port: the port, which may read the environment.
    /// - Returns: the call.
    public static func tcp(host: InterpolatedString, port: InterpolatedString) -> CallSpecification {
        CallSpecification(TCPCallSpecification(host: host, port: port))
    }
}
