#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# STARTTLS capture targets (project issue 4): real peers in two network
# namespaces (kxst-c, kxst-s) joined by a veth pair (MTU 1500, offloads
# off), captured on the client veth. Writes pcaps/starttls-*.pcap; the
# st_expected target derives pcaps/expected-starttls.tsv with tshark.
#
#   contrib/pcapgen/starttls.sh                  # every target + st_expected
#   contrib/pcapgen/starttls.sh st_smtp st_expected
#
# Peers:
#   smtp      Node 24 scripted client -> Node 24 scripted server (hybrid)
#   smtp-s-client  openssl 3.0 s_client -starttls smtp -> Node 24 server
#   imap/pop3 openssl s_client -starttls imap|pop3 -> Dovecot 2.3
#   ftp/ldap/xmpp  openssl s_client -starttls ... -> Node 24 scripted server
#   postgres  psql 15 (sslmode=require) -> PostgreSQL 15 (ssl=on)
#   mysql     mariadb 10.11 client --ssl -> mariadbd 10.11
# Servers run from configs and data directories under $KX_WORK; nothing
# under /etc is read or written.

KX_ST_TARGETS=(st_smtp st_smtp_s_client st_imap st_pop3 st_ftp st_ldap st_xmpp st_postgres
               st_mysql st_expected)

# shellcheck disable=SC2034  # read by lib.sh
kx_st_ns() {
  KX_NS_C=kxst-c
  KX_NS_S=kxst-s
  KX_NS_M=kxst-m
}

KX_ST_PEER="$KX_HERE/starttls_peer.js"

# kx_st_node_server VAR proto port [groups]
kx_st_node_server() {
  local var=$1 proto=$2 port=$3 groups=${4:-}
  local ready="$KX_WORK/st.ready.$RANDOM"
  local extra=()
  [ -n "$groups" ] && extra=(--groups "$groups")
  kx_bg "$var" $KX_NS_S "$KX_WORK/st-server.log" "$KX_NODE" "$KX_ST_PEER" server --proto "$proto" \
    --port "$port" --host $KX_S4 --key "$KX_WORK/ec.key" --cert "$KX_WORK/ec.crt" \
    --ready "$ready" "${extra[@]}"
  local _; for _ in $(seq 200); do [ -e "$ready" ] && break; sleep 0.05; done
  [ -e "$ready" ] || kx_die "starttls_peer server ($proto) did not start"
}

# openssl 3.0 s_client: handshake, then EOF on stdin closes the session.
kx_st_s_client() {  # proto port sni [extra...]
  local proto=$1 port=$2 sni=$3; shift 3
  kx_in $KX_NS_C timeout 10 openssl s_client -connect "$KX_S4:$port" -starttls "$proto" \
    -servername "$sni" "$@" </dev/null >>"$KX_WORK/s_client.log" 2>&1 || true
  grep -q 'Cipher is' "$KX_WORK/s_client.log" || kx_die "s_client $proto: no handshake"
}

kx_st_begin() {  # file
  kx_st_ns
  kx_topo_direct
  kx_cap_start KX_ST_CAP $KX_NS_C vc0 "$KX_OUT/$1"
}

kx_st_end() {
  kx_cap_stop "$KX_ST_CAP"
  kx_cleanup
}

t_st_smtp() {
  local srv
  kx_st_begin starttls-smtp.pcap
  kx_st_node_server srv smtp 25
  kx_in $KX_NS_C "$KX_NODE" "$KX_ST_PEER" client --proto smtp --host $KX_S4 --port 25 \
    --sni mail.kx.test | tee -a "$KX_WORK/client.log" >&2
  kx_wait_pid "$srv" 5
  kx_st_end
}

t_st_smtp_s_client() {
  local srv
  kx_st_begin starttls-smtp-s-client.pcap
  kx_st_node_server srv smtp 587
  rm -f "$KX_WORK/s_client.log"
  kx_st_s_client smtp 587 submission.kx.test -name client.kx.test
  kx_wait_pid "$srv" 5
  kx_st_end
}

# Dovecot with a config in $KX_WORK: static passdb, no mail ever read.
kx_st_dovecot() {  # VAR
  local d="$KX_WORK/dovecot"
  mkdir -p "$d/run" "$d/home"
  chmod 755 "$KX_WORK" "$d" "$d/run"
  cp "$KX_WORK/ec.crt" "$KX_WORK/ec.key" "$d/"
  cat >"$d/dovecot.conf" <<EOF
base_dir = $d/run
state_dir = $d/state
protocols = imap pop3
listen = $KX_S4
log_path = $d/dovecot.log
ssl = yes
ssl_cert = <$d/ec.crt
ssl_key = <$d/ec.key
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {
  driver = static
  args = password=kexwatch
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/home
}
mail_location = maildir:$d/home/Maildir
EOF
  kx_bg "$1" $KX_NS_S "$d/stdout.log" /usr/sbin/dovecot -F -c "$d/dovecot.conf"
  kx_wait_listen $KX_NS_S 143
  kx_wait_listen $KX_NS_S 110
}

t_st_imap() {
  local srv
  kx_st_begin starttls-imap.pcap
  kx_st_dovecot srv
  rm -f "$KX_WORK/s_client.log"
  kx_st_s_client imap 143 imap.kx.test
  kx_st_end
}

t_st_pop3() {
  local srv
  kx_st_begin starttls-pop3.pcap
  kx_st_dovecot srv
  rm -f "$KX_WORK/s_client.log"
  kx_st_s_client pop3 110 pop.kx.test
  kx_st_end
}

t_st_ftp() {
  local srv
  kx_st_begin starttls-ftp.pcap
  kx_st_node_server srv ftp 21
  rm -f "$KX_WORK/s_client.log"
  kx_st_s_client ftp 21 ftp.kx.test
  kx_wait_pid "$srv" 5
  kx_st_end
}

t_st_ldap() {
  local srv
  kx_st_begin starttls-ldap.pcap
  kx_st_node_server srv ldap 389
  rm -f "$KX_WORK/s_client.log"
  kx_st_s_client ldap 389 ldap.kx.test
  kx_wait_pid "$srv" 5
  kx_st_end
}

t_st_xmpp() {
  local srv
  kx_st_begin starttls-xmpp.pcap
  kx_st_node_server srv xmpp 5222
  rm -f "$KX_WORK/s_client.log"
  kx_st_s_client xmpp 5222 xmpp.kx.test -xmpphost kx.test
  kx_wait_pid "$srv" 5
  kx_st_end
}

t_st_postgres() {
  local bin=/usr/lib/postgresql/15/bin d="$KX_WORK/pg" srv
  [ -x $bin/postgres ] || kx_die "PostgreSQL 15 missing (apt-get install postgresql)"
  chmod 755 "$KX_WORK"
  rm -rf "$d"; mkdir -p "$d"; chown postgres: "$d"
  runuser -u postgres -- $bin/initdb -D "$d/data" -A trust -U postgres >"$KX_WORK/initdb.log" 2>&1 ||
    kx_die "initdb failed"
  install -o postgres -m 600 "$KX_WORK/ec.key" "$d/server.key"
  install -o postgres -m 644 "$KX_WORK/ec.crt" "$d/server.crt"
  cat >>"$d/data/postgresql.conf" <<EOF
listen_addresses = '$KX_S4'
port = 5432
unix_socket_directories = '$d'
ssl = on
ssl_cert_file = '$d/server.crt'
ssl_key_file = '$d/server.key'
EOF
  echo "hostssl all all 198.18.0.0/24 trust" >"$d/data/pg_hba.conf"
  kx_st_begin starttls-postgres.pcap
  kx_bg srv $KX_NS_S "$KX_WORK/postgres.log" runuser -u postgres -- $bin/postgres -D "$d/data"
  kx_wait_listen $KX_NS_S 5432
  kx_in $KX_NS_C psql "sslmode=require host=$KX_S4 port=5432 user=postgres dbname=postgres" \
    -Atc 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()' >&2 ||
    kx_die "psql failed"
  kx_in $KX_NS_S runuser -u postgres -- $bin/pg_ctl -D "$d/data" -w -m fast stop >/dev/null 2>&1 || true
  kx_st_end
}

t_st_mysql() {
  local d="$KX_WORK/mysql" srv
  rm -rf "$d"; mkdir -p "$d"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=root --auth-root-authentication-method=normal \
    >"$KX_WORK/mariadb-install.log" 2>&1 || kx_die "mariadb-install-db failed"
  kx_st_begin starttls-mysql.pcap
  kx_bg srv $KX_NS_S "$KX_WORK/mariadbd.log" /usr/sbin/mariadbd --no-defaults --datadir="$d/data" \
    --user=root --bind-address=$KX_S4 --port=3306 --socket="$d/sock" --pid-file="$d/pid" \
    --skip-name-resolve --skip-grant-tables --ssl-cert="$KX_WORK/ec.crt" --ssl-key="$KX_WORK/ec.key" \
    --log-error="$d/error.log"
  kx_wait_listen $KX_NS_S 3306
  kx_in $KX_NS_C mariadb --no-defaults --ssl -h $KX_S4 -P 3306 -u root \
    -e "show status like 'Ssl_version'" >&2 || kx_die "mariadb client failed"
  kx_st_end
}

t_st_expected() {
  chmod 644 "$KX_OUT"/starttls-*.pcap 2>/dev/null || true
  python3 "$KX_HERE/expected_starttls.py" --pcaps "$KX_OUT"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  KX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  KX_ST_PEER="$KX_HERE/starttls_peer.js"
  REPO=$(cd "$KX_HERE/../.." && pwd)
  KX_OUT=${KX_OUT:-$REPO/pcaps}
  # shellcheck source=contrib/pcapgen/lib.sh
  . "$KX_HERE/lib.sh"
  kx_st_ns
  [ "$(id -u)" = 0 ] || kx_die "must run as root (network namespaces)"
  mkdir -p "$KX_OUT"
  KX_WORK=$(mktemp -d /tmp/kxst.XXXXXX)
  export KX_WORK KX_OUT PYTHONDONTWRITEBYTECODE=1
  KX_TARGET_PID=
  kx_st_main_exit() {
    if [ -n "$KX_TARGET_PID" ]; then
      kill -TERM "$KX_TARGET_PID" 2>/dev/null || true
      wait "$KX_TARGET_PID" 2>/dev/null || true
    fi
    kx_st_ns
    kx_cleanup
    [ -n "${KX_KEEP:-}" ] || rm -rf "$KX_WORK"
  }
  trap kx_st_main_exit EXIT
  trap 'exit 130' INT TERM
  kx_ensure_node
  kx_certs
  targets=("$@")
  [ ${#targets[@]} -gt 0 ] || targets=("${KX_ST_TARGETS[@]}")
  for t in "${targets[@]}"; do
    declare -F "t_$t" >/dev/null || kx_die "unknown target $t (try: ${KX_ST_TARGETS[*]})"
    kx_log "=== $t"
    ( trap 'kx_st_ns; kx_cleanup' EXIT; trap 'exit 143' TERM INT; "t_$t" ) &
    KX_TARGET_PID=$!
    wait "$KX_TARGET_PID" || { KX_TARGET_PID=; kx_die "target $t failed"; }
    KX_TARGET_PID=
  done
  kx_log "done"
fi
