#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A regression noticed live: `kexwatch live` on the server end of a veth
# between two network namespaces while a Node 24 / OpenSSL 3.5 server
# (contrib/pcapgen/tlspeer.js) is hybrid, then restarted with a classical
# group list (X25519:P-256) mid-capture. The same client keeps offering
# X25519MLKEM768, so each handshake after the restart is server-declined:
# kexwatch_regressions_total{kind="hybrid-to-classical"} counts every one,
# stderr has exactly one line for the endpoint (one per hour), and the rows
# and JSON events carry regression = 1/true. A second run on the same
# database starts with the endpoint remembered from the inventory.
#
#   usage: test_live_regress.sh KEXWATCH SOURCE_ROOT
# Needs root and `ip netns` (exit 77 = skip otherwise) and Node 24 from
# /var/cache/kexwatch-pcapgen (fetched here with npm pack through
# contrib/pcapgen/lib.sh when missing): without it the test skips, unless CI
# is set (then it fails).
set -u
KW=$(readlink -f "$1")
SRC=$(readlink -f "$2")
[ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1 || { echo "1..0 # SKIP needs root and ip netns"; exit 77; }
NODE=${KX_NODE:-/var/cache/kexwatch-pcapgen/node-24.11.0/package/bin/node}
if [ ! -x "$NODE" ] && [ -z "${KX_NODE:-}" ] && command -v npm >/dev/null 2>&1; then
	echo "# Node 24 not cached: fetching it with npm pack (contrib/pcapgen/lib.sh)"
	timeout 120 bash -c ". '$SRC/contrib/pcapgen/lib.sh'; kx_ensure_node" 2>&1 | sed 's/^/# /'
fi
if [ ! -x "$NODE" ]; then
	[ -n "${CI:-}" ] && { echo "Bail out! Node 24 missing at $NODE (contrib/pcapgen/lib.sh kx_ensure_node)"; exit 1; }
	echo "1..0 # SKIP Node 24 not at $NODE (run contrib/pcapgen/make-all.sh list after kx_ensure_node)"; exit 77
fi
PEER="$SRC/contrib/pcapgen/tlspeer.js"
C=kxrg-$$-c S=kxrg-$$-s T=$(mktemp -d) PORT=9791
fails=0 n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
cleanup() {
	[ -n "${KP:-}" ] && kill "$KP" 2>/dev/null
	ip netns pids "$S" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns pids "$C" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$C" 2>/dev/null; ip netns del "$S" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$C" && ip netns add "$S" || exit 1
ip link add kxrg$$c netns "$C" type veth peer name kxrg$$s netns "$S"
ip -n "$C" addr add 198.19.1.1/24 dev kxrg$$c && ip -n "$C" link set kxrg$$c up
ip -n "$S" addr add 198.19.1.2/24 dev kxrg$$s && ip -n "$S" link set kxrg$$s up
ip -n "$C" link set lo up && ip -n "$S" link set lo up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k" -out "$T/c" \
	-days 2 -subj /CN=kx.test 2>/dev/null

start_kw() {  # run
	ip netns exec "$S" "$KW" live -i kxrg$$s --db "$T/kx.db" --json "$T/ev$1.json" \
		--status-interval 0 --metrics-listen 127.0.0.1:$PORT 2>"$T/err$1" &
	KP=$!
	for _ in $(seq 100); do
		ip netns exec "$S" python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/metrics', timeout=1)" \
			2>/dev/null && break
		sleep 0.1
	done
}
stop_kw() { kill -TERM "$KP"; wait "$KP"; KP=; }
server() {  # groups...
	rm -f "$T/ready"
	ip netns exec "$S" "$NODE" "$PEER" server --port 443 --key "$T/k" --cert "$T/c" --ready "$T/ready" \
		"$@" >>"$T/server.log" 2>&1 &
	SP=$!
	for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
}
client() { ip netns exec "$C" "$NODE" "$PEER" client --host 198.19.1.2 --port 443 --sni s1.kx.test >>"$T/client.log" 2>&1; }
metric() {  # kind
	ip netns exec "$S" python3 - "$PORT" "$1" <<'PY'
import re, sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
m = re.search(r'^kexwatch_regressions_total\{[^}]*kind="%s"\} (\d+)$' % re.escape(sys.argv[2]), text, re.M)
print(m.group(1) if m else "missing")
PY
}
wait_rows() {  # n
	for _ in $(seq 50); do
		[ "$(grep -c '"protocol":"tls"' "$T/ev$RUN.json" 2>/dev/null)" -ge "$1" ] && break
		sleep 0.2
	done
	sleep 1.2  # one metrics publish (once a second)
}

RUN=1
start_kw 1
server
client; client
wait_rows 2
ok "$([ "$(metric hybrid-to-classical)" = 0 ] && echo 0)" "hybrid handshakes are no regression"
kill "$SP"; wait "$SP" 2>/dev/null
server --groups X25519:P-256
client; client; client
wait_rows 5
got=$(metric hybrid-to-classical)
ok "$([ "$got" = 3 ] && echo 0)" "restarted classical: kexwatch_regressions_total{kind=\"hybrid-to-classical\"} 3 (got $got)"
got=$(metric pq-offer-dropped)
ok "$([ "$got" = 0 ] && echo 0)" "the client still offers PQ: pq-offer-dropped 0 (got $got)"
stop_kw
lines=$(grep -c 'regression hybrid-to-classical: 198.19.1.2 port 443 SNI s1.kx.test' "$T/err1")
ok "$([ "$lines" = 1 ] && echo 0)" "logged once for the endpoint (got $lines lines)"
got=$(python3 -c "
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(';'.join('%s %s %s' % r for r in con.execute(
    'SELECT verdict, coalesce(reason, \"-\"), regression FROM handshakes ORDER BY ts_first_us')))" "$T/kx.db")
want="hybrid - 0;hybrid - 0;classical server-declined 1;classical server-declined 1;classical server-declined 1"
ok "$([ "$got" = "$want" ] && echo 0)" "rows marked: $got"
got=$(grep -o '"regression":[a-z]*' "$T/ev1.json" | tr '\n' ' ')
ok "$([ "$got" = '"regression":false "regression":false "regression":true "regression":true "regression":true ' ] && echo 0)" \
	"JSON events: $got"

# A new run remembers the endpoint from the inventory.
RUN=2
start_kw 2
client
wait_rows 1
got=$(metric hybrid-to-classical)
ok "$([ "$got" = 1 ] && echo 0)" "second run, seeded from the inventory: 1 regression (got $got)"
stop_kw
lines=$(grep -c 'regression hybrid-to-classical' "$T/err2")
ok "$([ "$lines" = 1 ] && echo 0)" "second run logs it once (got $lines)"

# --regress-max 0: off.
RUN=3
ip netns exec "$S" "$KW" live -i kxrg$$s --db "$T/kx.db" --json "$T/ev3.json" --regress-max 0 \
	--status-interval 0 2>"$T/err3" &
KP=$!
for _ in $(seq 50); do grep -q . "$T/err3" 2>/dev/null; sleep 0.1; done
client
wait_rows 1
stop_kw
got=$(grep -c '"regression":true' "$T/ev3.json")
ok "$([ "$got" = 0 ] && ! grep -q regression "$T/err3" && echo 0)" "--regress-max 0: nothing noticed (got $got)"

echo "1..$n"
[ "$fails" = 0 ] || { echo "# stderr of run 1:"; sed 's/^/# /' "$T/err1"; }
exit $((fails > 0))
