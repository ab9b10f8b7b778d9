#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# DTLS capture targets: Debian 12's OpenSSL 3.0 (openssl s_server / s_client
# -dtls1_2, -dtls1) and GnuTLS 3.7 (gnutls-serv / gnutls-cli --udp) in
# network namespaces joined by veth pairs (MTU 1500, offloads off), captured
# on the client veth with tcpdump -n. No Debian 12 stack speaks DTLS 1.3:
# those two captures are hand-built from RFC 9147 by dtls13_craft.py.
# Writes pcaps/dtls*.pcap; their expected rows go into pcaps/expected.tsv
# through expected.py like every TLS/QUIC capture (target `expected`, or
# `dtls_expected` when this file runs on its own).
#
# Two ways to run it (as root):
#   contrib/pcapgen/dtls.sh                          # every DTLS target + dtls_expected
#   contrib/pcapgen/dtls.sh dtls12_openssl dtls_expected
# or sourced by make-all.sh after targets.sh (it then only adds targets).
#
# The targets use their own namespaces (kxd-c, kxd-s, kxd-m), so they can
# run while another generator has kxgen-* or kxssh-* up.
#
# Facts learned here (OpenSSL 3.0.19, GnuTLS 3.7.9):
#  * s_server always does the cookie exchange on DTLS (SSL_OP_COOKIE_EXCHANGE),
#    -listen or not; gnutls-serv too unless --nocookie. Both number the
#    HelloVerifyRequest 0 and the ServerHello 1; the client's second
#    ClientHello is message_seq 1.
#  * s_server's socket is not connected, so OpenSSL cannot ask the kernel for
#    the path MTU and fragments its flight to ~256-byte datagrams unless -mtu
#    is given: every OpenSSL-server capture has a fragmented Certificate.
#  * Retransmitted flights are fragmented anew (tshark 4.0 then reports
#    "Reassembly error ... New fragment overlaps old data").

KX_DTLS_TARGETS=(dtls12_openssl dtls12_openssl_fragmented dtls12_openssl_resumption
                 dtls12_openssl_retransmit dtls12_gnutls dtls12_gnutls_nocookie dtls10_openssl
                 dtls13_synthetic)
KX_TARGETS+=("${KX_DTLS_TARGETS[@]}")
KX_DTLS_PORT=4433

# shellcheck disable=SC2034  # read by lib.sh
kx_dtls_ns() {
  KX_NS_C=kxd-c
  KX_NS_S=kxd-s
  KX_NS_M=kxd-m
}

kx_dtls_wait_udp() {  # ns port
  local i
  for i in $(seq 200); do
    kx_in "$1" ss -Huln "sport = :$2" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  kx_die "nothing listens on UDP port $2 in $1"
}

# openssl s_server on DTLS: it reads stdin and stops at its end, so stdin is
# a pipe kept open for `secs`; -naccept ends it after `n` connections.
# kx_dtls_s_server VAR secs n args...
kx_dtls_s_server() {
  local var=$1 secs=$2 n=$3; shift 3
  # shellcheck disable=SC2016  # expanded by the inner sh
  kx_bg "$var" "$KX_NS_S" "$KX_WORK/s_server.log" sh -c 'secs=$1; shift; sleep "$secs" | openssl s_server "$@"' \
    sh "$secs" -accept "$KX_S4:$KX_DTLS_PORT" -naccept "$n" "$@"
  kx_dtls_wait_udp "$KX_NS_S" $KX_DTLS_PORT
}

# openssl s_client: one handshake, a second of idle, close_notify.
kx_dtls_s_client() {
  # shellcheck disable=SC2016  # expanded by the inner sh
  kx_in "$KX_NS_C" sh -c 'sleep 1 | timeout 20 openssl s_client "$@"' sh \
    -connect "$KX_S4:$KX_DTLS_PORT" "$@" >>"$KX_WORK/client.log" 2>&1 ||
    kx_die "s_client $* failed (see $KX_WORK/client.log)"
}

# One s_client -> s_server handshake: FILE "server args" client args...
kx_dtls_openssl() {
  local file=$1 sargs=$2; shift 2
  kx_dtls_ns
  kx_topo_direct
  local srv cap
  # shellcheck disable=SC2086  # sargs is a word list
  kx_dtls_s_server srv 15 1 $sargs
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  kx_dtls_s_client "$@"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  kx_cleanup
}

# DTLS 1.2, cookie exchange, x25519 in the ServerKeyExchange.
t_dtls12_openssl() {
  kx_dtls_openssl dtls12-openssl.pcap "-dtls1_2 -cert $KX_WORK/ec.crt -key $KX_WORK/ec.key" \
    -dtls1_2 -servername dtls12-openssl.kx.test
}

# The ClientHello itself fragmented: the client's link MTU 256 (OpenSSL's
# minimum) and a long ALPN list make it ~280 bytes, two datagrams, twice
# (before and after the cookie); the server (-mtu 500, RSA-2048 certificate)
# sends its Certificate in pieces. The client prefers P-521.
t_dtls12_openssl_fragmented() {
  kx_dtls_openssl dtls12-openssl-fragmented.pcap \
    "-dtls1_2 -mtu 500 -cert $KX_WORK/rsa.crt -key $KX_WORK/rsa.key" \
    -dtls1_2 -mtu 256 -servername dtls12-fragmented.kx.test -groups P-521:P-384:P-256:X25519 \
    -alpn coap,h2,http/1.1,webrtc,c-webrtc,stun.turn,stun.nat-discovery
}

# A full handshake, then the session resumed from its ticket (abbreviated:
# ServerHello, ChangeCipherSpec, Finished), one s_server serving both.
t_dtls12_openssl_resumption() {
  kx_dtls_ns
  kx_topo_direct
  local srv cap sess="$KX_WORK/dtls-session.pem"
  rm -f "$sess"
  kx_dtls_s_server srv 15 2 -dtls1_2 -cert "$KX_WORK/ec.crt" -key "$KX_WORK/ec.key"
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/dtls12-openssl-resumption.pcap"
  kx_dtls_s_client -dtls1_2 -servername dtls12-resumption.kx.test -groups P-256 -sess_out "$sess"
  kx_dtls_s_client -dtls1_2 -servername dtls12-resumption.kx.test -groups P-256 -sess_in "$sess"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  grep -q '^Reused' "$KX_WORK/client.log" || kx_die "the second s_client did not resume"
  kx_cleanup
}

# Lost datagrams and retransmitted flights. The client and server are on
# two /28s routed by kxd-m (198.18.0.1 / .17), whose forward chain drops the
# first HelloVerifyRequest and the first datagram of the server's flight
# (ServerHello + the start of the Certificate) before they reach the client
# veth, where the capture runs: the client sends its first ClientHello
# again; the rest of the first flight arrives without its ServerHello and is
# completed by the server's retransmission, fragmented differently.
t_dtls12_openssl_retransmit() {
  kx_dtls_ns
  kx_cleanup
  kx_ns_new $KX_NS_C; kx_ns_new $KX_NS_S; kx_ns_new $KX_NS_M
  ip link add vc0 netns $KX_NS_C type veth peer name vm0 netns $KX_NS_M || kx_die veth
  ip link add vs0 netns $KX_NS_S type veth peer name vm1 netns $KX_NS_M || kx_die veth
  kx_in $KX_NS_C ip link set vc0 address 02:6b:78:00:00:10 mtu 1500
  kx_in $KX_NS_S ip link set vs0 address 02:6b:78:00:00:20 mtu 1500
  kx_in $KX_NS_M ip link set vm0 address 02:6b:78:00:00:01 mtu 1500
  kx_in $KX_NS_M ip link set vm1 address 02:6b:78:00:00:11 mtu 1500
  kx_noofload $KX_NS_C vc0; kx_noofload $KX_NS_S vs0
  kx_noofload $KX_NS_M vm0; kx_noofload $KX_NS_M vm1
  kx_in $KX_NS_C ip addr add "$KX_C4/28" dev vc0
  kx_in $KX_NS_M ip addr add 198.18.0.1/28 dev vm0
  kx_in $KX_NS_M ip addr add 198.18.0.17/28 dev vm1
  kx_in $KX_NS_S ip addr add "$KX_S4/28" dev vs0
  kx_in $KX_NS_C ip link set vc0 up; kx_in $KX_NS_S ip link set vs0 up
  kx_in $KX_NS_M ip link set vm0 up; kx_in $KX_NS_M ip link set vm1 up
  kx_in $KX_NS_C ip route add default via 198.18.0.1
  kx_in $KX_NS_S ip route add default via 198.18.0.17
  kx_in $KX_NS_M sysctl -qw net.ipv4.ip_forward=1
  # `quota until N bytes` matches until N bytes have matched: one 90-byte
  # HelloVerifyRequest, one 270-byte flight datagram.
  kx_in $KX_NS_M nft -f - <<EOF || kx_die "nft"
table inet kxd {
  chain f {
    type filter hook forward priority 0;
    udp sport $KX_DTLS_PORT meta length < 120 quota until 100 bytes drop
    udp sport $KX_DTLS_PORT meta length >= 120 quota until 300 bytes drop
  }
}
EOF
  kx_settle
  local srv cap
  kx_dtls_s_server srv 15 1 -dtls1_2 -cert "$KX_WORK/ec.crt" -key "$KX_WORK/ec.key"
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/dtls12-openssl-retransmit.pcap"
  kx_in $KX_NS_C sh -c 'sleep 4 | timeout 20 openssl s_client "$@"' sh \
    -connect "$KX_S4:$KX_DTLS_PORT" -dtls1_2 -servername dtls12-retransmit.kx.test \
    >>"$KX_WORK/client.log" 2>&1 || kx_die "s_client failed"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  kx_in $KX_NS_M nft list table inet kxd >&2
  kx_cleanup
}

# gnutls-cli -> gnutls-serv (cookie exchange; the server picks secp256r1).
kx_dtls_gnutls() {  # file "server args" client args...
  local file=$1 sargs=$2; shift 2
  kx_dtls_ns
  kx_topo_direct
  local srv cap
  # shellcheck disable=SC2086
  kx_bg srv $KX_NS_S "$KX_WORK/gnutls-serv.log" gnutls-serv --udp -p $KX_DTLS_PORT \
    --x509certfile "$KX_WORK/ec.crt" --x509keyfile "$KX_WORK/ec.key" $sargs
  kx_dtls_wait_udp $KX_NS_S $KX_DTLS_PORT
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  kx_in $KX_NS_C sh -c 'sleep 1 | timeout 20 "$@"' sh "$@" >>"$KX_WORK/client.log" 2>&1 ||
    kx_die "client $* failed"
  kx_cap_stop "$cap"
  kx_wait_pid "$srv" 0
  kx_cleanup
}

t_dtls12_gnutls() {
  kx_dtls_gnutls dtls12-gnutls.pcap "" \
    gnutls-cli --udp --insecure -p $KX_DTLS_PORT --sni-hostname dtls12-gnutls.kx.test "$KX_S4"
}

# Across stacks and without the cookie exchange: s_client -> gnutls-serv --nocookie.
t_dtls12_gnutls_nocookie() {
  kx_dtls_gnutls dtls12-gnutls-nocookie.pcap "--nocookie" \
    openssl s_client -dtls1_2 -connect "$KX_S4:$KX_DTLS_PORT" -servername dtls12-nocookie.kx.test
}

# DTLS 1.0 (RFC 4347): OpenSSL 3.0 still speaks it at security level 0.
t_dtls10_openssl() {
  kx_dtls_openssl dtls10-openssl.pcap \
    "-dtls1 -cipher DEFAULT@SECLEVEL=0 -cert $KX_WORK/ec.crt -key $KX_WORK/ec.key" \
    -dtls1 -cipher DEFAULT@SECLEVEL=0 -servername dtls10-openssl.kx.test
}

# DTLS 1.3, hand-built from RFC 9147 (no stack here speaks it).
t_dtls13_synthetic() {
  python3 "$KX_HERE/dtls13_craft.py" "$KX_OUT"
}

t_dtls_expected() {
  chmod 644 "$KX_OUT"/*.pcap "$KX_OUT"/*.pcapng 2>/dev/null || true
  python3 "$KX_HERE/expected.py" --pcaps "$KX_OUT"
}

# Run on its own: the same subshell-per-target discipline as make-all.sh,
# without Node (only the certificates of lib.sh).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  REPO=$(cd "$KX_HERE/../.." && pwd)
  KX_OUT=${KX_OUT:-$REPO/pcaps}
  # shellcheck source=contrib/pcapgen/lib.sh
  . "$KX_HERE/lib.sh"
  KX_TARGETS=("${KX_DTLS_TARGETS[@]}" dtls_expected)
  [ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
  mkdir -p "$KX_OUT"
  KX_WORK=$(mktemp -d /tmp/kxdtls.XXXXXX)
  export KX_WORK KX_OUT PYTHONDONTWRITEBYTECODE=1
  KX_TARGET_PID=
  kx_dtls_main_exit() {
    if [ -n "$KX_TARGET_PID" ]; then
      kill -TERM "$KX_TARGET_PID" 2>/dev/null || true
      wait "$KX_TARGET_PID" 2>/dev/null || true
    fi
    kx_dtls_ns
    kx_cleanup
    [ -n "${KX_KEEP:-}" ] || rm -rf "$KX_WORK"
  }
  trap kx_dtls_main_exit EXIT
  trap 'exit 130' INT TERM
  kx_certs
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${KX_TARGETS[@]}")
  for t in "${targets[@]}"; do
    declare -F "t_$t" >/dev/null || kx_die "unknown target $t (try: ${KX_TARGETS[*]})"
    kx_log "=== $t"
    ( trap 'kx_dtls_ns; kx_cleanup' EXIT; trap 'exit 143' TERM INT; "t_$t" ) &
    KX_TARGET_PID=$!
    wait "$KX_TARGET_PID" || { KX_TARGET_PID=; kx_die "target $t failed"; }
    KX_TARGET_PID=
  done
  kx_log "done"
fi
