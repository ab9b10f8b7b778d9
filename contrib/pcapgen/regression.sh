#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Captures of a regression for `kexwatch changes` (project issue 19): real
# Node 24 / OpenSSL 3.5 peers in two network namespaces (lib.sh's direct
# topology, client 198.18.0.10, server 198.18.0.20), captured on the client
# veth with dumpcap (pcapng, converted to pcap by editcap).
#
#   before.pcap  two handshakes to s1.kx.test:443 (server default groups:
#                X25519MLKEM768 hybrid) and two to s2.kx.test:8443 (hybrid),
#                the client offering its defaults (X25519MLKEM768 first)
#   after.pcap   the 443 server restarted with --groups X25519:P-256; the
#                same client, still offering PQ, gets two classical
#                handshakes (server-declined); then the client offers only
#                X25519:P-256 to s2.kx.test:8443 twice (client-no-pq)
# after.pcap is then shifted one day later (editcap -t 86400), so the two
# stand for yesterday and today.
#
#   sudo contrib/pcapgen/regression.sh [OUTDIR]   (default: tests/data/regression)
set -euo pipefail
KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KX_HERE/../.." && pwd)
KX_OUT=${1:-$REPO/tests/data/regression}
# shellcheck source=lib.sh
. "$KX_HERE/lib.sh"
[ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
KX_NS_C=kxrg-c
KX_NS_S=kxrg-s
KX_NS_M=kxrg-m
KX_WORK=$(mktemp -d /tmp/kxrg.XXXXXX)
export KX_WORK
trap 'kx_cleanup; rm -rf "$KX_WORK"' EXIT
mkdir -p "$KX_OUT"
kx_ensure_node
kx_certs
kx_topo_direct 1500

s1=; s2=; cap=
kx_server s1 $KX_NS_S --port 443
kx_server s2 $KX_NS_S --port 8443
kx_dumpcap_start cap $KX_NS_C vc0 "$KX_WORK/before.pcapng" -f tcp
for i in 1 2; do
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni s1.kx.test
  kx_client $KX_NS_C --host $KX_S4 --port 8443 --sni s2.kx.test
done
kx_cap_stop "$cap"

kill "$s1"; wait "$s1" 2>/dev/null || true
kx_server s1 $KX_NS_S --port 443 --groups X25519:P-256
kx_dumpcap_start cap $KX_NS_C vc0 "$KX_WORK/after.pcapng" -f tcp
for i in 1 2; do
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni s1.kx.test
done
for i in 1 2; do
  kx_client $KX_NS_C --host $KX_S4 --port 8443 --sni s2.kx.test --groups X25519:P-256
done
kx_cap_stop "$cap"
editcap -F pcap "$KX_WORK/before.pcapng" "$KX_OUT/before.pcap"
editcap -F pcap -t 86400 "$KX_WORK/after.pcapng" "$KX_OUT/after.pcap"
kx_log "wrote $KX_OUT/before.pcap and after.pcap"
