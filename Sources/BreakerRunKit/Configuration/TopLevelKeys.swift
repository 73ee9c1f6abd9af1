/// One top-level key of a configuration file, declared once: its name,
/// whether only the main file may set it, one line of documentation, and how
/// it is read. The decoder accepts and suggests these names and no others.
struct TopLevelKey: Sendable {
    /// What reading a file's top-level keys collects.
    struct Collected {
        /// What the file defines besides its breakers.
        var contents = ConfigurationDecoder.FileContents()
        /// What `defaults` sets.
        var defaults = BreakerFields()
        /// The entries of `breakers`, decoded once the defaults are known.
        var breakerPairs: [YAMLPair] = []
        /// Whether the file says `version`.
        var hasVersion = false
    }

    /// The key as YAML writes it.
    let name: String
    /// Whether only the main file may set it: in a drop-in of `breakers.d`
    /// it would move the state, the metrics or the log of every breaker.
    let isMainFileOnly: Bool
    /// What it sets, in one line.
    let doc: String
    /// Reads the key's value into `collected`, reporting every problem.
    let decode: @Sendable (_ decoder: inout ConfigurationDecoder, _ pair: YAMLPair, _ collected: inout Collected) -> Void
}

/// Every top-level key, in the order messages have always suggested them.
enum TopLevelKeys {
    static let all: [TopLevelKey] = [
        TopLevelKey(name: "version", isMainFileOnly: false, doc: "The configuration's version: 1.") { decoder, pair, collected in
            collected.hasVersion = true
            if let version = decoder.integer(pair.value, key: "version", in: 0...Int.max, example: "1"), version != 1 {
                decoder.report(at: pair.value.location, "unsupported configuration version \(version); this breaker-run reads version 1")
            }
        },
        TopLevelKey(name: "state_dir", isMainFileOnly: true, doc: "The state directory, relative to the file's directory.") { decoder, pair, collected in
            guard let path = decoder.string(pair.value, key: "state_dir", example: "/var/lib/breaker-run") else { return }
            if path.isEmpty {
                decoder.report(at: pair.value.location, "'state_dir' is empty; name a directory such as /var/lib/breaker-run")
            } else {
                collected.contents.stateDirectory = (decoder.absolutePath(path), pair.value.location)
            }
        },
        TopLevelKey(name: "defaults", isMainFileOnly: false, doc: "Any breaker key but the call, for every breaker of the file.") { decoder, pair, collected in
            guard let pairs = decoder.mapping(pair.value, key: "defaults", example: "{fail_max: 3}") else { return }
            collected.defaults = decoder.fields(pairs, context: "'defaults'", isDefaults: true)
            decoder.checkExitCodesApart(collected.defaults, BreakerFields(), in: "'defaults'")
        },
        TopLevelKey(name: "breakers", isMainFileOnly: false, doc: "The breakers, by name.") { decoder, pair, collected in
            if let found = decoder.mapping(pair.value, key: "breakers", example: "{db: {command: [pg_isready]}}") {
                collected.breakerPairs = found
            }
        },
        TopLevelKey(name: "metrics_file", isMainFileOnly: true, doc: "A Prometheus textfile rewritten on every change.") { decoder, pair, collected in
            let example = "/var/lib/prometheus/node-exporter/breaker-run.prom"
            guard let path = decoder.string(pair.value, key: "metrics_file", example: example) else { return }
            if path.isEmpty {
                decoder.report(at: pair.value.location, "'metrics_file' is empty; name a file such as \(example)")
            } else {
                collected.contents.metricsFile = (decoder.absolutePath(path), pair.value.location)
            }
        },
        TopLevelKey(name: "log", isMainFileOnly: true, doc: "Where transitions are logged: stderr or syslog.") { decoder, pair, collected in
            guard let text = decoder.string(pair.value, key: "log", example: "syslog") else { return }
            if let destination = LogDestination(rawValue: text) {
                collected.contents.log = (destination, pair.value.location)
            } else {
                decoder.report(at: pair.value.location, "'log' must be stderr or syslog, not '\(text)'")
            }
        },
        TopLevelKey(name: "state", isMainFileOnly: true, doc: "Where the state of the file's breakers lives, unless they say.") { decoder, pair, collected in
            collected.contents.state = decoder.stateBackend(pair.value, key: "state")
        },
    ]
}
