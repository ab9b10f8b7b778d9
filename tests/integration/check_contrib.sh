#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
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
#   promtool  check config (prometheus.yml, prometheus-federation.yml with
#             its file_sd file; a warning such as a missing file_sd file
#             counts as a failure), check rules and test rules
#             (kexwatch-rules.yml, kexwatch-fleet-rules.yml), and, given the
#             test_metrics binary, check metrics on the exposition it dumps
#             (test_metrics --dump FILE)
#   prometheus  given test_metrics: a real Prometheus server runs
#             prometheus-federation.yml (a copy with 1 s intervals and one
#             more file_sd file naming a local target that serves the dumped
#             exposition) and must: load both rule files and evaluate every
#             rule without error; list every static and file_sd target with
#             its sensor and criticality labels; keep the exposition's own
#             sensor label on every kexwatch_* series (honor_labels: no
#             exported_sensor), one series per sample line of the dump; put
#             the target's sensor label on up; record
#             sensor:kexwatch_handshakes_deciding:increase1h for that sensor;
#             and raise no KexwatchSensorNotScraped/KexwatchSensorNameConflict
#             (not even pending) for it
#
# Exit status: 0 all checks ran and passed; 1 a check failed; 77 (skip) no
# check failed but a tool was missing, named on stderr. Debian packages:
# systemd, logrotate, prometheus (promtool and the server).
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
# run_clean NAME CMD...: passes when CMD exits 0 and prints no warning
run_clean() {
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1 && ! grep -q "WARNING" "$tmp/out"; then pass "$name"; else fail "$name"; fi
}
prom=$contrib/prometheus
if have promtool; then
	for f in prometheus.yml prometheus-federation.yml; do
		run_clean "promtool check config $f" promtool check config "$prom/$f"
	done
	for f in kexwatch-rules kexwatch-fleet-rules; do
		run "promtool check rules $f.yml" promtool check rules "$prom/$f.yml"
		run "promtool test rules $f.test.yml" promtool test rules "$prom/$f.test.yml"
	done
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

# --- Prometheus server running the fleet configuration ---
if [ -z "$test_metrics" ]; then
	echo "# no test_metrics binary given: fleet configuration not run"
elif ! have prometheus; then
	missing="$missing prometheus"
elif ! have python3; then
	missing="$missing python3"
else
	fleet=$tmp/fleet
	mkdir -p "$fleet"
	cp "$prom"/*.yml "$fleet/"
	# Fast intervals; one more file_sd file (the glob) for the local target.
	sed -i -e 's/^\(  *\)\(scrape\|evaluation\)_interval: 15s/\1\2_interval: 1s/' \
		-e 's/scrape_timeout: 5s/scrape_timeout: 1s/' \
		-e 's/files: \[kexwatch-sensors.yml\]/files: [kexwatch-sensors*.yml]/' \
		"$fleet/prometheus-federation.yml"
	sed -i 's/^    interval: 5m$/    interval: 1s/' "$fleet/kexwatch-fleet-rules.yml"
	if "$test_metrics" --dump "$fleet/metrics.prom" >"$tmp/out" 2>&1 &&
		grep -q 'files: \[kexwatch-sensors\*.yml\]' "$fleet/prometheus-federation.yml" &&
		! grep -q '_interval: 15s\|^    interval: 5m' "$fleet/prometheus-federation.yml" "$fleet/kexwatch-fleet-rules.yml"; then
		python3 - "$fleet" >"$tmp/fleet.out" 2>&1 <<'EOF'
import calendar, json, os, re, socket, subprocess, sys, threading, time, urllib.parse, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

d = sys.argv[1]
body = open(os.path.join(d, "metrics.prom"), "rb").read()
samples = [l for l in body.decode().splitlines() if l.strip() and not l.startswith("#")]
sensor = re.search(r'sensor="([^"]*)"', samples[0]).group(1)


class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        if self.path == "/metrics":
            self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
target = f"127.0.0.1:{srv.server_address[1]}"
with open(os.path.join(d, "kexwatch-sensors-local.yml"), "w") as f:
    f.write(f"- targets: ['{target}']\n  labels:\n    sensor: {sensor}\n    criticality: critical\n")
s = socket.socket()
s.bind(("127.0.0.1", 0))
web = f"127.0.0.1:{s.getsockname()[1]}"
s.close()
log = open(os.path.join(d, "prometheus.log"), "w")
p = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(d, "prometheus-federation.yml"),
                      "--storage.tsdb.path=" + os.path.join(d, "data"), "--web.listen-address=" + web],
                     stdout=log, stderr=subprocess.STDOUT)
failed = 0


def check(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    failed |= not cond


def api(path, **q):
    url = f"http://{web}/api/v1/{path}" + ("?" + urllib.parse.urlencode(q) if q else "")
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]


def query(expr):
    return api("query", query=expr)["result"]


def wait(cond, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if cond():
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


try:
    check(wait(lambda: query(f'up{{sensor="{sensor}"}} == 1')), f"prometheus scrapes {target} (up{{sensor=\"{sensor}\"}} == 1)")
    # Rules evaluated after that scrape: every group evaluated twice more.
    t0 = time.time()
    groups = lambda: api("rules")["groups"]
    wait(lambda: all(g["rules"] and g["lastEvaluation"] and
                     calendar.timegm(time.strptime(g["lastEvaluation"][:19], "%Y-%m-%dT%H:%M:%S")) > t0 + 1
                     for g in groups()), 30)
    gs = groups()
    names = sorted(g["name"] for g in gs)
    check(names == ["kexwatch-alerts", "kexwatch-fleet-1d", "kexwatch-fleet-1h", "kexwatch-fleet-alerts",
                    "kexwatch-recording"], f"rule groups loaded: {names}")
    bad = [(r["name"], r.get("lastError")) for g in gs for r in g["rules"] if r.get("health") != "ok"]
    check(not bad and sum(len(g["rules"]) for g in gs) == 24, f"24 rules evaluated without error {bad}")
    tg = api("targets")["activeTargets"]
    labels = sorted((t["labels"].get("sensor", ""), t["labels"].get("criticality", "")) for t in tg)
    check(len(tg) == 7 and all(l[0] and l[1] in ("critical", "normal") for l in labels) and
          len(set(l[0] for l in labels)) == 7, f"7 targets, each with its own sensor and a criticality: {labels}")
    exported = query('{__name__=~"kexwatch_.+", exported_sensor!=""}')
    check(exported == [], f"no exported_sensor label ({len(exported)} series)")
    own = query(f'count({{__name__=~"kexwatch_.+", sensor="{sensor}", job="kexwatch", instance="{target}", criticality="critical"}})')
    n = int(own[0]["value"][1]) if own else 0
    check(n == len(samples), f"{n} kexwatch_* series with sensor=\"{sensor}\", one per sample line of the dump ({len(samples)})")
    rec = query("sensor:kexwatch_handshakes_deciding:increase1h")
    check([r["metric"] for r in rec] == [{"__name__": "sensor:kexwatch_handshakes_deciding:increase1h", "sensor": sensor}],
          f"sensor:kexwatch_handshakes_deciding:increase1h recorded for {sensor}: {rec}")
    alerts = [a for a in api("alerts")["alerts"]
              if a["labels"]["alertname"] in ("KexwatchSensorNotScraped", "KexwatchSensorNameConflict")]
    check(alerts == [], f"no KexwatchSensorNotScraped/NameConflict, not even pending: {alerts}")
finally:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    srv.shutdown()
if failed:
    print(open(os.path.join(d, "prometheus.log")).read()[-3000:])
sys.exit(1 if failed else 0)
EOF
		rc=$?
		cat "$tmp/fleet.out" >"$tmp/out"
		sed -n 's/^\(not \)\{0,1\}ok - /    # &/p' "$tmp/fleet.out"
		if [ $rc -eq 0 ]; then
			pass "prometheus runs prometheus-federation.yml: $(grep -c '^ok - ' "$tmp/fleet.out") checks"
		else
			fail "prometheus runs prometheus-federation.yml (exit $rc)"
		fi
	else
		fail "fleet configuration copy (test_metrics --dump, sed)"
	fi
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
