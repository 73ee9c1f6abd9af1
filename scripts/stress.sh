#!/usr/bin/env bash
# Stress test: many breaker-run processes at once on three breakers, with
# successes, failures, timeouts and ignored outcomes, while other loops run
# `status`, `trip` and `reset`. Afterwards the lifetime counts must equal
# exactly what the callers observed, every state file must parse, and each
# breaker's state must agree with its event log and its hook log.
#
#   scripts/stress.sh            short form (16 callers x 30 calls), for CI
#   scripts/stress.sh --long     long form (16 callers, 100,000 calls in all)
#   scripts/stress.sh --procs N --calls M    any size
#   scripts/stress.sh --long --seconds S     callers start no call after S
#                                           seconds (a bounded machine time)
#
# The binary: $BREAKER_RUN_BIN, else the newer of .build/release/breaker-run
# and .build/debug/breaker-run. Exit 0 when every check holds, 1 otherwise.
#
# Every outcome can be told from the caller's exit status alone:
#   0 success (true), 1 failure (false), 3 ignored (exit 3, in
#   ignore_exit_codes), 124 timeout (sleep 1 under timeout: 200ms, a failure),
#   75 rejected (open, held, or half-open with its trials taken; no fallback).
set -euo pipefail
cd "$(dirname "$0")/.."

procs=16
calls=30
while [ $# -gt 0 ]; do
    case "$1" in
        --long) calls=$((100000 / procs)) ;;
        --procs) procs="$2"; shift ;;
        --calls) calls="$2"; shift ;;
        --seconds) seconds="$2"; shift ;;
        --keep) keep=1 ;;
        *) echo "usage: $0 [--long] [--procs N] [--calls M] [--seconds S] [--keep]" >&2; exit 64 ;;
    esac
    shift
done
[ "${procs}" -ge 1 ] && [ "${calls}" -ge 1 ]

bin="${BREAKER_RUN_BIN:-}"
if [ -z "$bin" ]; then
    for candidate in .build/release/breaker-run .build/debug/breaker-run; do
        if [ -x "$candidate" ] && { [ -z "$bin" ] || [ "$candidate" -nt "$bin" ]; }; then bin="$candidate"; fi
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "stress: no breaker-run binary; run 'swift build' or set BREAKER_RUN_BIN" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d /tmp/breaker-run-stress.XXXXXX)"
[ -n "${keep:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs" "$work/hooks"
config="$work/breakers.yaml"
state="$work/state"

# alpha: consecutive failures, one trial at a time.
# beta: failure rate over a count window, backoff, two trials at once.
# gamma: two successful trials to close, three at once, a time window.
cat > "$config" <<EOF
version: 1
defaults:
  timeout: 200ms
  kill_after: 100ms
  ignore_exit_codes: [3]
breakers:
  alpha:
    fail_max: 3
    reset_timeout: 150ms
    on_transition:
      shell: 'echo "\$BREAKER_FROM \$BREAKER_TO" >> $work/hooks/alpha'
  beta:
    fail_max: 50
    failure_rate: {threshold: 50%, window: 10, minimum_calls: 4}
    reset_timeout: 100ms
    backoff: {multiplier: 2, max: 400ms, jitter: 20%}
    half_open_max_calls: 2
    on_transition:
      shell: 'echo "\$BREAKER_FROM \$BREAKER_TO" >> $work/hooks/beta'
  gamma:
    fail_max: 4
    failure_rate: {threshold: 60%, window: 2s, minimum_calls: 5}
    reset_timeout: 120ms
    success_threshold: 2
    half_open_max_calls: 3
    on_transition:
      shell: 'echo "\$BREAKER_FROM \$BREAKER_TO" >> $work/hooks/gamma'
EOF
breakers=(alpha beta gamma)
# Fail fast on a binary that does not take this configuration (one built
# before a key it uses existed): every call would exit 78 and the run would
# only say so at its end.
"$bin" --config "$config" validate > /dev/null || { echo "stress: $bin does not accept $config (an older build?)" >&2; exit 1; }
br() { "$bin" --config "$config" --state-dir "$state" -q "$@"; }

caller() {
    local log="$work/logs/caller-$1" i b kind rc
    for ((i = 0; i < calls; i++)); do
        if [ -n "${seconds:-}" ] && [ "$SECONDS" -ge "$seconds" ]; then break; fi
        b=${breakers[RANDOM % 3]}
        kind=$((RANDOM % 100))
        if   [ $kind -lt 50 ]; then br run "$b" -- true 2>/dev/null && rc=0 || rc=$?
        elif [ $kind -lt 80 ]; then br run "$b" -- false 2>/dev/null && rc=0 || rc=$?
        elif [ $kind -lt 92 ]; then br run "$b" -- /bin/sh -c 'exit 3' 2>/dev/null && rc=0 || rc=$?
        else                        br run "$b" -- sleep 1 2>/dev/null && rc=0 || rc=$?
        fi
        echo "$b $kind $rc" >> "$log"
    done
}

# Control loops run until the callers are done; they log "kind name status".
control() {
    local log="$work/logs/control-$1" b rc
    while [ -e "$work/running" ]; do
        b=${breakers[RANDOM % 3]}
        case "$1" in
            status)
                br status --json > "$work/status-$1.json" 2>/dev/null && rc=0 || rc=$?
                if [ $rc -eq 0 ] && ! jq -e '.breakers | length == 3' "$work/status-$1.json" > /dev/null; then rc=json; fi
                ;;
            trip)
                if [ $((RANDOM % 10)) -eq 0 ]; then br trip "$b" --hold --reason stress 2>/dev/null && rc=0 || rc=$?
                else br trip "$b" --for 150ms 2>/dev/null && rc=0 || rc=$?; fi
                sleep 0.2
                ;;
            reset)
                br reset "$b" 2>/dev/null && rc=0 || rc=$?
                sleep 0.3
                ;;
        esac
        echo "$1 $b $rc" >> "$log"
    done
}

echo "stress: $procs callers x $calls calls on ${breakers[*]}, with status/trip/reset loops; binary $bin"
start=$(date +%s.%N)
touch "$work/running"
controls=()
for kind in status trip reset; do control "$kind" & controls+=($!); done
callers=()
for ((p = 0; p < procs; p++)); do caller "$p" & callers+=($!); done
failed=0
for pid in "${callers[@]}"; do wait "$pid" || failed=1; done
rm -f "$work/running"
for pid in "${controls[@]}"; do wait "$pid" || failed=1; done
end=$(date +%s.%N)
[ $failed -eq 0 ] || { echo "stress: a loop failed" >&2; exit 1; }

br status --json > "$work/final.json"
python3 - "$work" "$procs" "$calls" "$start" "$end" "${seconds:-}" <<'PY'
import collections, glob, json, os, sys

work, procs, calls, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
bounded = sys.argv[6] != ""
problems = []
observed = collections.defaultdict(collections.Counter)
exits = collections.Counter()
for path in glob.glob(f"{work}/logs/caller-*"):
    for line in open(path):
        name, kind, rc = line.split()
        exits[rc] += 1
        counts = observed[name]
        if rc == "0": counts["successes"] += 1
        elif rc in ("1", "124"): counts["failures"] += 1
        elif rc == "3": counts["ignored"] += 1
        elif rc == "75": counts["rejected"] += 1
        else: problems.append(f"{name}: unexpected exit status {rc} (call kind {kind})")
total = sum(exits.values())
if total != procs * calls and not (bounded and total < procs * calls):
    problems.append(f"{total} calls logged, {procs * calls} made")

controls = collections.Counter()
for path in glob.glob(f"{work}/logs/control-*"):
    for line in open(path):
        kind, name, rc = line.split()
        controls[kind] += 1
        if rc != "0":
            problems.append(f"{kind} {name} ended with {rc}")

final = {b["name"]: b for b in json.load(open(f"{work}/final.json"))["breakers"]}
transitions_total = 0
for name in ("alpha", "beta", "gamma"):
    status = final[name]
    want = {k: observed[name][k] for k in ("successes", "failures", "ignored", "rejected")}
    want["fallbacks"] = 0
    if status["counts"] != want:
        problems.append(f"{name}: counts {status['counts']}, callers observed {want}")
    directory = f"{work}/state/{name}"
    if not os.path.isdir(directory):
        # Never called nor controlled (a tiny run): nothing stored to check.
        continue
    leftovers = [f for f in os.listdir(directory) if f.startswith("state.json") and f != "state.json"]
    if leftovers:
        problems.append(f"{name}: left in the state directory: {leftovers}")
    try:
        stored = json.load(open(f"{directory}/state.json"))
    except Exception as error:
        problems.append(f"{name}: state.json does not parse: {error}")
        continue
    log = stored.get("transitions", [])
    generation = stored.get("generation", 0)
    transitions_total += generation
    if log:
        last = log[-1]
        if last["to"] != stored["state"]:
            problems.append(f"{name}: state {stored['state']}, last transition to {last['to']}")
        if last["generation"] != generation:
            problems.append(f"{name}: generation {generation}, last transition's {last['generation']}")
        for before, after in zip(log, log[1:]):
            if after["generation"] != before["generation"] + 1 or after["from"] != before["to"]:
                problems.append(f"{name}: transitions out of sequence: {before} then {after}")
    elif stored["state"] != "closed" or generation != 0:
        problems.append(f"{name}: state {stored['state']} at generation {generation} with no transitions")
    hooks = open(f"{work}/hooks/{name}").read().splitlines() if os.path.exists(f"{work}/hooks/{name}") else []
    if len(hooks) != generation:
        problems.append(f"{name}: {len(hooks)} hook runs for {generation} transitions")
    tail = collections.Counter(f"{t['from']} {t['to']}" for t in log)
    if any(tail[k] > collections.Counter(hooks)[k] for k in tail):
        problems.append(f"{name}: the event log has transitions no hook reported")
    print(f"  {name}: {stored['state']}{' (held)' if stored.get('held') else ''}, {generation} transitions, counts {status['counts']}")

seconds = end - start
print(f"stress: {total} calls by {procs} callers in {seconds:.1f} s ({total / seconds:.0f} calls/s); "
      f"exit statuses {dict(sorted(exits.items()))}; controls {dict(controls)}; {transitions_total} transitions")
if problems:
    print("stress: FAILED", *problems[:40], sep="\n  ")
    sys.exit(1)
print("stress: OK: counts exact, state files parse, states agree with their event logs and hook logs")
PY
