#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# run.sh: kexwatch's read throughput, against the bare libpcap loop (the
# floor for any libpcap reader) and against tcpdump, ndpiReader and tshark,
# on generated captures: bulk (~1.5 GB, long flows), dense (~200 MB, short
# flows) and plain30 (dense with 30 % of the flows plaintext HTTP sessions;
# only when asked for). Prints a Markdown table per profile, then checks
# kexwatch's rows and sessions against what the generator wrote (PASS/FAIL).
# The bare loop and
# `kexwatch read` alternate run by run, so the host's drift cannot bend
# their ratio; the other tools run back to back.
#
#   tests/bench/run.sh [--quick] [--runs N] [--profiles "bulk dense plain30"]
#
# It builds nothing. Use a release build:
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   BUILD=build-rel tests/bench/run.sh
#
# Environment:
#   BUILD           build directory (default: build), relative to the repo root
#   BENCH_DIR       where the captures go (default: /var/tmp/kexwatch-bench);
#                   kept between runs, regenerated only when the seed, scale,
#                   generator source or template captures change
#   SEED            generator seed (default: 1)
#   GEN_CAPTURE, PCAP_BARE   tool paths (default: $BUILD/tests/bench/...)
#   TSHARK_PACKETS  tshark reads at most this many packets and its time is
#                   extrapolated per packet (default: 200000)
#   DB_DIR          where kexwatch's databases go (default: a scratch folder
#                   in BENCH_DIR; SQLite's fsyncs there are part of the cost)
#
# Optional tools (a row says "not installed" without them): tcpdump,
# ndpiReader (libndpi-bin), tshark and editcap (tshark). Required: python3
# and GNU time (/usr/bin/time, package time):
#   apt-get install -y libndpi-bin tcpdump tshark time
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=0
runs=3
profiles="bulk dense"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1; runs=1 ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--profiles) profiles=${2:?--profiles needs a list}; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (--quick, --runs N, --profiles LIST)" >&2; exit 2 ;;
	esac
	shift
done
case "$runs" in ''|*[!0-9]*|0) echo "run.sh: --runs wants a positive number" >&2; exit 2 ;; esac

BUILD=${BUILD:-build}
case "$BUILD" in /*) build=$BUILD ;; *) build=$root/$BUILD ;; esac
BENCH_DIR=${BENCH_DIR:-/var/tmp/kexwatch-bench}
SEED=${SEED:-1}
TSHARK_PACKETS=${TSHARK_PACKETS:-200000}
scale=1
[ "$quick" = 1 ] && scale=0.02
kexwatch=$build/kexwatch
gen=${GEN_CAPTURE:-$build/tests/bench/gen_capture}
bare=${PCAP_BARE:-$build/tests/bench/pcap_bare}
timebin=/usr/bin/time

die() { echo "run.sh: $*" >&2; exit 1; }
for x in "$kexwatch" "$gen" "$bare"; do
	[ -x "$x" ] || die "$x is missing: build it first (ninja -C $BUILD; gen_capture and pcap_bare" \
		"are built with -Dtests=true, or name them with GEN_CAPTURE= and PCAP_BARE=)"
done
[ -x "$timebin" ] || die "$timebin is missing: apt-get install -y time"
command -v python3 >/dev/null || die "python3 is missing"
buildtype=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$build/meson-info/intro-buildoptions.json" 2>/dev/null || echo unknown)
if [ "$buildtype" != release ]; then
	echo "run.sh: warning: $BUILD is a '$buildtype' build; numbers are only meaningful for" \
	     "meson setup build-rel --buildtype=release" >&2
fi
mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
db_dir=${DB_DIR:-$work}
mkdir -p "$db_dir"
trap 'rm -rf "$work"; rm -f "$db_dir"/kexwatch.db*' EXIT

have() { command -v "$1" >/dev/null 2>&1; }

# One timed run: wall seconds from the clock (finer than time's %e), peak
# RSS from GNU time. Sets t_sec, t_rss (KiB), t_rc.
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	set +e
	"$timebin" -f '%M' -o "$work/time.out" "$@" >"$work/cmd.out" 2>"$work/cmd.err"
	t_rc=$?
	set -e
	t1=$(date +%s.%N)
	t_sec=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
	t_rss=$(tail -n 1 "$work/time.out")
	case "$t_rss" in ''|*[!0-9]*) t_rss=0 ;; esac
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# bench NAME RUNS PREP CMD...: median wall time and RSS of RUNS runs; PREP
# (a shell snippet, may be ':') runs before each run, untimed.
rows=()
bench() {
	local name=$1 n=$2 prep=$3 secs="" rsss="" i
	shift 3
	for ((i = 0; i < n; i++)); do
		eval "$prep"
		timed "$@"
		if [ "$t_rc" != 0 ]; then
			rows+=("$name|error (exit $t_rc): $(head -c 120 "$work/cmd.err" | tr '\n|' '  ')")
			return 0
		fi
		secs+=" $t_sec"
		rsss+=" $t_rss"
	done
	rows+=("$name|$(echo "$secs" | median)|$(echo "$rsss" | median)|$n")
}

# pair RUNS: the bare loop and `kexwatch read` alternate run by run (A B B
# A A B ...), so a drift of the host's speed (10-25 % within minutes on
# shared cloud vCPUs) reaches both and cannot bend their ratio. Sets
# pair_bare and pair_kx to table rows.
pair() {
	local n=$1 i w sb="" rb="" sk="" rk="" err_b="" err_k=""
	for ((i = 0; i < n; i++)); do
		for w in $( ((i % 2)) && echo "k b" || echo "b k"); do
			if [ "$w" = b ]; then
				timed "$bare" "$pcap"
				[ "$t_rc" = 0 ] || err_b="error (exit $t_rc): $(head -c 120 "$work/cmd.err" | tr '\n|' '  ')"
				sb+=" $t_sec"
				rb+=" $t_rss"
			else
				rm -f "$db" "$db-wal" "$db-shm"
				timed "$kexwatch" read --db "$db" --no-progress -q "$pcap"
				[ "$t_rc" = 0 ] || err_k="error (exit $t_rc): $(head -c 120 "$work/cmd.err" | tr '\n|' '  ')"
				sk+=" $t_sec"
				rk+=" $t_rss"
			fi
		done
	done
	pair_bare="bare libpcap loop (pcap_open_offline)|${err_b:-$(echo "$sb" | median)|$(echo "$rb" | median)|$n|alternating with kexwatch read}"
	pair_kx="kexwatch read|${err_k:-$(echo "$sk" | median)|$(echo "$rk" | median)|$n|alternating with the bare loop}"
}

# Table rows: tool|seconds|rss KiB|runs[|note] or tool|message.
print_table() {
	local pkts=$1 bytes=$2 base=$3
	echo "| tool | seconds | packets/s | Gbit/s | peak RSS MiB | vs bare loop |"
	echo "|---|---:|---:|---:|---:|---:|"
	local r
	for r in "${rows[@]}"; do
		awk -F'|' -v pkts="$pkts" -v bytes="$bytes" -v base="$base" '{
			if (NF < 4) { printf "| %s | %s | | | | |\n", $1, $2; next }
			s = $2 + 0; if (s <= 0) s = 0.001
			note = (NF >= 5 && $5 != "") ? " (" $5 ")" : ""
			runs = ($4 > 1) ? ", median of " $4 : ""
			printf "| %s%s | %.3f%s | %.0f | %.2f | %.1f | %.2fx |\n", $1, note, $2, runs,
				pkts / s, bytes * 8 / s / 1e9, $3 / 1024, s / base
		}' <<<"$r"
	done
}

srchash=$(cat "$here/gen_capture.c" "$root"/pcaps/tls13-x25519mlkem768.pcap \
	"$root"/pcaps/tls13-server-declined.pcap "$root"/pcaps/tls13-client-no-pq.pcap \
	"$root"/pcaps/tls13-hrr-x25519mlkem768.pcap 2>/dev/null | sha256sum | cut -c1-16)
rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "# kexwatch benchmark"
echo
built=$(date -u -r "$kexwatch" '+%Y-%m-%d %H:%M UTC')
echo "kexwatch source tree $rev; binary $BUILD/kexwatch ($buildtype) built $built;"
echo "$(nproc) CPU ${cpu:-?}, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM;"
echo "seed $SEED, scale $scale, $runs run(s) per tool (median), file in page cache; captures in $BENCH_DIR," \
	"databases in ${DB_DIR:-$BENCH_DIR} ($(df --output=fstype "$db_dir" 2>/dev/null | tail -n 1))"

overall=0
for profile in $profiles; do
	base_name="$BENCH_DIR/$profile-seed$SEED-scale$scale"
	pcap=$base_name.pcap
	tsv=$base_name.tsv
	stsv=$base_name-sessions.tsv
	params="profile=$profile seed=$SEED scale=$scale src=$srchash"
	if [ -s "$pcap" ] && [ -s "$tsv" ] && [ -s "$stsv" ] &&
	   [ "$(cat "$base_name.params" 2>/dev/null)" = "$params" ]; then
		gen_note="reused"
	else
		rm -f "$pcap" "$tsv" "$stsv" "$base_name.params"
		g0=$(date +%s.%N)
		"$gen" --profile "$profile" --seed "$SEED" --scale "$scale" --templates "$root/pcaps" \
			--out "$pcap" --expected "$tsv" --sessions "$stsv" 2>"$work/gen.err" ||
			{ cat "$work/gen.err" >&2; die "gen_capture failed"; }
		g1=$(date +%s.%N)
		echo "$params" >"$base_name.params"
		gen_note="generated in $(echo "$g0 $g1" | awk '{ printf "%.1f", $2 - $1 }') s: $(tail -n 2 "$work/gen.err" | sed 's/^gen_capture: //' | paste -sd ';' -)"
	fi
	sync
	cat "$pcap" >/dev/null
	bytes=$(stat -c %s "$pcap")
	pkts=$("$bare" "$pcap" | awk '{ print $2 }')
	hs=$(grep -vc -e '^#' -e '^client_ip' "$tsv" || true)
	ns=$(grep -vc -e '^#' -e '^client_ip' "$stsv" || true)
	sess_note=""
	[ "$ns" -gt 0 ] && sess_note=", $ns plaintext sessions"
	echo
	echo "## $profile: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'), $pkts packets, $hs handshakes$sess_note"
	echo
	echo "capture $gen_note"
	echo

	rows=()
	db=$db_dir/kexwatch.db
	pair "$runs"
	rows+=("$pair_bare")
	bare_sec=$(cut -d'|' -f2 <<<"${rows[0]}")
	bench "bare libpcap loop (fopen + 256 KiB setvbuf)" "$runs" : "$bare" --setvbuf "$pcap"
	if have tcpdump; then
		bench "tcpdump -r F -w /dev/null" "$runs" : tcpdump -r "$pcap" -w /dev/null
	else
		rows+=("tcpdump|not installed")
	fi
	if have ndpiReader; then
		bench "ndpiReader -i F -q" "$runs" : ndpiReader -i "$pcap" -q
	else
		rows+=("ndpiReader|not installed (libndpi-bin)")
	fi
	if have tshark; then
		tfile=$pcap
		note=""
		if [ "$pkts" -gt "$TSHARK_PACKETS" ]; then
			tfile=$work/prefix.pcap
			if have editcap; then
				editcap -r "$pcap" "$tfile" "1-$TSHARK_PACKETS" >/dev/null 2>&1
			else
				tcpdump -r "$pcap" -c "$TSHARK_PACKETS" -w "$tfile" 2>/dev/null
			fi
			note="first $TSHARK_PACKETS packets, time extrapolated per packet"
		fi
		bench "tshark key_share groups of ClientHellos" "$runs" : tshark -r "$tfile" -T fields \
			-e tls.handshake.extensions_key_share_group -Y 'tls.handshake.type==1'
		if [ -n "$note" ] && [[ "${rows[-1]}" != *error* ]]; then
			IFS='|' read -r n s r k <<<"${rows[-1]}"
			s=$(awk -v s="$s" -v all="$pkts" -v part="$TSHARK_PACKETS" 'BEGIN { printf "%.3f", s * all / part }')
			rows[-1]="$n|$s|$r|$k|$note"
		fi
		rm -f "$work/prefix.pcap"
	else
		rows+=("tshark|not installed")
	fi
	rows+=("$pair_kx")
	cp "$db" "$work/own.db" 2>/dev/null || true
	bench "kexwatch read --libpcap" 1 'rm -f "$db" "$db-wal" "$db-shm"' \
		"$kexwatch" read --db "$db" --no-progress -q --libpcap "$pcap"
	cp "$db" "$work/libpcap.db" 2>/dev/null || true
	bench "kexwatch read --no-ndpi" 1 'rm -f "$db" "$db-wal" "$db-shm"' \
		"$kexwatch" read --db "$db" --no-progress -q --no-ndpi "$pcap"
	rm -f "$work/reference.db"
	# Modes that only some versions have: one run each when present.
	for opt in --ndpi-packets --no-fastpath; do
		if "$kexwatch" read --help 2>&1 | grep -q -e "$opt"; then
			bench "kexwatch read $opt" 1 'rm -f "$db" "$db-wal" "$db-shm"' \
				"$kexwatch" read --db "$db" --no-progress -q "$opt" "$pcap"
			[ "$opt" = --no-fastpath ] && cp "$db" "$work/reference.db" 2>/dev/null
		fi
	done

	print_table "$pkts" "$bytes" "$bare_sec"
	echo
	for v in own libpcap; do
		label="kexwatch read"
		[ "$v" = libpcap ] && label="kexwatch read --libpcap"
		if python3 "$here/check_rows.py" "$work/$v.db" "$tsv" --sessions "$stsv" \
			>"$work/check.out" 2>&1; then
			echo "correctness ($label): PASS ($(head -n 2 "$work/check.out" | sed 's/^check_rows: //' | paste -sd ';' - | sed 's/;/; /'))"
		else
			overall=1
			echo "correctness ($label): FAIL"
			sed 's/^/    /' "$work/check.out"
		fi
	done
	# Every column of every row, not only the generator's: the fast paths
	# against the reference run, which copies every byte and parses nothing
	# in place.
	if [ -f "$work/reference.db" ]; then
		for v in own libpcap; do
			label="kexwatch read"
			[ "$v" = libpcap ] && label="kexwatch read --libpcap"
			if python3 "$here/same_rows.py" "$work/$v.db" "$work/reference.db" \
				>"$work/same.out" 2>&1; then
				echo "same rows as --no-fastpath ($label): PASS ($(head -n 2 "$work/same.out" | sed 's/^same_rows: //' | paste -sd ';' - | sed 's/;/; /'))"
			else
				overall=1
				echo "same rows as --no-fastpath ($label): FAIL"
				sed 's/^/    /' "$work/same.out"
			fi
		done
	fi
done
exit "$overall"
