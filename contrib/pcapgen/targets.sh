# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Capture targets.  Each t_NAME function writes one or more files into $KX_OUT.
KX_TARGETS=(
  hybrid secp256r1 secp384r1 mlkem768 server_declined client_no_pq gnutls_client
  hrr tls12_ecdhe tls12_rsa
)

# node client -> node server over the direct veth, capture on the client side.
# kx_simple FILE PORT "server args" "client args" [mtu] [capture-ns] [capture-dev]
kx_simple() {
  local file=$1 port=$2 sargs=$3 cargs=$4 mtu=${5:-1500}
  kx_topo_direct "$mtu"
  local srv cap
  # shellcheck disable=SC2086
  kx_server srv $KX_NS_S --port "$port" --count 1 $sargs
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$file"
  # shellcheck disable=SC2086
  kx_client $KX_NS_C --host $KX_S4 --port "$port" $cargs
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  kx_cleanup
}

t_hybrid() {
  kx_simple tls13-x25519mlkem768.pcap 443 "" "--sni hybrid.kx.test"
}
t_secp256r1() {
  kx_simple tls13-secp256r1mlkem768.pcap 8443 "--groups SecP256r1MLKEM768" \
    "--sni p256hybrid.kx.test --groups SecP256r1MLKEM768"
}
t_secp384r1() {
  kx_simple tls13-secp384r1mlkem1024.pcap 8443 "--groups SecP384r1MLKEM1024" \
    "--sni p384hybrid.kx.test --groups SecP384r1MLKEM1024"
}
t_mlkem768() {
  kx_simple tls13-mlkem768.pcap 8443 "--groups MLKEM768" "--sni mlkem.kx.test --groups MLKEM768"
}
t_server_declined() {
  kx_simple tls13-server-declined.pcap 443 "--groups X25519:P-256" "--sni declined.kx.test"
}
t_hrr() {
  kx_simple tls13-hrr-x25519mlkem768.pcap 443 "--groups X25519MLKEM768" \
    "--sni hrr.kx.test --groups X25519:X25519MLKEM768"
}
t_tls12_ecdhe() {
  kx_simple tls12-ecdhe.pcap 443 "" "--sni tls12.kx.test --max TLSv1.2"
}
t_tls12_rsa() {
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1 --key "$KX_WORK/rsa.key" --cert "$KX_WORK/rsa.crt"
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls12-rsa.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni rsa.kx.test --max TLSv1.2 --ciphers AES128-GCM-SHA256
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

# Debian's openssl 3.0 s_client (classical) -> Node 24 server (hybrid capable)
t_client_no_pq() {
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-client-no-pq.pcap"
  printf 'GET / HTTP/1.0\r\n\r\n' | kx_in $KX_NS_C timeout 10 openssl s_client -quiet \
     -connect $KX_S4:443 -servername classic.kx.test -ign_eof >/dev/null 2>>"$KX_WORK/client.log" || true
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

# Debian's gnutls-cli (classical) -> Node 24 server
t_gnutls_client() {
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-gnutls-client.pcap"
  printf 'GET / HTTP/1.0\r\n\r\n' | kx_in $KX_NS_C timeout 10 gnutls-cli --insecure \
     --sni-hostname gnutls.kx.test -p 443 $KX_S4 >/dev/null 2>>"$KX_WORK/client.log" || true
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

KX_TARGETS+=(server_declined_openssl server_declined_gnutls)
# Node 24 default client -> Debian openssl 3.0 s_server (no ML-KEM)
t_server_declined_openssl() {
  kx_topo_direct
  local srv cap
  kx_bg srv $KX_NS_S "$KX_WORK/s_server.log" openssl s_server -accept 443 -naccept 1 -www \
     -cert "$KX_WORK/ec.crt" -key "$KX_WORK/ec.key"
  kx_wait_listen $KX_NS_S 443
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-server-declined-openssl30.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni declined-openssl.kx.test
  kx_wait_pid "$srv" 3
  kx_cap_stop "$cap"
}
# Node 24 default client -> Debian gnutls-serv (no ML-KEM)
t_server_declined_gnutls() {
  kx_topo_direct
  local srv cap
  kx_bg srv $KX_NS_S "$KX_WORK/gnutls-serv.log" gnutls-serv --http -p 443 \
     --x509certfile "$KX_WORK/ec.crt" --x509keyfile "$KX_WORK/ec.key"
  kx_wait_listen $KX_NS_S 443
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-server-declined-gnutls.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni declined-gnutls.kx.test
  kx_cap_stop "$cap"
  kx_wait_pid "$srv" 0
}

KX_TARGETS+=(resumption tls12_resumption psk_ke midstream ipv6 small_mss sll sll2 pcapng
             converted ipopts incomplete_rst incomplete_silent dropped_large_ch)

# TLS 1.3: full handshake, then a resumed one with the ticket (psk_dhe_ke,
# so the resumed handshake still carries a hybrid key share)
t_resumption() {
  kx_simple tls13-resumption.pcap 443 "--count 2" "--sni resume.kx.test --resume 1"
}
# TLS 1.2: full handshake, then an abbreviated one (session ticket)
t_tls12_resumption() {
  kx_simple tls12-resumption.pcap 443 "--count 2" "--sni resume12.kx.test --max TLSv1.2 --resume 1"
}
# TLS 1.3 psk_ke (PSK without (EC)DHE): Node 24 server with OpenSSL options
# AllowNoDHEKEX,PreferNoDHEKEX (OpenSSL >= 3.3, set via an OpenSSL config file,
# since Node's secureOptions is truncated to 32 bits and PREFER is bit 35);
# client: Node 24 with SSL_OP_ALLOW_NO_DHE_KEX (offers psk_dhe_ke and psk_ke).
t_psk_ke() {
  cat >"$KX_WORK/pskke.cnf" <<'CNF'
nodejs_conf = nodejs_init
[nodejs_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = sys
[sys]
Options = AllowNoDHEKEX,PreferNoDHEKEX
CNF
  KX_NODE_FLAGS="--openssl-config=$KX_WORK/pskke.cnf" \
    kx_simple tls13-psk-ke.pcap 443 "--count 2" "--sni pskke.kx.test --resume 1 --secure-options 1024"
}

# capture starts after the TCP 3-way handshake: the client connects, waits
# for a go-file, and only then starts TLS on the established socket.
t_midstream() {
  kx_topo_direct
  local srv cap cli
  kx_server srv $KX_NS_S --port 443 --count 1
  rm -f "$KX_WORK/connected" "$KX_WORK/go"
  kx_bg cli $KX_NS_C "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host $KX_S4 --port 443 \
     --sni midstream.kx.test --connected "$KX_WORK/connected" --go "$KX_WORK/go"
  local i; for i in $(seq 200); do [ -e "$KX_WORK/connected" ] && break; sleep 0.05; done
  [ -e "$KX_WORK/connected" ] || kx_die "midstream client did not connect"
  sleep 0.3   # let the final ACK of the 3-way handshake pass before tcpdump starts
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-midstream.pcap"
  touch "$KX_WORK/go"
  kx_wait_pid "$cli" 10
  kx_wait_pid "$srv" 3
  kx_cap_stop "$cap"
}

t_ipv6() {
  kx_topo_direct 1500 ipv6
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-ipv6.pcap"
  kx_client $KX_NS_C --host $KX_S6 --port 443 --sni ipv6.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

# server advertises MSS 400 (route advmss) -> ClientHello in 5 segments
t_small_mss() {
  kx_topo_direct
  kx_in $KX_NS_S ip route replace 198.18.0.0/24 dev vs0 proto kernel scope link src $KX_S4 advmss 400
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-small-mss-4seg.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni smallmss.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

kx_linktype_capture() {  # file sni tcpdump-args...
  local file=$1 sni=$2; shift 2
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C any "$KX_OUT/$file" "$@"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni "$sni"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}
t_sll()  { kx_linktype_capture tls13-sll.pcap sll.kx.test -y LINUX_SLL; }
t_sll2() { kx_linktype_capture tls13-sll2.pcap sll2.kx.test -y LINUX_SLL2; }

# real pcapng written by dumpcap
t_pcapng() {
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_dumpcap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-x25519mlkem768.pcapng"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni pcapng.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

# DLT_RAW / DLT_NULL versions converted from real Ethernet captures
t_converted() {
  [ -s "$KX_OUT/tls13-x25519mlkem768.pcap" ] || t_hybrid
  [ -s "$KX_OUT/tls13-ipv6.pcap" ] || ( trap kx_cleanup EXIT; t_ipv6 )
  python3 "$KX_HERE/convert.py" raw  "$KX_OUT/tls13-x25519mlkem768.pcap" "$KX_OUT/tls13-raw.pcap"
  python3 "$KX_HERE/convert.py" null "$KX_OUT/tls13-x25519mlkem768.pcap" "$KX_OUT/tls13-null.pcap"
  python3 "$KX_HERE/convert.py" raw  "$KX_OUT/tls13-ipv6.pcap" "$KX_OUT/tls13-ipv6-raw.pcap"
  python3 "$KX_HERE/convert.py" null "$KX_OUT/tls13-ipv6.pcap" "$KX_OUT/tls13-ipv6-null.pcap"
}

# IPv4 options set by the client's kernel (IP_OPTIONS socket option)
t_ipopts() {
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-ipv4-options.pcap"
  kx_in $KX_NS_C python3 "$KX_HERE/ipopts_client.py" "$KX_NODE" "$KX_PEER" $KX_S4 443 \
     --sni ipopts.kx.test | tee -a "$KX_WORK/client.log" >&2
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}

kx_rst_like() {  # file mode sni
  kx_topo_direct
  local srv cap
  rm -f "$KX_WORK/rst.ready"
  kx_bg srv $KX_NS_S "$KX_WORK/rst.log" python3 "$KX_HERE/rst_server.py" 443 "$2" "$KX_WORK/rst.ready"
  local i; for i in $(seq 100); do [ -e "$KX_WORK/rst.ready" ] && break; sleep 0.05; done
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/$1"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni "$3" --timeout 3000
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}
t_incomplete_rst()    { kx_rst_like tls13-incomplete-rst.pcap rst incomplete-rst.kx.test; }
t_incomplete_silent() { kx_rst_like tls13-incomplete-silent.pcap silent incomplete-silent.kx.test; }

# nftables in the server namespace drops every IPv4 packet longer than 1400
# bytes: the first (full-size) ClientHello segment never reaches the server
# stack; the client retransmits it until its 5 s timeout.
t_dropped_large_ch() {
  kx_topo_direct
  kx_in $KX_NS_S nft -f - <<'NFT'
table inet kxgen {
  chain input {
    type filter hook input priority 0; policy accept;
    ip length > 1400 drop
  }
}
NFT
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-dropped-large-ch.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni dropped.kx.test --timeout 5000
  kx_wait_pid "$srv" 1
  kx_cap_stop "$cap"
}

KX_TARGETS+=(reorder ch_first_segment_lost vlan qinq)
# ClientHello segments reordered, duplicated and one lost (relay.py mangles
# them), server route advmss 600 so the ClientHello is 3 segments; captured
# on the server's interface, i.e. after the mangling.
t_reorder() {
  kx_topo_relay
  kx_in $KX_NS_S ip route replace 198.18.0.0/24 dev vs0 proto kernel scope link src $KX_S4 advmss 600
  local srv cap rel
  kx_relay rel --mangle reorder-dup-loss
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_S vs0 "$KX_OUT/tls13-reorder-dup-loss.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni reorder.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
  cat "$KX_WORK/relay.log" >&2
}
# every copy of the first ClientHello segment is dropped by the relay: the
# server-side capture only ever sees the tail of the ClientHello
t_ch_first_segment_lost() {
  kx_topo_relay
  local srv cap rel
  kx_relay rel --mangle drop-first-seg
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_S vs0 "$KX_OUT/tls13-ch-first-segment-lost.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni lost.kx.test --timeout 3000
  kx_wait_pid "$srv" 1
  kx_cap_stop "$cap"
}
kx_span_capture() {  # file sni tags
  kx_topo_relay
  local srv cap rel
  kx_relay rel --span vm2 --tags "$3"
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_M vm3 "$KX_OUT/$1"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni "$2"
  kx_wait_pid "$srv" 5
  kx_cap_stop "$cap"
}
t_vlan() { kx_span_capture tls13-vlan.pcap vlan.kx.test 0x8100:100; }
t_qinq() { kx_span_capture tls13-qinq.pcap qinq.kx.test 0x88a8:200,0x8100:100; }

KX_TARGETS+=(mixed)
# ~50 concurrent handshakes of several kinds in one capture (client side).
#   198.18.0.20:443  Node 24 server, defaults (hybrid capable)
#   198.18.0.21:8443 Node 24 server, ecdhCurve X25519:P-256 (classical only)
#   198.18.0.22:9443 Node 24 server, ecdhCurve X25519MLKEM768 only (forces HRR)
KX_MIXED_HYBRID=16 KX_MIXED_DECLINED=8 KX_MIXED_OPENSSL=8 KX_MIXED_HRR=8 KX_MIXED_TLS12=6 KX_MIXED_GNUTLS=4
t_mixed() {
  kx_topo_direct
  kx_in $KX_NS_S ip addr add 198.18.0.21/24 dev vs0
  kx_in $KX_NS_S ip addr add 198.18.0.22/24 dev vs0
  local s1 s2 s3 cap
  kx_server s1 $KX_NS_S --port 443 --host 198.18.0.20
  kx_server s2 $KX_NS_S --port 8443 --host 198.18.0.21 --groups X25519:P-256
  kx_server s3 $KX_NS_S --port 9443 --host 198.18.0.22 --groups X25519MLKEM768
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-mixed-50.pcap"
  local pids=() p i n
  kx_bg p $KX_NS_C "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host 198.18.0.20 --port 443 \
     --sni 'hybrid-%d.mixed.kx.test' --parallel $KX_MIXED_HYBRID; pids+=("$p")
  kx_bg p $KX_NS_C "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host 198.18.0.21 --port 8443 \
     --sni 'declined-%d.mixed.kx.test' --parallel $KX_MIXED_DECLINED; pids+=("$p")
  kx_bg p $KX_NS_C "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host 198.18.0.22 --port 9443 \
     --sni 'hrr-%d.mixed.kx.test' --groups X25519:X25519MLKEM768 --parallel $KX_MIXED_HRR; pids+=("$p")
  kx_bg p $KX_NS_C "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host 198.18.0.20 --port 443 \
     --sni 'tls12-%d.mixed.kx.test' --max TLSv1.2 --parallel $KX_MIXED_TLS12; pids+=("$p")
  for i in $(seq 1 $KX_MIXED_OPENSSL); do
    n=$(printf %02d "$i")
    ( printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $KX_NS_C timeout 10 openssl s_client -quiet \
        -connect 198.18.0.20:443 -servername "classic-$n.mixed.kx.test" -ign_eof >/dev/null 2>&1 ) &
    pids+=("$!"); KX_PIDS+=("$!")
  done
  for i in $(seq 1 $KX_MIXED_GNUTLS); do
    n=$(printf %02d "$i")
    ( printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $KX_NS_C timeout 10 gnutls-cli --insecure \
        --sni-hostname "gnutls-$n.mixed.kx.test" -p 8443 198.18.0.21 >/dev/null 2>&1 ) &
    pids+=("$!"); KX_PIDS+=("$!")
  done
  for p in "${pids[@]}"; do kx_wait_pid "$p" 15; done
  kx_cap_stop "$cap"
}

KX_TARGETS+=(mlkem512 mlkem1024 grease hybrid_draft)
t_mlkem512() {
  kx_simple tls13-mlkem512.pcap 8443 "--groups MLKEM512" "--sni mlkem512.kx.test --groups MLKEM512"
}
t_mlkem1024() {
  kx_simple tls13-mlkem1024.pcap 8443 "--groups MLKEM1024" "--sni mlkem1024.kx.test --groups MLKEM1024"
}
# crafted Chrome-like ClientHello with GREASE (real X25519MLKEM768 + X25519
# shares) -> real Node 24 server; client closes after the ServerHello.
t_grease() {
  kx_topo_direct
  local srv cap
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-grease-x25519mlkem768.pcap"
  kx_in $KX_NS_C "$KX_NODE" "$KX_HERE/craft.js" client --host $KX_S4 --port 443 --sni grease.kx.test \
     --grease --groups 11ec,001d,0017,0018 --shares 11ec,001d | tee -a "$KX_WORK/client.log" >&2
  kx_wait_pid "$srv" 3
  kx_cap_stop "$cap"
}
# fully synthetic hellos over real TCP: crafted client offering the Kyber
# drafts (0x6399, 0x639a) + x25519, fake server selecting 0x6399.
t_hybrid_draft() {
  kx_topo_direct
  local srv cap
  rm -f "$KX_WORK/craft.ready"
  kx_bg srv $KX_NS_S "$KX_WORK/craft.log" "$KX_NODE" "$KX_HERE/craft.js" server --port 443 --group 6399 \
     --ready "$KX_WORK/craft.ready"
  local i; for i in $(seq 100); do [ -e "$KX_WORK/craft.ready" ] && break; sleep 0.05; done
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/tls13-hybrid-draft-synthetic.pcap"
  kx_in $KX_NS_C "$KX_NODE" "$KX_HERE/craft.js" client --host $KX_S4 --port 443 --sni draft.kx.test \
     --grease --groups 6399,639a,001d,0017 --shares 6399,001d | tee -a "$KX_WORK/client.log" >&2
  kx_wait_pid "$srv" 3
  kx_cap_stop "$cap"
}

KX_TARGETS+=(quic_chromium_ngtcp2 quic_chromium_ngtcp2_ipv6)
# QUIC: Debian's Chromium (BoringSSL, offers X25519MLKEM768; its ClientHello
# spans two Initial datagrams) -> Debian's ngtcp2 example server gtlsserver
# (GnuTLS 3.7: classical groups only). One HTTP/3 GET of a 6-byte file.
# Chromium's QUIC ignores --ignore-certificate-errors; it trusts the
# throw-away certificate through the SPKI hash list instead.
kx_quic_server() {  # VAR ns addr port [gtlsserver options...]
  local var=$1 ns=$2 addr=$3 port=$4; shift 4
  mkdir -p "$KX_WORK/htdocs"; printf 'hello\n' >"$KX_WORK/htdocs/index.html"
  kx_bg "$var" "$ns" "$KX_WORK/gtlsserver.log" gtlsserver -q -d "$KX_WORK/htdocs" "$@" \
     "$addr" "$port" "$KX_WORK/ec.key" "$KX_WORK/ec.crt"
  local i
  for i in $(seq 200); do
    kx_in "$ns" ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  kx_die "gtlsserver does not listen on udp/$port"
}
kx_chromium_args() {  # host port ip -> KX_CHROMIUM (command line fetching https://host:port/index.html)
  local host=$1 port=$2 ip=$3 spki
  spki=$(openssl x509 -in "$KX_WORK/ec.crt" -pubkey -noout | openssl pkey -pubin -outform der |
         openssl dgst -sha256 -binary | base64)
  case $ip in *:*) ip="[$ip]" ;; esac
  rm -rf "$KX_WORK/chromium"; mkdir -p "$KX_WORK/chromium"
  KX_CHROMIUM=(chromium --headless --no-sandbox --disable-gpu --no-first-run
     --disable-background-networking --disable-component-update --disable-sync
     --user-data-dir="$KX_WORK/chromium" --enable-quic --origin-to-force-quic-on="$host:$port"
     --host-resolver-rules="MAP $host $ip" --ignore-certificate-errors-spki-list="$spki"
     --dump-dom "https://$host:$port/index.html")
}
kx_chromium_get() {  # ns host port ip
  kx_chromium_args "$2" "$3" "$4"
  kx_in "$1" timeout 30 "${KX_CHROMIUM[@]}" >"$KX_WORK/chromium.out" 2>>"$KX_WORK/chromium.log" ||
     kx_die "chromium failed (see $KX_WORK/chromium.log)"
  grep -q hello "$KX_WORK/chromium.out" || kx_die "chromium did not fetch the page over QUIC"
}
t_quic_chromium_ngtcp2() {
  kx_topo_direct
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S4 443
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-chromium-ngtcp2.pcap"
  kx_chromium_get $KX_NS_C quic-ngtcp2.kx.test 443 $KX_S4
  kx_cap_stop "$cap"
}
t_quic_chromium_ngtcp2_ipv6() {
  kx_topo_direct 1500 ipv6
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S6 443
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-chromium-ngtcp2-ipv6.pcap"
  kx_chromium_get $KX_NS_C quic-ipv6.kx.test 443 $KX_S6
  kx_cap_stop "$cap"
}

KX_TARGETS+=(quic_ngtcp2_v2draft)
# QUIC version 2 as Debian's ngtcp2 0.12 speaks it: the draft version
# 0x709a50c4 (RFC 9369's 0x6b3343cf came later; no Debian 12 stack has it).
# gtlsclient starts in v1 and offers v2draft in version_information;
# gtlsserver prefers v2draft and switches (compatible version negotiation,
# RFC 9368): its Initials and everything after are v2draft, protected with
# v2draft keys derived from the client's original DCID. Both ends GnuTLS 3.7.
t_quic_ngtcp2_v2draft() {
  kx_topo_direct
  local srv cap
  kx_quic_server srv $KX_NS_S $KX_S4 443 --preferred-versions v2draft,v1
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-ngtcp2-v2draft.pcap"
  # gtlsclient 0.12 sends SNI "localhost" for a numeric host and ignores
  # --sni, so it gets a name: a hosts file bind-mounted in a private mount
  # namespace of this one process (the machine's /etc/hosts is untouched).
  printf '%s quic-v2draft.kx.test\n' $KX_S4 >"$KX_WORK/hosts.v2draft"
  kx_in $KX_NS_C unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh \
     "$KX_WORK/hosts.v2draft" timeout 10 gtlsclient -q --exit-on-all-streams-close -v v1 \
     --other-versions v2draft,v1 quic-v2draft.kx.test 443 https://quic-v2draft.kx.test/index.html \
     >>"$KX_WORK/gtlsclient.log" 2>&1 || kx_die "gtlsclient failed"
  kx_cap_stop "$cap"
}

KX_TARGETS+=(quic_chromium_hybrid_synthetic)
# No QUIC server here can select X25519MLKEM768 (see pcaps-notes), so the
# server side is quicsh.js: it opens Chromium's real Initials, does a real
# X25519MLKEM768 exchange against Chromium's key share (Node 24 / OpenSSL 3.5
# ML-KEM-768 encapsulation + X25519) and answers with one server Initial
# carrying the ServerHello, then stays silent. Chromium is stopped a second
# later (its handshake never completes).
t_quic_chromium_hybrid_synthetic() {
  kx_topo_direct
  local srv cap cli i
  rm -f "$KX_WORK/quicsh.ready"
  kx_bg srv $KX_NS_S "$KX_WORK/quicsh.log" "$KX_NODE" "$KX_HERE/quicsh.js" --host $KX_S4 --port 443 \
     --group 11ec --ready "$KX_WORK/quicsh.ready"
  for i in $(seq 100); do [ -e "$KX_WORK/quicsh.ready" ] && break; sleep 0.05; done
  [ -e "$KX_WORK/quicsh.ready" ] || kx_die "quicsh.js did not start"
  kx_cap_start cap $KX_NS_C vc0 "$KX_OUT/quic-chromium-hybrid-synthetic.pcap"
  kx_chromium_args quic-hybrid.kx.test 443 $KX_S4
  kx_bg cli $KX_NS_C "$KX_WORK/chromium.log" timeout 20 "${KX_CHROMIUM[@]}"
  for i in $(seq 200); do grep -q ServerHello "$KX_WORK/quicsh.log" 2>/dev/null && break; sleep 0.05; done
  grep -q ServerHello "$KX_WORK/quicsh.log" || kx_die "quicsh.js sent no ServerHello (see $KX_WORK/quicsh.log)"
  sleep 1
  kx_wait_pid "$cli" 0
  kx_cap_stop "$cap"
  cat "$KX_WORK/quicsh.log" >&2
}

# cross-check all captures with tshark and write pcaps/expected.tsv + README.md
t_expected() {
  chmod 644 "$KX_OUT"/*.pcap "$KX_OUT"/*.pcapng 2>/dev/null || true
  python3 "$KX_HERE/expected.py" --pcaps "$KX_OUT"
}
