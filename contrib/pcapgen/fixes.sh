# shellcheck shell=bash
# Capture targets for issue 16 (captures from other tools and set-ups that
# lost handshakes): sourced by make-all.sh after targets.sh. Targets that
# need namespaces use their own names (kxf-c, kxf-s, kxf-m), set in each
# target's subshell, so they can run while another generator has its up.

KX_TARGETS+=(merged)

# shellcheck disable=SC2034  # read by lib.sh
kx_fixes_ns() {
  KX_NS_C=kxf-c
  KX_NS_S=kxf-s
  KX_NS_M=kxf-m
}

# Three real captures concatenated with timestamps shifted 6 years forward
# and then 10 years back (merge_time_jumps.py; no namespaces needed).
t_merged() {
  local f
  for f in tls13-x25519mlkem768 tls13-client-no-pq tls13-server-declined; do
    [ -s "$KX_OUT/$f.pcap" ] || kx_die "merged: $KX_OUT/$f.pcap missing (make it first)"
  done
  python3 "$KX_HERE/merge_time_jumps.py" "$KX_OUT/merged-time-jumps.pcap" \
    "$KX_OUT/tls13-x25519mlkem768.pcap:0" "$KX_OUT/tls13-client-no-pq.pcap:189216000" \
    "$KX_OUT/tls13-server-declined.pcap:-126144000"
}
