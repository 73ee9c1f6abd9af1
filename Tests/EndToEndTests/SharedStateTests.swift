import Foundation
import Testing

/// One breaker for every user of a host (issue 16): the system
/// configuration's state directory, /var/lib/breaker-run, is shared by the
/// group `breaker-run` (root:breaker-run 2770). Each test runs as root in a
/// private mount namespace (unshare -m) where /etc and /var/lib are tmpfs:
/// /etc holds copies of the account files (so that users and the group are
/// real entries, added without touching the machine's) and links to the
/// rest; real uids and gids run breaker-run through setpriv(1).
@Suite("A state directory shared by a group, in a private mount namespace")
struct SharedStateTests {
    static let config = """
        version: 1
        breakers:
          alpha:
            reset_timeout: 1h
          beta:
            fail_max: 2
            reset_timeout: 1h
          guarded:
            on_state_error: fail-closed
        """

    /// The namespace's set-up: a tmpfs /etc with copies of the account files
    /// and links to everything else (never to a `-` backup or a lock, which
    /// a tool could write through), a tmpfs /var/lib, the group
    /// `breaker-run` (gid 4390), a member `brmember` (4391) and an outsider
    /// `broutsider` (4392), and `as_member`, `as_outsider` running the copied
    /// binary with the system configuration.
    static let preamble = #"""
        set -u
        S="$SANDBOX"
        mkdir -p "$S/realetc"
        mount --bind /etc "$S/realetc"
        mount -t tmpfs -o mode=755 none /etc
        for f in "$S"/realetc/* "$S"/realetc/.[!.]*; do
            name="${f##*/}"
            case "$name" in
                '*'|'.[!.]*'|*-|*.lock|*+) continue ;;
                passwd|group|shadow|gshadow) cp -p "$f" /etc/"$name" ;;
                *) ln -s "$f" /etc/"$name" ;;
            esac
        done
        mount -t tmpfs -o mode=755 none /var/lib
        echo "breaker-run:x:4390:brmember" >> /etc/group
        echo "brmember:x:4391:" >> /etc/group
        echo "broutsider:x:4392:" >> /etc/group
        echo "brmember:x:4391:4391::/nonexistent:/usr/sbin/nologin" >> /etc/passwd
        echo "broutsider:x:4392:4392::/nonexistent:/usr/sbin/nologin" >> /etc/passwd
        mkdir -m 755 /etc/breaker-run
        cp "$S/breakers.yaml" /etc/breaker-run/breakers.yaml
        chmod 644 /etc/breaker-run/breakers.yaml
        install -d -o root -g breaker-run -m 2770 /var/lib/breaker-run
        B="$S/breaker-run"
        export HOME=/nonexistent
        unset BREAKER_RUN_CONFIG BREAKER_RUN_STATE_DIR XDG_STATE_HOME XDG_CONFIG_HOME
        as_member() { setpriv --reuid=4391 --regid=4391 --groups=4390 -- "$B" "$@"; }
        as_outsider() { setpriv --reuid=4392 --regid=4392 --clear-groups -- "$B" "$@"; }
        step() { echo "== $1"; }
        """#

    /// Runs `script` after `preamble` in a private mount namespace; its
    /// standard output and error are kept together.
    static func inNamespace(_ script: String) throws -> (status: Int32, output: String, sandbox: Sandbox) {
        let sandbox = try Sandbox(config: config)
        try #require(chmod(sandbox.directory.path, 0o755) == 0)
        let binary = sandbox.path("breaker-run")
        try FileManager.default.copyItem(atPath: Sandbox.binary, toPath: binary)
        try #require(chmod(binary, 0o755) == 0)
        // Standard error joins standard output, so that each step's lines
        // come in order.
        let result = try sandbox.run(["-m", "--propagation", "private", "bash", "-c", "exec 2>&1\n" + preamble + "\n" + script],
                                     environment: ["SANDBOX": sandbox.directory.path], binary: "/usr/bin/unshare")
        return (result.status, result.stdout, sandbox)
    }

    /// The lines printed after `== name` and before the next step.
    static func section(_ name: String, of output: String) -> String {
        let parts = output.components(separatedBy: "== ")
        guard let part = parts.first(where: { $0.hasPrefix(name + "\n") }) else { return "" }
        return String(part.dropFirst(name.count + 1))
    }

    static let canUnshare = FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") && getuid() == 0

    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func rootsHoldIsObeyedByAMemberAndFilesStayInTheGroup() throws {
        let result = try Self.inNamespace(#"""
            step "trip"; "$B" trip alpha --hold; echo "status $?"
            step "member run held"; as_member run alpha -- true; echo "status $?"
            step "member run beta"; as_member run beta -- false; echo "status $?"
            step "root run beta"; "$B" run beta -- true; echo "status $?"
            step "member run beta again"; as_member run beta -- false; echo "status $?"
            step "others"; find /var/lib/breaker-run -perm /o=rwx
            step "not group"; find /var/lib/breaker-run ! -group breaker-run
            step "dirs"; find /var/lib/breaker-run -mindepth 1 -type d ! -perm 2770
            step "files"; find /var/lib/breaker-run -type f ! -perm 0660
            step "owners"; stat -c '%U' /var/lib/breaker-run/beta
            step "count"; find /var/lib/breaker-run/beta -type f | wc -l
            step "end"
            """#)
        let output = result.output
        #expect(Self.section("trip", of: output).hasSuffix("status 0\n"), "\(output)")
        // 75: the breaker is open and the call did not run.
        #expect(Self.section("member run held", of: output).hasSuffix("status 75\n"), "\(output)")
        #expect(Self.section("member run beta", of: output) == "status 1\n", "\(output)")
        #expect(Self.section("root run beta", of: output) == "status 0\n", "root updates the member's files without a warning: \(output)")
        #expect(Self.section("member run beta again", of: output) == "status 1\n", "and the member root's: \(output)")
        #expect(Self.section("others", of: output) == "", "nothing readable or writable by others: \(output)")
        #expect(Self.section("not group", of: output) == "", "every file has the group: \(output)")
        #expect(Self.section("dirs", of: output) == "", "breaker directories 2770: \(output)")
        #expect(Self.section("files", of: output) == "", "files 0660: \(output)")
        #expect(Self.section("owners", of: output) == "brmember\n", "the member created beta: \(output)")
        #expect(Self.section("count", of: output) != "0\n", "\(output)")
        #expect(output.contains("== end"), "\(output)")
    }

    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func aUserOutsideTheGroupGetsOnStateErrorAndTheFixNeverAPrivateState() throws {
        let result = try Self.inNamespace(#"""
            export HOME="$S/outsider-home"
            mkdir -p "$HOME" && chown 4392:4392 "$HOME"
            step "fail-open"; as_outsider run alpha -- echo ran; echo "status $?"
            step "fail-closed"; as_outsider run guarded -- echo ran; echo "status $?"
            step "private"; find "$HOME" -mindepth 1
            mkdir -p "$HOME/.config/breaker-run" && cp /etc/breaker-run/breakers.yaml "$HOME/.config/breaker-run/"
            chown -R 4392:4392 "$HOME"
            step "own configuration"; as_outsider run alpha -- echo ran; echo "status $?"; test -d "$HOME/.local/state/breaker-run/alpha" && echo "private state"
            rm -rf "$HOME/.config" "$HOME/.local"
            step "shared"; find /var/lib/breaker-run -mindepth 1
            step "end"
            """#)
        let output = result.output
        let fix = "cannot use the shared state directory /var/lib/breaker-run: broutsider is not in its group breaker-run; run 'usermod -aG breaker-run broutsider' as root"
        let open = Self.section("fail-open", of: output)
        #expect(open.contains("ran\n") && open.hasSuffix("status 0\n"), "\(output)")
        #expect(open.components(separatedBy: fix).count == 2, "one line naming the directory, the group and the fix: \(output)")
        let closed = Self.section("fail-closed", of: output)
        #expect(!closed.contains("ran\n") && closed.hasSuffix("status 74\n"), "\(output)")
        #expect(closed.contains(fix), "\(output)")
        #expect(Self.section("private", of: output) == "", "no private state: \(output)")
        #expect(Self.section("shared", of: output) == "", "\(output)")
        #expect(output.contains("== end"), "\(output)")
    }

    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func aSharedDirectoryWritableByOthersOrWithoutSetgidIsRefused() throws {
        let result = try Self.inNamespace(#"""
            chmod 2777 /var/lib/breaker-run
            step "others root"; "$B" trip alpha; echo "status $?"
            step "others member"; as_member trip alpha; echo "status $?"
            # g-s: a numeric chmod keeps a directory's setgid bit (coreutils).
            chmod 2770 /var/lib/breaker-run && chmod g-s /var/lib/breaker-run
            step "no setgid root"; "$B" trip alpha; echo "status $?"
            step "no setgid member"; as_member trip alpha; echo "status $?"
            chmod 2770 /var/lib/breaker-run
            install -d -o 4392 -g breaker-run -m 2777 /var/lib/breaker-run/beta
            step "breaker dir writable by others"; as_member trip beta; echo "status $?"
            step "contents"; find /var/lib/breaker-run -mindepth 1 -name alpha
            step "end"
            """#)
        let output = result.output
        for step in ["others root", "others member"] {
            let part = Self.section(step, of: output)
            #expect(part.contains("refusing state directory /var/lib/breaker-run: its mode 2777"), "\(step): \(output)")
            #expect(part.hasSuffix("status 74\n"), "\(step): \(output)")
        }
        for step in ["no setgid root", "no setgid member"] {
            let part = Self.section(step, of: output)
            #expect(part.contains("refusing state directory /var/lib/breaker-run: its mode 770"), "\(step): \(output)")
            #expect(part.hasSuffix("status 74\n"), "\(step): \(output)")
        }
        let planted = Self.section("breaker dir writable by others", of: output)
        #expect(planted.contains("refusing state directory /var/lib/breaker-run/beta"), "\(output)")
        #expect(planted.hasSuffix("status 74\n"), "\(output)")
        #expect(Self.section("contents", of: output) == "", "nothing created: \(output)")
        #expect(output.contains("== end"), "\(output)")
    }

    /// A member whose host has no shared directory yet: missing, or still
    /// private to root from an older install. Each is one line naming the
    /// directory and the commands that share it, and `on_state_error`'s
    /// behaviour.
    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func aMemberIsToldHowToShareAMissingOrPrivateDirectory() throws {
        let result = try Self.inNamespace(#"""
            rmdir /var/lib/breaker-run && chmod 755 /var/lib
            step "missing"; as_member run guarded -- echo ran; echo "status $?"
            install -d -o root -g root -m 0700 /var/lib/breaker-run
            step "private"; as_member run alpha -- echo ran; echo "status $?"
            step "end"
            """#)
        let output = result.output
        let missing = Self.section("missing", of: output)
        #expect(missing.contains("cannot create state directory /var/lib/breaker-run: Permission denied; create it as root, shared by the group breaker-run: install -d -o root -g breaker-run -m 2770 /var/lib/breaker-run"), "\(output)")
        #expect(!missing.contains("ran\n") && missing.hasSuffix("status 74\n"), "fail-closed: \(output)")
        let privateToRoot = Self.section("private", of: output)
        #expect(privateToRoot.contains("cannot open /var/lib/breaker-run: Permission denied; it is private to root, not shared by the group breaker-run: as root, chgrp breaker-run /var/lib/breaker-run && chmod 2770 /var/lib/breaker-run"), "\(output)")
        #expect(privateToRoot.contains("ran\n") && privateToRoot.hasSuffix("status 0\n"), "fail-open: \(output)")
        #expect(output.contains("== end"), "\(output)")
    }

    /// An upgrade: a state directory an older install made private to root
    /// (0700, its breaker directories 0700 and files 0600, group root) is
    /// made shared by `make install` (chgrp, 2770), and root's next `run` of
    /// each breaker makes that breaker's directory and files the group's, so
    /// that a member then obeys root's hold and updates its counts.
    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func rootsBreakersOfAnOlderPrivateInstallBecomeTheGroupsAtRootsNextRun() throws {
        let result = try Self.inNamespace(#"""
            chgrp root /var/lib/breaker-run && chmod 0700 /var/lib/breaker-run && chmod g-s /var/lib/breaker-run
            umask 077
            "$B" trip alpha --hold >/dev/null 2>&1
            "$B" run beta -- false >/dev/null 2>&1
            step "before"; stat -c '%a %G' /var/lib/breaker-run/alpha /var/lib/breaker-run/alpha/state.json
            chgrp breaker-run /var/lib/breaker-run && chmod 2770 /var/lib/breaker-run
            step "member before root"; as_member run beta -- true; echo "status $?"
            step "root"; "$B" run alpha -- true; echo "status $?"; "$B" run beta -- true; echo "status $?"
            step "member held"; as_member run alpha -- true; echo "status $?"
            step "member beta"; as_member run beta -- false; echo "status $?"
            step "modes"; find /var/lib/breaker-run -mindepth 1 \( -type d ! -perm 2770 -o -type f ! -perm 0660 -o ! -group breaker-run \) -print
            step "end"
            """#)
        let output = result.output
        #expect(Self.section("before", of: output) == "700 root\n600 root\n", "\(output)")
        // Before root's next run the member cannot enter root's private
        // breaker directory: a state fault (fail-open), named.
        let early = Self.section("member before root", of: output)
        #expect(early.contains("cannot open /var/lib/breaker-run/beta"), "\(output)")
        let root = Self.section("root", of: output)
        #expect(root.contains("status 75\n") && root.hasSuffix("status 0\n") && !root.contains("warning"), "\(output)")
        #expect(Self.section("member held", of: output).hasSuffix("status 75\n"), "\(output)")
        let beta = Self.section("member beta", of: output)
        #expect(beta.hasSuffix("status 1\n") && !beta.contains("warning"), "\(output)")
        #expect(Self.section("modes", of: output) == "", "every directory 2770, file 0660, with the group: \(output)")
        #expect(output.contains("== end"), "\(output)")
    }

    /// A member who hard-links a breaker's file to a file of its own (the
    /// kernel's protected_hardlinks forbids linking files it does not own)
    /// cannot have root write through the second name: root refuses the
    /// file, naming it, and the linked file keeps its bytes.
    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func aHardLinkedFileInTheSharedDirectoryIsRefused() throws {
        let result = try Self.inNamespace(#"""
            as_member run beta -- false >/dev/null 2>&1
            mkdir -m 700 /var/lib/elsewhere && chown 4391 /var/lib/elsewhere
            setpriv --reuid=4391 --regid=4391 --groups=4390 -- sh -c 'echo mine > /var/lib/elsewhere/file && rm -f /var/lib/breaker-run/beta/counts && ln /var/lib/elsewhere/file /var/lib/breaker-run/beta/counts'
            step "root"; "$B" run beta -- true; echo "status $?"
            step "file"; cat /var/lib/elsewhere/file
            step "end"
            """#)
        let output = result.output
        let root = Self.section("root", of: output)
        #expect(root.contains("refusing /var/lib/breaker-run/beta/counts: it has 2 hard links"), "\(output)")
        #expect(Self.section("file", of: output) == "mine\n", "\(output)")
        #expect(output.contains("== end"), "\(output)")
    }

    /// `make install` run as root without a DESTDIR, in the namespace (with
    /// /usr/local and /var/cache tmpfs too): it creates the group and the directory, and
    /// uninstall leaves both.
    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func makeInstallCreatesTheGroupAndTheSharedDirectory() throws {
        let result = try Self.inNamespace(#"""
            sed -i '/^breaker-run:/d' /etc/group
            rmdir /var/lib/breaker-run
            mount -t tmpfs -o mode=755 none /usr/local
            mount -t tmpfs -o mode=755 none /var/cache
            step "install"; make -s -C "$ROOT" install BIN="$BIN" >/dev/null 2>&1; echo "status $?"
            step "group"; getent group breaker-run | cut -d: -f1
            step "dir"; stat -c '%U:%G %a' /var/lib/breaker-run
            step "uninstall"; make -s -C "$ROOT" uninstall BIN="$BIN" >/dev/null 2>&1; echo "status $?"
            step "after"; getent group breaker-run | cut -d: -f1; stat -c '%U:%G %a' /var/lib/breaker-run
            step "end"
            """#.replacingOccurrences(of: "$ROOT", with: InstallTests.root.path).replacingOccurrences(of: "$BIN", with: Sandbox.binary))
        let output = result.output
        #expect(Self.section("install", of: output) == "status 0\n", "\(output)")
        #expect(Self.section("group", of: output) == "breaker-run\n", "\(output)")
        #expect(Self.section("dir", of: output) == "root:breaker-run 2770\n", "\(output)")
        #expect(Self.section("uninstall", of: output) == "status 0\n", "\(output)")
        #expect(Self.section("after", of: output) == "breaker-run\nroot:breaker-run 2770\n", "\(output)")
    }

    /// A queue in the shared directory (issue 18 beside issue 16): an item
    /// is its writer's command, so the group may read it but not write it
    /// (0640), and a drain runs only the items whose file its own user
    /// owns. Root's drain, as the shipped crontab and unit run it, never
    /// runs a member's command as root; the member's own drain runs it.
    @Test(.enabled(if: canUnshare, "needs root and unshare(1)"))
    func aDrainRunsOnlyItsOwnUsersItemsAndAMemberCannotRewriteRoots() throws {
        let result = try Self.inNamespace(#"""
            printf '\n  queued:\n    fail_max: 1\n    reset_timeout: 1h\n    fallback: {queue: {}}\n' >> /etc/breaker-run/breakers.yaml
            "$B" trip queued >/dev/null 2>&1
            # An item keeps its working directory: one the member may enter.
            cd /
            step "member queues"; as_member run queued -- id -u; echo "status $?"
            step "root queues"; "$B" run queued -- echo root-job; echo "status $?"
            Q=/var/lib/breaker-run/queued/queue
            step "modes"; stat -c '%a %U' "$Q"/*.item
            step "member writes root's item"; setpriv --reuid=4391 --regid=4391 --groups=4390 -- sh -c "echo forged >> $Q/00000000000000000002.item" 2>/dev/null; echo "status $?"
            "$B" reset queued >/dev/null 2>&1
            step "root drains"; "$B" drain queued
            step "left"; stat -c '%U' "$Q"/*.item
            step "member drains"; as_member drain queued; echo "status $?"
            step "end"
            """#)
        let output = result.output
        #expect(Self.section("member queues", of: output).hasSuffix("status 0\n"), "\(output)")
        #expect(Self.section("root queues", of: output).hasSuffix("status 0\n"), "\(output)")
        #expect(Self.section("modes", of: output) == "640 brmember\n640 root\n", "items readable by the group, writable by their owner only: \(output)")
        #expect(Self.section("member writes root's item", of: output) != "status 0\n", "\(output)")
        let rootDrain = Self.section("root drains", of: output)
        #expect(rootDrain.contains("root-job\n"), "root's own item runs: \(output)")
        #expect(!rootDrain.split(separator: "\n").contains("0"), "the member's command never runs as root: \(output)")
        #expect(rootDrain.contains("is owned by uid 4391 or writable by others, and a drain runs only its own user's items (run the drain as uid 4391)"), "\(output)")
        #expect(Self.section("left", of: output) == "brmember\n", "the member's item stays queued: \(output)")
        let memberDrain = Self.section("member drains", of: output)
        #expect(memberDrain.hasPrefix("4391\n") && memberDrain.hasSuffix("status 0\n"), "the member's own drain runs it, as the member: \(output)")
        #expect(output.contains("== end"), "\(output)")
    }

}
