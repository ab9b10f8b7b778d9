#!/bin/sh
# check_contrib.sh [TEST_METRICS]: checks the operations files in contrib/.
#
#   systemd   systemd-analyze verify of contrib/systemd/kexwatch.service (a copy
#             whose ExecStart points at a stub, since kexwatch is not
#             installed), any warning about the unit counts as a failure;
#             systemd-analyze security --offline must stay at or below 3.0;
#             systemd-sysusers --dry-run of kexwatch.sysusers
#   logrotate logrotate -d on contrib/logrotate/kexwatch, then a real rotation
#             in a scratch directory (paths, owner and the reload command
#             swapped for scratch ones)
#   promtool  check config, check rules, test rules (kexwatch-rules.test.yml),
#             and, given the test_metrics binary, check metrics on the
#             exposition it dumps (test_metrics --dump FILE)
#
# Exit status: 0 all checks ran and passed; 1 a check failed; 77 (skip) no
# check failed but a tool was missing, named on stderr. Debian packages:
# systemd, logrotate, prometheus (for promtool).
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
contrib=$root/contrib
test_metrics=${1:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kx-contrib.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

failed=0
missing=""

pass() { echo "ok - $1"; }
fail() {
	echo "not ok - $1"
	[ -s "$tmp/out" ] && sed 's/^/    /' "$tmp/out"
	failed=1
}
# run NAME CMD...: passes when CMD exits 0
run() {
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then pass "$name"; else fail "$name"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# --- systemd ---
if have systemd-analyze; then
	mkdir -p "$tmp/unit"
	printf '#!/bin/sh\nexit 0\n' >"$tmp/unit/kexwatch"
	chmod 0755 "$tmp/unit/kexwatch"
	unit=$tmp/unit/kexwatch.service
	sed "s|/usr/local/bin/kexwatch|$tmp/unit/kexwatch|" "$contrib/systemd/kexwatch.service" >"$unit"
	if ! grep -q "^ExecStart=$tmp/unit/kexwatch " "$unit"; then
		: >"$tmp/out"
		fail "systemd: ExecStart is /usr/local/bin/kexwatch"
	fi
	# verify only warns (exit 0) about unknown or bad settings: any line
	# naming the unit is a failure. Unrelated host noise is ignored.
	systemd-analyze verify "$unit" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && ! grep -q "kexwatch" "$tmp/out"; then
		pass "systemd-analyze verify kexwatch.service"
	else
		fail "systemd-analyze verify kexwatch.service (exit $rc)"
	fi
	run "systemd-analyze security: exposure <= 3.0" \
		systemd-analyze security --offline=yes --threshold=30 "$unit"
	if have systemd-sysusers; then
		run "systemd-sysusers --dry-run kexwatch.sysusers" \
			systemd-sysusers --dry-run --root="$tmp/unit" "$contrib/systemd/kexwatch.sysusers"
	fi
else
	missing="$missing systemd-analyze"
fi

# --- logrotate ---
if have logrotate; then
	lr=$tmp/logrotate
	mkdir -p "$lr/log"
	printf '{"verdict":"hybrid"}\n' >"$lr/log/events.json"
	# logrotate ignores configuration files that others can write.
	cp "$contrib/logrotate/kexwatch" "$lr/as-shipped.conf"
	chmod 0644 "$lr/as-shipped.conf"
	if id kexwatch >/dev/null 2>&1; then
		run "logrotate -d (as shipped)" logrotate -d -s "$lr/state0" "$lr/as-shipped.conf"
	fi
	user=$(id -un)
	group=$(id -gn)
	sed -e "s|/var/log/kexwatch|$lr/log|" \
		-e "s|create 0640 kexwatch kexwatch|create 0640 $user $group|" \
		-e "s|systemctl reload kexwatch.service.*|echo reloaded >>$lr/reloaded|" \
		"$contrib/logrotate/kexwatch" >"$lr/scratch.conf"
	chmod 0644 "$lr/scratch.conf"
	logrotate -d -f -s "$lr/state1" "$lr/scratch.conf" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q "rotating pattern" "$tmp/out" && ! grep -qi "error" "$tmp/out"; then
		pass "logrotate -d"
	else
		fail "logrotate -d (exit $rc)"
	fi
	logrotate -f -s "$lr/state2" "$lr/scratch.conf" >"$tmp/out" 2>&1
	rc=$?
	mode=$(stat -c %a "$lr/log/events.json" 2>/dev/null)
	if [ $rc -eq 0 ] && [ -s "$lr/log/events.json.1" ] && [ -f "$lr/log/events.json" ] &&
		[ ! -s "$lr/log/events.json" ] && [ "$mode" = 640 ] && [ -s "$lr/reloaded" ]; then
		pass "logrotate: renamed, recreated 0640, reload ran"
	else
		{ echo "exit $rc, mode '$mode'"; ls -l "$lr/log" "$lr"; } >>"$tmp/out"
		fail "logrotate rotation"
	fi
else
	missing="$missing logrotate"
fi

# --- Prometheus ---
if have promtool; then
	run "promtool check config prometheus.yml" \
		promtool check config "$contrib/prometheus/prometheus.yml"
	run "promtool check rules kexwatch-rules.yml" \
		promtool check rules "$contrib/prometheus/kexwatch-rules.yml"
	run "promtool test rules kexwatch-rules.test.yml" \
		promtool test rules "$contrib/prometheus/kexwatch-rules.test.yml"
	if [ -n "$test_metrics" ]; then
		if "$test_metrics" --dump "$tmp/metrics.prom" >"$tmp/out" 2>&1; then
			# check metrics exits 0 but prints lint findings: none allowed
			promtool check metrics <"$tmp/metrics.prom" >"$tmp/out" 2>&1
			rc=$?
			if [ $rc -eq 0 ] && [ ! -s "$tmp/out" ]; then
				pass "promtool check metrics (test_metrics --dump)"
			else
				fail "promtool check metrics (exit $rc)"
			fi
		else
			fail "test_metrics --dump"
		fi
	else
		echo "# no test_metrics binary given: exposition not checked"
	fi
else
	missing="$missing promtool"
fi

if [ $failed -ne 0 ]; then
	echo "check_contrib: FAILED" >&2
	exit 1
fi
if [ -n "$missing" ]; then
	echo "check_contrib: SKIP: not installed:$missing (Debian: systemd, logrotate, prometheus)" >&2
	exit 77
fi
echo "check_contrib: all checks passed"
exit 0
