# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Capture targets for issue 18 (key-exchange claims that do not hold):
# sourced by make-all.sh. No stack sends such hellos on purpose, so they are
# made from a real capture by editing bytes (kx_claims_craft.py); no
# namespaces are needed.

KX_TARGETS+=(kx_claims)

t_kx_claims() {
  [ -s "$KX_OUT/tls13-x25519mlkem768.pcap" ] || kx_die "kx_claims: $KX_OUT/tls13-x25519mlkem768.pcap missing (make it first)"
  [ -s "$KX_OUT/ssh-default-sntrup.pcap" ] || kx_die "kx_claims: $KX_OUT/ssh-default-sntrup.pcap missing (make it first)"
  python3 "$KX_HERE/kx_claims_craft.py" "$KX_OUT/tls13-x25519mlkem768.pcap" "$KX_OUT" \
    "$KX_OUT/ssh-default-sntrup.pcap"
}
