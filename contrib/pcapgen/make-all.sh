#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# kexwatch capture generator: regenerates the captures in pcaps/.
#
#   contrib/pcapgen/make-all.sh                # everything
#   contrib/pcapgen/make-all.sh list           # list targets
#   contrib/pcapgen/make-all.sh hybrid hrr     # individual targets (+ expected)
#   contrib/pcapgen/make-all.sh expected       # only re-derive expected.tsv/README.md
#   KX_OUT=/tmp/x contrib/pcapgen/make-all.sh  # write somewhere else
#
# Needs root (network namespaces), tcpdump, tshark/editcap/dumpcap, ethtool,
# nftables, iproute2, openssl, gnutls-bin, python3, npm (for Node 24).
set -euo pipefail
KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KX_HERE/../.." && pwd)
KX_OUT=${KX_OUT:-$REPO/pcaps}
# shellcheck source=lib.sh
. "$KX_HERE/lib.sh"
. "$KX_HERE/targets.sh"
. "$KX_HERE/ssh.sh"
. "$KX_HERE/fixes.sh"
. "$KX_HERE/dtls.sh"
. "$KX_HERE/tunnels.sh"
. "$KX_HERE/claims.sh"
. "$KX_HERE/certs.sh"

[ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
mkdir -p "$KX_OUT"
KX_WORK=$(mktemp -d /tmp/kxgen.XXXXXX)
export KX_WORK KX_OUT PYTHONDONTWRITEBYTECODE=1
KX_TARGET_PID=
kx_main_exit() {
  if [ -n "$KX_TARGET_PID" ]; then   # interrupted: let the running target clean up
    kill -TERM "$KX_TARGET_PID" 2>/dev/null || true
    wait "$KX_TARGET_PID" 2>/dev/null || true
  fi
  kx_cleanup
  [ -n "${KX_KEEP:-}" ] || rm -rf "$KX_WORK"
}
trap kx_main_exit EXIT
trap 'exit 130' INT TERM

if [ "${1:-}" = list ]; then
  printf '%s\n' "${KX_TARGETS[@]}"; exit 0
fi
kx_ensure_node
kx_certs

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${KX_TARGETS[@]}")
# expected.tsv / README.md are always rebuilt (and cross-checked) at the end
case " ${targets[*]} " in *" expected "*) ;; *) targets+=(expected) ;; esac
for t in "${targets[@]}"; do
  declare -F "t_$t" >/dev/null || kx_die "unknown target $t (try: list)"
  kx_log "=== $t"
  # each target in a subshell so that its trap always tears the namespaces down
  # (run asynchronously + wait, so that set -e stays in force inside the target)
  ( trap kx_cleanup EXIT; trap 'exit 143' TERM INT; "t_$t" ) &
  KX_TARGET_PID=$!
  wait "$KX_TARGET_PID" || { KX_TARGET_PID=; kx_die "target $t failed"; }
  KX_TARGET_PID=
done
kx_log "done"
