# SPDX-License-Identifier: BSD-2-Clause
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

KX_TARGETS+=(quic_ngtcp2_retry quic_chromium_ngtcp2_retry)
# gtlsclient 0.12 takes its SNI from the host name: a hosts file, bind-mounted
# in a private mount namespace of that one process, gives the server address
# a name (the machine's /etc/hosts is untouched).
kx_gtlsclient() {  # ns name [gtlsclient options...]
  local ns=$1 name=$2; shift 2
  printf '%s %s\n' $KX_S4 "$name" >"$KX_WORK/hosts.$name"
  kx_in "$ns" unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh \
     "$KX_WORK/hosts.$name" timeout 10 gtlsclient -q --exit-on-all-streams-close "$@" \
     "$name" 443 "https://$name/index.html" >>"$KX_WORK/gtlsclient.log" 2>&1 || kx_die "gtlsclient failed"
}
# QUIC Retry (RFC 9000 section 17.2.5): gtlsserver -V (--validate-addr)
# answers the client's first Initial with a Retry; the client starts over
# with the token, its Initials now to the Retry's Source Connection ID, and
# both directions' Initial keys come from that ID.
t_quic_ngtcp2_retry() {
  kx_fixes_ns
  kx_topo_direct
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S4 443 -V
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-ngtcp2-retry.pcap"
  kx_gtlsclient $KX_NS_C quic-retry.kx.test
  kx_cap_stop "$cap"
  kx_cleanup
}
t_quic_chromium_ngtcp2_retry() {
  kx_fixes_ns
  kx_topo_direct
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S4 443 -V
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-chromium-ngtcp2-retry.pcap"
  kx_chromium_get $KX_NS_C quic-chromium-retry.kx.test 443 $KX_S4
  kx_cap_stop "$cap"
  kx_cleanup
}

KX_TARGETS+=(quic_ngtcp2_retry_v2draft quic_ngtcp2_v2draft_retry)
# Retry, then a compatible version switch (RFC 9368): the client starts in
# v1, gets a v1 Retry, starts over in v1 to the Retry's SCID, and the server
# switches to the v2 draft, whose Initial keys come from that SCID as well.
t_quic_ngtcp2_retry_v2draft() {
  kx_fixes_ns
  kx_topo_direct
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S4 443 -V --preferred-versions v2draft,v1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-ngtcp2-retry-v2draft.pcap"
  kx_gtlsclient $KX_NS_C quic-retry-v2draft.kx.test -v v1 --other-versions v2draft,v1
  kx_cap_stop "$cap"
  kx_cleanup
}
# The client starts in the v2 draft: the Retry is a v2-draft one (its own
# packet type bits and integrity key).
t_quic_ngtcp2_v2draft_retry() {
  kx_fixes_ns
  kx_topo_direct
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S4 443 -V
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-ngtcp2-v2draft-retry.pcap"
  kx_gtlsclient $KX_NS_C quic-v2draft-retry.kx.test -v v2draft --other-versions v2draft
  kx_cap_stop "$cap"
  kx_cleanup
}

KX_TARGETS+=(quic_ngtcp2_vn)
# Version Negotiation, then a new attempt to a new connection ID: CONVERTED
# from quic-ngtcp2-retry.pcap by quic_retry_to_vn.py (the Retry replaced by
# a Version Negotiation packet). gtlsclient 0.12 ends the connection on
# Version Negotiation instead of starting over (tried: -v 0x1a2a3a4a), and
# no server here refuses v1, so no real capture of a restart exists.
t_quic_ngtcp2_vn() {
  [ -s "$KX_OUT/quic-ngtcp2-retry.pcap" ] || ( trap kx_cleanup EXIT; t_quic_ngtcp2_retry )
  python3 "$KX_HERE/quic_retry_to_vn.py" "$KX_OUT/quic-ngtcp2-retry.pcap" "$KX_OUT/quic-ngtcp2-vn-converted.pcap"
}

KX_TARGETS+=(ssh_preamble ssh_preamble_port2022 ssh_preamble_server_first)
# Text lines before the server's version line (RFC 4253 section 4.2):
# ssh_preamble_relay.py, in the server namespace in front of Debian's
# OpenSSH 9.2 sshd, writes a 40-line notice (1,603 bytes) and then relays
# both directions byte for byte; stock OpenSSH client. On port 22, and on
# port 2022 (no port hint: the client's version line says SSH).
kx_ssh_preamble() {  # file port [ssh options...]
  local file=$1 port=$2; shift 2
  kx_fixes_ns
  kx_topo_direct
  local srv rel cap ready="$KX_WORK/preamble.ready"
  KX_SSH_PORT=2222 kx_sshd srv $KX_NS_S ""
  rm -f "$ready"
  kx_bg rel $KX_NS_S "$KX_WORK/preamble.log" python3 "$KX_HERE/ssh_preamble_relay.py" \
    $KX_S4 "$port" $KX_S4 2222 "$ready"
  local _; for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
  [ -e "$ready" ] || kx_die "ssh_preamble_relay.py did not start"
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  KX_SSH_PORT=$port kx_ssh_client $KX_NS_C "$@"
  kx_wait_pid "$rel" 5
  kx_cap_stop "$cap"
  kx_cleanup
}
t_ssh_preamble() { kx_ssh_preamble ssh-preamble-lines.pcap 22; }
t_ssh_preamble_port2022() { kx_ssh_preamble ssh-preamble-port2022.pcap 2022; }
# The same on port 2022 with the server's lines first on the wire: the
# client's ssh runs through ssh_late_client_proxy.py (a ProxyCommand in the
# client namespace that sends the client's bytes 0.3 s after connecting).
t_ssh_preamble_server_first() {
  kx_ssh_preamble ssh-preamble-server-first.pcap 2022 \
    -o "ProxyCommand=python3 $KX_HERE/ssh_late_client_proxy.py %h %p 0.3"
}
