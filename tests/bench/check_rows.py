#!/usr/bin/env python3
"""Compares kexwatch's handshake rows with the TSV gen_capture wrote.

    check_rows.py DB EXPECTED.tsv [--max-report N]

Every expected handshake must be in the database exactly once (keyed by
client_ip, client_port, server_ip, server_port) with the same value in every
other column the TSV has (an empty TSV field means NULL); the database must
hold no other handshake. Prints the mismatches and a summary per column;
exits 1 on any mismatch, 2 on a usage or input error.
"""
import argparse
import collections
import sqlite3
import sys

KEY = ("client_ip", "client_port", "server_ip", "server_port")


def load_expected(path):
    header = None
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if header is None:
                header = cols
                missing = [k for k in KEY if k not in header]
                if missing:
                    raise ValueError(f"{path}: header lacks {', '.join(missing)}")
                continue
            if len(cols) != len(header):
                raise ValueError(f"{path}: {len(cols)} fields, want {len(header)}: {line!r}")
            rows.append(dict(zip(header, cols)))
    if header is None:
        raise ValueError(f"{path}: empty")
    return header, rows


def text(v):
    """A database value as the TSV writes it (NULL: empty)."""
    if v is None:
        return ""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def compare(db_path, tsv_path, max_report=30, out=sys.stdout):
    """Returns the number of mismatching handshakes (0: all correct)."""
    header, expected = load_expected(tsv_path)
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    have_cols = {r[1] for r in con.execute("PRAGMA table_info(handshakes)")}
    compared = [c for c in header if c not in KEY and c in have_cols]
    absent = [c for c in header if c not in have_cols]
    if absent:
        raise ValueError(f"{db_path}: table handshakes has no column {', '.join(absent)}")
    got = collections.defaultdict(list)
    for r in con.execute("SELECT * FROM handshakes"):
        got[tuple(text(r[k]) for k in KEY)].append(r)
    con.close()

    problems = []
    per_column = collections.Counter()
    seen = set()
    for exp in expected:
        key = tuple(exp[k] for k in KEY)
        where = "{}:{} -> {}:{}".format(*key)
        if key in seen:
            problems.append(f"{where}: listed twice in {tsv_path}")
            continue
        seen.add(key)
        rows = got.get(key, [])
        if not rows:
            per_column["(missing)"] += 1
            problems.append(f"{where}: no row (expected {exp.get('verdict', '?')}"
                            f" {exp.get('reason', '')})".rstrip() + ")" * 0)
            continue
        if len(rows) > 1:
            per_column["(duplicate)"] += 1
            problems.append(f"{where}: {len(rows)} rows")
        diffs = []
        for c in compared:
            have = text(rows[0][c])
            if have != exp[c]:
                per_column[c] += 1
                diffs.append(f"{c} want {exp[c]!r} got {have!r}")
        if diffs:
            problems.append(f"{where}: " + "; ".join(diffs))
    extra = [k for k in got if k not in seen]
    for key in extra:
        per_column["(unexpected)"] += 1
        r = got[key][0]
        problems.append("{}:{} -> {}:{}: unexpected row".format(*key) +
                        f" ({text(r['verdict'])} {text(r['reason'])})")

    n_rows = sum(len(v) for v in got.values())
    print(f"check_rows: {len(expected)} expected handshakes, {n_rows} rows in the database, "
          f"{len(compared)} columns compared ({', '.join(compared)})", file=out)
    for p in problems[:max_report]:
        print(f"  MISMATCH {p}", file=out)
    if len(problems) > max_report:
        print(f"  ... and {len(problems) - max_report} more", file=out)
    if problems:
        print("check_rows: mismatches by column: " +
              ", ".join(f"{c} {n}" for c, n in per_column.most_common()), file=out)
    return len(problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db")
    ap.add_argument("expected")
    ap.add_argument("--max-report", type=int, default=30,
                    help="mismatches printed at most (default: 30)")
    a = ap.parse_args()
    try:
        bad = compare(a.db, a.expected, a.max_report)
    except (OSError, ValueError, sqlite3.Error) as e:
        print(f"check_rows: {e}", file=sys.stderr)
        return 2
    print("check_rows: " + ("FAIL" if bad else "PASS"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
