#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time on a copy of its stored corpus. Any crash, leak or UB report
# fails; the inputs that caused it are left in build-fuzz/findings/<target>/.
#   tests/fuzz/run-fuzzers.sh [SECONDS_PER_TARGET]   (default 30)
set -eu
secs=${1:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if ! command -v clang >/dev/null 2>&1; then
	echo "run-fuzzers: clang is not installed" >&2
	exit 1
fi
if [ ! -d build-fuzz ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=libfuzzer -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
fi
ninja -C build-fuzz >/dev/null
status=0
for t in tls quic ssh starttls decode reasm pipeline dtls tunnel defrag der ssh_ecdh capture; do
	work=build-fuzz/findings/$t
	rm -rf "$work" && mkdir -p "$work/corpus"
	cp tests/fuzz/corpus/$t/* "$work/corpus/"
	if (cd "$work" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$top/build-fuzz/tests/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
		corpus >log 2>&1); then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
		cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
		echo "fuzz_$t: $runs runs in ${secs}s, $cov, no findings"
	else
		echo "fuzz_$t: FINDING, see $work/log" >&2
		tail -n 30 "$work/log" >&2
		status=1
	fi
done
exit $status
