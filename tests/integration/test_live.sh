#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Live capture end to end, on this machine: `kexwatch live` on one end of a
# veth pair between two network namespaces (MTU 1500, offloads off, so the
# ~1.8 KB hybrid ClientHello crosses the wire as two segments) while real TLS
# stacks shake hands across it: Node 24 / OpenSSL 3.5 (hybrid X25519MLKEM768)
# and Debian's openssl s_client / s_server (OpenSSL 3.0, classical).
#
#   usage: test_live.sh KEXWATCH [SOURCE_ROOT]
#
# Runs, each on a fresh database:
#   main     handshakes of every verdict (hybrid, classical client-no-pq,
#            server-declined, tls12), /metrics scraped (+ promtool check
#            metrics), SIGHUP after moving the JSON file away, SIGTERM
#   kill9    kill -9 once the rows are older than --flush-interval
#   user     --user nobody, files in a root-owned directory: credentials of
#            every thread, still capturing, logrotate-style SIGHUP
#   hupfail  --user nobody, SIGHUP when the JSON file cannot be reopened
#   flood    --max-flows 5000 with ~200 000 SYNs from distinct sources and
#            real handshakes in the middle: recorded, flows evicted, peak RSS
#
# Needs root and `ip netns` (exit 77 = skip otherwise); openssl, ethtool, ss
# and python3 (missing: failure). Node 24 comes from /var/cache/kexwatch-pcapgen
# (contrib/pcapgen/lib.sh, `npm pack`); without it only the classical cases
# run, with a warning. Traffic stays inside the two namespaces.
# Output is TAP-like. Checks of known kexwatch bugs are TAP TODO (reported,
# not counted) unless KX_LIVE_STRICT=1. Exit status 0 only if every other
# check passed. KEEP=1 keeps the work directory; KX_FLOOD_COUNT and
# KX_FLOOD_PPS size the flood (default 200000 frames at 100000/s).
set -u
export LC_ALL=C

if [ $# -lt 1 ]; then
	echo "usage: $0 KEXWATCH [SOURCE_ROOT]" >&2
	exit 2
fi
KW=$(readlink -f "$1")
SRC=$(readlink -f "${2:-$(dirname "$0")/../..}")
HERE="$SRC/tests/integration/live"
PY=${PYTHON:-python3}
CHECK="$HERE/kxcheck.py"

skip() { echo "1..0 # SKIP $*"; exit 77; }
[ -x "$KW" ] || { echo "kexwatch binary $KW not found" >&2; exit 2; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, capture)"
if ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	skip "no 'ip netns'"
fi
# Without these nothing at all can run: that is a failure, not a skip.
for t in openssl ethtool ss "$PY"; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "Bail out! $t is not installed (apt-get install openssl ethtool iproute2 python3)"
		exit 1
	fi
done

NS_C=kxlt-$$-c
NS_S=kxlt-$$-s
DEV_C=kxc0
DEV_S=kxs0
MAC_C=02:6b:78:00:01:10
MAC_S=02:6b:78:00:01:20
IP_C=198.18.0.10
IP_S=198.18.0.20
METRICS_PORT=9707
T=$(mktemp -d /tmp/kexwatch-live.XXXXXX)
chmod 755 "$T"   # --user nobody must reach its directory below
PIDS=()
KW_PID=
T0=$SECONDS

cleanup() {
	local p
	for p in ${KW_PID:+"$KW_PID"} "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in ${KW_PID:+"$KW_PID"} "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- TAP ---------------------------------------------------------------------
N=0
FAILED=0
TODOS=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
diag() { sed 's/^/#   /'; }
note() { echo "# $*"; }
# check DESC CMD...: ok when CMD exits 0; its output becomes diagnostics.
# With "reason" set, a failure is reported as TAP TODO (a known kexwatch
# bug, see the reason) and does not fail the test unless KX_LIVE_STRICT=1.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		ok "$desc${TODO:+ # TODO $TODO}"
	elif [ -n "${TODO:-}" ] && [ -z "${KX_LIVE_STRICT:-}" ]; then
		N=$((N + 1))
		TODOS=$((TODOS + 1))
		echo "not ok $N - $desc # TODO $TODO"
	else
		not_ok "$desc${TODO:+ # TODO $TODO}"
	fi
	[ -n "$out" ] && printf '%s\n' "$out" | diag
	return $rc
}
# A failure that makes the rest of the test meaningless.
bail() {
	not_ok "$*"
	echo "Bail out! $*"
	for f in "$T"/*.err "$T"/*.log; do
		[ -s "$f" ] && { echo "# --- $f"; tail -n 20 "$f" | diag; }
	done
	exit 1
}

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

# ---- topology ------------------------------------------------------------------
# (a namespace of the same name can only be left over by a killed run that
# had our pid)
ip netns del "$NS_C" 2>/dev/null
ip netns del "$NS_S" 2>/dev/null
ip netns add "$NS_C" || skip "cannot create network namespaces"
ip netns add "$NS_S" || skip "cannot create network namespaces"
for ns in "$NS_C" "$NS_S"; do
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$DEV_C" netns "$NS_C" type veth peer name "$DEV_S" netns "$NS_S" ||
	bail "veth pair"
in_c ip link set "$DEV_C" address $MAC_C mtu 1500
in_s ip link set "$DEV_S" address $MAC_S mtu 1500
in_c ethtool -K "$DEV_C" tso off gso off gro off tx off rx off >/dev/null 2>&1
in_s ethtool -K "$DEV_S" tso off gso off gro off tx off rx off >/dev/null 2>&1
in_c ip addr add $IP_C/24 dev "$DEV_C"
in_s ip addr add $IP_S/24 dev "$DEV_S"
in_c ip link set "$DEV_C" up
in_s ip link set "$DEV_S" up
veth_ok() {  # ns dev
	local off
	ip netns exec "$1" ip link show "$2" | grep -q "mtu 1500 " || { echo "$2: MTU"; return 1; }
	off=$(ip netns exec "$1" ethtool -k "$2" |
		grep -cE "^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload): off")
	[ "$off" = 3 ] && return 0
	ip netns exec "$1" ethtool -k "$2" | grep -E "segmentation|receive-offload"
	return 1
}
veth_both() { veth_ok "$NS_C" "$DEV_C" && veth_ok "$NS_S" "$DEV_S"; }
check "veth $DEV_C/$DEV_S: MTU 1500, TSO/GSO/GRO off" veth_both
for _ in $(seq 50); do
	in_c ip link show "$DEV_C" | grep -q LOWER_UP && in_s ip link show "$DEV_S" | grep -q LOWER_UP && break
	sleep 0.1
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/ec.key" -out "$T/ec.crt" -days 30 -subj /CN=kx.test \
	-addext 'subjectAltName=DNS:*.kx.test,DNS:kx.test' >/dev/null 2>&1 || bail "openssl req"

# ---- Node 24 (OpenSSL 3.5) --------------------------------------------------------
NODE=
KX_HERE="$SRC/contrib/pcapgen"
# shellcheck source=../../contrib/pcapgen/lib.sh
# shellcheck disable=SC1091
. "$KX_HERE/lib.sh"
PEER="$KX_PEER"
if [ ! -x "$KX_NODE" ]; then
	note "Node $KX_NODE_VERSION not in $KX_CACHE: fetching it with npm pack (60 s at most)"
	timeout 60 env npm_config_fetch_retries=1 npm_config_fetch_timeout=30000 \
		bash -c ". '$KX_HERE/lib.sh'; kx_ensure_node" 2>&1 | diag
fi
if [ -x "$KX_NODE" ] && "$KX_NODE" -e 'process.exit(/^(3\.([5-9]|[1-9][0-9])|[4-9])\./.test(process.versions.openssl) ? 0 : 1)'; then
	NODE=$KX_NODE
	note "hybrid peers: node $("$NODE" --version), OpenSSL $("$NODE" -p process.versions.openssl)"
else
	note "WARNING: Node $KX_NODE_VERSION (OpenSSL 3.5) is not available (no npm registry?):"
	note "WARNING: only the classical cases run; the hybrid and server-declined checks are skipped"
fi

# ---- servers (they outlive the kexwatch runs) ---------------------------------------
# 443: Node default groups (X25519MLKEM768 first) or, without Node, openssl
#      s_server with OpenSSL 3.0's defaults; 8443: s_server limited to X25519.
wait_listen() {  # port
	for _ in $(seq 100); do
		in_s ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}
# (Background processes are started with `ip netns exec` itself, which execs
# the command, so $! is the process to signal, not a subshell around it.)
if [ -n "$NODE" ]; then
	ip netns exec "$NS_S" "$NODE" "$PEER" server --port 443 --host 0.0.0.0 --key "$T/ec.key" --cert "$T/ec.crt" \
		>>"$T/node-server.log" 2>&1 </dev/null &
	PIDS+=("$!")
else
	ip netns exec "$NS_S" openssl s_server -accept 443 -cert "$T/ec.crt" -key "$T/ec.key" -www -quiet \
		>>"$T/s_server-443.log" 2>&1 </dev/null &
	PIDS+=("$!")
fi
ip netns exec "$NS_S" openssl s_server -accept 8443 -cert "$T/ec.crt" -key "$T/ec.key" -groups X25519 -www -quiet \
	>>"$T/s_server-8443.log" 2>&1 </dev/null &
PIDS+=("$!")
wait_listen 443 || bail "TLS server on 443 did not start"
wait_listen 8443 || bail "openssl s_server on 8443 did not start"
in_c timeout 5 bash -c "exec 3<>/dev/tcp/$IP_S/8443" 2>/dev/null || bail "no TCP connectivity over the veth"

# ---- handshake makers ---------------------------------------------------------------
# Each records the row it expects in $SPEC (see kxcheck.py) and fails loudly
# if the peers themselves did not complete the handshake.
SPEC=/dev/null
HS_MADE=0
expect() { echo "$*" >>"$SPEC"; }
peer_failed() { not_ok "handshake $1 (the TLS peers failed, not kexwatch)"; printf '%s\n' "$2" | diag; }

# node client: SNI PORT [tlspeer args]
node_hs() {
	local sni=$1 port=$2 out
	shift 2
	out=$(in_c timeout 15 "$NODE" "$PEER" client --host $IP_S --port "$port" --sni "$sni" "$@" 2>&1)
	if ! grep -q '"protocol":"TLSv1' <<<"$out" || grep -q '"error"' <<<"$out"; then
		peer_failed "$sni" "$out"
		return 1
	fi
	HS_MADE=$((HS_MADE + 1))
}
# openssl s_client: SNI PORT [s_client args]
ossl_hs() {
	local sni=$1 port=$2 out
	shift 2
	out=$(printf 'GET / HTTP/1.0\r\n\r\n' |
		in_c timeout 15 openssl s_client -brief -connect $IP_S:"$port" -servername "$sni" "$@" 2>&1)
	if ! grep -q 'CONNECTION ESTABLISHED' <<<"$out"; then
		peer_failed "$sni" "$out"
		return 1
	fi
	HS_MADE=$((HS_MADE + 1))
}
# The cases (row: sni verdict reason group version port ch_segments).
hs_hybrid() {  # SNI
	node_hs "$1" 443 && expect "$1 hybrid - X25519MLKEM768 TLS1.3 443 2"
}
hs_client_no_pq() {  # SNI
	ossl_hs "$1" 443 && expect "$1 classical client-no-pq x25519 TLS1.3 443 1"
}
hs_tls12() {  # SNI
	ossl_hs "$1" 443 -tls1_2 && expect "$1 classical tls12 x25519 TLS1.2 443 1"
}
hs_declined() {  # SNI
	node_hs "$1" 8443 && expect "$1 classical server-declined x25519 TLS1.3 8443 2"
}
# the mix of one run; $1 = SNI prefix
hs_mix() {
	if [ -n "$NODE" ]; then
		hs_hybrid "$1-hybrid.kx.test"
		hs_declined "$1-declined.kx.test"
	fi
	hs_client_no_pq "$1-classic.kx.test"
	hs_tls12 "$1-tls12.kx.test"
}

# ---- kexwatch ---------------------------------------------------------------------------
# start_kw NAME ARGS...: kexwatch live in the server namespace; waits for it
# to report that it is capturing.
start_kw() {
	local name=$1
	shift
	KW_ERR="$T/$name.err"
	ip netns exec "$NS_S" "$KW" live -i "$DEV_S" --flush-interval 1 --status-interval 0 "$@" \
		>"$T/$name.out" 2>"$KW_ERR" </dev/null &
	KW_PID=$!
	for _ in $(seq 300); do
		if grep -q 'capturing on' "$KW_ERR" 2>/dev/null; then
			# signals and /proc checks go to kexwatch itself
			[ "$(readlink /proc/$KW_PID/exe)" = "$KW" ] || bail "pid $KW_PID is not $KW"
			return 0
		fi
		kill -0 "$KW_PID" 2>/dev/null || break
		sleep 0.1
	done
	bail "kexwatch live ($name) did not start"
}
# stop_kw SIGNAL: sends it, waits; the exit status is in KW_RC.
stop_kw() {
	kill -"$1" "$KW_PID"
	{ wait "$KW_PID"; } 2>/dev/null   # (no "Killed" job notice)
	KW_RC=$?
	KW_PID=
}
exit_status_is() {  # want
	[ "$KW_RC" = "$1" ] && return 0
	echo "exit status $KW_RC, wanted $1"
	tail -n 15 "$KW_ERR"
	return 1
}
wait_rows() {  # db n
	"$PY" "$CHECK" wait-rows "$1" "$2" 10
}
scrape() {  # file
	if command -v curl >/dev/null 2>&1; then
		in_s curl -sf --max-time 5 -o "$1" "http://127.0.0.1:$METRICS_PORT/metrics"
	else
		in_s "$PY" -c 'import sys, urllib.request as u
open(sys.argv[1], "wb").write(u.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[2], timeout=5).read())' \
			"$1" "$METRICS_PORT"
	fi
}
# metrics are rendered once a second: retry the assertion for a few seconds
metrics_check() {  # desc kxcheck-metrics-args...
	local desc=$1
	shift
	for _ in $(seq 30); do
		scrape "$T/metrics.txt" && "$PY" "$CHECK" metrics "$T/metrics.txt" "$@" >/dev/null 2>&1 && break
		sleep 0.2
	done
	check "$desc" "$PY" "$CHECK" metrics "$T/metrics.txt" "$@"
}
is_sanitized() {
	nm -D "$KW" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle' ||
		ldd "$KW" 2>/dev/null | grep -q 'libasan\|libubsan'
}

# ==== 1. main run: verdicts, metrics, SIGHUP, SIGTERM ====================================
note "main run: every verdict, /metrics, SIGHUP, SIGTERM"
D="$T/main"
mkdir "$D"
SPEC="$D/expected"
: >"$SPEC"
HS_MADE=0
start_kw main --db "$D/kx.db" --json "$D/events.json" --metrics-listen 127.0.0.1:$METRICS_PORT
hs_mix main
if [ -n "$NODE" ]; then
	hs_hybrid main-hybrid2.kx.test
fi
N_HYBRID=$(grep -c ' hybrid ' "$SPEC")
N_MAIN=$HS_MADE
check "main: $N_MAIN handshakes committed within 10 s" wait_rows "$D/kx.db" "$N_MAIN"

HYB_SERIES='kexwatch_handshakes_total{protocol="tls",group="X25519MLKEM768",verdict="hybrid",reason="none"}'
if [ "$N_HYBRID" -gt 0 ]; then HYB_CHECK=(--eq "$HYB_SERIES=$N_HYBRID"); else HYB_CHECK=(--absent "$HYB_SERIES"); fi
metrics_check "metrics: kexwatch_handshakes_total{group=X25519MLKEM768,verdict=hybrid} = $N_HYBRID; packets > 0" \
	"${HYB_CHECK[@]}" \
	--eq "kexwatch_handshakes_total{verdict=\"classical\",reason=\"client-no-pq\"}=1" \
	--eq "kexwatch_handshakes_total{verdict=\"classical\",reason=\"tls12\"}=1" \
	--eq "kexwatch_handshakes_total=$N_MAIN" \
	--eq "kexwatch_db_rows_written_total=$N_MAIN" \
	--gt "kexwatch_packets_total=0" \
	--gt "kexwatch_capture_packets_received_total{interface=\"$DEV_S\"}=0" \
	--eq "kexwatch_capture_packets_dropped_total=0"
if command -v promtool >/dev/null 2>&1; then
	check "promtool check metrics on the scraped /metrics" bash -c "promtool check metrics <'$T/metrics.txt'"
else
	note "SKIP promtool check metrics: promtool is not installed"
fi

# SIGHUP: the old file keeps the events so far, the new one gets the next
mv "$D/events.json" "$D/events.json.1"
kill -HUP "$KW_PID"
for _ in $(seq 50); do [ -e "$D/events.json" ] && break; sleep 0.1; done
check "SIGHUP: $D/events.json reopened (recreated)" test -e "$D/events.json"
check "SIGHUP: kexwatch still running" kill -0 "$KW_PID"
cp "$SPEC" "$D/expected.1"
SPEC="$D/expected.2"
: >"$SPEC"
HS_BEFORE=$HS_MADE
if [ -n "$NODE" ]; then hs_hybrid main-rotated.kx.test; else hs_client_no_pq main-rotated.kx.test; fi
N_MAIN=$HS_MADE
check "main: the handshake after SIGHUP committed" wait_rows "$D/kx.db" "$N_MAIN"
check "SIGHUP: the new JSON file holds exactly the event after SIGHUP" \
	"$PY" "$CHECK" json "$D/events.json" "$D/expected.2"
check "SIGHUP: the moved JSON file holds exactly the $HS_BEFORE events before" \
	"$PY" "$CHECK" json "$D/events.json.1" "$D/expected.1"

"$PY" "$CHECK" hwm "$KW_PID" -v 2>&1 >/dev/null | sed 's/^/# main run memory: /'
stop_kw TERM
check "main: SIGTERM -> exit status 0" exit_status_is 0
cat "$D/expected.1" "$D/expected.2" >"$D/expected"
N_HYBRID=$(grep -c ' hybrid ' "$D/expected")
check "main: rows (sni, verdict, reason, group, version, port, segments) exact; JSON = DB" \
	"$PY" "$CHECK" rows "$D/kx.db" "$D/expected" --client-ip $IP_C --server-ip $IP_S \
	--json "$D/events.json.1" --json "$D/events.json"
check "main: PRAGMA integrity_check = ok" "$PY" "$CHECK" integrity "$D/kx.db"
check "main: runs row finished, capture counters" "$PY" "$CHECK" run "$D/kx.db" --finished yes \
	--eq handshakes="$N_MAIN" --eq hs_total="$N_MAIN" --eq hs_hybrid="$N_HYBRID" \
	--eq db_rows_written="$N_MAIN" --eq db_errors=0 --gt packets=0 --gt capture_received=0 \
	--eq capture_dropped=0 --eq hs_incomplete=0
check "main: summary on stderr" grep -q "handshakes" "$KW_ERR"

# ==== 2. kill -9 =============================================================================
note "kill -9: rows older than --flush-interval survive, the file stays consistent"
D="$T/kill9"
mkdir "$D"
SPEC="$D/expected"
: >"$SPEC"
HS_MADE=0
start_kw kill9 --db "$D/kx.db" --json "$D/events.json"
hs_mix k9
N_EARLY=$HS_MADE
sleep 2.2   # > --flush-interval 1 (+ the one-second tick)
SPEC="$D/optional"
: >"$SPEC"
if [ -n "$NODE" ]; then hs_hybrid k9-late.kx.test; else hs_client_no_pq k9-late.kx.test; fi
stop_kw KILL
check "kill9: killed by SIGKILL (status 137)" exit_status_is 137
check "kill9: PRAGMA integrity_check = ok" "$PY" "$CHECK" integrity "$D/kx.db"
check "kill9: the $N_EARLY rows made > 2 s before the kill are there (the last may be)" \
	"$PY" "$CHECK" rows "$D/kx.db" "$D/expected" --optional "$D/optional"
check "kill9: runs row left unfinished" "$PY" "$CHECK" run "$D/kx.db" --finished no
check "kill9: 'kexwatch hops' reads the database" "$KW" hops --db "$D/kx.db"
check "kill9: JSON events flushed with the commits (at least the early ones)" \
	"$PY" "$CHECK" json "$D/events.json" "$D/expected" --optional "$D/optional"

# ==== 3. --user nobody ========================================================================
# The directory is root's (0755): nobody cannot create files there, so this
# only works because kexwatch hands the files it created over before dropping.
note "--user nobody: privileges dropped on every thread, capture continues"
D="$T/user"
mkdir "$D"
SPEC="$D/expected"
: >"$SPEC"
HS_MADE=0
NB_UID=$(id -u nobody)
NB_GID=$(id -g nobody)
start_kw user --db "$D/kx.db" --json "$D/events.json" --user nobody \
	--metrics-listen 127.0.0.1:$METRICS_PORT
check "user: uid/gid $NB_UID/$NB_GID, CapEff/CapPrm/CapAmb 0 (all threads)" \
	"$PY" "$CHECK" creds "$KW_PID" "$NB_UID" "$NB_GID"
check "user: no_new_privs on every thread" "$PY" "$CHECK" nnp "$KW_PID"
check "user: files created as root handed to nobody" bash -c "
	for f in '$D/kx.db' '$D/kx.db-wal' '$D/kx.db-shm' '$D/events.json'; do
		o=\$(stat -c %u:%g \"\$f\") || exit 1
		[ \"\$o\" = '$NB_UID:$NB_GID' ] || { echo \"\$f owned by \$o\"; exit 1; }
	done"
if [ -n "$NODE" ]; then hs_hybrid user-hybrid.kx.test; fi
hs_client_no_pq user-classic.kx.test
check "user: handshakes recorded as nobody" wait_rows "$D/kx.db" "$HS_MADE"
metrics_check "user: /metrics still served after dropping root" \
	--eq "kexwatch_handshakes_total=$HS_MADE"
# logrotate's way (contrib/logrotate/kexwatch: rename, `create` the new
# file for the user, SIGHUP)
cp "$SPEC" "$D/expected.1"
SPEC="$D/expected.2"
: >"$SPEC"
mv "$D/events.json" "$D/events.json.1"
install -m 640 -o nobody -g "$NB_GID" /dev/null "$D/events.json"
kill -HUP "$KW_PID"
sleep 0.5
hs_tls12 user-rotated.kx.test
check "user: handshake after SIGHUP committed" wait_rows "$D/kx.db" "$HS_MADE"
stop_kw TERM
check "user: SIGTERM -> exit status 0" exit_status_is 0
cat "$D/expected.1" "$D/expected.2" >"$D/expected"
check "user: rows exact; JSON = DB" "$PY" "$CHECK" rows "$D/kx.db" "$D/expected" \
	--json "$D/events.json.1" --json "$D/events.json"
check "user: logrotate-style SIGHUP: the new file holds exactly the new event" \
	"$PY" "$CHECK" json "$D/events.json" "$D/expected.2"
check "user: PRAGMA integrity_check = ok; runs row finished" bash -c \
	"'$PY' '$CHECK' integrity '$D/kx.db' && '$PY' '$CHECK' run '$D/kx.db' --finished yes --eq db_errors=0 --eq handshakes=$HS_MADE"

# ---- 3b. SIGHUP when the JSON file cannot be reopened ---------------------------
# json_out.c opens the new file before closing the old one "so a failure
# keeps events flowing to the old file"; the capture must go on.
note "--user nobody, SIGHUP with the JSON file moved away and its directory unwritable"
D="$T/hupfail"
mkdir "$D"
SPEC="$D/expected"
: >"$SPEC"
HS_MADE=0
start_kw hupfail --db "$D/kx.db" --json "$D/events.json" --user nobody
hs_client_no_pq hupfail-before.kx.test
wait_rows "$D/kx.db" 1 >/dev/null
mv "$D/events.json" "$D/events.json.1"
kill -HUP "$KW_PID"
sleep 1.5
kill -0 "$KW_PID" 2>/dev/null && HUPFAIL_ALIVE=yes || HUPFAIL_ALIVE=no
hs_client_no_pq hupfail-after.kx.test
[ "$HUPFAIL_ALIVE" = yes ] && wait_rows "$D/kx.db" 2 >/dev/null
stop_kw TERM 2>/dev/null
hupfail_ok() {
	local bad=0
	[ "$HUPFAIL_ALIVE" = yes ] || { echo "kexwatch exited after the SIGHUP"; bad=1; }
	exit_status_is 0 || bad=1
	"$PY" "$CHECK" rows "$D/kx.db" "$D/expected" || bad=1
	return $bad
}
check "hupfail: capture and database go on after a failed JSON reopen" hupfail_ok
check "hupfail: PRAGMA integrity_check = ok" "$PY" "$CHECK" integrity "$D/kx.db"

# ==== 4. SYN flood ==============================================================================
note "flood: 200 000 SYNs from distinct sources, --max-flows 5000 --max-handshakes 512"
D="$T/flood"
mkdir "$D"
SPEC="$D/expected"
: >"$SPEC"
HS_MADE=0
FLOOD_N=${KX_FLOOD_COUNT:-200000}
start_kw flood --db "$D/kx.db" --max-flows 5000 --max-handshakes 512
RSS0=$("$PY" "$CHECK" rss "$KW_PID")
ip netns exec "$NS_C" "$PY" "$HERE/synflood.py" "$DEV_C" --dst-mac $MAC_S --count "$FLOOD_N" \
	--pps "${KX_FLOOD_PPS:-100000}" --half-file "$D/half" --until-file "$D/done" \
	>"$T/synflood.log" 2>&1 &
FLOOD_PID=$!
PIDS+=("$FLOOD_PID")
for _ in $(seq 200); do
	[ -e "$D/half" ] && break
	kill -0 $FLOOD_PID 2>/dev/null || break
	sleep 0.05
done
[ -e "$D/half" ] || bail "SYN flood sender did not start"
hs_mix flood
# Before the sender is told to stop: it polls for the file and may be gone
# by the time a check after the touch runs.
check "flood: the real handshakes were made while the flood was on" kill -0 $FLOOD_PID
touch "$D/done"
wait $FLOOD_PID
FLOOD_RC=$?
check "flood: sender ($(cat "$T/synflood.log"))" test $FLOOD_RC = 0
check "flood: the $HS_MADE real handshakes committed" wait_rows "$D/kx.db" "$HS_MADE"
sleep 1.2   # one more tick: pcap_stats and counters settle
HWM=$("$PY" "$CHECK" hwm "$KW_PID" -v 2>"$T/flood.mem")
RING=$("$PY" "$CHECK" ring "$KW_PID")
stop_kw TERM
check "flood: SIGTERM -> exit status 0" exit_status_is 0
check "flood: the real handshakes recorded with their verdicts (nothing else)" \
	"$PY" "$CHECK" rows "$D/kx.db" "$D/expected"
check "flood: flows evicted (table full), ~all SYNs seen" "$PY" "$CHECK" run "$D/kx.db" \
	--finished yes --gt flows_evicted_full=0 --gt flows_evicted=0 \
	--ge capture_received="$FLOOD_N" --ge flows_created="$((FLOOD_N * 9 / 10))" --eq db_errors=0
check "flood: PRAGMA integrity_check = ok" "$PY" "$CHECK" integrity "$D/kx.db"
note "flood memory: start-up VmRSS $RSS0 kB; at the end $(cat "$T/flood.mem"); packet ring $RING kB"
# RssFile includes the kernel packet ring (--buffer-size, 32 MiB by default,
# mapped in full at start-up): the bound is on the rest, kexwatch's own heap,
# stacks, binary and libraries, with the ring's size checked beside it.
check "flood: the packet ring is about --buffer-size (32 MiB; libpcap rounds it up to whole blocks): $RING KiB" \
	test "$RING" -le 65536
if is_sanitized; then
	note "flood: peak RSS not bounded in a sanitizer build (shadow memory); growth is, below"
else
	check "flood: peak RSS without the packet ring $((HWM - RING)) KiB < 48 MiB" test $((HWM - RING)) -lt 49152
fi
check "flood: peak RSS grew $((HWM - RSS0)) KiB over start-up (< 16 MiB)" \
	test $((HWM - RSS0)) -lt 16384

# ==================================================================================================
echo "1..$N"
note "$((N - FAILED - TODOS))/$N passed, $FAILED failed, $TODOS known kexwatch bugs (TODO)," \
	"in $((SECONDS - T0)) s${NODE:+ (with Node hybrid peers)}"
if [ -z "$NODE" ]; then
	note "WARNING: Node 24 was not available; hybrid cases not run"
fi
[ "$FAILED" = 0 ]
