# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Capture targets: handshakes inside tunnels and in IP fragments. Sourced by make-all.sh.
#
# Namespaces are kxt-* (not kxgen-*), so these targets can run while others
# make captures. Underlay: 198.18.1.1 (client side) <-> 198.18.1.2 (server
# side), fd00:6b78:1::1 <-> ::2, MACs 02:6b:78:01:00:10 / :20. Inside every
# tunnel the usual client 198.18.0.10 / fd00:6b78::10 talks to the server
# 198.18.0.20 / fd00:6b78::20 (Node 24 both ends). Captured on the client's
# underlay interface.
KX_TARGETS+=(vxlan geneve gre gretap erspan2 erspan3 ipip 6in4 4in6 6in6 mpls pppoe
             frag4 frag4_reorder frag6)

KXT_NS=()
KXT_U4C=198.18.1.1
KXT_U4S=198.18.1.2
KXT_U6C=fd00:6b78:1::1
KXT_U6S=fd00:6b78:1::2
KXT_MACC=02:6b:78:01:00:10
KXT_MACS=02:6b:78:01:00:20

kxt_cleanup() {
  kx_cleanup
  local ns
  for ns in "${KXT_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  KXT_NS=()
}

# kxt_ns name [ipv6]: a namespace of this file, deleted on exit
kxt_ns() {
  ip netns del "$1" 2>/dev/null || true
  kx_ns_new "$@"
  KXT_NS+=("$1")
}

# The underlay: kxt-c [uc0] <-veth-> [us0] kxt-s. [ipv6]
kxt_underlay() {
  KX_NS_C=kxt-c KX_NS_S=kxt-s KX_NS_M=kxt-m
  trap kxt_cleanup EXIT
  kxt_ns kxt-c "${1:-}"; kxt_ns kxt-s "${1:-}"
  ip link add uc0 netns kxt-c type veth peer name us0 netns kxt-s || kx_die veth
  kx_in kxt-c ip link set uc0 address $KXT_MACC mtu 1500
  kx_in kxt-s ip link set us0 address $KXT_MACS mtu 1500
  kx_noofload kxt-c uc0; kx_noofload kxt-s us0
  kx_in kxt-c ip addr add $KXT_U4C/24 dev uc0
  kx_in kxt-s ip addr add $KXT_U4S/24 dev us0
  if [ "${1:-}" = ipv6 ]; then
    kx_in kxt-c ip -6 addr add $KXT_U6C/64 dev uc0 nodad
    kx_in kxt-s ip -6 addr add $KXT_U6S/64 dev us0 nodad
  fi
  kx_in kxt-c ip link set uc0 up
  kx_in kxt-s ip link set us0 up
}

# kxt_encap MODE SIDE ns args...: start tunnel_encap.py, wait until kt0 exists
kxt_encap() {
  local mode=$1 side=$2 ns=$3 pid; shift 3
  local ready="$KX_WORK/encap.$side.ready"
  rm -f "$ready"
  kx_bg pid "$ns" "$KX_WORK/encap.$mode.log" python3 "$KX_HERE/tunnel_encap.py" "$mode" --dev kt0 \
     --side "$side" --ready "$ready" "$@"
  local i; for i in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
  [ -e "$ready" ] || { cat "$KX_WORK/encap.$mode.log" >&2; kx_die "tunnel_encap.py $mode did not start"; }
}

# kxt_inner ns dev addr peer mac|- inet|inet6: addresses on the tunnel device
kxt_inner() {
  local ns=$1 dev=$2 addr=$3 peer=$4 mac=$5 fam=$6
  kx_in "$ns" ip link set "$dev" mtu 1400
  [ "$mac" != - ] && kx_in "$ns" ip link set "$dev" address "$mac"
  if [ "$fam" = inet6 ]; then
    kx_in "$ns" ip -6 addr add "$addr/64" dev "$dev" nodad
  elif [ "$mac" != - ]; then
    kx_in "$ns" ip addr add "$addr/24" dev "$dev"
  else
    kx_in "$ns" ip addr add "$addr/32" peer "$peer/32" dev "$dev"
  fi
  kx_in "$ns" ip link set "$dev" up
}

# One handshake through a userspace tunnel: kxt_tunnel FILE MODE SNI [inner=4|6] [underlay=4|6]
kxt_tunnel() {
  local file=$1 mode=$2 sni=$3 in=${4:-4} under=${5:-4}
  local v6=
  { [ "$in" = 6 ] || [ "$under" = 6 ]; } && v6=ipv6
  kxt_underlay $v6
  local lc=$KXT_U4C ls=$KXT_U4S
  [ "$under" = 6 ] && lc=$KXT_U6C ls=$KXT_U6S
  case $mode in
    mpls|pppoe)
      kxt_encap "$mode" client kxt-c --underlay uc0 --peer-mac $KXT_MACS
      kxt_encap "$mode" server kxt-s --underlay us0 --peer-mac $KXT_MACC ;;
    *)
      kxt_encap "$mode" client kxt-c --local "$lc" --remote "$ls"
      kxt_encap "$mode" server kxt-s --local "$ls" --remote "$lc" ;;
  esac
  local macc=- macs=- fam=inet addc=$KX_C4 adds=$KX_S4
  case $mode in geneve|gretap|erspan2|erspan3) macc=02:6b:78:00:00:10 macs=02:6b:78:00:00:20 ;; esac
  [ "$in" = 6 ] && fam=inet6 addc=$KX_C6 adds=$KX_S6
  kxt_inner kxt-c kt0 "$addc" "$adds" $macc $fam
  kxt_inner kxt-s kt0 "$adds" "$addc" $macs $fam
  kx_settle
  local srv cap
  kx_server srv kxt-s --port 443 --count 1
  kx_cap_start cap kxt-c uc0 "$KX_OUT/$file"
  kx_client kxt-c --host "$adds" --port 443 --sni "$sni"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

t_geneve()  { kxt_tunnel tunnel-geneve.pcap geneve geneve.kx.test; }
t_gre()     { kxt_tunnel tunnel-gre-key-seq.pcap gre gre.kx.test; }
t_gretap()  { kxt_tunnel tunnel-gretap.pcap gretap gretap.kx.test; }
t_erspan2() { kxt_tunnel tunnel-erspan2.pcap erspan2 erspan2.kx.test; }
t_erspan3() { kxt_tunnel tunnel-erspan3.pcap erspan3 erspan3.kx.test; }
t_ipip()    { kxt_tunnel tunnel-ipip.pcap ipip ipip.kx.test 4 4; }
t_6in4()    { kxt_tunnel tunnel-6in4.pcap 6in4 6in4.kx.test 6 4; }
t_4in6()    { kxt_tunnel tunnel-4in6.pcap 4in6 4in6.kx.test 4 6; }
t_6in6()    { kxt_tunnel tunnel-6in6.pcap 6in6 6in6.kx.test 6 6; }
t_mpls()    { kxt_tunnel tunnel-mpls.pcap mpls mpls.kx.test; }
t_pppoe()   { kxt_tunnel tunnel-pppoe.pcap pppoe pppoe.kx.test; }

# Real kernel VXLAN: two tenants (VNI 42 and 43) with the same inner
# addresses and ports, their handshakes at the same time. The VXLAN devices
# are made in the underlay namespaces (where their UDP sockets stay) and
# moved into one namespace per tenant and side.
t_vxlan() {
  kxt_underlay
  local vni side ns
  for vni in 42 43; do
    for side in c s; do
      ns=kxt-$side$vni
      kxt_ns "$ns"
      if [ $side = c ]; then
        kx_in kxt-c ip link add vx$vni type vxlan id $vni dstport 4789 local $KXT_U4C remote $KXT_U4S dev uc0
        kx_in kxt-c ip link set vx$vni netns "$ns"
        kx_in "$ns" ip link set vx$vni address 02:6b:78:00:00:10
        kx_in "$ns" ip addr add $KX_C4/24 dev vx$vni
      else
        kx_in kxt-s ip link add vx$vni type vxlan id $vni dstport 4789 local $KXT_U4S remote $KXT_U4C dev us0
        kx_in kxt-s ip link set vx$vni netns "$ns"
        kx_in "$ns" ip link set vx$vni address 02:6b:78:00:00:20
        kx_in "$ns" ip addr add $KX_S4/24 dev vx$vni
      fi
      kx_noofload "$ns" vx$vni
      kx_in "$ns" ip link set vx$vni up
    done
  done
  kx_settle
  local s42 s43 c42 c43 cap
  kx_server s42 kxt-s42 --port 443 --count 1
  kx_server s43 kxt-s43 --port 443 --count 1
  kx_cap_start cap kxt-c uc0 "$KX_OUT/tunnel-vxlan-2tenants.pcap"
  rm -f "$KX_WORK"/conn.4[23] "$KX_WORK/go"
  for vni in 42 43; do
    kx_bg "c$vni" kxt-c$vni "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host $KX_S4 --port 443 \
       --local-port 40443 --sni tenant$vni.kx.test --connected "$KX_WORK/conn.$vni" --go "$KX_WORK/go"
  done
  local i
  for i in $(seq 200); do [ -e "$KX_WORK/conn.42" ] && [ -e "$KX_WORK/conn.43" ] && break; sleep 0.05; done
  [ -e "$KX_WORK/conn.42" ] && [ -e "$KX_WORK/conn.43" ] || kx_die "tenant clients did not connect"
  touch "$KX_WORK/go"   # both ClientHellos leave at the same moment
  kx_wait_pid "$c42" 10; kx_wait_pid "$c43" 10
  kx_wait_pid "$s42" 3; kx_wait_pid "$s43" 3
  kx_cap_stop "$cap"
  cat "$KX_WORK/client.log" >&2
}

# IPv4 fragments made by a router: client (MTU 1500, DF cleared by
# net.ipv4.ip_no_pmtu_disc=1) -> router kxt-m -> 576-MTU link -> server
# (MTU 576, route advmss 1460 so the client still sends 1460-byte segments).
# The router fragments the ClientHello's first segment. Captured at the server.
# [reorder]: relay.py between router and server sends each fragmented
# datagram's fragments in reverse order.
kxt_frag4() {
  local file=$1 reorder=${2:-}
  KX_NS_C=kxt-c KX_NS_S=kxt-s KX_NS_M=kxt-m
  trap kxt_cleanup EXIT
  kxt_ns kxt-c; kxt_ns kxt-m; kxt_ns kxt-s
  ip link add vc0 netns kxt-c type veth peer name vm0 netns kxt-m || kx_die veth
  kx_in kxt-c ip link set vc0 address 02:6b:78:00:00:10
  kx_noofload kxt-c vc0; kx_noofload kxt-m vm0
  local sdev=vs0
  if [ -n "$reorder" ]; then
    kxt_ns kxt-r
    ip link add vm1 netns kxt-m type veth peer name vr0 netns kxt-r || kx_die veth
    ip link add vr1 netns kxt-r type veth peer name vs0 netns kxt-s || kx_die veth
    local d
    for d in vr0 vr1; do
      kx_noofload kxt-r $d
      kx_in kxt-r ip link set $d mtu 1600 promisc on up
    done
  else
    ip link add vm1 netns kxt-m type veth peer name vs0 netns kxt-s || kx_die veth
  fi
  kx_in kxt-s ip link set vs0 address 02:6b:78:00:00:20
  kx_noofload kxt-m vm1; kx_noofload kxt-s vs0
  kx_in kxt-m ip link set vm1 mtu 576
  kx_in kxt-s ip link set vs0 mtu 576
  kx_in kxt-c ip addr add $KX_C4/24 dev vc0
  kx_in kxt-m ip addr add 198.18.0.1/24 dev vm0
  kx_in kxt-m ip addr add 198.18.3.1/24 dev vm1
  kx_in kxt-s ip addr add 198.18.3.20/24 dev vs0
  local d
  for d in kxt-c:vc0 kxt-m:vm0 kxt-m:vm1 kxt-s:vs0; do kx_in "${d%%:*}" ip link set "${d##*:}" up; done
  kx_in kxt-m sysctl -qw net.ipv4.ip_forward=1
  kx_in kxt-c sysctl -qw net.ipv4.ip_no_pmtu_disc=1
  kx_in kxt-c ip route add default via 198.18.0.1
  kx_in kxt-s ip route add 198.18.0.0/24 via 198.18.3.1 dev vs0 advmss 1460
  local rel=
  if [ -n "$reorder" ]; then
    local ready="$KX_WORK/relay.ready.$RANDOM"
    kx_bg rel kxt-r "$KX_WORK/relay.log" python3 "$KX_RELAY" --a vr0 --b vr1 --ready "$ready" \
       --mangle reverse-frags
    local i; for i in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
    [ -e "$ready" ] || kx_die "relay did not start"
  fi
  kx_settle
  local srv cap
  kx_server srv kxt-s --port 443 --count 1
  kx_cap_start cap kxt-s vs0 "$KX_OUT/$file"
  kx_client kxt-c --host 198.18.3.20 --port 443 --sni "$3"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  [ -z "$rel" ] || cat "$KX_WORK/relay.log" >&2
}
t_frag4() { kxt_frag4 frag-ipv4-router.pcap "" frag4.kx.test; }
t_frag4_reorder() { kxt_frag4 frag-ipv4-reordered.pcap reorder frag4-reorder.kx.test; }

# IPv6 fragments made by the sending host: Chromium (QUIC, offers
# X25519MLKEM768) in kxt-c talks to a UDP relay in the same namespace
# (udp_relay6.py), whose upstream socket has IPV6_MTU_DISCOVER =
# IPV6_PMTUDISC_DONT and an 8-byte hop-by-hop header (IPV6_HOPOPTS, PadN),
# so Chromium's 1238-byte Initials become 1286-byte packets on a 1280-MTU
# link and the kernel fragments them, the Fragment header after the
# hop-by-hop header. Server: Debian's ngtcp2 gtlsserver.
t_frag6() {
  KX_NS_C=kxt-c KX_NS_S=kxt-s KX_NS_M=kxt-m
  trap kxt_cleanup EXIT
  kxt_ns kxt-c ipv6; kxt_ns kxt-s ipv6
  ip link add vc0 netns kxt-c type veth peer name vs0 netns kxt-s || kx_die veth
  kx_in kxt-c ip link set vc0 address 02:6b:78:00:00:10 mtu 1280
  kx_in kxt-s ip link set vs0 address 02:6b:78:00:00:20 mtu 1280
  kx_noofload kxt-c vc0; kx_noofload kxt-s vs0
  kx_in kxt-c ip -6 addr add $KX_C6/64 dev vc0 nodad
  kx_in kxt-s ip -6 addr add $KX_S6/64 dev vs0 nodad
  kx_in kxt-c ip link set vc0 up
  kx_in kxt-s ip link set vs0 up
  kx_settle
  local srv rel cap
  kx_quic_server srv kxt-s $KX_S6 443
  local ready="$KX_WORK/udprelay.ready"
  rm -f "$ready"
  kx_bg rel kxt-c "$KX_WORK/udprelay.log" python3 "$KX_HERE/udp_relay6.py" --listen "$KX_C6" \
     --port 443 --server "$KX_S6" --ready "$ready"
  local i; for i in $(seq 100); do [ -e "$ready" ] && break; sleep 0.05; done
  [ -e "$ready" ] || kx_die "udp_relay6.py did not start"
  kx_cap_start cap kxt-c vc0 "$KX_OUT/frag-ipv6-quic.pcap"
  kx_chromium_get kxt-c quic-frag6.kx.test 443 $KX_C6
  kx_cap_stop "$cap"
  cat "$KX_WORK/udprelay.log" >&2
}

KX_TARGETS+=(frag_vxlan_outer frag_in_gre)
# A tunnel inside fragments: kernel VXLAN (VNI 44) whose device MTU is 1500
# on a 1500-MTU underlay, the inner stacks with net.ipv4.ip_no_pmtu_disc=1
# (inner DF clear): a full-size inner frame plus the 50 bytes of VXLAN
# encapsulation does not fit, and the kernel fragments the outer UDP packet
# (no "dev" for the VXLAN devices: with one the kernel refuses that MTU).
t_frag_vxlan_outer() {
  kxt_underlay
  kx_in kxt-c ip link add vx44 type vxlan id 44 dstport 4789 local $KXT_U4C remote $KXT_U4S
  kx_in kxt-s ip link add vx44 type vxlan id 44 dstport 4789 local $KXT_U4S remote $KXT_U4C
  kx_in kxt-c ip link set vx44 address 02:6b:78:00:00:10 mtu 1500
  kx_in kxt-s ip link set vx44 address 02:6b:78:00:00:20 mtu 1500
  kx_in kxt-c ip addr add $KX_C4/24 dev vx44
  kx_in kxt-s ip addr add $KX_S4/24 dev vx44
  local ns
  for ns in kxt-c kxt-s; do
    kx_noofload $ns vx44
    kx_in $ns ip link set vx44 up
    kx_in $ns sysctl -qw net.ipv4.ip_no_pmtu_disc=1
  done
  kx_settle
  local srv cap
  kx_server srv kxt-s --port 443 --count 1
  kx_cap_start cap kxt-c uc0 "$KX_OUT/frag-vxlan-outer.pcap"
  kx_client kxt-c --host $KX_S4 --port 443 --sni frag-vxlan.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

# Fragments inside a tunnel: client (DF clear) -> router kxt-m whose GRE
# tunnel device (userspace, key 5, sequence numbers) has MTU 576: the
# router's kernel fragments the forwarded ClientHello segment to fit it and
# each fragment travels in its own GRE packet to the server's tunnel end.
# Captured on the router's underlay interface.
t_frag_in_gre() {
  KX_NS_C=kxt-c KX_NS_S=kxt-s KX_NS_M=kxt-m
  trap kxt_cleanup EXIT
  kxt_ns kxt-c; kxt_ns kxt-m; kxt_ns kxt-s
  ip link add vc0 netns kxt-c type veth peer name vm0 netns kxt-m || kx_die veth
  ip link add uc0 netns kxt-m type veth peer name us0 netns kxt-s || kx_die veth
  kx_in kxt-c ip link set vc0 address 02:6b:78:00:00:10
  kx_in kxt-m ip link set uc0 address $KXT_MACC
  kx_in kxt-s ip link set us0 address $KXT_MACS
  kx_noofload kxt-c vc0; kx_noofload kxt-m vm0; kx_noofload kxt-m uc0; kx_noofload kxt-s us0
  kx_in kxt-c ip addr add $KX_C4/24 dev vc0
  kx_in kxt-m ip addr add 198.18.0.1/24 dev vm0
  kx_in kxt-m ip addr add $KXT_U4C/24 dev uc0
  kx_in kxt-s ip addr add $KXT_U4S/24 dev us0
  local d
  for d in kxt-c:vc0 kxt-m:vm0 kxt-m:uc0 kxt-s:us0; do kx_in "${d%%:*}" ip link set "${d##*:}" up; done
  kx_in kxt-m sysctl -qw net.ipv4.ip_forward=1
  kx_in kxt-c sysctl -qw net.ipv4.ip_no_pmtu_disc=1
  kx_in kxt-c ip route add default via 198.18.0.1
  kxt_encap gre client kxt-m --local $KXT_U4C --remote $KXT_U4S
  kxt_encap gre server kxt-s --local $KXT_U4S --remote $KXT_U4C
  kx_in kxt-m ip link set kt0 mtu 576 up
  kx_in kxt-m ip route add 198.18.3.0/24 dev kt0
  kx_in kxt-s ip link set kt0 mtu 576 up
  kx_in kxt-s ip addr add 198.18.3.20/32 dev kt0
  kx_in kxt-s ip route add 198.18.0.0/24 dev kt0 advmss 1460
  kx_settle
  local srv cap
  kx_server srv kxt-s --port 443 --count 1
  kx_cap_start cap kxt-m uc0 "$KX_OUT/frag-in-gre.pcap"
  kx_client kxt-c --host 198.18.3.20 --port 443 --sni frag-in-gre.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}
