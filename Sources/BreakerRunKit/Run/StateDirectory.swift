/// Where breaker state lives, chosen as DESIGN's "Command line" says.
public enum StateDirectory {
    /// The state directory for this invocation: `--state-dir`, else
    /// `$BREAKER_RUN_STATE_DIR`, else the configuration's `state_dir`, else
    /// `/var/lib/breaker-run` for root and for every user of the system
    /// configuration (`/etc/breaker-run`), which that directory's group
    /// shares, and `$XDG_STATE_HOME/breaker-run` (default
    /// `~/.local/state/breaker-run`, per the XDG Base Directory
    /// specification) for a user's own configuration.
    /// - Parameters:
    ///   - option: the `--state-dir` value, if given.
    ///   - environment: the process environment.
    ///   - configured: the configuration's absolute `state_dir`, if any.
    ///   - isRoot: whether breaker-run runs as root.
    ///   - configurationFiles: the configuration's files, main file first.
    /// - Returns: the directory's path.
    public static func resolve(option: String?, environment: [String: String], configured: String?, isRoot: Bool,
                               configurationFiles: [String] = []) -> String {
        if let option, !option.isEmpty { return option }
        if let fromEnvironment = environment["BREAKER_RUN_STATE_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
        if let configured { return configured }
        if isRoot || isSystemConfiguration(configurationFiles) { return system }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/breaker-run" }
        return (environment["HOME"] ?? "/") + "/.local/state/breaker-run"
    }

    /// The state directory of the system configuration, shared by the
    /// group `breaker-run` (root:breaker-run, mode 2770).
    public static let system = "/var/lib/breaker-run"

    /// Whether `files` are the system configuration: its main file is in
    /// `/etc/breaker-run`, whether found there or named with `--config`
    /// (a file a user does not own, so not that user's own configuration).
    static func isSystemConfiguration(_ files: [String]) -> Bool {
        guard let main = files.first else { return false }
        return main.hasPrefix("/etc/breaker-run/")
    }
}
