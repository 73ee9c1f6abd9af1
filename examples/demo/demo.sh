#!/usr/bin/env bash
# breaker-run's demo: a real command (curl) against a real local HTTP server,
# which the demo stops and starts again. It shows calls passing, the breaker
# tripping after three failures, the fallback answering without calling the
# server, and recovery through a trial after the reset timeout.
#
# Usage: examples/demo/demo.sh [PATH-TO-breaker-run]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/.build/release/breaker-run}
[[ -x $bin ]] || { echo "demo: no binary at $bin; build with: make" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work" "$here/state"
}
trap cleanup EXIT

export DEMO_PORT=${DEMO_PORT:-18080}
printf 'widgets: 12\ngadgets: 7\n' > "$work/stock.txt"
br() { "$bin" --config "$here/breakers.yaml" "$@"; }

start_server() {
    python3 -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$DEMO_PORT/stock.txt" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "demo: the local server did not start" >&2; exit 1
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
call() { local status=0; br run inventory || status=$?; echo "(exit status $status)"; }

rm -rf "$here/state"   # start from a new, closed breaker
br validate

step "The service is up: calls pass through"
start_server
call
call

step "The service goes down: three failures trip the breaker"
stop_server
call
call
call
br status inventory

step "The breaker is open: the fallback answers at once, curl is not run"
call
call

step "The service comes back; after reset_timeout (3s) one trial runs and closes the breaker"
start_server
sleep 3.2
br status inventory | head -n 4
call
call
br status inventory
