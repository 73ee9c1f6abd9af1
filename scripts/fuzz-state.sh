#!/bin/sh
# Fuzz the state file parser with libFuzzer for SECONDS (default 600).
#
#   scripts/fuzz-state.sh [SECONDS]
#
# Builds .build-fuzz/state-fuzzer from Sources/CircuitBreaker,
# Sources/BreakerRunKit/StateStore, its StateDocument/ codec and Keys/ (with the
# five Platform files it needs, PerKey for the keys' bounds, SystemCall.swift the one that imports the
# C library, and without StateRouter, which routes by
# configuration) and
# Fuzz/StateFileFuzzer.swift with swiftc -sanitize=fuzzer,address (the
# SwiftPM build is not involved), seeds it with the state files in
# Fuzz/state-seeds/, and runs it with a memory limit and a time limit per
# input. Each input is written as a state.json under /dev/shm and read back
# through FileStateStore. Findings land in .build-fuzz/state-findings/; the
# growing corpus is kept in .build-fuzz/state-corpus/ between runs.
set -eu

seconds=${1:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.build-fuzz"
mkdir -p "$out/state-corpus" "$out/state-findings" "$out/state-lib"

. "$root/scripts/fuzz-build.sh"
fuzz_build "$out/state-fuzzer" "$out/state-lib" "$out/state-build.log" -- \
    $(ls "$root"/Sources/BreakerRunKit/StateStore/*.swift "$root"/Sources/BreakerRunKit/StateStore/StateDocument/*.swift \
        "$root"/Sources/BreakerRunKit/StateStore/Keys/*.swift | grep -v '/StateRouter.swift$') \
    "$root/Sources/BreakerRunKit/Configuration/PerKey.swift" \
    "$root/Sources/BreakerRunKit/Platform/QueueSystemCalls.swift" \
    "$root/Sources/BreakerRunKit/Platform/SystemCall.swift" \
    "$root/Sources/BreakerRunKit/Platform/SystemError.swift" \
    "$root/Sources/BreakerRunKit/Platform/Checksum.swift" \
    "$root/Sources/BreakerRunKit/Platform/SystemClock.swift" \
    "$root/Sources/BreakerRunKit/Run/StateDirectory.swift" \
    "$root/Fuzz/StateFileFuzzer.swift"

cd "$out/state-findings"
FUZZ_STATE_PARENT=$(mktemp -d /dev/shm/breaker-run-fuzz.XXXXXX)
export FUZZ_STATE_PARENT
# The Swift backtracer reads memory that AddressSanitizer guards and buries the
# report under a second one; libFuzzer prints the stack already.
SWIFT_BACKTRACE=enable=no "$out/state-fuzzer" \
    -max_total_time="$seconds" \
    -rss_limit_mb=1024 \
    -malloc_limit_mb=1024 \
    -timeout=5 \
    -max_len=16384 \
    -dict="$root/Fuzz/state.dict" \
    -print_final_stats=1 \
    "$out/state-corpus" "$root/Fuzz/state-seeds" && status=0 || status=$?
rm -rf "$FUZZ_STATE_PARENT"
exit $status
