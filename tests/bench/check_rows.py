#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Compares kexwatch's handshake rows with the TSV gen_capture wrote.

    check_rows.py DB EXPECTED.tsv [--sessions SESSIONS.tsv] [--max-report N]

Every expected handshake must be in the database exactly once (keyed by
client_ip, client_port, server_ip, server_port) with the same value in every
other column the TSV has (an empty TSV field means NULL); the database must
hold no other handshake. With --sessions, the plaintext sessions too: the
generator lists each one, kexwatch keeps one row per hour and endpoint pair
in its sessions table, so the lines are added up the same way (count, bytes,
first packet and its time, the client port of the earliest, the last
time) and every row must match; the table must hold no other row. Prints
the mismatches and a summary per column; exits 1 on any mismatch, 2 on a
usage or input error.
"""
import argparse
import collections
import sqlite3
import sys

KEY = ("client_ip", "client_port", "server_ip", "server_port")
# A sessions row's key in the database (sensor aside: one per file here).
SESSION_KEY = ("hour", "client_ip", "server_ip", "server_port", "transport", "app",
               "verdict", "reason", "vlan", "tunnel")
SESSION_COLS = ("client_ip", "client_port", "server_ip", "server_port", "transport", "app",
                "verdict", "reason", "ip_version", "bytes", "pkt_first", "ts_first_us",
                "ts_end_us")
HOUR_US = 3600 * 1000000
# kexwatch's flow table refreshes a flow's last-seen time at most once per
# KX_FLOW_TOUCH_US (include/kexwatch/flow.h), and a session's ts_last_us is
# that time: it is the first packet's for a session shorter than this, and
# within this much of the last packet for a longer one.
TOUCH_US = 1000000


def load_expected(path, key=KEY):
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
                missing = [k for k in key if k not in header]
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


def expected_sessions(path):
    """The generator's sessions added up per database row: key -> dict."""
    header, lines = load_expected(path, SESSION_COLS)
    rows = {}
    for s in lines:
        first, end = int(s["ts_first_us"]), int(s["ts_end_us"])
        if end < first:
            raise ValueError(f"{path}: session ends before it starts: {s}")
        # The range kexwatch's ts_last_us can take for this session.
        lo, hi = (first, first) if end - first < TOUCH_US else (end - TOUCH_US + 1, end)
        key = (str(first // HOUR_US), s["client_ip"], s["server_ip"], s["server_port"],
               s["transport"], s["app"], s["verdict"], s["reason"], "0", "")
        r = rows.get(key)
        if r is None:
            rows[key] = r = {"sessions": 0, "bytes": 0, "ts_first_us": first, "last_lo": lo,
                             "last_hi": hi, "client_port": s["client_port"],
                             "pkt_first": s["pkt_first"], "ip_version": s["ip_version"]}
        elif first < r["ts_first_us"]:
            r.update(ts_first_us=first, client_port=s["client_port"], pkt_first=s["pkt_first"])
        r["sessions"] += 1
        r["bytes"] += int(s["bytes"])
        r["last_lo"] = max(r["last_lo"], lo)
        r["last_hi"] = max(r["last_hi"], hi)
    return len(lines), rows


def compare_sessions(db_path, tsv_path, max_report=30, out=sys.stdout):
    """Returns the number of mismatching sessions rows (0: all correct)."""
    n_lines, expected = expected_sessions(tsv_path)
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchone():
        con.close()
        if expected:
            raise ValueError(f"{db_path}: no sessions table, {n_lines} sessions expected")
        print("check_rows: 0 expected sessions, no sessions table (an older schema)", file=out)
        return 0
    got = collections.defaultdict(list)
    for r in con.execute("SELECT * FROM sessions"):
        got[tuple(text(r[k]) for k in SESSION_KEY)].append(r)
    con.close()

    problems = []
    per_column = collections.Counter()
    for key, exp in expected.items():
        where = "{1} -> {2} port {3} {5} hour {0}".format(*key)
        rows = got.get(key, [])
        if not rows:
            per_column["(missing)"] += 1
            problems.append(f"{where}: no sessions row ({exp['sessions']} sessions expected)")
            continue
        if len(rows) > 1:
            per_column["(duplicate)"] += 1
            problems.append(f"{where}: {len(rows)} rows")
        r = rows[0]
        diffs = []
        for c in ("sessions", "bytes", "ts_first_us", "client_port", "pkt_first", "ip_version"):
            if text(r[c]) != str(exp[c]):
                per_column[c] += 1
                diffs.append(f"{c} want {exp[c]!r} got {text(r[c])!r}")
        last = r["ts_last_us"]
        if not isinstance(last, int) or not exp["last_lo"] <= last <= exp["last_hi"]:
            per_column["ts_last_us"] += 1
            want = (exp["last_lo"] if exp["last_lo"] == exp["last_hi"]
                    else f"{exp['last_lo']}..{exp['last_hi']}")
            diffs.append(f"ts_last_us want {want} got {last!r}")
        if diffs:
            problems.append(f"{where}: " + "; ".join(diffs))
    for key in got:
        if key not in expected:
            per_column["(unexpected)"] += 1
            r = got[key][0]
            problems.append("{1} -> {2} port {3} {5} {6} {7} hour {0}: unexpected sessions row"
                            .format(*key)
                            + f" ({r['sessions']} sessions)")

    n_db = sum(r["sessions"] for v in got.values() for r in v)
    print(f"check_rows: {n_lines} expected sessions in {len(expected)} hourly rows, "
          f"{n_db} sessions in {sum(len(v) for v in got.values())} rows in the database "
          "(sessions, bytes, ts_first_us, ts_last_us, client_port, pkt_first, ip_version "
          "compared)", file=out)
    for p in problems[:max_report]:
        print(f"  MISMATCH {p}", file=out)
    if len(problems) > max_report:
        print(f"  ... and {len(problems) - max_report} more", file=out)
    if problems:
        print("check_rows: sessions mismatches by column: " +
              ", ".join(f"{c} {n}" for c, n in per_column.most_common()), file=out)
    return len(problems)


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
    ap.add_argument("--sessions", metavar="SESSIONS.tsv",
                    help="also check the sessions table against gen_capture's --sessions file")
    ap.add_argument("--max-report", type=int, default=30,
                    help="mismatches printed at most (default: 30)")
    a = ap.parse_args()
    try:
        bad = compare(a.db, a.expected, a.max_report)
        if a.sessions:
            bad += compare_sessions(a.db, a.sessions, a.max_report)
    except (OSError, ValueError, sqlite3.Error) as e:
        print(f"check_rows: {e}", file=sys.stderr)
        return 2
    print("check_rows: " + ("FAIL" if bad else "PASS"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
