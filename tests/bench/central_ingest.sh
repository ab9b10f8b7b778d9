#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# central_ingest.sh: how fast one sensor's `kexwatch push` fills a local
# PostgreSQL (issue 17: >= 50 k rows/s). Creates a private PostgreSQL
# cluster (unix socket only, PostgreSQL's default settings), generates a
# SQLite inventory with gen_inventory, pushes it once into an empty central
# store, checks that the store holds exactly the inventory's rows, prints
# rows/s, then stops the cluster and deletes it. Not a test: it times.
#
#   tests/bench/central_ingest.sh [--rows N] [--seed S] [--keep]
#
# --rows defaults to 2000000; --keep leaves the cluster running and its
# folder in place (and prints how to stop it). Use a release build:
#   meson setup build-rel --buildtype=release && ninja -C build-rel
#   BUILD=build-rel tests/bench/central_ingest.sh --rows 2000000
#
# Environment:
#   BUILD       build directory (default: build), relative to the repo root
#   PGI_DIR     the cluster's folder (default: /var/tmp/pgi; must not exist)
#   PGI_PORT    its port number (socket only; default: 5491)
#   PG_BIN      PostgreSQL's bin directory (default: the last
#               /usr/lib/postgresql/*/bin with initdb; apt-get install -y postgresql-15)
#   INV         an existing inventory to push instead of generating one
#   KEXWATCH_PG_FOLD_EVERY  0: the push folds nothing (central schema 10);
#               the script then times `kexwatch rollup` folding it all
# As root, initdb and postgres run as the 'postgres' system user.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=2000000
seed=1
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=${2:?--rows needs a number}; shift ;;
	--seed) seed=${2:?--seed needs a number}; shift ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "central_ingest.sh: unknown option $1 (--rows N, --seed S, --keep)" >&2; exit 2 ;;
	esac
	shift
done
for v in "$rows" "$seed"; do
	case "$v" in ''|*[!0-9]*) echo "central_ingest.sh: --rows and --seed want numbers" >&2; exit 2 ;; esac
done

BUILD=${BUILD:-build}
case "$BUILD" in /*) build=$BUILD ;; *) build=$root/$BUILD ;; esac
kexwatch=$build/kexwatch
gen=$build/tests/bench/gen_inventory
PGI_DIR=${PGI_DIR:-/var/tmp/pgi}
PGI_PORT=${PGI_PORT:-5491}
if [ -z "${PG_BIN:-}" ]; then
	PG_BIN=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && PG_BIN=$d
	done
fi

die() { echo "central_ingest.sh: $*" >&2; exit 1; }
for x in "$kexwatch" "$gen"; do
	[ -x "$x" ] || die "$x is missing: build it first (ninja -C $BUILD)"
done
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
	die "no PostgreSQL server: apt-get install -y postgresql-15"
fi
[ ! -e "$PGI_DIR" ] || die "$PGI_DIR exists: stop its cluster and remove it first"

as_pg=()
if [ "$(id -u)" = 0 ]; then
	as_pg=(runuser -u postgres --)
fi
mkdir -p "$PGI_DIR"
[ ${#as_pg[@]} -eq 0 ] || chown postgres "$PGI_DIR"
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "cluster kept: ${as_pg[*]} $PG_BIN/pg_ctl -D $PGI_DIR/data stop; rm -rf $PGI_DIR" >&2
		return
	fi
	"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PGI_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$PGI_DIR"
}
trap cleanup EXIT

"${as_pg[@]}" "$PG_BIN/initdb" -D "$PGI_DIR/data" -A trust -U kx >"$PGI_DIR/initdb.out" 2>&1 ||
	die "initdb failed: $(tail -n 3 "$PGI_DIR/initdb.out")"
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PGI_DIR/data" -l "$PGI_DIR/log" -w \
	-o "-k $PGI_DIR -p $PGI_PORT -c listen_addresses=''" start >/dev/null ||
	die "the server did not start: $(tail -n 3 "$PGI_DIR/log")"
"$PG_BIN/createdb" -h "$PGI_DIR" -p "$PGI_PORT" -U kx kx
url="postgresql://kx@/kx?host=$PGI_DIR&port=$PGI_PORT"

inv=${INV:-}
if [ -z "$inv" ]; then
	inv=$PGI_DIR/inventory.db
	echo "generating $rows handshakes (seed $seed)" >&2
	"$gen" --out "$inv" --rows "$rows" --seed "$seed" >&2 || die "gen_inventory failed"
else
	# push writes its outbox into the file: work on a copy.
	cp "$inv" "$PGI_DIR/inventory.db"
	inv=$PGI_DIR/inventory.db
fi
want=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM handshake_rows").fetchone()[0])' "$inv")
cat "$inv" >/dev/null # in the page cache: the push, not the disk, is timed

s=$(date +%s.%N)
"$kexwatch" push --db "$inv" --pg "$url" --timeout 86400 || die "push failed"
e=$(date +%s.%N)
got=$("$PG_BIN/psql" -h "$PGI_DIR" -p "$PGI_PORT" -U kx -d kx -At -c "SELECT count(*) FROM handshakes")
[ "$got" = "$want" ] || die "the central store holds $got rows, the inventory $want"
python3 -c "import sys; r, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); \
print(f'{r} rows in {t:.1f} s: {r / t:,.0f} rows/s')" "$got" "$s" "$e"
# Schema 10: the rows the push left pending (KEXWATCH_PG_FOLD_EVERY=0
# leaves them all), folded by `kexwatch rollup`, timed apart.
pending=$("$PG_BIN/psql" -h "$PGI_DIR" -p "$PGI_PORT" -U kx -d kx -At \
	-c "SELECT CASE WHEN to_regclass('rollup_pending') IS NULL THEN 0 ELSE (SELECT count(*) FROM rollup_pending) END" 2>/dev/null || echo 0)
if [ "${pending:-0}" -gt 0 ]; then
	s=$(date +%s.%N)
	"$kexwatch" rollup -q --db "$url" || die "rollup failed"
	e=$(date +%s.%N)
	python3 -c "import sys; r, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); \
print(f'fold: {r} pending rows in {t:.1f} s: {r / t:,.0f} rows/s')" "$pending" "$s" "$e"
fi
