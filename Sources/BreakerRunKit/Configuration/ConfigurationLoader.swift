/// Finds, reads and checks breaker-run's YAML configuration (version 1).
public enum ConfigurationLoader {
    /// Reads `files` in order and merges their breakers into one configuration.
    ///
    /// Each file's `defaults` apply to the breakers of that file only, so a
    /// drop-in reads the same whatever else is installed.
    /// - Parameters:
    ///   - files: the files, in the order to read them (see `discover`).
    ///   - environment: the environment that `${VAR}` values read when a
    ///     breaker is used (normally the process environment).
    ///   - isRoot: whether running as root: root accepts files and
    ///     directories owned by root only; another user those owned by root
    ///     or by itself.
    ///   - registry: the kinds that calls and fallbacks are read as.
    /// - Returns: the effective configuration.
    /// - Throws: `.notFound` when `files` is empty; `.unreadable` when a file
    ///   cannot be read; `.unsafe` when a file or its directory has another
    ///   owner or is writable by group or others;
    ///   `.invalid` with every problem found, including a breaker defined in
    ///   two files or two different `state_dir`s.
    public static func load(files: [String], environment: [String: String] = [:], isRoot: Bool = getuid() == 0,
                            registry: KindRegistry = .builtIn) throws(ConfigurationError) -> Configuration {
        try load(files: files, environment: environment, isRoot: isRoot, only: nil, cache: nil, registry: registry)
    }

    /// Reads `files` as `load(files:environment:isRoot:)` does, through the
    /// configuration cache when one is given (see `ConfigurationCache`).
    /// - Parameters:
    ///   - files: the files, in the order to read them.
    ///   - environment: what `${VAR}` values read when a breaker is used.
    ///   - isRoot: whether to refuse files that others could change; the
    ///     check is made on every load, cached or not.
    ///   - only: the breakers the caller needs; on a cache hit the returned
    ///     configuration holds only these (all of them when the
    ///     configuration sets `metrics_file`, which is written from every
    ///     breaker). Nil for every breaker, which never reads the cache.
    ///   - cache: where parsed configurations are kept; nil for no cache.
    ///     Evaluated only for a configuration large enough to be cached, so
    ///     that a small one never creates the cache's directory.
    ///   - isLenient: whether a broken file stops only itself (see
    ///     `assemble`): the breakers in `only` (every valid one when nil)
    ///     are returned when the errors are elsewhere.
    ///   - registry: the kinds that calls and fallbacks are read as.
    /// - Returns: the effective configuration.
    /// - Throws: as `load(files:environment:isRoot:)`: a configuration with
    ///   an error anywhere is never cached, so the error (or, when lenient,
    ///   the warning) is reported whatever breaker is asked for.
    static func load(files: [String], environment: [String: String], isRoot: Bool,
                     only: Set<String>?, cache makeCache: @autoclosure () -> ConfigurationCache?,
                     isLenient: Bool = false, registry: KindRegistry = .builtIn) throws(ConfigurationError) -> Configuration {
        let lenient = isLenient ? only ?? [] : nil
        guard !files.isEmpty else { throw .notFound(searched: []) }
        // Every file is opened and checked (ownership, type) on every load,
        // cached or not; only a miss reads them.
        var opened: [OpenedFile] = []
        defer { for file in opened { close(file.descriptor) } }
        for path in files {
            opened.append(try openFile(path, isRoot: isRoot))
        }
        let isLarge = opened.reduce(0) { $0 + Int($1.info.st_size) } >= ConfigurationCache.minimumSize
        let cache = isLarge ? makeCache() : nil
        // Before any file is read: an entry is made only of files that had
        // settled by then (ConfigurationCache.isSettled).
        let started = cache?.now()
        let key = cache?.key(opened.map { ($0.path, $0.info) })
        if let cache, let key, let only, let entry = cache.read(files: files, key: key, names: only) {
            let configuration = try assemble(files: files, roots: entry.roots, readDiagnostics: [], environment: environment, lenient: lenient, registry: registry)
            guard configuration.metricsFile != nil else { return configuration }
            if let all = cache.read(files: files, key: key, names: nil) {
                return try assemble(files: files, roots: all.roots, readDiagnostics: [], environment: environment, lenient: lenient, registry: registry)
            }
        }
        var roots: [YAMLNode?] = []
        var readDiagnostics: [[Diagnostic]] = []
        for file in opened {
            var reader = YAMLReader(file: file.path)
            let root = reader.read(try readAll(file))
            roots.append(reader.diagnostics.isEmpty ? root : nil)
            readDiagnostics.append(reader.diagnostics)
        }
        let configuration = try assemble(files: files, roots: roots, readDiagnostics: readDiagnostics, environment: environment, lenient: lenient, registry: registry)
        // Only a configuration without any error is cached: a hit then
        // never hides a warning, nor repeats one that was fixed.
        if let cache, let key, let started, configuration.ignoredProblems.isEmpty,
           opened.allSatisfy({ ConfigurationCache.isSettled($0.info, before: started) }) {
            cache.write(files: files, key: key, roots: roots.compactMap { $0 })
        }
        return configuration
    }

    /// Decodes each file's root (nil for a file YAML could not read, whose
    /// `readDiagnostics` say why) and merges their breakers and settings.
    /// - Parameter lenient: nil to refuse any error (`validate`, and every
    ///   caller of the public `load(files:)`); else a broken file stops only
    ///   itself: an error in a drop-in or in a breaker's definition leaves
    ///   out the breakers concerned (`brokenBreakers`, `ignoredProblems`)
    ///   unless one of them is in the set given (the breakers the caller acts
    ///   on: empty for every valid one). An error in the main file's own keys
    ///   or `defaults`, or a main file's key in a drop-in, always stops.
    private static func assemble(files: [String], roots: [YAMLNode?], readDiagnostics: [[Diagnostic]],
                                 environment: [String: String], lenient: Set<String>? = nil, registry: KindRegistry) throws(ConfigurationError) -> Configuration {
        var diagnostics: [Diagnostic] = []
        var fatal: [Diagnostic] = []
        var fileProblems: [String: [Diagnostic]] = [:]
        var breakerProblems: [String: [Diagnostic]] = [:]
        var definedIn: [String: String] = [:]
        var configuration = Configuration(files: files, stateDirectory: nil, breakers: [:], environment: environment)
        var stateDirectoryLocation: SourceLocation?
        var metricsFileLocation: SourceLocation?
        var logLocation: SourceLocation?
        for (index, path) in files.enumerated() {
            let read = index < readDiagnostics.count ? readDiagnostics[index] : []
            var decoded: [Diagnostic] = []
            let contents = decode(root: roots[index], file: path, diagnostics: &decoded, registry: registry)
            var fileLevel = read + decoded.prefix(contents.fileDiagnosticCount)
            configuration.warnings += contents.warnings
            if let (directory, location) = contents.stateDirectory {
                if let first = stateDirectoryLocation, configuration.stateDirectory != directory {
                    fileLevel.append(Diagnostic(location: location,
                        message: "'state_dir' is \(directory) here but \(configuration.stateDirectory ?? "") at \(first); set it in one file"))
                } else if stateDirectoryLocation == nil {
                    configuration.stateDirectory = directory
                    stateDirectoryLocation = location
                }
            }
            if let (path, location) = contents.metricsFile {
                if let first = metricsFileLocation, configuration.metricsFile != path {
                    fileLevel.append(Diagnostic(location: location,
                        message: "'metrics_file' is \(path) here but \(configuration.metricsFile ?? "") at \(first); set it in one file"))
                } else if metricsFileLocation == nil {
                    configuration.metricsFile = path
                    metricsFileLocation = location
                }
            }
            if let (destination, location) = contents.log {
                if let first = logLocation, configuration.log != destination {
                    fileLevel.append(Diagnostic(location: location,
                        message: "'log' is \(destination.rawValue) here but \(configuration.log.rawValue) at \(first); set it in one file"))
                } else if logLocation == nil {
                    configuration.log = destination
                    logLocation = location
                }
            }
            if isDropIn(path) {
                fatal += contents.misplacedKeys
                if !fileLevel.isEmpty { fileProblems[path] = fileLevel }
                if roots[index] == nil { configuration.unparsedFiles.append(path) }
            } else {
                fatal += fileLevel
            }
            var fileDiagnostics = fileLevel + contents.breakerDiagnostics.values.joined()
            for (name, own) in contents.breakerDiagnostics {
                breakerProblems[name, default: []] += own
                definedIn[name] = definedIn[name] ?? path
            }
            for breaker in contents.breakers {
                if let first = configuration.breakers[breaker.name] {
                    let duplicate = Diagnostic(location: breaker.location,
                        message: "breaker '\(breaker.name)' is already defined at \(first.location); rename or remove one")
                    fileDiagnostics.append(duplicate)
                    breakerProblems[breaker.name, default: []].append(duplicate)
                } else {
                    configuration.breakers[breaker.name] = breaker
                    definedIn[breaker.name] = definedIn[breaker.name] ?? path
                }
            }
            diagnostics += fileDiagnostics.sorted { $0.location < $1.location }
        }
        guard let wanted = lenient else {
            guard diagnostics.isEmpty else { throw .invalid(diagnostics) }
            return configuration
        }
        guard fatal.isEmpty else { throw .invalid(fatal.sorted { $0.location < $1.location }) }
        for (name, path) in definedIn {
            let problems = (fileProblems[path] ?? []) + (breakerProblems[name] ?? [])
            guard !problems.isEmpty else { continue }
            if wanted.contains(name) { throw .invalid(problems.sorted { $0.location < $1.location }) }
            configuration.breakers[name] = nil
            configuration.brokenBreakers[name] = problems.sorted { $0.location < $1.location }
        }
        configuration.ignoredProblems = diagnostics
        return configuration
    }

    /// Finds the configuration files (see `discover`) and loads them.
    /// - Parameters:
    ///   - explicit: the `--config` path, if given.
    ///   - environment: the process environment (`BREAKER_RUN_CONFIG`,
    ///     `XDG_CONFIG_HOME`, `HOME`), also what `${VAR}` values read.
    ///   - isRoot: whether running as root.
    ///   - only: the breakers the caller needs, read from the configuration
    ///     cache when it holds these files (see `ConfigurationCache`); nil to
    ///     parse every file.
    ///   - usesCache: whether to use the configuration cache at all: a large
    ///     configuration parsed in full is written to it for later hits.
    ///   - isLenient: whether a broken file stops only itself: errors that
    ///     concern neither the breakers in `only` nor the main file's own
    ///     keys and `defaults` leave the breakers concerned out
    ///     (`Configuration.brokenBreakers`, `.ignoredProblems`) instead of
    ///     failing; false for `validate`, which reports every error.
    ///   - registry: the kinds that calls and fallbacks are read as.
    /// - Returns: the effective configuration; on a cache hit, only the
    ///   breakers in `only` (every breaker when `metrics_file` is set).
    /// - Throws: `.notFound` naming the places searched when no file exists;
    ///   otherwise as `load(files:isRoot:)`.
    public static func load(explicit: String?, environment: [String: String], isRoot: Bool = getuid() == 0,
                            only: Set<String>? = nil, usesCache: Bool = false, isLenient: Bool = false,
                            registry: KindRegistry = .builtIn) throws(ConfigurationError) -> Configuration {
        let files = discover(explicit: explicit, environment: environment, isRoot: isRoot)
        guard !files.isEmpty else {
            throw .notFound(searched: searchedPlaces(environment: environment, isRoot: isRoot))
        }
        return try load(files: files, environment: environment, isRoot: isRoot, only: only,
                        cache: usesCache ? ConfigurationCache.directory(environment: environment, isRoot: isRoot).flatMap { ConfigurationCache(directory: $0) } : nil,
                        isLenient: isLenient, registry: registry)
    }

    /// Parses one configuration from text, for tests and `validate`.
    /// - Parameters:
    ///   - yaml: the YAML text.
    ///   - file: the name used in messages and to resolve a relative
    ///     `state_dir` (relative to its directory).
    ///   - environment: what `${VAR}` values read when a breaker is used.
    ///   - registry: the kinds that calls and fallbacks are read as.
    /// - Returns: the configuration, with `files` set to `[file]`.
    /// - Throws: `.invalid` with every problem found, sorted by position.
    public static func parse(yaml: String, file: String, environment: [String: String] = [:], registry: KindRegistry = .builtIn) throws(ConfigurationError) -> Configuration {
        var diagnostics: [Diagnostic] = []
        let contents = decode(yaml: yaml, file: file, diagnostics: &diagnostics, registry: registry)
        var breakers: [String: BreakerConfiguration] = [:]
        for breaker in contents.breakers { breakers[breaker.name] = breaker }
        guard diagnostics.isEmpty else { throw .invalid(diagnostics.sorted { $0.location < $1.location }) }
        var configuration = Configuration(files: [file], stateDirectory: contents.stateDirectory?.path, breakers: breakers, environment: environment)
        configuration.metricsFile = contents.metricsFile?.path
        configuration.log = contents.log?.destination ?? .stderr
        configuration.warnings = contents.warnings
        return configuration
    }

    /// The configuration files to read, in order: the `--config` path; else
    /// `$BREAKER_RUN_CONFIG`; else, for a user other than root,
    /// `$XDG_CONFIG_HOME/breaker-run/breakers.yaml` (default
    /// `$HOME/.config`) and its `breakers.d/*.yaml` by name when that
    /// directory exists; else `/etc/breaker-run/breakers.yaml` and every
    /// `/etc/breaker-run/breakers.d/*.yaml` by name.
    /// - Parameters:
    ///   - explicit: the `--config` path, if given; returned even when
    ///     missing, so that loading reports it unreadable.
    ///   - environment: the process environment.
    ///   - isRoot: whether running as root (root skips the XDG directory).
    /// - Returns: the files that exist (or the explicit/environment path);
    ///   empty when there are none.
    public static func discover(explicit: String?, environment: [String: String], isRoot: Bool) -> [String] {
        if let explicit { return [explicit] }
        if let path = environment["BREAKER_RUN_CONFIG"], !path.isEmpty { return [path] }
        guard let directory = configurationDirectory(environment: environment, isRoot: isRoot) else { return [] }
        return filesIn(directory: directory)
    }

    /// The files in the `breakers.d` of the configuration `discover` finds
    /// that it does not read, because of their name (`50-extra.yml`,
    /// `README`): what `validate` warns about.
    /// - Parameters: as `discover`.
    /// - Returns: their paths, sorted; empty for a `--config` file.
    public static func skippedDropIns(explicit: String?, environment: [String: String], isRoot: Bool) -> [String] {
        guard explicit == nil, let directory = configurationDirectory(environment: environment, isRoot: isRoot) else { return [] }
        return dropIns(of: directory).skipped
    }

    /// The directory whose `breakers.yaml` and `breakers.d` `discover`
    /// reads; nil for a file named by `$BREAKER_RUN_CONFIG`.
    private static func configurationDirectory(environment: [String: String], isRoot: Bool) -> String? {
        if let path = environment["BREAKER_RUN_CONFIG"], !path.isEmpty { return nil }
        if !isRoot, let directory = userDirectory(environment: environment), isDirectory(directory) {
            return directory
        }
        return "/etc/breaker-run"
    }

    /// The places `discover` looks when nothing is given, for messages.
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - isRoot: whether running as root.
    /// - Returns: paths and patterns such as `/etc/breaker-run/breakers.d/*.yaml`.
    public static func searchedPlaces(environment: [String: String], isRoot: Bool) -> [String] {
        var places: [String] = []
        if !isRoot, let directory = userDirectory(environment: environment) {
            places += ["\(directory)/breakers.yaml", "\(directory)/breakers.d/*.yaml"]
        }
        return places + ["/etc/breaker-run/breakers.yaml", "/etc/breaker-run/breakers.d/*.yaml"]
    }

    private static func userDirectory(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/breaker-run" }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.config/breaker-run"
    }

    private static func filesIn(directory: String) -> [String] {
        var files: [String] = []
        let main = directory + "/breakers.yaml"
        if access(main, F_OK) == 0 { files.append(main) }
        return files + dropIns(of: directory).read
    }

    /// The entries of `directory/breakers.d`, sorted by name: those read
    /// (`*.yaml`, not hidden) and the others.
    private static func dropIns(of directory: String) -> (read: [String], skipped: [String]) {
        let dropIns = directory + "/breakers.d"
        guard let handle = opendir(dropIns) else { return ([], []) }
        defer { closedir(handle) }
        var read: [String] = []
        var skipped: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            if name.hasSuffix(".yaml") && !name.hasPrefix(".") { read.append(name) } else { skipped.append(name) }
        }
        func paths(_ names: [String]) -> [String] {
            names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { dropIns + "/" + $0 }
        }
        return (paths(read), paths(skipped))
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    private static func decode(yaml: String, file: String, diagnostics: inout [Diagnostic], registry: KindRegistry) -> ConfigurationDecoder.FileContents {
        var reader = YAMLReader(file: file)
        let root = reader.read(Array(yaml.utf8))
        diagnostics += reader.diagnostics
        return decode(root: reader.diagnostics.isEmpty ? root : nil, file: file, diagnostics: &diagnostics, registry: registry)
    }

    private static func decode(root: YAMLNode?, file: String, diagnostics: inout [Diagnostic], registry: KindRegistry) -> ConfigurationDecoder.FileContents {
        guard let root else { return ConfigurationDecoder.FileContents() }
        var decoder = ConfigurationDecoder(file: file, isDropIn: isDropIn(file), registry: registry)
        let contents = decoder.decode(root)
        diagnostics += decoder.diagnostics
        return contents
    }

    /// Whether `file` is a drop-in: a file of a directory named `breakers.d`.
    static func isDropIn(_ file: String) -> Bool {
        file.split(separator: "/").dropLast().last == "breakers.d"
    }

    private static func reason(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// A configuration file opened for reading, with what fstat(2) said of
    /// it before anything was read.
    private struct OpenedFile {
        var path: String
        var descriptor: Int32
        var info: stat
    }

    private static func openFile(_ path: String, isRoot: Bool) throws(ConfigurationError) -> OpenedFile {
        let descriptor = try valueOrError("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
            .mapError { ConfigurationError.unreadable(path: path, reason: reason($0.errno)) }.get()
        var info = stat()
        do throws(ConfigurationError) {
            guard fstat(descriptor, &info) == 0 else { throw .unreadable(path: path, reason: reason(errno)) }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw .unreadable(path: path, reason: (info.st_mode & S_IFMT) == S_IFDIR ? "is a directory" : "is not a regular file")
            }
            // Root obeys only files that root controls; another user also
            // its own, but never one that someone else could edit (a user's
            // cron jobs must not run what anyone can write).
            let owners: Set<uid_t> = isRoot ? [0] : [0, getuid()]
            try checkOwnership(path, info, what: "the file", owners: owners)
            try checkDirectories(of: path, owners: owners)
        } catch {
            close(descriptor)
            throw error
        }
        return OpenedFile(path: path, descriptor: descriptor, info: info)
    }

    private static func readAll(_ file: OpenedFile) throws(ConfigurationError) -> [UInt8] {
        // Read straight into one buffer sized from fstat, growing it only if
        // the file grew meanwhile.
        do {
            return try readToEnd(file.descriptor, path: file.path, sizeHint: Int(file.info.st_size))
        } catch {
            throw .unreadable(path: file.path, reason: reason(error.errno))
        }
    }

    private static func checkOwnership(_ path: String, _ info: stat, what: String, owners: Set<uid_t>, allowsSticky: Bool = false) throws(ConfigurationError) {
        if !owners.contains(info.st_uid) {
            let allowed = owners.count == 1 ? "root" : "root or uid \(owners.filter { $0 != 0 }.map(String.init).joined()) (the user running breaker-run)"
            throw .unsafe(path: path, reason: "\(what) is owned by uid \(info.st_uid), not \(allowed)")
        }
        let isSticky = info.st_mode & S_ISVTX != 0
        if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && !(allowsSticky && isSticky) {
            throw .unsafe(path: path, reason: "\(what) is writable by group or others")
        }
    }

    /// Checks the file's directory and its ancestors: each must be owned by
    /// one of `owners` (root, and the user running breaker-run when that is
    /// not root) and writable only by its owner, except that a sticky
    /// directory such as /tmp is accepted, as OpenSSH's StrictModes accepts
    /// it: there, nobody else can rename or remove a file that they own.
    private static func checkDirectories(of path: String, owners: Set<uid_t>) throws(ConfigurationError) {
        guard let resolved = realpath(path, nil) else { throw .unreadable(path: path, reason: reason(errno)) }
        var current = String(cString: resolved)
        free(resolved)
        while current != "/" {
            let slash = current.lastIndex(of: "/")!
            current = slash == current.startIndex ? "/" : String(current[..<slash])
            var info = stat()
            guard stat(current, &info) == 0 else { throw .unreadable(path: current, reason: reason(errno)) }
            try checkOwnership(current, info, what: "the directory", owners: owners, allowsSticky: true)
        }
    }
}

extension ConfigurationDecoder {
    /// The process's working directory, or "/" when it cannot be read.
    static func currentDirectory() -> String {
        guard let buffer = getcwd(nil, 0) else { return "/" }
        defer { free(buffer) }
        return String(cString: buffer)
    }
}
