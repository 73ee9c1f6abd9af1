#!/bin/sh
# Whole-process time of loading a configuration of 1,000 breakers.
#
#   bench/config-load.sh [BREAKERS]
#
# Builds the release binary (static Swift runtime) in .build-bench, generates a
# configuration of BREAKERS breakers (default 1000) with defaults, anchors,
# merge keys and ${VAR} values, and times with hyperfine:
#   /bin/true (the cost of starting any process),
#   libyaml alone: a C program that only runs yaml_parser_load on the file
#     (the floor for any loader built on libyaml; skipped without cc),
#   breaker-run validate,
#   breaker-run status <one breaker>.
# Needs hyperfine (apt-get install -y hyperfine).
set -eu

count=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch="$root/.build-bench"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing: apt-get install -y hyperfine" >&2; exit 1; }

swift build -c release --static-swift-stdlib --scratch-path "$scratch" --package-path "$root" --product breaker-run >&2
binary="$scratch/release/breaker-run"

work=$(mktemp -d /tmp/breaker-run-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
config="$work/breakers.yaml"
{
    echo "version: 1"
    echo "state_dir: $work/state"
    echo "x-quick: &quick {fail_max: 2, reset_timeout: 10s}"
    echo "defaults:"
    echo "  fail_max: 3"
    echo "  reset_timeout: 30s"
    echo "  timeout: 1m"
    echo "  env: {API_TOKEN: \"Bearer \${BENCH_TOKEN}\"}"
    echo "breakers:"
    i=0
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
} > "$config"
echo "configuration: $config ($(wc -c < "$config") bytes, $count breakers)" >&2
"$binary" --config "$config" validate >&2
"$binary" --config "$config" status service-500 >/dev/null

set -- --command-name '/bin/true' '/bin/true'
if command -v cc >/dev/null; then
    cat > "$work/load.c" <<'C'
#include <stdio.h>
#include <yaml.h>
int main(int argc, char **argv) {
    FILE *file = fopen(argv[1], "rb");
    yaml_parser_t parser;
    yaml_document_t document;
    if (!file || !yaml_parser_initialize(&parser)) return 2;
    yaml_parser_set_input_file(&parser, file);
    if (!yaml_parser_load(&parser, &document)) return 1;
    yaml_document_delete(&document);
    yaml_parser_delete(&parser);
    return 0;
}
C
    cc -O2 -o "$work/libyaml-load" "$work/load.c" -lyaml
    set -- "$@" --command-name 'libyaml alone (C)' "$work/libyaml-load $config"
fi

export BENCH_TOKEN=x
hyperfine --warmup 20 --min-runs 200 -N --export-markdown "$work/result.md" "$@" \
    --command-name 'breaker-run validate' "$binary --config $config validate" \
    --command-name 'breaker-run status service-500' "$binary --config $config status service-500"
cat "$work/result.md"
