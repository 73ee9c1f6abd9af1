#!/usr/bin/env bash
# breaker-run's benchmarks (issue 9, issue 3's configuration-load figure and
# issue 19's keyed breakers).
#
#   bench/run.sh [--quick] [--no-build] [--out FILE]
#
# Builds the release binaries as shipped (make: the core a static PIE)
# unless --no-build, then measures, with hyperfine
# (medians of wall time; user+sys is hyperfine's mean CPU time):
#
#   1. paths, in one hyperfine run so that the ratios compare like with like:
#      /bin/true; the shell baseline `flock LOCKFILE timeout 30 /bin/true`;
#      `breaker-run run NAME -- /bin/true` on a closed breaker; a rejected
#      call on an open breaker without fallback and with a static fallback;
#      the pybreaker wrapper (bench/peers/pybreaker_wrapper.py) on a closed
#      and an open breaker; `status NAME` and `status` of all;
#   2. configuration size: `run` of one breaker with 1, 100, 1,000 and 10,000
#      breakers configured (realistic entries: anchors, merge keys, ${VAR},
#      fallback lists), then `validate` and `status NAME` of the 1,000-breaker
#      file beside libyaml alone (a C program that only loads the document):
#      issue 3's figure;
#   3. history: a time-window failure_rate breaker after 1, 10,000 and
#      1,000,000 recorded calls (seeded through the library by
#      breaker-run-bench-seed, bench/Seed): state.json's size and `run`'s time;
#   4. contention: 16 concurrent loops of `run` on one breaker and on 16
#      breakers: calls per second, and the exact-count check (every call
#      counted once in status --json, no error, no non-zero exit);
#   5. peak memory (max RSS, GNU time's %M) of every command measured;
#   6. keyed breakers (issue 19): `run keyed --key k-5000` with 10,000 keys
#      tracked against `run keyed --key k-0` with 1, and `status keyed` with
#      10,000 keys, in one hyperfine run; `metrics` with 1 and 10,000 keys;
#      `run` of an existing key with a metrics_file (rewritten after every
#      write, every key's counts summed) with 1 and 10,000 keys;
#      `run` of a new key (once per key) with 1 key tracked and with 10,000
#      (max_keys: it forgets one). The 10,000 keys are made by running the
#      binary 10,000 times, two at a time (about a minute).
#
# It prints Markdown tables and checks issue 9's and issue 19's goals (ratios
# of medians from this one run). --quick runs fewer iterations (about two
# minutes with the keys' seeding); the full run takes a few minutes. The machine is shared: figures vary from run to run;
# for before/after claims use callgrind's instruction counts (docs/BENCHMARKS.md).
#
# Needs: swift, hyperfine (installed from Debian if missing), python3 with
# pybreaker (installed from PyPI if missing), flock, timeout, GNU time, cc
# (optional, for libyaml alone).
set -euo pipefail

quick=false
build=true
out=
while (($#)); do
    case $1 in
        --quick) quick=true ;;
        --no-build) build=false ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
    shift
done

root=$(cd "$(dirname "$0")/.." && pwd)
if $quick; then
    runs=(--warmup 5 --min-runs 30 --max-runs 60)
    slow_runs=(--warmup 2 --min-runs 10 --max-runs 20)
    loop_calls=20
else
    runs=(--warmup 20 --min-runs 200 --max-runs 400)
    slow_runs=(--warmup 5 --min-runs 40 --max-runs 80)
    loop_calls=100
fi

say() { echo "bench: $*" >&2; }

if ! command -v hyperfine >/dev/null; then
    say "installing hyperfine"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine
fi
if ! python3 -c 'import pybreaker' 2>/dev/null; then
    say "installing pybreaker"
    python3 -m pip install -q pybreaker 2>/dev/null || python3 -m pip install -q --break-system-packages pybreaker
fi
[ -x /usr/bin/time ] || { say "GNU time (/usr/bin/time) is missing: apt-get install -y time"; exit 1; }

if $build; then
    say "building the release binaries (make: the core a static PIE)"
    (make -s -C "$root" 2>&1 | grep -v '^\[' | grep -v -E 'mktemp|warning: Using|in function' >&2 || true)
fi
bin_dir=$root/.build/release
binary=$bin_dir/breaker-run
seed=$bin_dir/breaker-run-bench-seed
[ -x "$binary" ] && [ -x "$seed" ] || { say "no release build in $bin_dir; run without --no-build"; exit 1; }

work=$(mktemp -d /tmp/breaker-run-bench-XXXXXX)
# The configuration cache of these runs (large configurations are read from
# it after their first run, as on an operator's machine), not the machine's.
export BREAKER_RUN_CACHE_DIR="$work/cache"
trap 'rm -rf "$work"' EXIT
export BENCH_TOKEN=secret

# A configuration of COUNT breakers: `bench` (a plain closed breaker), then
# COUNT-1 realistic ones.
generate() {
    local count=$1 file=$2 i=1
    {
        echo "version: 1"
        echo "x-quick: &quick {fail_max: 2, reset_timeout: 10s}"
        echo "defaults:"
        echo "  fail_max: 3"
        echo "  reset_timeout: 30s"
        echo "  timeout: 1m"
        echo "  env: {API_TOKEN: \"Bearer \${BENCH_TOKEN}\"}"
        echo "breakers:"
        echo "  bench: {}"
        while [ "$i" -lt "$count" ]; do
            cat <<BREAKER
  service-$i:
    <<: *quick
    description: Service number $i behind the gateway
    command: [/usr/local/bin/call-service, --id, "$i", --region, eu-west-1]
    timeout: 20s
    success_exit_codes: [0, 2-4]
    ignore_exit_codes: [75]
    env: {SERVICE_URL: "https://svc-$i.internal/api", LANG: C.UTF-8}
    fallback:
      - shell: 'echo "service $i down" >&2; exit 0'
      - output: "unavailable\n"
        exit_code: 75
BREAKER
            i=$((i + 1))
        done
    } > "$file"
}

# The paths' configuration.
cat > "$work/paths.yaml" <<EOF
version: 1
breakers:
  bench: {}
  open-bare: {}
  open-static:
    fallback: {output: "", exit_code: 0}
  history:
    failure_rate: {threshold: 50%, window: 10m, minimum_calls: 10}
EOF
for i in $(seq 0 15); do echo "  c$i: {}"; done >> "$work/paths.yaml"
state=$work/state
br() { echo "$binary --config $work/paths.yaml --state-dir $state $*"; }
$(br run bench -- /bin/true)
$(br trip open-bare --for 24h) 2>/dev/null
$(br trip open-static --for 24h) 2>/dev/null
touch "$work/flock.lock"
peer=$root/bench/peers/pybreaker_wrapper.py
python3 "$peer" "$work/py-closed.json" /bin/true
for _ in 1 2 3 4 5; do python3 "$peer" "$work/py-open.json" /bin/false || true; done
grep -q '"open"' "$work/py-open.json" || { say "the pybreaker wrapper did not open"; exit 1; }

json_files=()
measure() { # measure NAME [hyperfine options] -- (--command-name NAME COMMAND)...
    local name=$1; shift
    say "measuring: $name"
    hyperfine -N --style none --export-json "$work/$name.json" "$@" >/dev/null
    json_files+=("$work/$name.json")
}

measure paths "${runs[@]}" -i \
    --command-name 'true' '/bin/true' \
    --command-name 'flock timeout true' "flock $work/flock.lock timeout 30 /bin/true" \
    --command-name 'run closed' "$(br run bench -- /bin/true)" \
    --command-name 'run open, no fallback' "$(br run open-bare -- /bin/true)" \
    --command-name 'run open, static fallback' "$(br run open-static -- /bin/true)" \
    --command-name 'status one' "$(br status bench)" \
    --command-name 'status all (20)' "$(br status)"
measure pybreaker "${slow_runs[@]}" -i \
    --command-name 'flock timeout true' "flock $work/flock.lock timeout 30 /bin/true" \
    --command-name 'run closed' "$(br run bench -- /bin/true)" \
    --command-name 'run open, no fallback' "$(br run open-bare -- /bin/true)" \
    --command-name 'pybreaker closed' "python3 $peer $work/py-closed.json /bin/true" \
    --command-name 'pybreaker open' "python3 $peer $work/py-open.json /bin/true"

sizes=()
for count in 1 100 1000 10000; do
    generate "$count" "$work/c$count.yaml"
    sizes+=(--command-name "run, $count breakers" "$binary --config $work/c$count.yaml --state-dir $state run bench -- /bin/true")
done
measure sizes "${slow_runs[@]}" "${sizes[@]}"

libyaml=()
if command -v cc >/dev/null; then
    cat > "$work/load.c" <<'C'
#include <stdio.h>
#include <yaml.h>
int main(int argc, char **argv) {
    FILE *file = fopen(argv[1], "rb");
    yaml_parser_t parser;
    yaml_document_t document;
    if (argc < 2 || !file || !yaml_parser_initialize(&parser)) return 2;
    yaml_parser_set_input_file(&parser, file);
    if (!yaml_parser_load(&parser, &document)) return 1;
    yaml_document_delete(&document);
    yaml_parser_delete(&parser);
    return 0;
}
C
    cc -O2 -o "$work/libyaml-load" "$work/load.c" -lyaml
    libyaml=(--command-name 'libyaml alone (C), 1,000' "$work/libyaml-load $work/c1000.yaml")
fi
measure config-load "${runs[@]}" \
    --command-name 'true' '/bin/true' "${libyaml[@]}" \
    --command-name 'validate, 1,000 breakers' "$binary --config $work/c1000.yaml validate" \
    --command-name 'status one, 1,000 breakers' "$binary --config $work/c1000.yaml --state-dir $state status service-500" \
    --command-name 'run, 1,000 breakers' "$binary --config $work/c1000.yaml --state-dir $state run bench -- /bin/true"

history=()
for calls in 1 10000 1000000; do
    "$seed" "$work/paths.yaml" "$work/history-$calls" history "$calls" > "$work/seed-$calls.txt"
    stat -c %s "$work/history-$calls/history/state.json" > "$work/size-$calls.txt"
    history+=(--command-name "run, $calls calls recorded" "$binary --config $work/paths.yaml --state-dir $work/history-$calls run history -- /bin/true")
done
measure history "${runs[@]}" "${history[@]}"
for calls in 1 10000 1000000; do
    stat -c %s "$work/history-$calls/history/state.json" > "$work/size-after-$calls.txt"
done

# Keyed breakers (issue 19): one keyed breaker, `keyed` (`per_key: {}`:
# max_keys 10,000, expire_after 7 days), in two state directories, one with
# 1 key tracked and one with 10,000. The keys are made by the binary itself,
# `run keyed --key k-N -- /bin/true` for N from 0 to 9,999, two at a time
# (the machine's two cores); the runs that make a new key work on copies
# (cp -a), so that every other command finds the keys it was seeded with.
cat > "$work/keyed.yaml" <<EOF
version: 1
breakers:
  keyed:
    per_key: {}
EOF
# The same with a metrics_file, which every write of a state rewrites.
sed "1a metrics_file: $work/keyed.prom" "$work/keyed.yaml" > "$work/keyed-metrics.yaml"
keyed() { # keyed STATE-DIR ARGUMENT...: a command line on $work/STATE-DIR
    local dir=$1; shift
    echo "$binary --config $work/keyed.yaml --state-dir $work/$dir $*"
}
tracked() { # tracked STATE-DIR: the keys its index counts (the header's live, bytes 12-15)
    od -An -tu4 -j12 -N4 "$work/$1/keyed/keys.index" | tr -d ' '
}
say "seeding: a keyed breaker with 1 key and one with 10,000 (the binary, two at a time)"
$(keyed keys-1 run keyed --key k-0 -- /bin/true)
start=$(date +%s%N)
seq 0 9999 | xargs -P 2 -I {} $(keyed keys-10000 run keyed --key k-{} -- /bin/true)
end=$(date +%s%N)
echo "$(( (end - start) / 1000000 ))" > "$work/keys-seed-ms.txt"
for dir in keys-1 keys-10000; do tracked "$dir" > "$work/$dir-tracked.txt"; done
[ "$(cat "$work/keys-10000-tracked.txt")" = 10000 ] || { say "seeding left $(cat "$work/keys-10000-tracked.txt") keys, not 10,000"; exit 1; }
cp -a "$work/keys-1" "$work/keys-new"
cp -a "$work/keys-10000" "$work/keys-forget"
measure keys "${runs[@]}" \
    --command-name 'run, 1 key' "$(keyed keys-1 run keyed --key k-0 -- /bin/true)" \
    --command-name 'run, 10000 keys' "$(keyed keys-10000 run keyed --key k-5000 -- /bin/true)" \
    --command-name 'status, 1 key' "$(keyed keys-1 status keyed)" \
    --command-name 'status, 10000 keys' "$(keyed keys-10000 status keyed)"
measure keys-metrics "${slow_runs[@]}" \
    --command-name 'metrics, 1 key' "$(keyed keys-1 metrics)" \
    --command-name 'metrics, 10000 keys' "$(keyed keys-10000 metrics)" \
    --command-name 'run, 1 key, metrics_file' "$(keyed keys-1 run keyed --key k-0 -- /bin/true | sed 's/keyed\.yaml/keyed-metrics.yaml/')" \
    --command-name 'run, 10000 keys, metrics_file' "$(keyed keys-10000 run keyed --key k-5000 -- /bin/true | sed 's/keyed\.yaml/keyed-metrics.yaml/')"
# A key new at each run (new-1, new-2, ...), once each, with 1 key tracked
# and with 10,000 (max_keys: each forgets the least recently used closed
# one). hyperfine 1.15 misnames the commands of a parameter scan, so the
# report tells them apart by their state directory.
if $quick; then new_keys=30; else new_keys=200; fi
say "measuring: keys-new"
hyperfine -N --style none --export-json "$work/keys-new.json" --runs 1 --parameter-scan n 1 "$new_keys" \
    "$(keyed keys-new run keyed --key new-{n} -- /bin/true)" \
    "$(keyed keys-forget run keyed --key new-{n} -- /bin/true)" >/dev/null
tracked keys-forget > "$work/keys-forget-tracked.txt"

# Peak memory: GNU time's maximum resident set size, in KiB, of one run each.
# Keyed breakers' figures go to rss-keys.tsv (issue 19), not issue 9's goal.
rss_file=$work/rss.tsv
rss() { # rss LABEL COMMAND...
    local label=$1; shift
    /usr/bin/time -f '%M' -o "$work/rss.tmp" "$@" >/dev/null 2>&1 || true
    printf '%s\t%s\n' "$label" "$(tail -n 1 "$work/rss.tmp")" >> "$rss_file"
}
: > "$work/rss.tsv"
rss '/bin/true' /bin/true
rss 'run closed' $(br run bench -- /bin/true)
rss 'run open, no fallback' $(br run open-bare -- /bin/true)
rss 'run open, static fallback' $(br run open-static -- /bin/true)
rss 'status one' $(br status bench)
rss 'status all (20)' $(br status)
rss 'pybreaker closed' python3 "$peer" "$work/py-closed.json" /bin/true
rss 'run, 10000 breakers' "$binary" --config "$work/c10000.yaml" --state-dir "$state" run bench -- /bin/true
rss 'validate, 10000 breakers' "$binary" --config "$work/c10000.yaml" validate
rss 'run, 1000000 calls recorded' "$binary" --config "$work/paths.yaml" --state-dir "$work/history-1000000" run history -- /bin/true
rss_file=$work/rss-keys.tsv
: > "$rss_file"
rss 'run, 1 key' $(keyed keys-1 run keyed --key k-0 -- /bin/true)
rss 'run, 10000 keys' $(keyed keys-10000 run keyed --key k-5000 -- /bin/true)
rss 'status, 1 key' $(keyed keys-1 status keyed)
rss 'status, 10000 keys' $(keyed keys-10000 status keyed)
rss 'metrics, 1 key' $(keyed keys-1 metrics)
rss 'metrics, 10000 keys' $(keyed keys-10000 metrics)
rss 'run, new key, 10000 tracked (forgets one)' $(keyed keys-forget run keyed --key rss-new -- /bin/true)

# Instructions executed (valgrind's callgrind): repeatable on a busy machine,
# unlike times. valgrind 3.19 cannot read the toolchain's DWARF 5, so it runs
# a copy without debug information (symbols kept).
: > "$work/instructions.tsv"
if command -v valgrind >/dev/null && command -v objcopy >/dev/null; then
    say "counting instructions (callgrind)"
    objcopy --strip-debug "$binary" "$work/breaker-run"
    plain="$work/breaker-run --config $work/paths.yaml --state-dir $state"
    count() { # count LABEL COMMAND...
        local label=$1; shift
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$work/callgrind.err" || true
        printf '%s\t%s\n' "$label" "$(sed -n 's/.*Collected : //p' "$work/callgrind.err")" >> "$work/instructions.tsv"
    }
    count '/bin/true' /bin/true
    count 'run closed' $plain run bench -- /bin/true
    count 'run open, no fallback' $plain run open-bare -- /bin/true
    count 'status one' $plain status bench
    # The copy is another binary, so its first run of a large configuration
    # misses the configuration cache (and fills it): count the second, as
    # every run after the first would be, and the miss apart.
    count 'run, 1000 breakers, cache miss' "$work/breaker-run" --config "$work/c1000.yaml" --state-dir "$state" run bench -- /bin/true
    count 'run, 1000 breakers' "$work/breaker-run" --config "$work/c1000.yaml" --state-dir "$state" run bench -- /bin/true
    count 'validate, 1000 breakers' "$work/breaker-run" --config "$work/c1000.yaml" validate
    [ -n "${libyaml[*]}" ] && count 'libyaml alone (C), 1000' "$work/libyaml-load" "$work/c1000.yaml"
    keyed_plain="$work/breaker-run --config $work/keyed.yaml --state-dir"
    count 'run keyed, 1 key' $keyed_plain "$work/keys-1" run keyed --key k-0 -- /bin/true
    count 'run keyed, 10000 keys' $keyed_plain "$work/keys-10000" run keyed --key k-5000 -- /bin/true
    count 'status keyed, 10000 keys' $keyed_plain "$work/keys-10000" status keyed
fi

# Contention: 16 loops of LOOP_CALLS calls each, all at once.
contend() { # contend LABEL NAME-OF-LOOP-i...
    local label=$1 dir=$work/contention-$2; shift 2
    local names=("$@") start end i
    mkdir -p "$dir"
    say "measuring: contention, $label"
    start=$(date +%s%N)
    for i in $(seq 0 15); do
        (
            errors=0
            for _ in $(seq "$loop_calls"); do
                "$binary" --config "$work/paths.yaml" --state-dir "$dir/state" run "${names[$i]}" -- /bin/true 2>>"$dir/stderr" || errors=$((errors + 1))
            done
            echo "$errors" > "$dir/errors.$i"
        ) &
    done
    wait
    end=$(date +%s%N)
    local counted errors stderr_lines
    counted=$("$binary" --config "$work/paths.yaml" --state-dir "$dir/state" status --json \
        | jq '[.breakers[].counts.successes] | add')
    errors=$(cat "$dir"/errors.* | paste -sd+ | bc)
    stderr_lines=$(wc -l < "$dir/stderr" 2>/dev/null || echo 0)
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$((16 * loop_calls))" "$counted" "$errors,$stderr_lines" "$((end - start))" >> "$work/contention.tsv"
}
: > "$work/contention.tsv"
one=(); many=()
for i in $(seq 0 15); do one+=(bench); many+=("c$i"); done
contend '16 loops, 1 breaker' one "${one[@]}"
contend '16 loops, 16 breakers' many "${many[@]}"

python3 - "$work" "$quick" "${json_files[@]}" > "$work/report.md" <<'PY'
import json, os, statistics, sys
work, quick, files = sys.argv[1], sys.argv[2] == "true", sys.argv[3:]
results = {}
for path in files:
    group = os.path.basename(path)[:-5]
    for r in json.load(open(path))["results"]:
        results[(group, r["command"])] = r

def median(group, name):
    return statistics.median(results[(group, name)]["times"]) * 1000

def row(group, name, base=None, note=""):
    r = results[(group, name)]
    cells = [name, "%.2f" % median(group, name), "%.2f" % ((r["user"] + r["system"]) * 1000), str(len(r["times"]))]
    cells.append("%.2fx" % (median(group, name) / median(group, base)) if base else "")
    print("| " + " | ".join(cells) + " |")

header = "| command | median ms | user+sys ms | runs | ratio |\n| --- | ---: | ---: | ---: | ---: |"
print("## breaker-run benchmarks%s\n" % (" (--quick)" if quick else ""))
print("### Paths (one hyperfine run; ratio to `flock LOCKFILE timeout 30 /bin/true`)\n")
print(header)
for name in ["true", "flock timeout true", "run closed", "run open, no fallback", "run open, static fallback", "status one", "status all (20)"]:
    row("paths", name, "flock timeout true")
print("\n### Against the pybreaker wrapper (one hyperfine run; ratio to `flock LOCKFILE timeout 30 /bin/true`)\n")
print(header)
for name in ["flock timeout true", "pybreaker closed", "pybreaker open", "run closed", "run open, no fallback"]:
    row("pybreaker", name, "flock timeout true")
print("\n### Configuration size (`run` of one breaker; ratio to 1 breaker)\n")
print(header)
for count in [1, 100, 1000, 10000]:
    row("sizes", "run, %d breakers" % count, "run, 1 breakers")
print("\n### Loading 1,000 breakers (issue 3; ratio to /bin/true; the load's share is the difference)\n")
print(header)
for (group, name) in results:
    if group == "config-load":
        row(group, name, "true")
print("\n### History (time-window failure_rate breaker; ratio to 1 call recorded)\n")
print("| calls recorded | state.json bytes (seeded / after) | median ms | user+sys ms | runs | ratio |\n| ---: | ---: | ---: | ---: | ---: | ---: |")
for calls in [1, 10000, 1000000]:
    name = "run, %d calls recorded" % calls
    r = results[("history", name)]
    size = open(os.path.join(work, "size-%d.txt" % calls)).read().strip()
    after = open(os.path.join(work, "size-after-%d.txt" % calls)).read().strip()
    print("| %s | %s / %s | %.2f | %.2f | %d | %.2fx |" % (format(calls, ","), size, after, median("history", name),
          (r["user"] + r["system"]) * 1000, len(r["times"]), median("history", name) / median("history", "run, 1 calls recorded")))
print("\n### Keyed breakers (issue 19; `keyed`, `per_key: {}`; ratio to the same command with 1 key)\n")
keys_rss = dict(line.rstrip("\n").split("\t") for line in open(os.path.join(work, "rss-keys.tsv")))
def text(name):
    return open(os.path.join(work, name)).read().strip()
print("Keys tracked: %s and %s; the 10,000 made by the binary, two at a time, in %.1f s.\n"
      % (text("keys-1-tracked.txt"), text("keys-10000-tracked.txt"), int(text("keys-seed-ms.txt")) / 1000))
print("| command | median ms | user+sys ms | runs | ratio | max RSS KiB |\n| --- | ---: | ---: | ---: | ---: | ---: |")
def keyed_row(group, name, base):
    r = results[(group, name)]
    print("| %s | %.2f | %.2f | %d | %.2fx | %s |" % (name, median(group, name), (r["user"] + r["system"]) * 1000, len(r["times"]),
          median(group, name) / median(group, base), keys_rss.get(name, "")))
for name, base in [("run, 1 key", "run, 1 key"), ("run, 10000 keys", "run, 1 key"),
                   ("status, 1 key", "status, 1 key"), ("status, 10000 keys", "status, 1 key")]:
    keyed_row("keys", name, base)
for name in ["metrics, 1 key", "metrics, 10000 keys"]:
    keyed_row("keys-metrics", name, "metrics, 1 key")
for name in ["run, 1 key, metrics_file", "run, 10000 keys, metrics_file"]:
    keyed_row("keys-metrics", name, "run, 1 key, metrics_file")
# A new key each run, one run per key: hyperfine's parameter scan, told apart
# by state directory (hyperfine 1.15 misnames its commands).
fresh = {"run, new key, 1 tracked": "/keys-new ", "run, new key, 10000 tracked (forgets one)": "/keys-forget "}
scan = json.load(open(os.path.join(work, "keys-new.json")))["results"]
fresh_medians = {}
for name, marker in fresh.items():
    rs = [r for r in scan if marker in r["command"]]
    times = [t for r in rs for t in r["times"]]
    fresh_medians[name] = statistics.median(times) * 1000
    cpu = statistics.mean(r["user"] + r["system"] for r in rs) * 1000
    base = fresh_medians["run, new key, 1 tracked"]
    print("| %s | %.2f | %.2f | %d | %.2fx | %s |" % (name, fresh_medians[name], cpu, len(times), fresh_medians[name] / base, keys_rss.get(name, "")))
print("\nKeys tracked after the runs that forget one: %s." % text("keys-forget-tracked.txt"))
print("\n### Contention (16 concurrent loops of `run ... -- /bin/true`)\n")
print("| loops | calls | counted in status | errors (exits, stderr lines) | calls/s |\n| --- | ---: | ---: | ---: | ---: |")
contention = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "contention.tsv"))]
for label, calls, counted, errors, ns in contention:
    print("| %s | %s | %s | %s | %.0f |" % (label, calls, counted, errors.replace(",", ", "), int(calls) / (int(ns) / 1e9)))
print("\n### Peak memory (max RSS, one run each)\n")
print("| command | max RSS KiB |\n| --- | ---: |")
rss = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "rss.tsv"))]
for label, kib in rss:
    print("| %s | %s |" % (label, kib))

instructions = [line.rstrip("\n").split("\t") for line in open(os.path.join(work, "instructions.tsv"))]
if instructions:
    print("\n### Instructions executed (callgrind; the parent process only, not the call)\n")
    print("| command | instructions |\n| --- | ---: |")
    for label, count in instructions:
        print("| %s | %s |" % (label, count))

print("\n### Goals (issue 9)\n")
flock = median("paths", "flock timeout true")
def goal(text, ok, figure):
    print("- %s %s (%s)" % ("met:" if ok else "NOT met:", text, figure))
closed = median("paths", "run closed") / flock
opened = max(median("paths", "run open, no fallback"), median("paths", "run open, static fallback")) / flock
goal("closed path within 2x of flock timeout true", closed <= 2, "%.2fx" % closed)
goal("open path within 1.5x of flock timeout true", opened <= 1.5, "%.2fx, the slower of the two" % opened)
py_closed = median("pybreaker", "pybreaker closed") / median("pybreaker", "run closed")
py_open = median("pybreaker", "pybreaker open") / median("pybreaker", "run open, no fallback")
goal("at least 10x faster than the pybreaker wrapper on both paths", min(py_closed, py_open) >= 10, "%.1fx closed, %.1fx open" % (py_closed, py_open))
big = median("sizes", "run, 10000 breakers") / median("sizes", "run, 1 breakers")
goal("run with 10,000 breakers within 2x of run with 1", big <= 2, "%.2fx" % big)
sizes = [int(open(os.path.join(work, "size-after-%d.txt" % c)).read()) for c in [1, 10000, 1000000]]
times = [median("history", "run, %d calls recorded" % c) for c in [1, 10000, 1000000]]
# The window holds at most 60 buckets: it fills within the first minutes of
# calls (10,000 here), and must not grow after that.
flat = sizes[2] <= 1.25 * sizes[1] and times[2] <= 1.25 * times[1]
goal("state.json size and run time flat from 10,000 to 1,000,000 calls recorded (within 25%; 1 call leaves the window nearly empty)", flat,
     "%s bytes; %s ms" % (" / ".join(map(str, sizes)), " / ".join("%.2f" % t for t in times)))
# The paths of the issue: run, the open paths, status, run with every
# configuration size and history. validate (a whole 10,000-breaker file
# parsed at once) is reported above but is none of them.
paths = [(label, int(kib)) for label, kib in rss if not label.startswith("pybreaker") and not label.startswith("validate")]
peak_label, peak = max(paths, key=lambda item: item[1])
goal("peak memory under 16 MiB on every path", peak < 16 * 1024, "largest %d KiB, %s" % (peak, peak_label))
exact = all(calls == counted and errors == "0,0" for _, calls, counted, errors, _ in contention)
goal("no lost update and no error under contention", exact, "; ".join("%s: %s of %s, errors %s" % (l, c2, c1, e) for l, c1, c2, e, _ in contention))

print("\n### Goals (issue 19)\n")
keyed_ratio = median("keys", "run, 10000 keys") / median("keys", "run, 1 key")
goal("run of a keyed breaker's existing key with 10,000 keys tracked within 1.2x of the same with 1 key", keyed_ratio <= 1.2,
     "%.2fx; %.2f ms against %.2f ms" % (keyed_ratio, median("keys", "run, 10000 keys"), median("keys", "run, 1 key")))
status_keys = median("keys", "status, 10000 keys")
goal("status of a keyed breaker with 10,000 keys under 100 ms", status_keys < 100, "median %.2f ms" % status_keys)
PY
cat "$work/report.md"
if [ -n "$out" ]; then cp "$work/report.md" "$out"; fi
