#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# TLS 1.2 capture targets of issue 18 (signature readiness): the server's
# certificate is visible in TLS 1.2, so these are real handshakes of Debian
# 12's OpenSSL 3.0 (s_client -> s_server) and GnuTLS 3.7 (gnutls-cli ->
# gnutls-serv) with RSA, ECDSA and Ed25519 leaf certificates, each a
# self-signed certificate made here with openssl req. Captured on the client
# veth with tcpdump -n; their rows go into pcaps/expected.tsv through
# expected.py like every TLS capture, the certificate fields into
# tests/data/expected-certs.tsv (checked by tests/integration/check_certs.py,
# which reads the leaf from the capture with openssl x509).
#
#   contrib/pcapgen/certs.sh                     # every target, then expected
#   contrib/pcapgen/certs.sh tls12_openssl_rsa   # one (no expected)
# or sourced by make-all.sh (then it only adds targets).
#
# Namespaces kxfp-c, kxfp-s: the targets can run while another generator
# has its own up.

KX_CERT_TARGETS=(tls12_openssl_rsa tls12_openssl_ecdsa tls12_openssl_ed25519
                 tls12_gnutls_rsa tls12_gnutls_ecdsa tls12_gnutls_ed25519)
KX_TARGETS+=("${KX_CERT_TARGETS[@]}")

# shellcheck disable=SC2034  # read by lib.sh
kx_fp_ns() {
  KX_NS_C=kxfp-c
  KX_NS_S=kxfp-s
  KX_NS_M=kxfp-m
}

# kx_fp_cert NAME openssl-req-key-args...: a self-signed leaf for *.kx.test
kx_fp_cert() {
  local name=$1; shift
  [ -s "$KX_WORK/$name.crt" ] && return 0
  openssl req -x509 "$@" -nodes -keyout "$KX_WORK/$name.key" -out "$KX_WORK/$name.crt" \
    -days 3650 -subj "/CN=$name.kx.test" -addext 'subjectAltName=DNS:*.kx.test' 2>/dev/null ||
    kx_die "openssl req $name"
}

# openssl s_server (TLS 1.2 only) with cert NAME -> s_client: FILE NAME SNI
kx_fp_openssl() {
  local file=$1 name=$2 sni=$3
  kx_fp_ns
  kx_topo_direct
  local srv cap
  kx_bg srv $KX_NS_S "$KX_WORK/s_server.log" openssl s_server -accept 443 -naccept 1 -www \
     -tls1_2 -cert "$KX_WORK/$name.crt" -key "$KX_WORK/$name.key"
  kx_wait_listen $KX_NS_S 443
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  printf 'GET / HTTP/1.0\r\n\r\n' | kx_in $KX_NS_C timeout 10 openssl s_client -quiet -tls1_2 \
     -connect $KX_S4:443 -servername "$sni" -ign_eof >/dev/null 2>>"$KX_WORK/client.log" || true
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  kx_cleanup
}

# gnutls-serv with cert NAME -> gnutls-cli limited to TLS 1.2: FILE NAME SNI
kx_fp_gnutls() {
  local file=$1 name=$2 sni=$3
  kx_fp_ns
  kx_topo_direct
  local srv cap
  kx_bg srv $KX_NS_S "$KX_WORK/gnutls-serv.log" gnutls-serv --http -p 443 \
     --x509certfile "$KX_WORK/$name.crt" --x509keyfile "$KX_WORK/$name.key"
  kx_wait_listen $KX_NS_S 443
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  printf 'GET / HTTP/1.0\r\n\r\n' | kx_in $KX_NS_C timeout 10 gnutls-cli --insecure \
     --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2' --sni-hostname "$sni" -p 443 $KX_S4 \
     >/dev/null 2>>"$KX_WORK/client.log" || true
  kx_cap_stop "$cap"
  kx_wait_pid "$srv" 0
  kx_cleanup
}

t_tls12_openssl_rsa() {
  kx_fp_cert rsa3072 -newkey rsa:3072 -sha384
  kx_fp_openssl tls12-openssl-rsa.pcap rsa3072 openssl-rsa.kx.test
}
t_tls12_openssl_ecdsa() {
  kx_fp_cert p384 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384
  kx_fp_openssl tls12-openssl-ecdsa.pcap p384 openssl-ecdsa.kx.test
}
t_tls12_openssl_ed25519() {
  kx_fp_cert ed25519 -newkey ed25519
  kx_fp_openssl tls12-openssl-ed25519.pcap ed25519 openssl-ed25519.kx.test
}
t_tls12_gnutls_rsa() {
  kx_fp_cert rsa2048 -newkey rsa:2048 -sha256
  kx_fp_gnutls tls12-gnutls-rsa.pcap rsa2048 gnutls-rsa.kx.test
}
t_tls12_gnutls_ecdsa() {
  kx_fp_cert p256 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256
  kx_fp_gnutls tls12-gnutls-ecdsa.pcap p256 gnutls-ecdsa.kx.test
}
t_tls12_gnutls_ed25519() {
  kx_fp_cert ed25519 -newkey ed25519
  kx_fp_gnutls tls12-gnutls-ed25519.pcap ed25519 gnutls-ed25519.kx.test
}

# Run on its own: a subshell per target, as make-all.sh does.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  REPO=$(cd "$KX_HERE/../.." && pwd)
  KX_OUT=${KX_OUT:-$REPO/pcaps}
  # shellcheck source=contrib/pcapgen/lib.sh
  . "$KX_HERE/lib.sh"
  [ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
  mkdir -p "$KX_OUT"
  KX_WORK=$(mktemp -d /tmp/kxfp.XXXXXX)
  export KX_WORK KX_OUT PYTHONDONTWRITEBYTECODE=1
  KX_TARGET_PID=
  kx_fp_main_exit() {
    if [ -n "$KX_TARGET_PID" ]; then
      kill -TERM "$KX_TARGET_PID" 2>/dev/null || true
      wait "$KX_TARGET_PID" 2>/dev/null || true
    fi
    kx_fp_ns
    kx_cleanup
    [ -n "${KX_KEEP:-}" ] || rm -rf "$KX_WORK"
  }
  trap kx_fp_main_exit EXIT
  trap 'exit 130' INT TERM
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${KX_CERT_TARGETS[@]}")
  for t in "${targets[@]}"; do
    declare -F "t_$t" >/dev/null || kx_die "unknown target $t (try: ${KX_CERT_TARGETS[*]})"
    kx_log "=== $t"
    ( trap 'kx_fp_ns; kx_cleanup' EXIT; trap 'exit 143' TERM INT; "t_$t" ) &
    KX_TARGET_PID=$!
    wait "$KX_TARGET_PID" || { KX_TARGET_PID=; kx_die "target $t failed"; }
    KX_TARGET_PID=
  done
  kx_log "done"
fi
