/// Where breaker state lives, chosen as DESIGN's "Command line" says.
public enum StateDirectory {
    /// The state directory for this invocation: `--state-dir`, else
    /// `$BREAKER_RUN_STATE_DIR`, else the configuration's `state_dir`, else
    /// `/var/lib/breaker-run` for root and `$XDG_STATE_HOME/breaker-run`
    /// (default `~/.local/state/breaker-run`, per the XDG Base Directory
    /// specification) for other users.
    /// - Parameters:
    ///   - option: the `--state-dir` value, if given.
    ///   - environment: the process environment.
    ///   - configured: the configuration's absolute `state_dir`, if any.
    ///   - isRoot: whether breaker-run runs as root.
    /// - Returns: the directory's path.
    public static func resolve(option: String?, environment: [String: String], configured: String?, isRoot: Bool) -> String {
        if let option, !option.isEmpty { return option }
        if let fromEnvironment = environment["BREAKER_RUN_STATE_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
        if let configured { return configured }
        if isRoot { return "/var/lib/breaker-run" }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/breaker-run" }
        return (environment["HOME"] ?? "/") + "/.local/state/breaker-run"
    }
}
