#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# kexwatch live on two interfaces at once: a veth joining two network
# namespaces and the server namespace's loopback. One real handshake on
# each must become one row each, with its own source and interface.
# Needs root and `ip netns`; exits 77 (skip) otherwise.
set -u
KW=$1
[ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1 || { echo "# SKIP needs root and ip netns"; exit 77; }
command -v openssl >/dev/null || { echo "Bail out! openssl missing"; exit 1; }
C=kxlm-$$-c S=kxlm-$$-s T=$(mktemp -d)
cleanup() {
	[ -n "${KP:-}" ] && kill "$KP" 2>/dev/null
	ip netns pids "$S" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$C" 2>/dev/null; ip netns del "$S" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$C" && ip netns add "$S" || exit 1
ip link add kxlm$$c netns "$C" type veth peer name kxlm$$s netns "$S"
ip -n "$C" addr add 198.19.0.1/24 dev kxlm$$c && ip -n "$C" link set kxlm$$c up
ip -n "$S" addr add 198.19.0.2/24 dev kxlm$$s && ip -n "$S" link set kxlm$$s up
ip -n "$C" link set lo up && ip -n "$S" link set lo up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k" -out "$T/c" \
	-days 2 -subj /CN=kx.test 2>/dev/null
ip netns exec "$S" "$KW" live -i kxlm$$s -i lo --db "$T/kx.db" --status-interval 0 -q \
	2>"$T/err" &
KP=$!
for _ in $(seq 100); do ip netns exec "$S" true; sleep 0.1; [ -s "$T/kx.db" ] && break; done
sleep 0.5
ip netns exec "$S" openssl s_server -accept 4433 -cert "$T/c" -key "$T/k" -www -quiet >/dev/null 2>&1 &
sleep 0.5
echo | ip netns exec "$C" timeout 5 openssl s_client -connect 198.19.0.2:4433 -servername veth.kx.test >/dev/null 2>&1
echo | ip netns exec "$S" timeout 5 openssl s_client -connect 127.0.0.1:4433 -servername lo.kx.test >/dev/null 2>&1
sleep 1.5
kill -TERM "$KP"; wait "$KP"; rc=$?; KP=
got=$(python3 -c "
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(';'.join('%s %s %s %s %s' % r for r in con.execute(
    'SELECT sni, source, interface, server_ip, verdict FROM handshakes ORDER BY sni')))" "$T/kx.db")
want="lo.kx.test lo lo 127.0.0.1 classical;veth.kx.test kxlm$$s kxlm$$s 198.19.0.2 classical"
if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
	echo "ok - two interfaces at once: one row per interface, each with its source and interface ($got)"
	exit 0
fi
echo "not ok - two interfaces: exit $rc, got '$got', want '$want'"; cat "$T/err"
exit 1
