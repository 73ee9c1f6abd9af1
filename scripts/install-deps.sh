#!/usr/bin/env bash
# Installs what breaker-run needs to build, test and run its demo on Debian:
# make (the release build and install), dpkg-dev and lintian (make deb and its
# check), adduser and man-db (the package's postinst and scripts/deb-check.sh,
# which also reads its man pages), libyaml (the YAML parser and, for
# the static core, libyaml.a), curl, python3 and openssl (the demo and tests), mandoc
# (the man page check), tmux (the terminal tests), zsh and fish (their
# completion, run by the tests), jq and bc (the stress and
# crash scripts), monitoring-plugins-basic (check_tcp and check_http, the
# monitoring-plugins example's probes), postgresql (the PostgreSQL
# backend's tests start their own server), and prometheus-client (the
# reference parser of the metrics tests, from PyPI). Needs root; does nothing for packages already there.
set -euo pipefail
needed=()
for package in make dpkg-dev lintian adduser man-db libyaml-dev curl python3 python3-pip openssl mandoc tmux zsh fish jq bc monitoring-plugins-basic postgresql; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || needed+=("$package")
done
if ((${#needed[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}"
fi
# The Prometheus reference parser, for the metrics tests.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
    python3 -m pip install -q prometheus-client 2>/dev/null \
        || python3 -m pip install -q --break-system-packages prometheus-client
fi
