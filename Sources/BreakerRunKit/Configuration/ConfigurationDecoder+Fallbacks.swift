/// The `fallback` key: one fallback or a list, each of a registered kind.
extension ConfigurationDecoder {
    mutating func fallbacks(_ node: YAMLNode) -> [FallbackSpecification]? {
        let example = "{output: 'service down', exit_code: 0}"
        switch node.content {
        case .mapping:
            return fallback(node).map { [$0] }
        case let .sequence(items):
            // An empty list is how a breaker turns off a fallback from 'defaults'.
            var result: [FallbackSpecification] = []
            var isValid = true
            for item in items {
                if case .mapping = item.content, let one = fallback(item) {
                    result.append(one)
                } else if case .mapping = item.content {
                    isValid = false
                } else {
                    isValid = false
                    report(at: item.location, "each fallback in the list must be a mapping such as \(example), not \(describe(item))")
                }
            }
            return isValid ? result : nil
        case .scalar:
            if node.isNull {
                report(at: node.location, "'fallback' has no value; write a mapping such as \(example), or [] for none")
            } else {
                report(at: node.location, "'fallback' must be a mapping such as \(example) or a list of them, not \(describe(node))")
            }
            return nil
        }
    }

    private mutating func fallback(_ node: YAMLNode) -> FallbackSpecification? {
        guard case let .mapping(pairs) = node.content else { return nil }
        var kinds: [YAMLPair] = []
        var exitCode: (code: Int32, location: SourceLocation)?
        var result: FallbackSpecification?
        var isValid = true
        for pair in pairs {
            if let kind = registry.fallbackKind(for: pair.key) {
                kinds.append(pair)
                if kinds.count > 1 {
                    let all = KindRegistry.list(registry.fallbackKinds.map { $0.key })
                    report(at: pair.keyLocation, "a fallback has one of \(all), and this one has both '\(kinds[0].key)' and '\(pair.key)'; split it into a list of fallbacks")
                    isValid = false
                    continue
                }
                result = kind.decode(pair.value, decoder: &self).map { FallbackSpecification($0) }
                if result == nil { isValid = false }
                continue
            }
            switch pair.key {
            case "exit_code":
                if let code = integer(pair.value, key: "exit_code", in: 0...255, example: "0") {
                    exitCode = (Int32(code), pair.keyLocation)
                } else {
                    isValid = false
                }
            default:
                unknownOrFuture(pair, known: registry.fallbackKinds.map { $0.key } + ["exit_code"], future: Self.futureFallbackKeys, context: "the fallback")
                isValid = false
            }
        }
        guard isValid else { return nil }
        guard let result else {
            report(at: node.location, "a fallback needs one of 'command', 'shell' or 'output', such as {output: 'service down', exit_code: 0}")
            return nil
        }
        if let exitCode {
            guard type(of: result.kind).takesExitCode else {
                let kinds = KindRegistry.list(registry.fallbackKinds.filter { $0.takesExitCode }.map { $0.key })
                report(at: exitCode.location, "'exit_code' applies only to an \(kinds) fallback; a command's own exit status is used")
                return nil
            }
            return FallbackSpecification(result.kind.settingExitCode(exitCode.code))
        }
        return result
    }
}
