#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# SSH capture targets: Debian 12's OpenSSH 9.2 (openssh-server and
# openssh-client) in two network namespaces joined by a veth pair (MTU 1500,
# offloads off), captured on the client veth. Writes pcaps/ssh-*.pcap;
# ssh_expected derives pcaps/expected-ssh.tsv and pcaps/README-ssh.md.
#
# Two ways to run it (as root):
#   contrib/pcapgen/ssh.sh                       # every SSH target + ssh_expected
#   contrib/pcapgen/ssh.sh ssh_default ssh_expected
# or sourced by make-all.sh after targets.sh (it then only adds targets).
#
# The targets use their own namespaces (kxssh-c, kxssh-s) instead of
# kxgen-*, so they can run while another generator has kxgen-* up; the
# helpers in lib.sh read the names from KX_NS_*, which each target sets in
# its own subshell. sshd runs with -D -e from a config and host keys in
# $KX_WORK (nothing under /etc/ssh is read or written; /run/sshd, the
# privilege-separation directory Debian's sshd insists on, is created if
# missing). Authentication is by a throw-away key for root inside the
# namespace; the key exchange happens before it anyway.

KX_SSH_TARGETS=(ssh_default ssh_client_classical ssh_server_refuses_pq ssh_kexinit_2seg
                ssh_no_common_kex ssh_no_server_kexinit ssh_expected)
KX_TARGETS+=("${KX_SSH_TARGETS[@]}")

KX_SSHD=${KX_SSHD:-/usr/sbin/sshd}
KX_SSH_PORT=22

# shellcheck disable=SC2034  # read by lib.sh
kx_ssh_ns() {
  KX_NS_C=kxssh-c
  KX_NS_S=kxssh-s
  KX_NS_M=kxssh-m
}

# Host keys (ed25519, ECDSA P-256, RSA 3072: what a stock sshd has), a
# client key and its authorized_keys, once per run.
kx_ssh_keys() {
  local d="$KX_WORK/ssh"
  [ -s "$d/client_key" ] && return 0
  mkdir -p "$d"
  chmod 700 "$d"
  ssh-keygen -q -t ed25519 -N '' -C kxssh-host -f "$d/host_ed25519" || kx_die "ssh-keygen"
  ssh-keygen -q -t ecdsa -b 256 -N '' -C kxssh-host -f "$d/host_ecdsa" || kx_die "ssh-keygen"
  ssh-keygen -q -t rsa -b 3072 -N '' -C kxssh-host -f "$d/host_rsa" || kx_die "ssh-keygen"
  ssh-keygen -q -t ed25519 -N '' -C kxssh-client -f "$d/client_key" || kx_die "ssh-keygen"
  cp "$d/client_key.pub" "$d/authorized_keys"
}

# kx_sshd VAR ns "extra sshd_config lines": sshd -D -e in the server namespace
kx_sshd() {
  local var=$1 ns=$2 extra=${3:-}
  local d="$KX_WORK/ssh" conf="$KX_WORK/ssh/sshd_config.$RANDOM"
  kx_ssh_keys
  [ -x "$KX_SSHD" ] || kx_die "$KX_SSHD missing (apt-get install openssh-server)"
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  cat >"$conf" <<EOF
Port $KX_SSH_PORT
ListenAddress $KX_S4
HostKey $d/host_ed25519
HostKey $d/host_ecdsa
HostKey $d/host_rsa
PidFile none
UsePAM no
PermitRootLogin prohibit-password
AuthorizedKeysFile $d/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
X11Forwarding no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
$extra
EOF
  "$KX_SSHD" -t -f "$conf" || kx_die "sshd config rejected: $conf"
  kx_bg "$var" "$ns" "$KX_WORK/sshd.log" "$KX_SSHD" -D -e -f "$conf"
  kx_wait_listen "$ns" $KX_SSH_PORT
}

# kx_ssh_client ns [ssh options...]: connect as root, run `true`, exit.
# -F /dev/null: no /etc/ssh/ssh_config (Debian's turns GSSAPI on).
kx_ssh_client() {
  local ns=$1; shift
  kx_in "$ns" timeout 20 ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -i "$KX_WORK/ssh/client_key" \
    -o LogLevel=ERROR -p $KX_SSH_PORT "$@" "root@$KX_S4" true >>"$KX_WORK/client.log" 2>&1 || true
}

# kx_ssh_simple FILE "sshd_config lines" [ssh options...]
kx_ssh_simple() {
  local file=$1 extra=$2; shift 2
  kx_ssh_ns
  kx_topo_direct
  local srv cap
  kx_sshd srv $KX_NS_S "$extra"
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  kx_ssh_client $KX_NS_C "$@"
  kx_cap_stop "$cap"
  kx_cleanup
}

# Stock client and server: the first kex both list is the client's first,
# sntrup761x25519-sha512 (Debian's 9.2 lists the RFC name before the
# @openssh.com one).
t_ssh_default() {
  kx_ssh_simple ssh-default-sntrup.pcap ""
}

t_ssh_client_classical() {
  kx_ssh_simple ssh-client-classical.pcap "" -o KexAlgorithms=curve25519-sha256
}

t_ssh_server_refuses_pq() {
  kx_ssh_simple ssh-server-refuses-pq.pcap "KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256"
}

# Both KEXINITs over two TCP segments: each side advertises an MSS of 1000
# (route advmss), and the client puts the @openssh.com sntrup name first in
# a list of every kex it knows, plus every host key type, so its KEXINIT
# (~1.9 KB) no longer fits one segment either way.
t_ssh_kexinit_2seg() {
  kx_ssh_ns
  kx_topo_direct
  kx_in $KX_NS_C ip route change 198.18.0.0/24 dev vc0 advmss 1000
  kx_in $KX_NS_S ip route change 198.18.0.0/24 dev vs0 advmss 1000
  local srv cap kex hk
  kex=sntrup761x25519-sha512@openssh.com,$(ssh -Q kex | grep -vx 'sntrup761x25519-sha512@openssh.com' | paste -sd,)
  hk=$(ssh -Q HostKeyAlgorithms | paste -sd,)
  kx_sshd srv $KX_NS_S ""
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/ssh-kexinit-2seg.pcap"
  kx_ssh_client $KX_NS_C -o "KexAlgorithms=$kex" -o "HostKeyAlgorithms=$hk"
  kx_cap_stop "$cap"
  kx_cleanup
}

# A PQ-only client and a classical-only server: both KEXINITs, nothing in
# common, sshd drops the connection ("no matching key exchange method").
t_ssh_no_common_kex() {
  kx_ssh_simple ssh-no-common-kex.pcap "KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256" \
    -o KexAlgorithms=sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com
}

# The real client against a server that sends its identification line
# after two other lines, reads the client's KEXINIT and closes without a
# KEXINIT of its own.
t_ssh_no_server_kexinit() {
  kx_ssh_ns
  kx_topo_direct
  local srv cap ready="$KX_WORK/banner.ready"
  rm -f "$ready"
  kx_bg srv $KX_NS_S "$KX_WORK/banner.log" python3 "$KX_HERE/ssh_banner_server.py" \
    $KX_SSH_PORT "$ready" "kexwatch test server" "no KEXINIT will follow"
  local _; for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
  kx_wait_listen $KX_NS_S $KX_SSH_PORT
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/ssh-no-server-kexinit.pcap"
  kx_ssh_keys
  kx_ssh_client $KX_NS_C
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  kx_cleanup
}

t_ssh_expected() {
  chmod 644 "$KX_OUT"/ssh-*.pcap 2>/dev/null || true
  python3 "$KX_HERE/expected_ssh.py" --pcaps "$KX_OUT"
}

# Run on its own: the same subshell-per-target discipline as make-all.sh,
# without the TLS prerequisites (Node, certificates).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  REPO=$(cd "$KX_HERE/../.." && pwd)
  KX_OUT=${KX_OUT:-$REPO/pcaps}
  # shellcheck source=contrib/pcapgen/lib.sh
  . "$KX_HERE/lib.sh"
  KX_TARGETS=("${KX_SSH_TARGETS[@]}")
  [ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
  mkdir -p "$KX_OUT"
  KX_WORK=$(mktemp -d /tmp/kxssh.XXXXXX)
  export KX_WORK KX_OUT PYTHONDONTWRITEBYTECODE=1
  KX_TARGET_PID=
  kx_ssh_main_exit() {
    if [ -n "$KX_TARGET_PID" ]; then
      kill -TERM "$KX_TARGET_PID" 2>/dev/null || true
      wait "$KX_TARGET_PID" 2>/dev/null || true
    fi
    kx_ssh_ns
    kx_cleanup
    [ -n "${KX_KEEP:-}" ] || rm -rf "$KX_WORK"
  }
  trap kx_ssh_main_exit EXIT
  trap 'exit 130' INT TERM
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${KX_TARGETS[@]}")
  for t in "${targets[@]}"; do
    declare -F "t_$t" >/dev/null || kx_die "unknown target $t (try: ${KX_TARGETS[*]})"
    kx_log "=== $t"
    ( trap 'kx_ssh_ns; kx_cleanup' EXIT; trap 'exit 143' TERM INT; "t_$t" ) &
    KX_TARGET_PID=$!
    wait "$KX_TARGET_PID" || { KX_TARGET_PID=; kx_die "target $t failed"; }
    KX_TARGET_PID=
  done
  kx_log "done"
fi
