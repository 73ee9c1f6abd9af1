// libFuzzer entry for the configuration loader, compiled by
// scripts/fuzz-config.sh into the BreakerRunKit module together with
// Sources/BreakerRunKit/Configuration/*.swift (not part of the SwiftPM build).
//
// Beyond "no crash, no hang, bounded memory", it checks a property: a
// configuration that loads prints (`validate --print`) as text that loads back
// as the same breakers.

private let environment = ["SET": "value with $ and ${braces}", "EMPTY": ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigurationLoader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let configuration: Configuration
    do {
        configuration = try ConfigurationLoader.parse(yaml: text, file: "/fuzz/breakers.yaml", environment: environment)
    } catch {
        _ = error.description
        return 0
    }
    _ = configuration.unsetVariableWarnings()
    for name in configuration.breakerNames {
        _ = try? configuration.breaker(named: name)
    }
    let printed = configuration.effectiveYAML(stateDirectoryInUse: "/var/lib/breaker-run")
    let reread: Configuration
    do {
        reread = try ConfigurationLoader.parse(yaml: printed, file: "/fuzz/breakers.yaml", environment: environment)
    } catch {
        fatalError("the printed configuration does not load back: \(error)\n--- printed:\n\(printed)")
    }
    guard normalized(reread) == normalized(configuration) else {
        fatalError("the printed configuration loads back differently\n--- printed:\n\(printed)\n--- reprinted:\n\(reread.effectiveYAML())")
    }
    return 0
}

/// The configuration with every source location blanked: printing moves them.
private func normalized(_ configuration: Configuration) -> Configuration {
    var result = configuration
    let nowhere = SourceLocation(file: "", line: 0, column: 0)
    for (name, var breaker) in result.breakers {
        breaker.location = nowhere
        breaker.interpolatedEnvironment = breaker.interpolatedEnvironment.mapValues {
            InterpolatedString(segments: $0.segments, location: nowhere)
        }
        result.breakers[name] = breaker
    }
    return result
}
