#!/bin/sh
# Fuzz the configuration loader with libFuzzer for SECONDS (default 600).
#
#   scripts/fuzz-config.sh [SECONDS]
#
# Builds .build-fuzz/config-fuzzer from Sources/CircuitBreaker,
# Sources/BreakerRunKit/Configuration (with the Status and Platform files it
# needs) and Fuzz/ConfigurationFuzzer.swift with
# swiftc -sanitize=fuzzer,address (the SwiftPM build is not involved), seeds
# it with examples/ and the bad-configuration corpus, and runs it with a memory
# limit and a time limit per input. Findings land in .build-fuzz/findings/;
# the growing corpus is kept in .build-fuzz/corpus/ between runs.
set -eu

seconds=${1:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.build-fuzz"
mkdir -p "$out/corpus" "$out/seeds" "$out/findings"

. "$root/scripts/fuzz-build.sh"
fuzz_build "$out/config-fuzzer" "$out" "$out/build.log" -I "$root/Sources/CYAML" -lyaml -- \
    "$root"/Sources/BreakerRunKit/Configuration/*.swift \
    "$root/Sources/BreakerRunKit/Status/DurationFormat.swift" \
    "$root/Sources/BreakerRunKit/Platform/SystemError.swift" \
    "$root/Sources/BreakerRunKit/Platform/Checksum.swift" \
    "$root/Fuzz/ConfigurationFuzzer.swift"

find "$root/examples" "$root/Tests/Fixtures" -name '*.yaml' 2>/dev/null | while read -r file; do
    cp "$file" "$out/seeds/$(echo "$file" | sed "s|^$root/||; s|/|_|g")"
done

cd "$out/findings"
# The Swift backtracer reads memory that AddressSanitizer guards and buries the
# report under a second one; libFuzzer prints the stack already.
SWIFT_BACKTRACE=enable=no exec "$out/config-fuzzer" \
    -max_total_time="$seconds" \
    -rss_limit_mb=1024 \
    -malloc_limit_mb=1024 \
    -timeout=5 \
    -max_len=8192 \
    -dict="$root/Fuzz/yaml.dict" \
    -print_final_stats=1 \
    "$out/corpus" "$out/seeds"
