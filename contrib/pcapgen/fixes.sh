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

KX_TARGETS+=(tso)
# IPv4 total length 0, written by the sending host's own kernel: IPv4 BIG
# TCP (Linux >= 6.3) hands the driver TCP segments larger than 64 KiB and,
# since 16 bits cannot hold their length, sets the IPv4 total length to 0
# (tcpdump and Wireshark then take the length from the frame). The server
# runs with the veth's offloads ON (the exception to the lib.sh rule: the
# point is what TSO looks like), gso_ipv4_max_size 185000, initcwnd 100, and
# an 84 KB certificate (4200 subjectAltNames), so its first flight
# (ServerHello ... Finished, one write) leaves as one ~78 KB segment.
# The client allows it: initrwnd 100 and a larger tcp_rmem. Captured on the
# server's veth, i.e. on the sending host, before segmentation.
t_tso() {
  kx_fixes_ns
  kx_topo_direct
  kx_in $KX_NS_S ethtool -K vs0 tx on sg on tso on gso on >/dev/null
  kx_in $KX_NS_S python3 "$KX_HERE/gso_ipv4_max.py" vs0 185000
  kx_in $KX_NS_S ip route change 198.18.0.0/24 dev vs0 initcwnd 100
  kx_in $KX_NS_C ip route change 198.18.0.0/24 dev vc0 initrwnd 100
  kx_in $KX_NS_C sysctl -qw net.ipv4.tcp_rmem="4096 1048576 6291456"
  local san i
  san=$(for i in $(seq -w 1 4200); do printf 'DNS:n%s.tso.kx.test,' "$i"; done)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$KX_WORK/tso.key" -out "$KX_WORK/tso.crt" -days 3650 -subj /CN=tso.kx.test \
    -addext "subjectAltName=${san%,}" 2>/dev/null || kx_die "openssl tso cert"
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1 --key "$KX_WORK/tso.key" --cert "$KX_WORK/tso.crt"
  kx_cap_start cap $KX_NS_S vs0 "$KX_OUT/tls13-tso-len0.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni tso.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  kx_cleanup
}
