#!/usr/bin/env bash
# Crash test: rounds in which one breaker-run process is killed with SIGKILL
# at a random moment: during the locked state update (fast calls, killed
# within a few milliseconds of starting), during the call, during a half-open
# trial, or during an on_transition hook. After each round:
#   - the lock and every permit file can be taken at once (flock -n), even
#     while the killed run's call or hook still runs (they inherit no lock);
#   - state.json parses and agrees with its event log;
#   - the killed call added 0 or 1 to the lifetime counts (status --json:
#     state.json's plus those pending in NAME/counts), never more, and a run
#     that was not killed in time added exactly 1; status warns of nothing
#     (no damaged counts file);
#   - the next invocation works: it runs, or is rejected only because the
#     breaker is open (never because a dead trial still holds the permit),
#     counts exactly once, and leaves no temporary file behind;
#   - no state file was ever moved aside as corrupt.
# Then drain rounds (a tenth as many, at least 3): 20 jobs queued by a
# `queue` fallback, a `drain` killed with SIGKILL at a random moment, then a
# drain to the end: every job ran, in order of their first runs, at most one
# of them twice (the one the killed drain was running: at least once), the
# queue is empty, and no item was moved aside as corrupt.
#
#   scripts/crash.sh [ROUNDS]      100 rounds by default (CI); 1000 by hand
#   scripts/crash.sh ROUNDS SECONDS  no round starts SECONDS seconds after
#                                    the first
#
# The binary: $BREAKER_RUN_BIN, else the newer of .build/release/breaker-run
# and .build/debug/breaker-run. Exit 0 when every round passes, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-100}"
limit="${2:-}"
bin="${BREAKER_RUN_BIN:-}"
if [ -z "$bin" ]; then
    for candidate in .build/release/breaker-run .build/debug/breaker-run; do
        if [ -x "$candidate" ] && { [ -z "$bin" ] || [ "$candidate" -nt "$bin" ]; }; then bin="$candidate"; fi
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "crash: no breaker-run binary; run 'swift build' or set BREAKER_RUN_BIN" >&2; exit 1; }

work="$(mktemp -d /tmp/breaker-run-crash.XXXXXX)"
trap 'rm -rf "$work"' EXIT
config="$work/breakers.yaml"
state="$work/state"
cat > "$config" <<EOF
version: 1
breakers:
  fast:
    fail_max: 3
    reset_timeout: 30ms
  slow:
    fail_max: 2
    reset_timeout: 30ms
    timeout: 80ms
    kill_after: 50ms
  trial:
    fail_max: 1
    reset_timeout: 20ms
    half_open_max_calls: 2
    success_threshold: 2
  hooked:
    fail_max: 1
    reset_timeout: 1h
    on_transition:
      shell: 'sleep 0.08; echo "\$BREAKER_FROM \$BREAKER_TO" >> $work/hooks'
  queued:
    fail_max: 1000
    fallback: {queue: {}}
EOF
br() { "$bin" --config "$config" --state-dir "$state" "$@"; }
# Fail fast on a binary that does not take this configuration (one built
# before a key it uses existed): every call would exit 78 and the run would
# only say so at its end.
"$bin" --config "$config" validate > /dev/null || { echo "crash: $bin does not accept $config (an older build?)" >&2; exit 1; }

problems=0
fail() { echo "crash: round $round ($scenario): $*" >&2; problems=$((problems + 1)); }

# The lifetime total of a breaker's counted calls (outcomes and rejections),
# as status reports it: state.json's counts plus those of NAME/counts not yet
# folded into it. Status must say nothing else (such as a damaged counts file).
total() {
    local warnings
    warnings=$(mktemp)
    br status --json "$1" 2> "$warnings" |
        jq '.breakers[0].counts | .successes + .failures + .ignored + .rejected'
    if [ -s "$warnings" ]; then fail "status warned: $(cat "$warnings")"; fi
    rm -f "$warnings"
}

# state.json parses, and its state is the last transition's target.
consistent() {
    local file="$state/$1/state.json"
    [ -e "$file" ] || return 0
    jq -e '(.transitions // []) as $t
        | if ($t | length) == 0 then .state == "closed"
          else (.state == $t[-1].to) and (.generation == $t[-1].generation) end' "$file" > /dev/null
}

locks_free() {
    local file
    for file in "$state/$1"/lock "$state/$1"/permit.*; do
        [ -e "$file" ] || continue
        flock -n "$file" true || { fail "$(basename "$file") is still held after the kill"; return; }
    done
}

ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Each scenario's kill moment is drawn from 0 to 1.2 times how long its run
# takes here unkilled (measured once), so that kills land in every phase.
prepare() {
    case "$1" in
        update) name=fast
                if [ $((RANDOM % 2)) -eq 0 ]; then call=(true); else call=(false); fi ;;
        call)   name=slow; call=(sleep "$(ms $((40 + RANDOM % 80)))") ;;
        trial)  name=trial
                br -q trip trial --for 10ms
                sleep 0.03
                if [ $((RANDOM % 2)) -eq 0 ]; then call=(sh -c 'sleep 0.05; exit 0'); else call=(sh -c 'sleep 0.05; exit 1'); fi ;;
        hook)   name=hooked; br -q reset hooked; call=(false) ;;
    esac
}
declare -A span=()
for scenario in update call trial hook; do
    prepare "$scenario"
    t0=$(now_ms); br -q run "$name" -- "${call[@]}" > /dev/null 2>&1 || true; t1=$(now_ms)
    span[$scenario]=$(( (t1 - t0) * 12 / 10 + 1 ))
done
rm -rf "$state" "$work/hooks"

declare -A kills=() escaped=()
midwrite=0
next_timeouts=0
start=$(date +%s.%N)
began=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    if [ -n "$limit" ] && [ $((SECONDS - began)) -ge "$limit" ]; then break; fi
    scenarios=(update call trial hook)
    scenario=${scenarios[RANDOM % 4]}
    prepare "$scenario"
    delay=$(( (RANDOM * 32768 + RANDOM) % span[$scenario] ))
    before=$(total "$name")
    # The binary itself, not a function: $! must be breaker-run's own pid.
    "$bin" --config "$config" --state-dir "$state" -q run "$name" -- "${call[@]}" > /dev/null 2>&1 &
    pid=$!
    sleep "$(ms "$delay")"
    kill -KILL "$pid" 2> /dev/null || true
    rc=0
    { wait "$pid"; } 2> /dev/null || rc=$?
    [ -e "$state/$name/state.json.tmp" ] && midwrite=$((midwrite + 1))
    after=$(total "$name")
    if [ "$rc" -eq 137 ]; then
        kills[$scenario]=$(( ${kills[$scenario]:-0} + 1 ))
        [ $((after - before)) -ge 0 ] && [ $((after - before)) -le 1 ] || fail "the killed call changed the total by $((after - before))"
    else
        escaped[$scenario]=$(( ${escaped[$scenario]:-0} + 1 ))
        [ $((after - before)) -eq 1 ] || fail "a finished call (exit $rc) changed the total by $((after - before))"
    fi
    locks_free "$name"
    consistent "$name" || fail "state.json does not parse or disagrees with its event log"

    next_rc=0
    next_err=$(br run "$name" -- true 2>&1 > /dev/null) || next_rc=$?
    case "$next_rc" in
        0) ;;
        75) case "$next_err" in *"trials taken"*|*"half-open"*) fail "next call rejected by a dead trial's permit: $next_err" ;; esac ;;
        # slow's 80 ms timeout: on a loaded machine even `true` can outlast
        # it. The breaker then works as configured (a counted failure).
        124) if [ "$name" = slow ]; then next_timeouts=$((next_timeouts + 1)); else fail "next call exited 124: $next_err"; fi ;;
        *) fail "next call exited $next_rc: $next_err" ;;
    esac
    [ $(( $(total "$name") - after )) -eq 1 ] || fail "the next call changed the total by $(( $(total "$name") - after ))"
    [ ! -e "$state/$name/state.json.tmp" ] || fail "state.json.tmp left after the next call"
    consistent "$name" || fail "state.json does not parse after the next call"
    if compgen -G "$state/*/state.json.corrupt-*" > /dev/null; then fail "a state file was moved aside as corrupt"; fi
    if [ $problems -ge 20 ]; then break; fi
done
main_rounds=$((round - 1))

# Drain rounds.
drain_rounds=$(( rounds / 10 > 3 ? rounds / 10 : 3 ))
drain_killed=0; drain_repeats=0
scenario=drain
for ((round = 1; round <= drain_rounds; round++)); do
    if [ -n "$limit" ] && [ $((SECONDS - began)) -ge "$limit" ]; then break; fi
    rm -f "$work/ran"
    br -q trip queued --hold 2> /dev/null
    for job in $(seq 1 20); do
        br -q run queued -- sh -c "echo $job >> $work/ran; sleep 0.005" || fail "job $job was not queued"
    done
    br -q reset queued 2> /dev/null
    "$bin" --config "$config" --state-dir "$state" -q drain queued > /dev/null 2>&1 &
    pid=$!
    sleep "$(ms $((RANDOM % 250)))"
    kill -KILL "$pid" 2> /dev/null || true
    rc=0
    { wait "$pid"; } 2> /dev/null || rc=$?
    [ "$rc" -eq 137 ] && drain_killed=$((drain_killed + 1))
    rc=0
    br -q drain queued > /dev/null 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || fail "the drain after the kill exited $rc"
    if compgen -G "$state/queued/queue/*.item" > /dev/null; then fail "items are left in the queue"; fi
    if compgen -G "$state/queued/queue/*.corrupt-*" > /dev/null; then fail "an item was moved aside as corrupt"; fi
    [ "$(awk '!seen[$0]++' "$work/ran" | tr '\n' ' ')" = "$(seq 1 20 | tr '\n' ' ')" ] || fail "jobs did not all run in order: $(tr '\n' ' ' < "$work/ran")"
    repeats=$(( $(wc -l < "$work/ran") - 20 ))
    [ "$repeats" -le 1 ] || fail "$repeats jobs ran twice"
    drain_repeats=$((drain_repeats + repeats))
    if [ $problems -ge 20 ]; then break; fi
done
printf 'crash: %d drain rounds, %d drains killed by SIGKILL, %d jobs run twice (at most one per killed drain)\n' $((round - 1)) "$drain_killed" "$drain_repeats"

end=$(date +%s.%N)
wait

all=0; for k in "${kills[@]}"; do all=$((all + k)); done
summary=""; for s in update call trial hook; do summary+=" $s ${kills[$s]:-0}/${escaped[$s]:-0}"; done
printf 'crash: %d rounds in %.1f s; %d killed by SIGKILL (killed/finished first by scenario:%s); %d kills left a temporary file mid-write; kill moments up to (ms):%s; %d next calls of slow timed out\n' \
    "$main_rounds" "$(echo "$end - $start" | bc)" "$all" "$summary" "$midwrite" "$(for s in update call trial hook; do printf ' %s %d' "$s" "${span[$s]}"; done)" "$next_timeouts"
if [ $problems -gt 0 ]; then echo "crash: FAILED ($problems problems)"; exit 1; fi
echo "crash: OK: no lock or permit left held, every state parses, no count gained or lost beyond the killed call's own"
