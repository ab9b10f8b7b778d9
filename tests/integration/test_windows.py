#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Windowed reports that read their window's legs once (kx_rdb_keep_window):
`health`, `changes` and `report --html` with --since/--until copy the
window's legs into a temporary table and read it in every pass, and
windowed `clients` parses each distinct ClientHello set once. Their
answers must be the ones the file gives when every pass reads it and every
handshake's lists are parsed (KEXWATCH_WINDOW_COPY=0, KEXWATCH_ROLLUPS=0),
byte for byte, exit status included:

- a generated inventory (three days, two thousand clients, six sensors) and
  one of every bundled capture read under two sensor names;
- windows aligned to days, unaligned ones, one hour, one sensor, only
  --until, an empty one;
- health (table, JSON), changes (default baseline, --group-by sni and
  pair, JSON), clients (JSON, CSV, table; --columns: the offers looked
  up by each client's key), the HTML page (but its
  "generated" time).

The HTML page's "What changed" compares the page's last day with the 30
days before it, both inside the page's range: on a one-hour page every line
was first seen inside that hour.

usage: test_windows.py KEXWATCH GEN_INVENTORY PCAPS_DIR"""
import datetime
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

KX, GEN_INV, PCAPS = sys.argv[1:4]
failures = []


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail is not None:
            for line in str(detail).splitlines()[:30]:
                print("#   " + line)


def kx(*a, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([KX, *a], capture_output=True, text=True, timeout=600, env=e)


def iso(us):
    return datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def span(db):
    import sqlite3
    con = sqlite3.connect(db)
    try:
        lo, hi = con.execute("SELECT min(ts_first_us), max(ts_first_us) FROM handshake_rows").fetchone()
        sensors = [s for (s,) in con.execute("SELECT DISTINCT sensor FROM handshake_rows ORDER BY 1")]
    finally:
        con.close()
    return lo, hi, sensors


def html_page(db, args, tmp, env=None):
    out = os.path.join(tmp, "page.html")
    if os.path.exists(out):
        os.unlink(out)
    r = kx("report", "--db", db, "--html", out, *args, env=env)
    page = open(out).read() if r.returncode == 0 and os.path.exists(out) else ""
    # The page says when it was made: the only difference allowed.
    page = re.sub(r"generated .*? UTC", "generated", page)
    return r.returncode, page, r.stderr


# Every pass reads the file; clients parses each handshake's lists.
REFERENCE = {"KEXWATCH_WINDOW_COPY": "0", "KEXWATCH_ROLLUPS": "0"}


def compare(db, label, windows, tmp):
    before = len(failures)
    n = 0
    lines_seen = 0
    for w in windows:
        for rep in (["health"], ["health", "--json"], ["changes", "--baseline", "1d"],
                    ["changes", "--baseline", "2d", "--group-by", "sni", "--json"],
                    ["changes", "--baseline", "1d", "--group-by", "pair", "--csv"],
                    ["clients", "--json"], ["clients", "--csv"], ["clients", "--wide"],
                    ["clients", "--columns", "pq_groups_offered,client_ip,sample_alpns,fingerprints_s"],
                    ["clients", "--json", "--columns", "offers_mldsa,fingerprints,n_hello"]):
            a = kx(*rep, "--db", db, *w)
            b = kx(*rep, "--db", db, *w, env=REFERENCE)
            n += 1
            if rep[0] == "changes" and "--csv" in rep:
                lines_seen += max(0, len(a.stdout.splitlines()) - 1)
            if (a.stdout, a.returncode) != (b.stdout, b.returncode) or a.stderr or \
                    a.returncode not in (0, 1):
                check(False, f"{label}: {' '.join(rep + w)}: the window copy answers as the file",
                      f"rc {a.returncode}/{b.returncode} {a.stderr}\n--- copy\n{a.stdout[:1500]}"
                      f"\n--- file\n{b.stdout[:1500]}")
        ra, pa, ea = html_page(db, w, tmp)
        rb, pb, eb = html_page(db, w, tmp, env=REFERENCE)
        n += 1
        if (ra, pa) != (rb, pb) or ra != 0 or not pa:
            check(False, f"{label}: report --html {' '.join(w)}: the same page", ea + eb)
    check(len(failures) == before,
          f"{label}: {n} windowed reports give the same bytes with and without the window copy"
          " (clients: with and without parsing each ClientHello set once)")
    return lines_seen


tmp = tempfile.mkdtemp(prefix="kx-windows-")
try:
    # --- a generated inventory: three days of 10 k handshakes ---
    gen = os.path.join(tmp, "gen.db")
    g = subprocess.run([GEN_INV, "--out", gen, "--rows", "30000", "--seed", "3", "--days", "3",
                        "--clients", "2000", "--servers", "400"],
                       capture_output=True, text=True, timeout=600)
    check(g.returncode == 0, "gen_inventory: 30 000 handshakes over three days", g.stderr)
    lo, hi, sensors = span(gen)
    day = 86400 * 10**6
    d1 = (lo // day + 1) * day  # the second day, aligned
    windows = [
        ["--since", iso(d1), "--until", iso(d1 + day)],
        ["--since", iso(d1 + 7 * 3600 * 10**6 + 123), "--until", iso(d1 + 31 * 3600 * 10**6)],
        ["--since", iso(d1 + 12 * 3600 * 10**6), "--until", iso(d1 + 13 * 3600 * 10**6)],
        ["--since", iso(d1), "--until", iso(d1 + day), "--sensor", sensors[1]],
        ["--until", iso(d1 + day)],
        ["--since", "2001-01-01", "--until", "2001-01-02"],
    ]
    found = compare(gen, "generated", windows, tmp)
    check(found > 50, f"generated: changes found lines to compare ({found})")

    # A table keeps its rows in a temporary database to run its query once:
    # one that outgrows its page cache (spills to its file) still prints
    # every row, in the query's order, as CSV does.
    big = os.path.join(tmp, "big.db")
    g = subprocess.run([GEN_INV, "--out", big, "--rows", "40000", "--seed", "5", "--days", "2",
                        "--clients", "30000", "--servers", "300"],
                       capture_output=True, text=True, timeout=600)
    t, c = kx("clients", "--db", big, "--wide"), kx("clients", "--db", big, "--csv")
    t_ips = [line.split()[0] for line in t.stdout.splitlines()[1:] if line.strip()]
    c_ips = [line.split(",")[0] for line in c.stdout.splitlines()[1:]]
    check(g.returncode == 0 and t.returncode == 0 and len(t.stdout) > 4 * 1024 * 1024
          and len(c_ips) > 10000 and t_ips == c_ips,
          f"a {len(t.stdout) // 1024} KiB table of {len(t_ips)} clients: every row, in CSV's order",
          g.stderr + t.stderr + c.stderr)
    # KEXWATCH_SQL_PROFILE: each statement's time on stderr, the report unchanged.
    p, n = kx("hops", "--db", gen, env={"KEXWATCH_SQL_PROFILE": "1"}), kx("hops", "--db", gen)
    lines = [x for x in p.stderr.splitlines() if x.startswith("sql-profile:")]
    check(p.returncode == 0 and p.stdout == n.stdout and len(lines) >= 3
          and all(re.match(r"sql-profile: +\d+\.\d{3} ms  \S", x) for x in lines)
          and any("kx_legs" in x for x in lines),
          f"KEXWATCH_SQL_PROFILE=1: {len(lines)} statements timed on stderr, the same hops",
          p.stderr[-2000:])

    # The one-hour page: its "What changed" stays inside the hour.
    h0, h1 = d1 + 12 * 3600 * 10**6, d1 + 13 * 3600 * 10**6
    rc, page, err = html_page(gen, ["--since", iso(h0), "--until", iso(h1)], tmp)
    m = re.search(r'<section class="panel" id="kx-changes">.*?</section>', page, re.S)
    sec = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", m.group(0))) if m else ""
    seen = re.findall(r"(?:worse|better) \S+ .+? \d+ \d+ \d+ \d+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", sec)
    inside = [s for s in seen
              if h0 // 10**6 <= datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(
                  tzinfo=datetime.timezone.utc).timestamp() < h1 // 10**6]
    check(rc == 0 and len(seen) > 0 and len(inside) == len(seen),
          f"a one-hour page: What changed lists only legs of that hour ({len(inside)} of {len(seen)})",
          err + sec[:2000])

    # --- every bundled capture, under two sensor names ---
    caps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) + glob.glob(os.path.join(PCAPS, "*.pcapng")))
    bundled = os.path.join(tmp, "bundled.db")
    ra = kx("read", "-q", "--sensor", "edge", "--db", bundled, *caps[0::2])
    rb = kx("read", "-q", "--sensor", "origin", "--db", bundled, *caps[1::2])
    check(ra.returncode == 0 and rb.returncode == 0, "every bundled capture read", ra.stderr + rb.stderr)
    lo, hi, sensors = span(bundled)
    mid = (lo + hi) // 2
    first_day = lo // day * day
    windows = [
        ["--since", iso(first_day), "--until", iso(first_day + day)],
        ["--since", iso(mid), "--until", iso(hi + 1)],
        ["--since", iso(lo), "--until", iso(hi + 1), "--sensor", "origin"],
        ["--since", iso(hi - 3600 * 10**6), "--until", iso(hi + 1)],
    ]
    compare(bundled, "bundled captures", windows, tmp)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print(f"# {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
