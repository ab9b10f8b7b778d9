#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# inventory.sh: how long the reports take on a large inventory (issue 17).
# Builds a synthetic inventory with gen_inventory (once: cached by its
# parameters and the sources that decide its bytes) and folds it into the
# rollups (`kexwatch rollup`, timed), then times `hops`,
# `clients`, `health`, `audit --policy` (a small policy, below), `fingerprints` and
# `report --html` over the full range, a 1-day window and a 1-hour window
# (--since/--until), with wall and CPU seconds and peak RSS (GNU time).
# Prints a Markdown table; exits 1 if any report exits non-zero.
#
#   tests/bench/inventory.sh [--rows N] [--seed S] [--days D] [--runs R]
#                            [--reports "hops clients ..."] [--windows "full day hour"]
#
# --rows defaults to 20000000 (20 M handshakes: ~3.4 GB); --days (default 365)
# spreads them over fewer days: 2 M rows over 37 days have the rows per day
# of 20 M over a year, so windows cost what they would at 20 M (set DAY
# inside the range: the year starts 2025-01-01); --runs (default 1)
# times each report R times and keeps the median. It builds nothing. Use a
# release build:
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   BUILD=build-rel tests/bench/inventory.sh --rows 2000000
#
# Environment:
#   BUILD          build directory (default: build), relative to the repo root
#   BENCH_DIR      where the inventories go (default: /var/tmp/kexwatch-bench);
#                  kept between runs, regenerated when the rows, seed,
#                  gen_inventory.c or the store's source change
#   KEXWATCH, GEN_INVENTORY   tool paths (default: $BUILD/kexwatch,
#                  $BUILD/tests/bench/gen_inventory)
#   DAY, HOUR      the windows (default: 2025-07-01 and its 12:00 hour, inside
#                  the generator's year 2025)
# Required: python3 and GNU time (/usr/bin/time, package time).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=20000000
seed=1
days=365
runs=1
reports="hops clients health audit fingerprints html"
windows="full day hour"
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=${2:?--rows needs a number}; shift ;;
	--seed) seed=${2:?--seed needs a number}; shift ;;
	--days) days=${2:?--days needs a number}; shift ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--reports) reports=${2:?--reports needs a list}; shift ;;
	--windows) windows=${2:?--windows needs a list}; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "inventory.sh: unknown option $1 (--rows N, --seed S, --days D, --runs R, --reports LIST, --windows LIST)" >&2; exit 2 ;;
	esac
	shift
done
for v in "$rows" "$seed" "$days" "$runs"; do
	case "$v" in ''|*[!0-9]*) echo "inventory.sh: --rows, --seed, --days and --runs want numbers" >&2; exit 2 ;; esac
done
[ "$runs" -ge 1 ] && [ "$rows" -ge 1 ] && [ "$days" -ge 1 ] || { echo "inventory.sh: --rows, --days and --runs must be >= 1" >&2; exit 2; }

BUILD=${BUILD:-build}
case "$BUILD" in /*) build=$BUILD ;; *) build=$root/$BUILD ;; esac
BENCH_DIR=${BENCH_DIR:-/var/tmp/kexwatch-bench}
kexwatch=${KEXWATCH:-$build/kexwatch}
gen=${GEN_INVENTORY:-$build/tests/bench/gen_inventory}
DAY=${DAY:-2025-07-01}
HOUR=${HOUR:-${DAY}T12:00:00Z}
timebin=/usr/bin/time

die() { echo "inventory.sh: $*" >&2; exit 1; }
for x in "$kexwatch" "$gen"; do
	[ -x "$x" ] || die "$x is missing: build it first (ninja -C $BUILD; gen_inventory is built with -Dtests=true)"
done
[ -x "$timebin" ] || die "$timebin is missing: apt-get install -y time"
command -v python3 >/dev/null || die "python3 is missing"
buildtype=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo unknown)
if [ "$buildtype" != release ]; then
	echo "inventory.sh: warning: $BUILD is a '$buildtype' build; numbers are only meaningful for" \
	     "meson setup build-rel --buildtype=release" >&2
fi

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/inv.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The inventory, cached: the generator's source and the store's decide its
# bytes (a store with rollups writes a different file from the same rows).
key=$(cat "$here/gen_inventory.c" "$root"/src/store/*.c "$root"/include/kexwatch/store.h \
	2>/dev/null | sha256sum | cut -c1-12)
db=$BENCH_DIR/inventory-rows$rows-seed$seed-days$days-$key.db
if [ ! -s "$db" ]; then
	echo "inventory.sh: generating $db ($rows handshakes)" >&2
	rm -f "$db.tmp" "$db.tmp-wal" "$db.tmp-shm"
	"$gen" --out "$db.tmp" --rows "$rows" --seed "$seed" --days "$days" >"$work/gen.out" || die "gen_inventory failed"
	cat "$work/gen.out" >&2
	cp "$work/gen.out" "$db.gen.txt"
	[ ! -e "$db.tmp-wal" ] || die "gen_inventory left a WAL file behind"
	# The writer folds into the rollups as it goes but falls behind a
	# generator writing 80 k rows/s; fold the rest once, timed, so no
	# report below pays for it.
	s=$(date +%s.%N)
	"$kexwatch" rollup -q --db "$db.tmp" || die "kexwatch rollup failed"
	e=$(date +%s.%N)
	python3 -c "print(f'inventory.sh: kexwatch rollup folded the rest in {$e - $s:.1f} s')" |
		tee -a "$db.gen.txt" >&2
	mv "$db.tmp" "$db"
fi

# A small policy, every rule evaluated on every leg: warnings for the
# payment zone, SSH and the rest, and a required rule for a block with no
# traffic (NO TRAFFIC passes), so audit exits 0 and any other status is a
# failure of the report.
cat >"$work/policy.txt" <<'EOF'
# ACTION   SERVER          PORT   SNI
warn       198.18.0.0/15   443    *.pay.inv.kx.test
warn       *               22     -
required   192.0.2.0/24    *      *
warn       *               *      *
EOF

# One timed run of a report. Sets t_wall, t_cpu (s), t_rss (KiB), t_rc.
timed() {
	local s e
	s=$(date +%s.%N)
	set +e
	"$timebin" -f '%U %S %M' -o "$work/time.out" "$@" >"$work/cmd.out" 2>"$work/cmd.err"
	t_rc=$?
	set -e
	e=$(date +%s.%N)
	t_wall=$(python3 -c "print(f'{$e - $s:.2f}')")
	read -r u sy t_rss < <(tail -n 1 "$work/time.out")
	t_cpu=$(python3 -c "print(f'{$u + $sy:.2f}')")
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report_cmd() { # NAME -> the command's arguments after kexwatch
	case "$1" in
	hops) echo hops ;;
	clients) echo clients ;;
	health) echo health ;;
	audit) echo "audit --policy $work/policy.txt" ;;
	fingerprints) echo fingerprints ;;
	html) echo "report --html $work/report.html" ;;
	*) die "unknown report $1 (hops clients health audit fingerprints html)" ;;
	esac
}

day_end=$(python3 -c "import datetime,sys; d=datetime.date.fromisoformat(sys.argv[1]); print(d+datetime.timedelta(days=1))" "$DAY")
hour_end=$(python3 -c "import datetime,sys; t=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')); print((t+datetime.timedelta(hours=1)).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$HOUR")

size=$(du -m "$db" | cut -f1)
echo "inventory: $(cat "$db.gen.txt" 2>/dev/null || echo "$rows handshakes"); file $size MiB"
echo "kexwatch $("$kexwatch" --version 2>/dev/null | head -n 1), build $buildtype, $runs run(s) each (median), file in page cache"
echo
echo "| report | window | wall s | CPU s | peak RSS MiB | exit |"
echo "|---|---|---|---|---|---|"
# Read the file once so the first report does not pay for the disk.
cat "$db" >/dev/null
failed=0
for r in $reports; do
	for w in $windows; do
		case $w in
		full) win=() ; label="full range" ;;
		day) win=(--since "$DAY" --until "$day_end"); label="1 day ($DAY)" ;;
		hour) win=(--since "$HOUR" --until "$hour_end"); label="1 hour" ;;
		*) die "unknown window $w (full day hour)" ;;
		esac
		walls="" cpus="" rsss="" rcs=""
		for _ in $(seq "$runs"); do
			# shellcheck disable=SC2046
			timed "$kexwatch" $(report_cmd "$r") --db "$db" "${win[@]}"
			walls="$walls $t_wall" cpus="$cpus $t_cpu" rsss="$rsss $t_rss" rcs="$rcs $t_rc"
			if [ "$t_rc" != 0 ]; then
				failed=1
				echo "inventory.sh: kexwatch $(report_cmd "$r") ${win[*]} exited $t_rc:" >&2
				head -n 5 "$work/cmd.err" >&2
			fi
		done
		rss=$(echo "$rsss" | median)
		echo "| \`$r\` | $label | $(echo "$walls" | median) | $(echo "$cpus" | median) |" \
		     "$(python3 -c "print(f'{$rss / 1024:.0f}')") | $(echo "$rcs" | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//') |"
	done
done
exit $failed
