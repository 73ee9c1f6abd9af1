#!/bin/sh
# Fuzz the configuration loader with libFuzzer for SECONDS (default 600).
#
#   scripts/fuzz-config.sh [SECONDS]
#
# Builds .build-fuzz/config-fuzzer from Sources/CircuitBreaker,
# Sources/BreakerRunKit (the kinds' decoding brings in the whole Kit, with
# swift-log and the CPlatform shim) and Fuzz/ConfigurationFuzzer.swift with
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
# Each call and fallback kind decodes and runs in one type (issue 17), so the
# decoder brings in the whole Kit: with swift-log, built here from SwiftPM's
# checkout, and the CPlatform shim, through a module map of its header.
deps="$out/config-deps"
mkdir -p "$deps/cplatform"
[ -d "$root/.build/checkouts/swift-log" ] || (cd "$root" && swift package resolve)
swiftc -O -parse-as-library -swift-version 6 -package-name swift_log -emit-library -static -module-name Logging \
    -emit-module -emit-module-path "$deps/Logging.swiftmodule" -o "$deps/libLogging.a" \
    $(find "$root/.build/checkouts/swift-log/Sources/Logging" -name '*.swift') > "$deps/build.log" 2>&1 || { cat "$deps/build.log"; exit 1; }
printf 'module CPlatform {\n    header "%s/Sources/CPlatform/include/CPlatform.h"\n    export *\n}\n' "$root" > "$deps/cplatform/module.modulemap"
clang -c -O1 -I "$root/Sources/CPlatform/include" "$root/Sources/CPlatform/platform.c" -o "$deps/platform.o"
fuzz_build "$out/config-fuzzer" "$out" "$out/build.log" -I "$root/Sources/CYAML" -I "$deps" -I "$deps/cplatform" \
    -L "$deps" -lLogging -lyaml "$deps/platform.o" -- \
    $(find "$root/Sources/BreakerRunKit" -name '*.swift') \
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
