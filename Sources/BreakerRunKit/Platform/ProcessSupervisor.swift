import CPlatform

/// Runs one child process to its end, the way GNU `timeout` does, without
/// threads: the child leads its own process group, breaker-run blocks the
/// signals it cares about and collects them with `sigtimedwait(2)`.
///
/// - The child's stdio is not piped: it inherits descriptors 0, 1 and 2, so
///   its output passes through untouched and unbuffered.
/// - It inherits no other descriptor of ours: by convention every descriptor
///   breaker-run opens is `O_CLOEXEC`, and where glibc has
///   `posix_spawn_file_actions_addclosefrom_np` (2.34 and later) descriptors
///   from 3 up are closed in the child as well.
/// - Signals: SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT (and SIGTTOU) are
///   blocked in the calling thread while the child runs. SIGINT, SIGTERM,
///   SIGHUP and SIGQUIT received meanwhile are forwarded to the child's group
///   and reported as the result's `interruption`; after SIGINT, SIGTERM or
///   SIGHUP the group gets SIGKILL `killAfter` later if the child is still
///   there, so a call that ignores them cannot hang breaker-run. The mask is per thread: in
///   a multi-threaded process, block these signals in every thread (for
///   example in `main` before any thread starts), or a signal meant for us
///   goes to another thread.
/// - Time-out (GNU `timeout`): SIGTERM (then SIGCONT) to the group when the
///   spec's `timeout` passes, SIGKILL to the group `killAfter` later if the
///   child is still there, and SIGKILL to the group once more after the child
///   is reaped, so that no background descendant outlives a timed-out call.
/// - Terminal: when stdin is a terminal and breaker-run's group is its
///   foreground group, the child's group gets the terminal (`tcsetpgrp`), and
///   breaker-run takes it back after the child is reaped, as shells do.
public struct ProcessSupervisor: Sendable {
    /// The longest `sigtimedwait` sleeps before polling `waitpid` anyway: a
    /// safety net for a SIGCHLD taken by another thread of this process.
    static let pollInterval: Duration = .milliseconds(50)

    /// Creates a supervisor. It holds no state; one can run many children,
    /// one after the other or from several threads.
    public init() {}

    /// Starts the child described by `spec` and waits until it has ended,
    /// forwarding signals and enforcing the time-out meanwhile.
    ///
    /// - Parameter spec: what to run: argv, environment, working directory,
    ///   `timeout` and `killAfter` (both `Duration`s, on a monotonic clock).
    /// - Returns: how the child ended, whether it timed out, the signal
    ///   breaker-run received and forwarded (if any), its run time, and its pid.
    /// - Throws: `LaunchError.notFound` when the command does not exist
    ///   (`ENOENT`), `LaunchError.notExecutable` when it cannot be executed
    ///   (`EACCES`, `EPERM`, `ENOEXEC`, `EISDIR`, `ENOTDIR`), and
    ///   `LaunchError.failed` for an empty argv, an unusable working directory
    ///   or another failure of the spawn. Once the child runs, nothing it does
    ///   throws; only a `waitpid` failure (which means the process's SIGCHLD
    ///   handling was tampered with) would.
    public func run(_ spec: ProcessSpecification) throws(LaunchError) -> SupervisedResult {
        guard let command = spec.arguments.first else {
            throw .failed(SystemError("posix_spawnp", path: "(empty command)", errno: EINVAL))
        }
        if let directory = spec.workingDirectory { try Self.checkDirectory(directory) }
        Self.stopIgnoringChildren()

        var waited = Self.signalSet(Self.forwardedSignals + [SIGCHLD])
        var blocked = Self.signalSet(Self.forwardedSignals + [SIGCHLD, SIGTTOU])
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }

        let clock = ContinuousClock()
        let started = clock.now
        let pid = try Self.spawn(spec, command: command)
        // Declared after the mask's `defer`, so it runs first: taking the
        // terminal back from the background needs SIGTTOU still blocked.
        var terminal = TerminalHandoff(handingOverTo: pid, lending: !spec.isBackground)
        defer { terminal.takeBack() }

        var deadline = spec.timeout.map { started + $0 }
        var killDeadline: ContinuousClock.Instant?
        var timedOut = false
        var interruption: Int32?

        while true {
            if let termination = try Self.reap(pid, terminal: &terminal) {
                if timedOut { Self.signalGroup(pid, SIGKILL) }
                // Ctrl-C or Ctrl-\ at the terminal reaches only the foreground
                // group, the call's: an operator's interruption all the same.
                if interruption == nil, terminal.isLent, case .signaled(let signal) = termination, signal == SIGINT || signal == SIGQUIT {
                    interruption = signal
                }
                return SupervisedResult(
                    termination: termination,
                    timedOut: timedOut,
                    interruption: interruption,
                    duration: clock.now - started,
                    processID: pid
                )
            }
            let now = clock.now
            if let due = deadline, now >= due {
                timedOut = true
                deadline = nil
                killDeadline = now + spec.killAfter
                Self.signalGroup(pid, SIGTERM)
                Self.signalGroup(pid, SIGCONT)
                continue
            }
            if let due = killDeadline, now >= due {
                killDeadline = nil
                Self.signalGroup(pid, SIGKILL)
                continue
            }
            var slice = Self.pollInterval
            if let due = deadline { slice = min(slice, due - now) }
            if let due = killDeadline { slice = min(slice, due - now) }
            var wait = Self.waitTime(slice)
            let received = sigtimedwait(&waited, nil, &wait)
            if received > 0 && received != SIGCHLD {
                if interruption == nil { interruption = received }
                Self.signalGroup(pid, received)
                Self.signalGroup(pid, SIGCONT)
                // A call that ignores the signal must not hang breaker-run
                // (systemctl stop, timeout(1)): SIGKILL follows `killAfter` later.
                if Self.escalatedSignals.contains(received), killDeadline == nil {
                    killDeadline = clock.now + spec.killAfter
                }
            }
            // SIGCHLD, a time-out (EAGAIN) or EINTR: the loop's top reaps.
        }
    }

    /// The signals forwarded to the child's group.
    static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// The forwarded signals after which the group gets SIGKILL `killAfter`
    /// later if the child is still there.
    static let escalatedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Starts `spec` detached and does not wait for it: in a session of its
    /// own (setsid(2), so that no terminal or process group of ours reaches
    /// it), standard input `/dev/null`, standard output and error to
    /// `output`, no other descriptor of ours; its timeout is not enforced.
    /// Used to start `breaker-run drain` when a trial closes a breaker
    /// (`drain: on_close`); the child outlives this short-lived process and
    /// is reaped by init(1).
    /// - Parameters:
    ///   - spec: what to run; `isBackground` and `standardOutput` are ignored.
    ///   - output: the descriptor its output goes to, such as a log file.
    /// - Returns: the child's process id.
    /// - Throws: `LaunchError` when it cannot be started.
    public func startDetached(_ spec: ProcessSpecification, output: Int32) throws(LaunchError) -> pid_t {
        guard let command = spec.arguments.first else {
            throw .failed(SystemError("posix_spawnp", path: "(empty command)", errno: EINVAL))
        }
        return try Self.spawn(spec, command: command, detachedOutput: output)
    }

    private static func spawn(_ spec: ProcessSpecification, command: String, detachedOutput: Int32? = nil) throws(LaunchError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        // Every catchable signal back to its default, none blocked: the child
        // must not inherit our blocked mask or an ignored SIGINT (POSIX spawn).
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        #if canImport(Glibc)
        // sigfillset leaves out glibc's internal signals 32 and 33, and glibc's
        // spawn then sets them to SIG_IGN in the child, which survives exec:
        // add them to the set by hand (bits n-1 of the first word).
        defaults.__val.0 |= (1 << 31) | (1 << 32)
        #endif
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        if detachedOutput == nil {
            posix_spawnattr_setpgroup(&attributes, 0)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        } else {
            posix_spawnattr_setflags(&attributes, breaker_run_spawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        }

        if let directory = spec.workingDirectory {
            let code = breaker_run_spawn_addchdir(&actions, directory)
            if code != 0 { throw .failed(SystemError("posix_spawn_file_actions_addchdir_np", path: directory, errno: code)) }
        }
        if let output = detachedOutput {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
        } else if spec.isBackground {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        } else if let output = spec.standardOutput {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
        }
        // Where the C library lacks it (ENOSYS), every descriptor breaker-run
        // opens is close-on-exec anyway; this also closes inherited ones.
        _ = breaker_run_spawn_addclosefrom(&actions, 3)

        let environment = spec.environment.map { "\($0.key)=\($0.value)" }.sorted()
        let program = try Self.program(command, searching: spec.environment["PATH"])
        var pid: pid_t = 0
        let code = withCStringArray(spec.arguments) { argv in
            withCStringArray(environment) { envp in
                posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
            }
        }
        switch code {
        case 0: return pid
        case ENOENT: throw .notFound(command)
        case EACCES, EPERM, ENOEXEC, EISDIR, ENOTDIR: throw .notExecutable(command, errno: code)
        default: throw .failed(SystemError("posix_spawnp", path: command, errno: code))
        }
    }

    /// The program to spawn for `command`: the command itself when it has a
    /// slash, or when the child's `PATH` is the one posix_spawnp(3) searches
    /// (breaker-run's own); else the first executable regular file named
    /// `command` in the child's `PATH`, as `env PATH=... command` would find
    /// it (execvp(3): an empty entry is the working directory).
    /// - Throws: `.notExecutable` (EACCES) when the child's `PATH` has such
    ///   files but none may be executed, as execvp(3) reports it;
    ///   `.notFound` when it has none.
    static func program(_ command: String, searching path: String?) throws(LaunchError) -> String {
        guard let path, !command.contains("/"), !command.isEmpty else { return command }
        if let own = getenv("PATH"), String(cString: own) == path { return command }
        var denied: String?
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + command
            var info = stat()
            guard stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
            denied = denied ?? candidate
        }
        if let denied { throw .notExecutable(denied, errno: EACCES) }
        throw .notFound(command)
    }

    /// Collects the child if it has ended; handles a stop on the way.
    /// - Returns: the termination, or `nil` while the child lives.
    private static func reap(_ pid: pid_t, terminal: inout TerminalHandoff) throws(LaunchError) -> Termination? {
        var status: Int32 = 0
        let result: pid_t
        do {
            result = try retryingInterrupts("waitpid") { waitpid(pid, &status, WNOHANG | WUNTRACED) }
        } catch {
            throw .failed(error)
        }
        guard result == pid else { return nil }
        if let termination = Termination(waitStatus: status) { return termination }
        if status & 0xff == 0x7f { terminal.childStopped(by: (status >> 8) & 0xff) }
        return nil
    }

    /// Sends `signal` to the child's process group; a group that is already
    /// gone (`ESRCH`) is fine.
    private static func signalGroup(_ group: pid_t, _ signal: Int32) {
        _ = kill(-group, signal)
    }

    /// A child of a process that ignores SIGCHLD is reaped by the kernel and
    /// its status lost (POSIX), and SIG_IGN survives exec: undo it.
    private static func stopIgnoringChildren() {
        var current = sigaction()
        sigaction(SIGCHLD, nil, &current)
        if unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1 {
            var restored = sigaction()
            restored.__sigaction_handler.sa_handler = SIG_DFL
            sigemptyset(&restored.sa_mask)
            sigaction(SIGCHLD, &restored, nil)
        }
    }

    /// Fails early, with the directory's name, where the child's `chdir`
    /// would fail: `posix_spawn` would report that `ENOENT` as if the command
    /// were missing.
    private static func checkDirectory(_ path: String) throws(LaunchError) {
        var info = stat()
        if stat(path, &info) != 0 { throw .failed(SystemError("chdir", path: path, errno: errno)) }
        if info.st_mode & S_IFMT != S_IFDIR { throw .failed(SystemError("chdir", path: path, errno: ENOTDIR)) }
        if access(path, X_OK) != 0 { throw .failed(SystemError("chdir", path: path, errno: errno)) }
    }

    private static func signalSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    private static func waitTime(_ duration: Duration) -> timespec {
        let components = max(duration, .zero).components
        return timespec(tv_sec: Int(components.seconds), tv_nsec: Int(components.attoseconds / 1_000_000_000))
    }
}

/// Calls `body` with a NULL-terminated array of C strings, as `argv` and
/// `envp` are; the strings live until `body` returns.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
