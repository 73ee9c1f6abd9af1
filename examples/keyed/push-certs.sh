#!/usr/bin/env bash
# Push a renewed certificate to every host of a list, each host under its
# own key of the push-cert breaker (./hosts.yaml): a host whose key is open
# is skipped at once, and once half the hosts are open the roll-up skips
# them all. Run it again later: the skipped hosts get their turn when their
# reset timeout has passed.
#
# Usage: push-certs.sh CERT HOSTS-FILE
#   HOSTS-FILE: one host per line; blank lines and # comments are ignored.
# Exits 0 when every host took the certificate, 1 when a push failed, 75
# when hosts were only skipped by their breakers.
set -euo pipefail

cert=${1:?usage: push-certs.sh CERT HOSTS-FILE}
hosts=${2:?usage: push-certs.sh CERT HOSTS-FILE}
breaker_run=${BREAKER_RUN:-breaker-run}

CERT_PUSH_SKIPPED=$(mktemp)
export CERT_PUSH_SKIPPED
trap 'rm -f "$CERT_PUSH_SKIPPED"' EXIT

failed=()
while IFS= read -r host; do
    [[ -z $host || $host == \#* ]] && continue
    # The certificate is the call's standard input; the host is the key
    # (--key=... so that no host name is ever taken for an option).
    if ! "$breaker_run" -q run push-cert --key="$host" -- \
        ssh -o BatchMode=yes -o ConnectTimeout=10 "$host" \
        'install -m 0640 /dev/stdin /etc/ssl/private/service.pem && systemctl reload nginx' \
        < "$cert"; then
        failed+=("$host")
    fi
done < "$hosts"

if [[ -s $CERT_PUSH_SKIPPED ]]; then
    echo "skipped (breaker open; run again later):"
    sed 's/^/  /' "$CERT_PUSH_SKIPPED"
fi
if (( ${#failed[@]} )); then
    echo "failed: ${failed[*]}"
fi
"$breaker_run" status push-cert

if (( ${#failed[@]} )); then exit 1; fi
if [[ -s $CERT_PUSH_SKIPPED ]]; then exit 75; fi
