# Sourced by scripts/fuzz-config.sh and scripts/fuzz-state.sh: the build
# step they share. swiftc -sanitize=fuzzer,address, the SwiftPM build not
# involved.
#
#   fuzz_build FUZZER LIBDIR LOG [SWIFTC-OPTION...] -- SOURCE...
#
# builds the CircuitBreaker module as a static library in LIBDIR, then the
# libFuzzer binary FUZZER (module BreakerRunKit) from SOURCE... linked with
# it, with the extra swiftc options given; the compilers' output goes to LOG,
# and is printed, with exit 1, if a step fails.
fuzz_build() {
    fuzzer=$1 libdir=$2 log=$3
    shift 3
    flags="-O -g -parse-as-library -sanitize=fuzzer,address -swift-version 6 -package-name breaker_run"
    echo "building $fuzzer (log: $log)"
    mkdir -p "$libdir"
    # shellcheck disable=SC2086 # $flags is a list of options
    swiftc $flags -emit-library -static -module-name CircuitBreaker \
        -emit-module -emit-module-path "$libdir/CircuitBreaker.swiftmodule" \
        -o "$libdir/libCircuitBreaker.a" "$root"/Sources/CircuitBreaker/*.swift >"$log" 2>&1 || { cat "$log"; exit 1; }
    options=
    while [ "$1" != "--" ]; do options="$options $1"; shift; done
    shift
    # shellcheck disable=SC2086
    swiftc $flags -module-name BreakerRunKit -I "$libdir" -L "$libdir" -lCircuitBreaker $options \
        -o "$fuzzer" "$@" >>"$log" 2>&1 || { cat "$log"; exit 1; }
}
