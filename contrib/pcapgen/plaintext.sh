#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Captures of connections that carry no visible TLS handshake (project issue
# 16): plaintext legs, in-band upgrades that never happen or are refused,
# connections picked up after their handshake, a ServerHello or server
# KEXINIT without the client's hello; and TCP Fast Open. Real peers in two
# network namespaces (kxc-c, kxc-s) joined by a veth pair (MTU 1500,
# offloads off), captured on the client veth with tcpdump -n. Client
# 198.18.0.10, servers 198.18.0.20 and .21.
#
#   contrib/pcapgen/plaintext.sh                  # every target + pt_expected
#   contrib/pcapgen/plaintext.sh pt_redis pt_expected
#
# Targets and peers (what each connection is meant to be: expected_sessions.py):
#   pt_postgres   psql 15 -> PostgreSQL 15: sslmode=disable and sslmode=require
#                 against a server with ssl=on, sslmode=prefer against one
#                 with ssl=off (it answers the SSLRequest with 'N')
#   pt_mysql      mariadb 10.11 client --skip-ssl -> mariadbd with a
#                 certificate; default client -> mariadbd --skip-ssl
#   pt_redis      redis-cli 7.0 PING, SET, GET (a connection each) -> redis-server 7.0
#   pt_http       curl 7.88 -> python3 -m http.server (HTTP/1.1) on 80 and 8080
#   pt_smtp       swaks 20201014 -> smtp_server.py (scripted: offers STARTTLS,
#                 refuses it with 454): one session that never asks, one that does
#   pt_tfo        TCP Fast Open: curl --tcp-fastopen (OpenSSL 3.0, classical)
#                 and Node 24 (hybrid, socket from tfo_client.py) -> Node 24
#                 server; SYN data accepted, then ignored
#   pt_tls_unseen Node 24 client -> Node 24 server, four requests on one
#                 connection; tcpdump starts after the handshake
#   pt_quic_unseen  ngtcp2 gtlsclient -> gtlsserver, three requests after
#                 --delay-stream; CUT after the last long-header packet
#   pt_after_ch   Node 24 -> Node 24 (hybrid) and -> Node 24 ecdhCurve X25519:P-256,
#                 each CUT after the ClientHello (cut.py: editcap -r)
#   pt_ssh_after_kexinit  OpenSSH 9.2 client -> sshd (as ssh.sh runs them), CUT
#                 after the client KEXINIT
# Servers run from configs and data directories under $KX_WORK; nothing
# under /etc is read or written.

KX_PT_TARGETS=(pt_postgres pt_mysql pt_redis pt_http pt_smtp pt_tfo pt_tls_unseen pt_quic_unseen
               pt_after_ch pt_ssh_after_kexinit pt_expected)

# shellcheck disable=SC2034  # read by lib.sh
kx_pt_ns() {
  KX_NS_C=kxc-c
  KX_NS_S=kxc-s
  KX_NS_M=kxc-m
}

KX_S5=198.18.0.21

kx_pt_topo() {  # the direct topology with a second server address
  kx_pt_ns
  kx_topo_direct
  kx_in $KX_NS_S ip addr add $KX_S5/24 dev vs0
}

kx_pt_capture() {  # file: servers are up, start tcpdump on the client veth
  kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_OUT/$1"
}

kx_pt_end() {
  kx_cap_stop "$KX_PT_CAP"
  kx_cleanup
}

# kx_pt_pg VAR addr ssl(on|off): a PostgreSQL 15 cluster of its own, trust auth
kx_pt_pg() {
  local var=$1 addr=$2 ssl=$3 bin=/usr/lib/postgresql/15/bin
  local d="$KX_WORK/pg-$addr"
  [ -x $bin/postgres ] || kx_die "PostgreSQL 15 missing (apt-get install postgresql)"
  chmod 755 "$KX_WORK"
  rm -rf "$d"; mkdir -p "$d"; chown postgres: "$d"
  runuser -u postgres -- $bin/initdb -D "$d/data" -A trust -U postgres >"$KX_WORK/initdb.log" 2>&1 ||
    kx_die "initdb failed"
  install -o postgres -m 600 "$KX_WORK/ec.key" "$d/server.key"
  install -o postgres -m 644 "$KX_WORK/ec.crt" "$d/server.crt"
  cat >>"$d/data/postgresql.conf" <<EOF
listen_addresses = '$addr'
port = 5432
unix_socket_directories = '$d'
ssl = $ssl
ssl_cert_file = '$d/server.crt'
ssl_key_file = '$d/server.key'
EOF
  echo "host all all 198.18.0.0/24 trust" >"$d/data/pg_hba.conf"
  kx_bg "$var" $KX_NS_S "$KX_WORK/postgres-$addr.log" runuser -u postgres -- $bin/postgres -D "$d/data"
  local _
  for _ in $(seq 200); do
    kx_in $KX_NS_S ss -Hltn "src $addr:5432" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  kx_die "postgres on $addr does not listen"
}

kx_pt_psql() {  # addr sslmode query
  kx_in $KX_NS_C psql "sslmode=$2 gssencmode=disable host=$1 port=5432 user=postgres dbname=postgres" \
    -Atc "$3" >&2 || kx_die "psql sslmode=$2 failed"
}

t_pt_postgres() {
  # shellcheck disable=SC2034  # set through kx_bg's printf -v
  local a b
  kx_pt_topo
  kx_pt_pg a $KX_S4 on
  kx_pt_pg b $KX_S5 off
  kx_pt_capture plaintext-postgres.pcap
  kx_pt_psql $KX_S4 disable "select 'plaintext', count(*) from pg_stat_ssl where ssl = false"
  kx_pt_psql $KX_S4 require "select ssl, version from pg_stat_ssl where pid = pg_backend_pid()"
  kx_pt_psql $KX_S5 prefer "select 'refused', ssl from pg_stat_ssl where pid = pg_backend_pid()"
  local bin=/usr/lib/postgresql/15/bin
  kx_in $KX_NS_S runuser -u postgres -- $bin/pg_ctl -D "$KX_WORK/pg-$KX_S4/data" -w -m fast stop >/dev/null 2>&1 || true
  kx_in $KX_NS_S runuser -u postgres -- $bin/pg_ctl -D "$KX_WORK/pg-$KX_S5/data" -w -m fast stop >/dev/null 2>&1 || true
  kx_pt_end
}

# kx_pt_mariadb VAR addr [server options...]: mariadbd 10.11 with its own datadir
kx_pt_mariadb() {
  local var=$1 addr=$2; shift 2
  local d="$KX_WORK/mysql-$addr"
  rm -rf "$d"; mkdir -p "$d"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=root --auth-root-authentication-method=normal \
    >"$KX_WORK/mariadb-install.log" 2>&1 || kx_die "mariadb-install-db failed"
  kx_bg "$var" $KX_NS_S "$KX_WORK/mariadbd-$addr.log" /usr/sbin/mariadbd --no-defaults --datadir="$d/data" \
    --user=root --bind-address="$addr" --port=3306 --socket="$d/sock" --pid-file="$d/pid" \
    --skip-name-resolve --skip-grant-tables --log-error="$d/error.log" "$@"
  local _
  for _ in $(seq 300); do
    kx_in $KX_NS_S ss -Hltn "src $addr:3306" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  kx_die "mariadbd on $addr does not listen"
}

t_pt_mysql() {
  # shellcheck disable=SC2034  # set through kx_bg's printf -v
  local a b
  kx_pt_topo
  kx_pt_mariadb a $KX_S4 --ssl-cert="$KX_WORK/ec.crt" --ssl-key="$KX_WORK/ec.key"
  kx_pt_mariadb b $KX_S5 --skip-ssl
  kx_pt_capture plaintext-mysql.pcap
  kx_in $KX_NS_C mariadb --no-defaults --skip-ssl -h $KX_S4 -P 3306 -u root \
    -e "show status like 'Ssl_version'; select 'plaintext'" >&2 || kx_die "mariadb --skip-ssl failed"
  kx_in $KX_NS_C mariadb --no-defaults -h $KX_S5 -P 3306 -u root \
    -e "show variables like 'have_ssl'; select 'no ssl on the server'" >&2 || kx_die "mariadb client failed"
  kx_pt_end
}

t_pt_redis() {
  local srv
  kx_pt_topo
  mkdir -p "$KX_WORK/redis"
  kx_bg srv $KX_NS_S "$KX_WORK/redis.log" redis-server --bind $KX_S4 --port 6379 --protected-mode no \
    --save '' --appendonly no --dir "$KX_WORK/redis" --daemonize no
  kx_wait_listen $KX_NS_S 6379
  kx_pt_capture plaintext-redis.pcap
  # one connection per command (fed on stdin, redis-cli 7 would first fetch
  # 180 KB of COMMAND DOCS for its interactive hints)
  kx_in $KX_NS_C redis-cli -h $KX_S4 -p 6379 PING >&2 || kx_die "redis-cli failed"
  kx_in $KX_NS_C redis-cli -h $KX_S4 -p 6379 SET kexwatch:plaintext no-tls >&2 || kx_die "redis-cli failed"
  kx_in $KX_NS_C redis-cli -h $KX_S4 -p 6379 GET kexwatch:plaintext >&2 || kx_die "redis-cli failed"
  kx_pt_end
}

t_pt_http() {
  # shellcheck disable=SC2034  # set through kx_bg's printf -v
  local s1 s2
  kx_pt_topo
  mkdir -p "$KX_WORK/www"
  printf 'hello from kexwatch over plain HTTP\n' >"$KX_WORK/www/index.html"
  kx_bg s1 $KX_NS_S "$KX_WORK/http80.log" python3 -m http.server --protocol HTTP/1.1 \
    --bind $KX_S4 --directory "$KX_WORK/www" 80
  kx_bg s2 $KX_NS_S "$KX_WORK/http8080.log" python3 -m http.server --protocol HTTP/1.1 \
    --bind $KX_S4 --directory "$KX_WORK/www" 8080
  kx_wait_listen $KX_NS_S 80
  kx_wait_listen $KX_NS_S 8080
  kx_pt_capture plaintext-http.pcap
  kx_in $KX_NS_C curl -sS --http1.1 -o /dev/null -w '%{http_code} %{http_version}\n' \
    "http://$KX_S4/index.html" >&2 || kx_die "curl :80 failed"
  kx_in $KX_NS_C curl -sS --http1.1 -o /dev/null -w '%{http_code} %{http_version}\n' \
    "http://$KX_S4:8080/index.html" >&2 || kx_die "curl :8080 failed"
  kx_pt_end
}

t_pt_smtp() {
  local srv rc=0
  kx_pt_topo
  rm -f "$KX_WORK/smtp.ready"
  kx_bg srv $KX_NS_S "$KX_WORK/smtp.log" python3 "$KX_HERE/smtp_server.py" $KX_S4 "$KX_WORK/smtp.ready" 25 587
  local _; for _ in $(seq 100); do [ -e "$KX_WORK/smtp.ready" ] && break; sleep 0.05; done
  [ -e "$KX_WORK/smtp.ready" ] || kx_die "smtp_server.py did not start"
  kx_pt_capture plaintext-smtp.pcap
  # 1: STARTTLS offered in the EHLO reply, swaks (no --tls) never asks
  kx_in $KX_NS_C swaks --server $KX_S4 --port 25 --helo client.kx.test --from alice@client.kx.test \
    --to bob@mail.kx.test --header 'Subject: kexwatch plaintext' --body 'sent in cleartext' \
    >>"$KX_WORK/swaks.log" 2>&1 || kx_die "swaks (plain) failed"
  # 2: swaks --tls asks, the server answers 454; swaks gives up (exit 29 expected)
  kx_in $KX_NS_C swaks --server $KX_S4 --port 587 --tls --helo client.kx.test \
    --from alice@client.kx.test --to bob@mail.kx.test >>"$KX_WORK/swaks.log" 2>&1 || rc=$?
  grep -q '454 4.7.0' "$KX_WORK/swaks.log" || kx_die "swaks --tls: no 454 (exit $rc)"
  kx_wait_pid "$srv" 5
  kx_pt_end
}

# TCP Fast Open (RFC 7413). Client namespace tcp_fastopen=3; the server
# namespace 0x403 = 3 + TFO_SERVER_WO_SOCKOPT1, so Node's listener (Node has
# no TCP_FASTOPEN option) accepts Fast Open with its backlog as queue length.
# The cookie the first connection fetches is cached per server address; with
# the server's tcp_fastopen then set to 0 the same listener ignores SYN data:
# its SYN-ACK acknowledges ISN+1 only and the client sends the bytes again.
t_pt_tfo() {
  local srv
  kx_pt_ns
  kx_topo_direct
  kx_in $KX_NS_C sysctl -qw net.ipv4.tcp_fastopen=3
  kx_in $KX_NS_S sysctl -qw net.ipv4.tcp_fastopen=$((0x403))
  kx_server srv $KX_NS_S --port 443
  kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_OUT/tls13-tfo.pcap"
  local curl=(curl -sSk --tcp-fastopen -o /dev/null -w '%{http_code}\n')
  # 1: no cookie yet: the SYN asks for one and carries no data
  kx_in $KX_NS_C "${curl[@]}" --resolve tfo-cookie.kx.test:443:$KX_S4 https://tfo-cookie.kx.test/ >&2
  # 2: curl's ClientHello in the SYN, accepted
  kx_in $KX_NS_C "${curl[@]}" --resolve tfo.kx.test:443:$KX_S4 https://tfo.kx.test/ >&2
  # 3: Node's hybrid ClientHello: its first 1420 bytes in the SYN, accepted
  kx_in $KX_NS_C python3 "$KX_HERE/tfo_client.py" "$KX_NODE" "$KX_PEER" $KX_S4 443 \
    --sni tfo-hybrid.kx.test | tee -a "$KX_WORK/client.log" >&2
  kx_in $KX_NS_S sysctl -qw net.ipv4.tcp_fastopen=0
  # 4 and 5: the same, the server now ignores the SYN data
  kx_in $KX_NS_C python3 "$KX_HERE/tfo_client.py" "$KX_NODE" "$KX_PEER" $KX_S4 443 \
    --sni tfo-hybrid-ignored.kx.test | tee -a "$KX_WORK/client.log" >&2
  kx_in $KX_NS_C "${curl[@]}" --resolve tfo-ignored.kx.test:443:$KX_S4 https://tfo-ignored.kx.test/ >&2
  kx_pt_end
}

# TLS picked up after its handshake: the client signals once it is secured
# and waits; tcpdump starts; then four requests, 200 ms apart, on the same
# connection. Only TLS application-data records (type 23) are captured.
t_pt_tls_unseen() {
  local srv cli _
  kx_pt_ns
  kx_topo_direct
  kx_server srv $KX_NS_S --port 443 --count 1 --keep
  rm -f "$KX_WORK/secured" "$KX_WORK/go"
  kx_bg cli $KX_NS_C "$KX_WORK/client.log" "$KX_NODE" "$KX_PEER" client --host $KX_S4 --port 443 \
    --sni unseen.kx.test --requests 4 --request-gap 200 --secured "$KX_WORK/secured" --go-data "$KX_WORK/go"
  for _ in $(seq 200); do [ -e "$KX_WORK/secured" ] && break; sleep 0.05; done
  [ -e "$KX_WORK/secured" ] || kx_die "client did not finish its handshake"
  sleep 0.5   # the server's session tickets and the last ACKs pass before tcpdump starts
  kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_OUT/tls13-handshake-unseen.pcap"
  touch "$KX_WORK/go"
  kx_wait_pid "$cli" 10
  kx_wait_pid "$srv" 3
  kx_pt_end
}

# QUIC picked up after its handshake: gtlsclient waits 1 s after the
# handshake before its three requests (--delay-stream); the full capture is
# cut after the last long-header packet.
t_pt_quic_unseen() {
  local srv
  kx_pt_ns
  kx_topo_direct
  mkdir -p "$KX_WORK/htdocs"
  head -c 6000 /dev/zero | tr '\0' 'k' >"$KX_WORK/htdocs/data.txt"
  kx_bg srv $KX_NS_S "$KX_WORK/gtlsserver.log" gtlsserver -q -d "$KX_WORK/htdocs" \
    $KX_S4 443 "$KX_WORK/ec.key" "$KX_WORK/ec.crt"
  local _
  for _ in $(seq 200); do
    kx_in $KX_NS_S ss -Hlun "sport = :443" 2>/dev/null | grep -q . && break
    sleep 0.05
  done
  kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_WORK/quic-full.pcap"
  kx_in $KX_NS_C timeout 20 gtlsclient -q --exit-on-all-streams-close --delay-stream=1s -n 3 \
    $KX_S4 443 "https://$KX_S4/data.txt" >>"$KX_WORK/gtlsclient.log" 2>&1 || kx_die "gtlsclient failed"
  kx_cap_stop "$KX_PT_CAP"
  python3 "$KX_HERE/cut.py" quic-short "$KX_WORK/quic-full.pcap" "$KX_OUT/quic-handshake-unseen.pcap" >&2
  kx_cleanup
}

# A full hybrid (Node 24 both ends) and a full server-declined (server
# ecdhCurve X25519:P-256) handshake, each cut after its ClientHello.
t_pt_after_ch() {
  local srv
  kx_pt_ns
  kx_topo_direct
  kx_server srv $KX_NS_S --port 443 --count 1
  kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_WORK/after-ch-full.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni after-ch.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$KX_PT_CAP"
  kx_server srv $KX_NS_S --port 443 --count 1 --groups X25519:P-256
  kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_WORK/after-ch-x25519-full.pcap"
  kx_client $KX_NS_C --host $KX_S4 --port 443 --sni after-ch-x25519.kx.test
  kx_wait_pid "$srv" 5
  kx_cap_stop "$KX_PT_CAP"
  kx_cleanup
  python3 "$KX_HERE/cut.py" after-ch "$KX_WORK/after-ch-full.pcap" "$KX_OUT/tls13-after-clienthello.pcap" >&2
  python3 "$KX_HERE/cut.py" after-ch "$KX_WORK/after-ch-x25519-full.pcap" \
    "$KX_OUT/tls13-after-clienthello-x25519.pcap" >&2
}

# A stock OpenSSH 9.2 session (ssh.sh's sshd and client) cut after the
# client's KEXINIT. Both sides send KEXINIT unprompted; the cut needs the
# server's to begin after the client's ends (cut.py checks), so a capture
# where it does not is made again, up to three times.
t_pt_ssh_after_kexinit() {
  local srv try
  # shellcheck source=contrib/pcapgen/ssh.sh
  . "$KX_HERE/ssh.sh"
  for try in 1 2 3; do
    kx_pt_ns
    kx_topo_direct
    kx_sshd srv $KX_NS_S ""
    kx_cap_start KX_PT_CAP $KX_NS_C vc0 "$KX_WORK/ssh-full.pcap"
    kx_ssh_client $KX_NS_C
    kx_cap_stop "$KX_PT_CAP"
    kx_cleanup
    python3 "$KX_HERE/cut.py" after-client-kexinit "$KX_WORK/ssh-full.pcap" \
      "$KX_OUT/ssh-after-client-kexinit.pcap" >&2 && return 0
    kx_log "server KEXINIT before the client's end (try $try), again"
  done
  kx_die "no capture with the server KEXINIT after the client's"
}

# the handshake rows (expected-starttls.tsv, expected-ssh.tsv, expected.tsv
# and README.md), then expected-sessions.tsv, the connections left without
# one (and its section of README.md)
t_pt_expected() {
  chmod 644 "$KX_OUT"/*.pcap 2>/dev/null || true
  python3 "$KX_HERE/expected_starttls.py" --pcaps "$KX_OUT"
  python3 "$KX_HERE/expected_ssh.py" --pcaps "$KX_OUT"
  python3 "$KX_HERE/expected.py" --pcaps "$KX_OUT"
  python3 "$KX_HERE/expected_sessions.py" --pcaps "$KX_OUT"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  REPO=$(cd "$KX_HERE/../.." && pwd)
  KX_OUT=${KX_OUT:-$REPO/pcaps}
  # shellcheck source=contrib/pcapgen/lib.sh
  . "$KX_HERE/lib.sh"
  kx_pt_ns
  [ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
  mkdir -p "$KX_OUT"
  KX_WORK=$(mktemp -d /tmp/kxpt.XXXXXX)
  export KX_WORK KX_OUT PYTHONDONTWRITEBYTECODE=1
  KX_TARGET_PID=
  kx_pt_main_exit() {
    if [ -n "$KX_TARGET_PID" ]; then
      kill -TERM "$KX_TARGET_PID" 2>/dev/null || true
      wait "$KX_TARGET_PID" 2>/dev/null || true
    fi
    kx_pt_ns
    kx_cleanup
    [ -n "${KX_KEEP:-}" ] || rm -rf "$KX_WORK"
  }
  trap kx_pt_main_exit EXIT
  trap 'exit 130' INT TERM
  kx_ensure_node
  kx_certs
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${KX_PT_TARGETS[@]}")
  for t in "${targets[@]}"; do
    declare -F "t_$t" >/dev/null || kx_die "unknown target $t (try: ${KX_PT_TARGETS[*]})"
    kx_log "=== $t"
    ( trap 'kx_pt_ns; kx_cleanup' EXIT; trap 'exit 143' TERM INT; "t_$t" ) &
    KX_TARGET_PID=$!
    wait "$KX_TARGET_PID" || { KX_TARGET_PID=; kx_die "target $t failed"; }
    KX_TARGET_PID=
  done
  kx_log "done"
fi
