#!/usr/bin/env bash
# End-to-end check of the Debian package on this machine (issue 20): installs
# it with dpkg, runs the installed binaries, then removes and purges it.
#
#   scripts/deb-check.sh [DEB]    default: the one package in .build/deb (make deb)
#
# Run as root, on a machine where the package is not installed: it refuses
# to run when the package (even removed, with its configuration left), or
# /etc/breaker-run, /var/lib/breaker-run or /var/cache/breaker-run is there
# already, as purging would take what it did not make. It leaves the machine
# as it found it: on any exit it purges the package, stops its HTTP server
# and deletes the group breaker-run if postinst made it (a group that was
# there before, say from make install, stays).
# Exit 0 when every check holds, 1 when one fails or it refuses.
#
# What it checks, in order:
#   dpkg -i installs it, with no prompt (standard input is /dev/null) and no
#     dependency missing; dpkg -V finds every file as shipped; the files are
#     in Debian's places and /etc/breaker-run/breakers.yaml is a conffile
#   the system group breaker-run exists (postinst, Policy 9.2.2) and
#     /var/lib/breaker-run is 2770 root:breaker-run
#   breaker-run --version is the package's version; breaker-run validate
#     passes on the installed configuration
#   man finds and formats breaker-run(1) and breaker-run.yaml(5)
#   an http breaker (a drop-in in /etc/breaker-run/breakers.d) run against
#     python3 -m http.server on 127.0.0.1 returns the served body, through
#     the installed full binary (the core says it hands over), with no
#     warning, its state in /var/lib/breaker-run with the group breaker-run
#     (the shared directory of issue 16)
#   dpkg -i of the same package again (an upgrade in place) keeps an edited
#     conffile without asking and leaves the directory as it was (postinst is
#     idempotent, Policy 6.2)
#   dpkg -r keeps /etc/breaker-run/breakers.yaml and the state, removes the
#     binaries and the configuration cache (Policy 6.8)
#   dpkg -P removes the conffile, /etc/breaker-run, /var/lib/breaker-run and
#     /var/cache/breaker-run (Policy 6.8, 10.7.3); the group stays, as Debian
#     packages leave their system groups (this script then deletes it, if
#     postinst made it)
set -euo pipefail
cd "$(dirname "$0")/.."

package=breaker-run
group=breaker-run
conffile=/etc/breaker-run/breakers.yaml
state=/var/lib/breaker-run
cache=/var/cache/breaker-run

failures=0
fail() { echo "deb-check: FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "deb-check: ok: $*"; }
refuse() { echo "deb-check: refusing to run: $*" >&2; exit 1; }
# check DESCRIPTION COMMAND...: runs COMMAND, a pass when it succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# dpkg_quietly ARGS...: dpkg with no standard input (a prompt would fail, not
# wait), its output shown only when it fails.
dpkg_quietly() {
    dpkg "$@" > "$work/dpkg.log" 2>&1 < /dev/null || { cat "$work/dpkg.log" >&2; return 1; }
}

if (($# > 0)); then
    deb=$1
else
    shopt -s nullglob
    debs=(.build/deb/${package}_*_"$(dpkg --print-architecture)".deb)
    ((${#debs[@]} == 1)) || refuse "expected one package in .build/deb, found ${#debs[@]}: run make deb, or name it"
    deb=${debs[0]}
fi
[[ -f "$deb" ]] || refuse "no package at $deb"
((EUID == 0)) || refuse "dpkg -i needs root"
if dpkg-query -W -f='${db:Status-Status}' "$package" 2> /dev/null | grep -qv '^not-installed$'; then
    refuse "the package $package is on this machine already ($(dpkg-query -W -f='${db:Status-Status}' "$package"))"
fi
group_existed=false
getent group "$group" > /dev/null && group_existed=true
for path in /etc/breaker-run "$state" "$cache"; do
    [[ -e "$path" ]] && refuse "$path exists already"
done
# The installed binary reads these: they must not point it elsewhere.
unset BREAKER_RUN_CONFIG BREAKER_RUN_STATE_DIR BREAKER_RUN_CACHE_DIR

version=$(dpkg-deb -f "$deb" Version)
work=$(mktemp -d)
server=
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2> /dev/null || true
        wait "$server" 2> /dev/null || true
    fi
    # Purging also removes what a failed check left in /etc, /var/lib and
    # /var/cache.
    if dpkg-query -W -f='${db:Status-Status}' "$package" 2> /dev/null | grep -qv '^not-installed$'; then
        dpkg --purge "$package" > /dev/null < /dev/null || echo "deb-check: could not purge $package" >&2
    fi
    if ! $group_existed && getent group "$group" > /dev/null; then
        delgroup --system --quiet "$group" || echo "deb-check: could not delete the group $group" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Install: dpkg only, no apt, so nothing else on the machine changes; a
# missing dependency fails here rather than being fetched.
dpkg_quietly --install "$deb" || refuse "dpkg -i $deb failed"
check "dpkg -i installed $package $version" \
    test "$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$package")" = "installed $version"
check "dpkg -V finds every file as shipped" test -z "$(dpkg --verify "$package")"
for path in /usr/bin/breaker-run /usr/libexec/breaker-run/breaker-run-full \
    /usr/share/man/man1/breaker-run.1.gz /usr/share/man/man5/breaker-run.yaml.5.gz \
    /usr/share/bash-completion/completions/breaker-run /usr/share/zsh/vendor-completions/_breaker-run \
    /usr/share/fish/vendor_completions.d/breaker-run.fish /usr/lib/tmpfiles.d/breaker-run.conf \
    /usr/share/doc/breaker-run/copyright /usr/share/doc/breaker-run/changelog.gz \
    /usr/share/doc/breaker-run/examples/quickstart.yaml "$conffile"; do
    check "$path is $package's" test "$(dpkg-query -S "$path" 2> /dev/null)" = "$package: $path"
done
check "$conffile is a conffile" \
    grep -q "^ $conffile [0-9a-f]\{32\}\$" <(dpkg-query -W -f='${Conffiles}\n' "$package")

# The group, from the system range (adduser.conf's FIRST_SYSTEM_GID to
# LAST_SYSTEM_GID, 100-999 by default, Policy 9.2.2).
gid=$(getent group "$group" | cut -d: -f3 || true)
if $group_existed; then what="the system group $group (there before)"; else what="postinst made the system group $group"; fi
check "$what (gid $gid)" test -n "$gid" -a "${gid:-1000}" -lt 1000
check "$state is 2770 root:$group" test "$(stat -c '%a %U:%G' "$state")" = "2770 root:$group"

# The package's binary by its path: a make install in /usr/local/bin would
# come first in PATH.
check "breaker-run --version says $version" test "$(/usr/bin/breaker-run --version)" = "$version"
check "breaker-run validate passes on $conffile" /usr/bin/breaker-run validate
check "man -w breaker-run finds the package's page" \
    grep -qx /usr/share/man/man1/breaker-run.1.gz <(man -aw breaker-run)
check "man -w 5 breaker-run.yaml finds the package's page" \
    grep -qx /usr/share/man/man5/breaker-run.yaml.5.gz <(man -aw 5 breaker-run.yaml)
check "man breaker-run formats the page" grep -q 'circuit breaker' <(MANWIDTH=80 man breaker-run 2> /dev/null)
check "man 5 breaker-run.yaml formats the page" grep -q 'breakers' <(MANWIDTH=80 man 5 breaker-run.yaml 2> /dev/null)

# An http call: a server on 127.0.0.1 on a port the kernel picks (port 0),
# which it prints once it listens.
mkdir "$work/www"
token="served to deb-check $$"
printf '%s\n' "$token" > "$work/www/hello.txt"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$work/www" > "$work/server.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$work/server.log")
    [[ -n "$port" ]] && break
    sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/server.log" >&2; refuse "the HTTP server did not start"; }
# The breaker goes in a drop-in of the system configuration, whose state is
# /var/lib/breaker-run for every user; purge removes it with /etc/breaker-run.
dropin=/etc/breaker-run/breakers.d/deb-check.yaml
cat > "$dropin" << EOF
version: 1
breakers:
  deb-check-http:
    http: {url: "http://127.0.0.1:$port/hello.txt"}
    timeout: 5s
EOF
chmod 0644 "$dropin"
if output=$(/usr/bin/breaker-run -vv run deb-check-http 2> "$work/run.err"); then
    check "the http breaker returned the served body" test "$output" = "$token"
else
    fail "breaker-run run deb-check-http exited $?: $(cat "$work/run.err")"
fi
check "the core handed the http call over to /usr/libexec/breaker-run/breaker-run-full" \
    grep -q '^breaker-run: handing over to /usr/libexec/breaker-run/breaker-run-full:' "$work/run.err"
# The package's directory is the shared one of issue 16: the binary must use
# it as it is (2770 root:breaker-run), not refuse it and run unguarded.
if grep -E '^breaker-run: (.*: )?(warning|error):' "$work/run.err" > "$work/run.warnings"; then
    fail "breaker-run run deb-check-http warned: $(cat "$work/run.warnings")"
else
    pass "breaker-run run deb-check-http warned of nothing"
fi
check "the breaker's state is in $state, group $group" \
    test "$(stat -c %G "$state/deb-check-http/state.json" 2> /dev/null)" = "$group"
kill "$server"
wait "$server" 2> /dev/null || true
server=

# The same package again, over an edited conffile: dpkg keeps the edit
# without asking, as the packaged file has not changed (Policy 10.7.3), and
# postinst leaves the directory as it is.
echo "# edited by deb-check" >> "$conffile"
if dpkg_quietly --install "$deb"; then
    check "dpkg -i again kept the edited $conffile" grep -qx '# edited by deb-check' "$conffile"
    check "dpkg -i again left $state 2770 root:$group" test "$(stat -c '%a %U:%G' "$state")" = "2770 root:$group"
    check "dpkg -i again kept the breaker's state" test -f "$state/deb-check-http/state.json"
else
    fail "dpkg -i of the same package again"
fi

check "dpkg -r removes $package" dpkg_quietly --remove "$package"
check "dpkg -r left the configuration files only" \
    test "$(dpkg-query -W -f='${db:Status-Status}' "$package")" = config-files
check "dpkg -r removed /usr/bin/breaker-run and the full binary" \
    test ! -e /usr/bin/breaker-run -a ! -e /usr/libexec/breaker-run
check "dpkg -r kept $conffile, as edited" grep -qx '# edited by deb-check' "$conffile"
check "dpkg -r kept $state and the breaker's state" test -f "$state/deb-check-http/state.json"
check "dpkg -r removed the configuration cache $cache" test ! -e "$cache"

check "dpkg -P purges $package" dpkg_quietly --purge "$package"
check "dpkg -P left nothing in dpkg's database" \
    test "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2> /dev/null || echo not-installed)" = not-installed
check "dpkg -P removed $conffile and /etc/breaker-run" test ! -e /etc/breaker-run
check "dpkg -P removed $state" test ! -e "$state"
check "dpkg -P removed $cache" test ! -e "$cache"
check "dpkg -P kept the group $group" grep -q "^$group:" <(getent group "$group")

if ((failures > 0)); then
    echo "deb-check: $failures checks failed" >&2
    exit 1
fi
echo "deb-check: OK"
