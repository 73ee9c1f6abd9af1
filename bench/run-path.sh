#!/bin/sh
# Whole-process time of `breaker-run run` with the file store beside the
# PostgreSQL backend, and the start-up cost that PostgreSQL adds to the file
# path (none should show: nothing connects or starts an event loop unless a
# breaker uses postgresql).
#
#   bench/run-path.sh
#   BREAKER_RUN_BIN=path bench/run-path.sh    times an already built binary
#
# Builds the release binary (static Swift runtime) in .build-bench, starts a
# throwaway PostgreSQL server as the postgres user on 127.0.0.1 (a free port,
# a temporary data directory, fsync on as in production), and times with
# hyperfine:
#   /bin/true                                   (starting any process)
#   breaker-run run file-breaker -- /bin/true   (file store)
#   breaker-run run pg-breaker -- /bin/true     (PostgreSQL: connect, SCRAM
#                                                login, two transactions)
#   breaker-run validate                        (no state touched)
# Needs hyperfine and Debian's postgresql; run as root.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
scratch="$root/.build-bench"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing: apt-get install -y hyperfine" >&2; exit 1; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/pg_ctl" ] || { echo "bench: PostgreSQL is missing: apt-get install -y postgresql" >&2; exit 1; }

if [ -n "${BREAKER_RUN_BIN:-}" ]; then
    binary=$(cd "$(dirname "$BREAKER_RUN_BIN")" && pwd)/$(basename "$BREAKER_RUN_BIN")
else
    BREAKER_RUN_STATIC_PIE=1 swift build -c release --static-swift-stdlib --disable-local-rpath --scratch-path "$scratch" --package-path "$root" --product breaker-run >&2
    binary="$scratch/release/breaker-run"
fi

work=$(mktemp -d /tmp/breaker-run-bench-XXXXXX)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The server's files in a directory of the postgres user's; $work stays
# root's, since breaker-run refuses a configuration under a directory that
# another user owns.
pg="$work/pg"
mkdir -m 700 "$pg"
echo bench-password > "$pg/pwfile"
chown -R postgres "$pg"
cleanup() {
    runuser -u postgres -- "$bin/pg_ctl" -D "$pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
runuser -u postgres -- "$bin/initdb" -D "$pg/data" -U breaker --pwfile="$pg/pwfile" \
    --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --no-instructions >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$pg/data" -l "$pg/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pg" start >/dev/null

cat > "$work/breakers.yaml" <<YAML
version: 1
state_dir: $work/state
breakers:
  file-breaker:
    fail_max: 1000000
  pg-breaker:
    fail_max: 1000000
    state: {backend: postgresql, url: 'postgresql://breaker@127.0.0.1:$port/postgres', sslmode: disable}
YAML
export PGPASSWORD=bench-password
"$binary" --config "$work/breakers.yaml" run pg-breaker -- /bin/true   # creates the schema

hyperfine -N --warmup 20 --runs 300 \
    "/bin/true" \
    "$binary --config $work/breakers.yaml run file-breaker -- /bin/true" \
    "$binary --config $work/breakers.yaml run pg-breaker -- /bin/true" \
    "$binary --config $work/breakers.yaml validate"
