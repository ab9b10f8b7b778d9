#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The rollups (rollup.h) answer hops, health, clients, audit, fingerprints,
cbom and report --html exactly as the raw rows, through the real binary.

usage: test_rollups.py KEXWATCH GEN_INVENTORY GEN_CAPTURE PCAPS_DIR SCHEMA6_SQL

Every comparison runs a report twice on the same file: as it is (full range:
rollups + the rows not folded yet + sessions) and with KEXWATCH_ROLLUPS=0
(raw rows only), and wants the same bytes. The files:
- every bundled capture, read with nothing folded, with everything folded
  after each commit (--rollup-every 1), and half and half;
- a generated inventory of 120 000 handshakes over a year, 6 sensors (the
  writer folded 100 000, 20 000 wait), then rebuilt: the same rollup rows;
- `kexwatch rollup` killed mid-fold, `kexwatch read` killed mid-capture
  with folds every 1000 rows: still equal, folded_id on a chunk edge;
- `prune`: full-range reports keep the deleted history, raw-only ones and
  windows do not; rows written after a prune are folded (the id fence);
- a report on a file whose rollups lag by 120 000 rows folds them once with
  progress lines; as another user who may not write it, it says what to
  run and still answers exactly; a schema 6 file upgraded by `rollup`;
- schema 12 files (folded, half folded) read as they are, then upgraded:
  the fingerprint and cbom rollups count every row once;
- the per-client rollups (schema 14): their sets and counters against
  distinct counts over the raw rows; schema 13 files (folded, half folded)
  read as they are, then upgraded: the same rollups a rebuild makes.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from rollup_checks import legs_all_is_legs, weekly_is_daily

KX, GEN_INV, GEN_CAP, PCAPS, SCHEMA6 = sys.argv[1:6]
failures = []


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail is not None:
            for line in str(detail).splitlines()[:30]:
                print("#   " + line)


def kx(*a, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([KX, *a], capture_output=True, text=True, timeout=900, env=e, **kw)


def q(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


RAW = {"KEXWATCH_ROLLUPS": "0"}

# The audit's policy (written into the temp dir below): required and warn
# rules, addresses, CIDR blocks of both families, ports and port ranges,
# SNI globs (case-insensitive) and '-' for none, exceptions before broad
# rules, a rule no leg reaches; the gen_inventory servers are 198.18/15
# and 2001:db8:443::/48, the bundled captures' mostly 198.18.0.0/24.
POLICY_TEXT = """\
# ACTION   SERVER              PORT        SNI
warn       198.18.0.0/24       443         *.PAY.inv.kx.test
required   198.18.0.0/16       8443        *
warn       2001:db8:443::/48   *           *.api.*
required   *                   22          -
required   198.18.0.20         1-1023      -
warn       198.19.0.0/16       400-500     *
required   2001:db8::/32       443         *
required   192.0.2.0/24        *           *
warn       *                   *           -
required   *                   1-1023      srv1*
warn       *                   *           *
"""
POLICY = None  # its path, set once the temp dir exists


# Every variant of the reports that read rollups; on the large files a
# short list (each run reads 120 000 rows raw).
def variants(sensors, short=False):
    if short:
        v = [["hops", "--json"], ["hops", "--csv", "--group-by", "sni"], ["health", "--json"],
             ["clients", "--json"], ["audit", "--policy", POLICY, "--json"],
             ["fingerprints", "--json"], ["cbom"]]
        return v + [["hops", "--json", "--sensor", s] for s in sensors] + \
            [["clients", "--csv", "--sensor", s] for s in sensors] + \
            [["audit", "--policy", POLICY, "--csv", "--sensor", s] for s in sensors]
    v = []
    for a in ([], ["--json"], ["--csv"], ["--strict"], ["--strict", "--json"]):
        v.append(["audit", "--policy", POLICY] + a)
    for sensor in sensors:
        v.append(["audit", "--policy", POLICY, "--json", "--sensor", sensor])
    for fmt in ("--json", "--csv", None):
        for g in ("endpoint", "sni", "server", "pair"):
            v.append(["hops", "--group-by", g] + ([fmt] if fmt else ["--wide"]))
    for s in ("handshakes", "clients", "last-seen", "name"):
        v.append(["hops", "--json", "--sort", s])
    for sensor in sensors:
        v.append(["hops", "--json", "--sensor", sensor])
        v.append(["hops", "--json", "--group-by", "sni", "--sensor", sensor])
        v.append(["health", "--json", "--sensor", sensor])
    v.append(["health", "--json"])
    v.append(["health"])
    for fmt in ("--json", "--csv", "--wide"):
        v.append(["clients", fmt])
    for sensor in sensors:
        v.append(["clients", "--json", "--sensor", sensor])
    for fmt in ("--json", "--csv", "--wide"):
        v.append(["fingerprints", fmt])
    for sensor in sensors:
        v.append(["fingerprints", "--json", "--sensor", sensor])
    v += [["cbom"], ["cbom", "--spec", "1.7"]] + [["cbom", "--sensor", s] for s in sensors]
    return v


def same_as_raw(db, label, sensors=(), short=False):
    """Each variant: rollups and raw rows give the same bytes."""
    bad = []
    for args in variants(sensors, short):
        a = kx(*args, "--db", db)
        b = kx(*args, "--db", db, env=RAW)
        # audit exits 1 when a required rule fails: both must say so.
        ok = (0, 1) if args[0] == "audit" else (0,)
        if (a.returncode not in ok or b.returncode != a.returncode or a.stdout != b.stdout
                or not a.stdout.strip()):
            bad.append(f"{' '.join(args)}: rc {a.returncode}/{b.returncode}\n{a.stderr}{b.stderr}"
                       + "".join(l for l in difflib_lines(a.stdout, b.stdout)))
    check(not bad, f"{label}: {len(variants(sensors, short))} hops/health/clients/audit/fingerprints/cbom variants"
          " equal to the raw rows'",
          "\n".join(bad[:3]))


# `changes` against the raw rows: the baseline's whole days come from the
# daily rollups (schema 15) when the grouping is endpoint or server, the
# partial days at its edges, its sessions and the window from raw rows.
# (name, args, daily): daily says whether the daily rollups must be read.
PROFILE = {"KEXWATCH_SQL_PROFILE": "full"}


def changes_same_as_raw(db, label, cases, want_lines=True):
    """weekly: whether the file has the weekly rollups (schema 16): then
    every all-sensor case through the daily ones whose baseline holds a
    whole week reads them, and with --sensor none does."""
    weekly = q(db, "PRAGMA user_version")[0][0] >= 16
    bad, used, used_w, lines = [], 0, 0, 0
    for name, args, daily in cases:
        a = kx("changes", *args, "--db", db, env=PROFILE)
        b = kx("changes", *args, "--db", db, env=RAW)
        read_w = "rollup_weekly_clients" in a.stderr
        read = "rollup_daily_clients" in a.stderr or read_w
        used += read
        used_w += read_w
        lines += len(a.stdout.splitlines())
        if (a.returncode not in (0, 1) or b.returncode != a.returncode or a.stdout != b.stdout
                or not a.stdout.strip() or read != daily
                or (read_w and (not weekly or "--sensor" in args))):
            bad.append(f"{name}: {' '.join(args)}: rc {a.returncode}/{b.returncode}, daily"
                       f" rollups read: {read}, weekly: {read_w}\n{b.stderr}"
                       + "".join(difflib_lines(a.stdout, b.stdout)))
    week_cases = [c for c in cases if c[2] and "--sensor" not in c[1] and "--baseline" not in c[1]]
    if weekly and week_cases and not used_w:
        bad.append("no case read the weekly rollups")
    check(not bad and (lines > 2 * len(cases) or not want_lines),
          f"{label}: {len(cases)} changes variants equal to the raw rows' ({used} through the daily"
          f" rollups, {used_w} of them through the weekly ones, {lines} lines)", "\n".join(bad[:3]))


def changes_cases(day, sensors):
    """Windows around day (YYYY-MM-DD) of a file with legs on most days."""
    y, m, d = day.split("-")
    c = [("aligned", ["--since", day, "--until", f"{day}T23:59:59Z"], True),
         ("aligned, json", ["--since", day, "--baseline", "10d", "--json"], True),
         ("unaligned", ["--since", f"{day}T07:30:00Z", "--until", f"{day}T21:00:00Z",
                        "--baseline", "17d", "--csv"], True),
         ("baseline before the first leg",
          ["--since", day, "--baseline-since", "2000-01-01", "--baseline-until", f"{day}T00:00:00Z"], True),
         ("baseline ending hours before the window",
          ["--since", f"{day}T12:00:00Z", "--baseline-since", f"{y}-{m}-01T05:00:00Z",
           "--baseline-until", f"{day}T03:00:00Z"], True),
         ("less than a day", ["--since", day, "--baseline", "20h"], False),
         ("server", ["--since", day, "--group-by", "server", "--json"], True),
         ("sni: raw rows", ["--since", day, "--group-by", "sni", "--json"], False),
         ("pair: raw rows", ["--since", day, "--group-by", "pair", "--csv"], False)]
    return c + [(f"sensor {s}", ["--since", f"{day}T06:00:00Z", "--sensor", s, "--json"], True)
                for s in sensors]


def difflib_lines(a, b):
    import difflib
    return list(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "rollups", "raw", n=0))[:12]


def html_same(db, label, tmp):
    pa, pb = os.path.join(tmp, "a.html"), os.path.join(tmp, "b.html")
    a = kx("report", "--db", db, "--html", pa)
    b = kx("report", "--db", db, "--html", pb, env=RAW)
    ta = open(pa).read() if a.returncode == 0 else ""
    tb = open(pb).read() if b.returncode == 0 else ""
    # The page names the moment it was made; everything else must agree.
    strip = lambda t: "\n".join(l for l in t.splitlines() if "Generated" not in l and "generated" not in l)
    check(ta and strip(ta) == strip(tb), f"{label}: report --html equal to the raw rows' page",
          a.stderr + b.stderr + "".join(difflib_lines(strip(ta), strip(tb))))


def state(db):
    return q(db, "SELECT folded_id, (SELECT coalesce(max(id), 0) FROM handshake_rows),"
                 " (SELECT coalesce(sum(n), 0) FROM rollup_legs),"
                 " (SELECT count(*) FROM handshake_rows WHERE id <= (SELECT folded_id FROM rollup_state))"
                 " FROM rollup_state")[0]


def unfold(db):
    """What a file upgraded from before schema 12 has: empty rollups."""
    con = sqlite3.connect(db)
    con.executescript("".join(f"DELETE FROM {t};" for t in ROLLUP_TABLES)
                      + "UPDATE rollup_state SET folded_id = 0, folded_session_id = 0;")
    con.close()


ROLLUP_TABLES = ("rollup_legs", "rollup_pairs", "rollup_clients", "rollup_clients_all", "rollup_runs",
                 "rollup_client_legs", "rollup_client_hellos", "rollup_hourly",
                 "rollup_fp_legs", "rollup_fp_clients", "rollup_fp_endpoints", "rollup_cbom",
                 "rollup_client_sets", "rollup_client_counts", "rollup_client_counts_all",
                 "rollup_client_legs_all", "rollup_client_hellos_all",
                 "rollup_daily_endpoints", "rollup_daily_clients",
                 "rollup_weekly_endpoints", "rollup_weekly_clients", "rollup_legs_all",
                 "rollup_fp_clients_all", "rollup_fp_endpoints_all")
V13_TABLES = ROLLUP_TABLES[-16:-12]  # added by schema 13
V14_TABLES = ROLLUP_TABLES[-12:-7]  # added by schema 14
V15_TABLES = ROLLUP_TABLES[-7:-5]  # added by schema 15
V16_TABLES = ROLLUP_TABLES[-5:]  # added by schema 16
LATEST = 16


def client_counts_ok(db):
    """The per-client sets and counters against the raw rows (every row
    folded): distinct servers and non-empty SNIs per client and sensor and
    over all sensors, handshakes and sessions alike."""
    pairs = ("SELECT client_ip, server_ip, coalesce(sni, '') AS s, sensor FROM handshake_rows"
             " UNION ALL SELECT client_ip, server_ip, '', sensor FROM sessions")
    want = sorted(q(db, f"SELECT client_ip, sensor, count(DISTINCT server_ip),"
                        f" count(DISTINCT nullif(s, '')) FROM ({pairs}) GROUP BY 1, 2"))
    want_all = sorted(q(db, f"SELECT client_ip, count(DISTINCT server_ip),"
                            f" count(DISTINCT nullif(s, '')) FROM ({pairs}) GROUP BY 1"))
    sets = sorted(q(db, f"SELECT DISTINCT client_ip, 0, server_ip, sensor FROM ({pairs})"
                        f" UNION SELECT DISTINCT client_ip, 1, s, sensor FROM ({pairs}) WHERE s <> ''"))
    legs = sorted(q(db, "SELECT client_ip, protocol, verdict, coalesce(reason, ''), offers_pq <> 0,"
                        " ch_bytes > 0, count(*), min(ts_first_us), max(ts_last_us) FROM handshake_rows"
                        " GROUP BY 1, 2, 3, 4, 5, 6"))
    return (sorted(q(db, "SELECT * FROM rollup_client_counts")) == want
            and sorted(q(db, "SELECT * FROM rollup_client_counts_all")) == want_all
            and sorted(q(db, "SELECT * FROM rollup_client_sets")) == sets
            and sorted(q(db, "SELECT * FROM rollup_client_legs_all")) == legs and len(want_all) > 0)


def rollup_rows(db):
    return {t: sorted(q(db, f"SELECT * FROM {t}"), key=repr) for t in ROLLUP_TABLES}


with tempfile.TemporaryDirectory() as tmp:
    # The unprivileged reader below must be able to make the WAL index
    # beside the file (SQLite's -shm), not to write the file.
    os.chmod(tmp, 0o1777)
    POLICY = os.path.join(tmp, "policy.txt")
    with open(POLICY, "w") as pf:
        pf.write(POLICY_TEXT)
    caps = sorted(os.path.join(PCAPS, f) for f in os.listdir(PCAPS)
                  if f.endswith((".pcap", ".pcapng")))
    half = len(caps) // 2

    # --- every bundled capture: unfolded, folded, half and half ---
    unf, fol, mix = (os.path.join(tmp, n) for n in ("unfolded.db", "folded.db", "mixed.db"))
    r1 = kx("read", "-q", "--no-progress", "--sensor", "cap-a", "--db", unf, *caps[:half])
    r2 = kx("read", "-q", "--no-progress", "--sensor", "cap-b", "--db", unf, *caps[half:])
    r3 = kx("read", "-q", "--no-progress", "--sensor", "cap-a", "--rollup-every", "1", "--db", fol,
            *caps[:half])
    r4 = kx("read", "-q", "--no-progress", "--sensor", "cap-b", "--rollup-every", "1", "--db", fol,
            *caps[half:])
    r5 = kx("read", "-q", "--no-progress", "--sensor", "cap-a", "--rollup-every", "1", "--db", mix,
            *caps[:half])
    r6 = kx("read", "-q", "--no-progress", "--sensor", "cap-b", "--db", mix, *caps[half:])
    rows = q(unf, "SELECT count(*) FROM handshake_rows")[0][0]
    check(all(r.returncode == 0 for r in (r1, r2, r3, r4, r5, r6)) and rows > 150,
          f"{len(caps)} bundled captures read three ways ({rows} handshake rows each)",
          "".join(r.stderr for r in (r1, r2, r3, r4, r5, r6))[:3000])
    have = {r[0] for r in q(fol, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                 " AND name LIKE 'rollup_%' AND name <> 'rollup_state'")}
    check(have == set(ROLLUP_TABLES), f"the test knows every rollup table ({len(have)})", have)
    su, sf, sm = state(unf), state(fol), state(mix)
    a_rows = q(mix, "SELECT count(*) FROM handshake_rows WHERE sensor = 'cap-a'")[0][0]
    check(su[0] == 0 and su[2] == 0, "read with the default --rollup-every: nothing folded", su)
    check(sf[0] == sf[1] and sf[2] == sf[3] == rows,
          f"--rollup-every 1: every row folded, the rollups count {sf[2]} handshakes", sf)
    check(0 < sm[0] < sm[1] and sm[2] == sm[3] == a_rows,
          f"half and half: the first run's {a_rows} rows folded, the second's in the tail", sm)
    for db, label in ((unf, "unfolded"), (fol, "folded"), (mix, "half folded")):
        same_as_raw(db, f"bundled captures, {label}", ("cap-a", "cap-b"))
    html_same(fol, "bundled captures, folded", tmp)
    # Real stacks on two days (2026-11-22 and 2026-12-06): the first day
    # whole in the baseline, or cut at its start.
    for db, label in ((fol, "folded"), (mix, "half folded")):
        changes_same_as_raw(db, f"bundled captures, {label}", [
            ("aligned", ["--since", "2026-12-06", "--baseline", "30d"], True),
            ("unaligned", ["--since", "2026-12-05T13:00:00Z", "--baseline", "14d", "--json"], True),
            ("server", ["--since", "2026-12-06", "--group-by", "server", "--csv"], True),
            ("sensor", ["--since", "2026-12-06", "--sensor", "cap-b", "--json"], True),
            ("the first day cut", ["--since", "2026-12-06", "--baseline-since", "2026-11-22T02:00:00Z",
                                   "--baseline-until", "2026-11-23T01:00:00Z"], False)])

    # --- ties: the same captures under two names, as two sensors ---
    # Every handshake twice with the same ts_first_us, in two rolled-up
    # groups (the sensor is in the key) and two capture file names: the
    # audit's evidence is the copy read second (the greater id), whichever
    # sensor sorts first in rollup_legs, folded or in the tail.
    dirs = [os.path.join(tmp, d) for d in ("copy-x", "copy-y")]
    for d in dirs:
        os.mkdir(d)
        for c in caps:
            shutil.copy(c, d)
    copies = [[os.path.join(d, os.path.basename(c)) for c in caps] for d in dirs]
    for name, first, second, fold2 in (("tie-ab.db", "a", "b", True), ("tie-ba.db", "b", "a", True),
                                       ("tie-tail.db", "a", "b", False)):
        tdb = os.path.join(tmp, name)
        r1 = kx("read", "-q", "--no-progress", "--sensor", first, "--rollup-every", "1", "--db", tdb,
                *copies[0])
        r2 = kx("read", "-q", "--no-progress", "--sensor", second, "--db", tdb,
                *(["--rollup-every", "1"] if fold2 else []), *copies[1])
        ties = q(tdb, "SELECT count(*) FROM (SELECT newest_first_us FROM rollup_legs GROUP BY 1"
                      " HAVING count(*) > 1)")[0][0]
        out = kx("audit", "--db", tdb, "--policy", POLICY).stdout
        # (Sessions have no id: their ties go by sensor, then client.)
        ev = [l for l in out.splitlines() if "evidence: " in l and "first session" not in l]
        check(r1.returncode == 0 and r2.returncode == 0 and (ties > 0 or not fold2) and ev
              and all("copy-y" in l for l in ev),
              f"{name}: {ties} rolled-up groups share their newest time; every handshake"
              " evidence of the audit is the copy read second", r1.stderr + r2.stderr + out[:2000])
        same_as_raw(tdb, f"bundled captures twice, {name}", (first, second))
    # The distinct-client counters against a count over the raw rows.
    # (The pairs of sessions rows fold too: a plaintext leg's client counts.)
    pairs = ("SELECT server_ip, server_port, coalesce(sni, '') AS s, client_ip, sensor FROM handshake_rows"
             " UNION ALL SELECT server_ip, server_port, '', client_ip, sensor FROM sessions")
    want = q(fol, f"SELECT count(*) FROM (SELECT DISTINCT server_ip, server_port, s, client_ip"
                  f" FROM ({pairs}))")[0][0]
    got = q(fol, "SELECT sum(clients) FROM rollup_clients_all")[0][0]
    want_s = q(fol, f"SELECT count(*) FROM (SELECT DISTINCT * FROM ({pairs}))")[0][0]
    check(q(fol, "SELECT folded_session_id = (SELECT max(id) FROM sessions) FROM rollup_state")[0][0] == 1
          and q(fol, "SELECT count(*) FROM sessions")[0][0] > 0,
          "the sessions rows' pairs are folded too")
    got_s = q(fol, "SELECT sum(clients) FROM rollup_clients")[0][0]
    check(got == want and got_s == want_s,
          f"distinct clients kept as they fold: {got} endpoint-client pairs ({want} in the rows),"
          f" {got_s} per sensor ({want_s})")
    for db, label in ((fol, "bundled captures"), (os.path.join(tmp, "tie-ab.db"), "tie-ab.db")):
        check(client_counts_ok(db), f"{label}: the per-client sets and their counters (distinct"
              " servers and SNIs per client and sensor, over all sensors) are the raw rows' counts")

    # --- a small generated year, every variant, folded ---
    small = os.path.join(tmp, "small.db")
    g = subprocess.run([GEN_INV, "--out", small, "--rows", "20000", "--seed", "8", "--days", "365",
                        "--start", "1735689600"], capture_output=True, text=True)
    r = kx("rollup", "--db", small)
    check(g.returncode == 0 and r.returncode == 0 and state(small)[2] == 20000,
          "a generated year of 20 000 handshakes, folded by kexwatch rollup", g.stderr + r.stderr)
    small_sensors = [x[0] for x in q(small, "SELECT DISTINCT sensor FROM handshake_rows ORDER BY 1 LIMIT 2")]
    same_as_raw(small, "generated 20 000", small_sensors)
    changes_same_as_raw(small, "generated 20 000", changes_cases("2025-06-10", small_sensors))
    # Every day holds legs; rows of each day and sensor are in the daily
    # rollups once (what changes reads there is summed per subject).
    days = q(small, "SELECT count(DISTINCT ts_first_us / 86400000000) FROM handshake_rows")[0][0]
    dn = q(small, "SELECT (SELECT sum(n) FROM rollup_daily_endpoints),"
                  " (SELECT sum(n) FROM rollup_daily_clients),"
                  " (SELECT count(DISTINCT day) FROM rollup_daily_clients)")[0]
    check(dn == (20000, 20000, days) and days > 300,
          f"the daily rollups count each of the 20 000 handshakes once, on {days} days", dn)
    # The full-range reports' legs over all sensors are rollup_legs_all's
    # (both arms are in the text; the equality with the raw rows above,
    # with and without --sensor, says only one is read).
    for args in (["hops"], ["health"], ["report", "--html", os.path.join(tmp, "p.html")]):
        pr = kx(*args, "--db", small, env=PROFILE)
        check(pr.returncode == 0 and "kx_legs_rolled_all AS SELECT NULL AS id, NULL AS run_id,"
              " NULL AS sensor" in pr.stderr and "FROM main.rollup_legs_all" in pr.stderr
              and "FROM kx_legs_rolled_all WHERE :sensor IS NULL" in pr.stderr,
              f"generated 20 000: {args[0]} reads the legs of all sensors from rollup_legs_all")
    pr = kx("fingerprints", "--db", small, env=PROFILE)
    check(pr.returncode == 0 and "FROM main.rollup_fp_clients_all" in pr.stderr
          and "FROM main.rollup_fp_endpoints_all" in pr.stderr
          and "FROM kx_fp_clients_rolled_all WHERE :sensor IS NULL" in pr.stderr
          and "FROM kx_fp_endpoints_rolled_all WHERE :sensor IS NULL" in pr.stderr,
          "generated 20 000: fingerprints reads the clients and endpoints of all sensors from"
          " rollup_fp_clients_all and rollup_fp_endpoints_all")
    check(weekly_is_daily(small) and legs_all_is_legs(small), "generated 20 000: each weekly"
          " rollup row is its week's daily rows summed over the sensors, rollup_legs_all and"
          " rollup_fp_*_all are rollup_legs and rollup_fp_* summed over them")

    # --- a generated year ---
    gen = os.path.join(tmp, "gen.db")
    g = subprocess.run([GEN_INV, "--out", gen, "--rows", "120000", "--seed", "5", "--days", "365",
                        "--start", "1735689600"], capture_output=True, text=True)
    st = state(gen)
    check(g.returncode == 0 and st[0] > 0 and st[2] == st[3] and st[1] - st[0] > 0,
          f"gen_inventory through the store: {st[3]} rows folded by the writer, {st[1] - st[0]} in the tail",
          g.stderr + str(st))
    sensors = [r[0] for r in q(gen, "SELECT DISTINCT sensor FROM handshake_rows ORDER BY 1 LIMIT 2")]
    same_as_raw(gen, "generated 120 000", sensors, short=True)
    html_same(gen, "generated 120 000", tmp)
    before = rollup_rows(gen)
    r = kx("rollup", "--db", gen)
    st2 = state(gen)
    check(r.returncode == 0 and st2[0] == st2[1] and st2[2] == 120000,
          "kexwatch rollup folds the tail: all 120 000 in the rollups", r.stderr + str(st2))
    folded_all = rollup_rows(gen)
    r = kx("rollup", "--db", gen, "--rebuild")
    check(r.returncode == 0 and rollup_rows(gen) == folded_all and state(gen)[2] == 120000,
          "rollup --rebuild from the raw rows gives the same rollup rows as folding as they came",
          r.stderr)
    check(all(folded_all[t] for t in ROLLUP_TABLES) and before != {t: [] for t in ROLLUP_TABLES},
          "(every rollup table has rows: the comparison can fail)")
    same_as_raw(gen, "generated 120 000, rebuilt", sensors, short=True)
    changes_same_as_raw(gen, "generated 120 000, rebuilt",
                        [changes_cases("2025-11-03", sensors)[i] for i in (0, 2, 6, 9)])

    # --- killed in the middle ---
    big = os.path.join(tmp, "big.db")
    shutil.copy(gen, big)
    unfold(big)
    edges = []
    for stop_at in (1, 2):
        # Killed while the fold is between two chunks: poll the state.
        p = subprocess.Popen([KX, "rollup", "--db", big], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None:
            try:
                if q(big, "SELECT folded_id FROM rollup_state")[0][0] >= 50000 * stop_at:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.005)
        p.send_signal(signal.SIGKILL)
        p.wait()
        edges.append(state(big))
        same_as_raw(big, f"rollup killed mid-fold (folded_id {edges[-1][0]} of {edges[-1][1]})",
                    short=True)
        # The days above folded_id are read raw from the tail.
        changes_same_as_raw(big, f"rollup killed mid-fold (folded_id {edges[-1][0]})",
                            changes_cases("2025-12-20", [])[1:3])
    check(any(0 < e[0] < e[1] for e in edges)
          and all(e[0] % 50000 == 0 or e[0] == e[1] for e in edges) and all(e[2] == e[3] for e in edges),
          "after each kill folded_id is a chunk edge and the rollups hold exactly the rows below it",
          edges)
    check(q(big, "PRAGMA integrity_check")[0][0] == "ok", "integrity_check ok after the kills")

    cap, exp = os.path.join(tmp, "dense.pcap"), os.path.join(tmp, "dense.tsv")
    subprocess.run([GEN_CAP, "--profile", "dense", "--seed", "9", "--scale", "0.3", "--out", cap,
                    "--expected", exp], check=True, capture_output=True)
    kdb = os.path.join(tmp, "killed.db")
    p = subprocess.Popen([KX, "read", "-q", "--no-progress", "--no-ndpi", "--rollup-every", "1000",
                          "--db", kdb, cap], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            if q(kdb, "SELECT folded_id FROM rollup_state")[0][0] > 0:
                break
        except sqlite3.Error:
            pass
    p.send_signal(signal.SIGKILL)
    p.wait()
    ks = state(kdb)
    check(0 < ks[0] and ks[2] == ks[3], f"read killed mid-capture: {ks[3]} rows folded, {ks[1] - ks[0]}"
          " in the tail, the rollups hold exactly the folded rows", ks)
    same_as_raw(kdb, "read killed mid-capture", short=True)
    # Recomputed from the raw rows: the rollups the killed writer left, with
    # the tail folded on top, are what a rebuild makes.
    r = kx("rollup", "--db", kdb)
    reb = os.path.join(tmp, "killed-rebuilt.db")
    shutil.copy(kdb, reb)
    r2 = kx("rollup", "--db", reb, "--rebuild")
    check(r.returncode == 0 and r2.returncode == 0 and rollup_rows(kdb) == rollup_rows(reb)
          and state(kdb)[2] == ks[1],
          "after the kill: folding the tail gives exactly the rollups a rebuild from the raw rows gives",
          r.stderr + r2.stderr)

    # --- prune: the history stays in the rollups ---
    pr = os.path.join(tmp, "pruned.db")
    shutil.copy(gen, pr)
    hops_before = kx("hops", "--db", pr, "--json").stdout
    health_before = kx("health", "--db", pr, "--json").stdout
    audit_before = kx("audit", "--db", pr, "--policy", POLICY, "--json")
    cut = "2025-10-03T00:00:00Z"
    window_before = kx("hops", "--db", pr, "--json", "--since", cut).stdout
    p = kx("prune", "--db", pr, "--older-than", "90d", "--now", "2026-01-01T00:00:00Z")
    left = q(pr, "SELECT count(*) FROM handshake_rows")[0][0]
    check(p.returncode == 0 and 0 < left < 120000, f"prune 90 days: {left} raw rows left", p.stderr)
    check(kx("hops", "--db", pr, "--json").stdout == hops_before
          and kx("health", "--db", pr, "--json").stdout == health_before,
          "full-range hops and health after prune: the same as before (the rollups keep the history)")
    # audit too: its counts are the history's; an evidence leg is the same
    # leg unless its raw row was pruned. The raw rows' answer lost them.
    audit_after = kx("audit", "--db", pr, "--policy", POLICY, "--json")
    audit_raw = kx("audit", "--db", pr, "--policy", POLICY, "--json", env=RAW)

    def audit_counts(out):
        j = json.loads(out)
        return [{k: v for k, v in r.items() if k != "evidence"} for r in j["rules"]], \
            {k: v for k, v in j.items() if k != "rules"}

    try:
        ab, aa = json.loads(audit_before.stdout), json.loads(audit_after.stdout)
        same_ev = all(x["evidence"] == y["evidence"] or (y["evidence"] or {}).get("pruned")
                      for x, y in zip(ab["rules"], aa["rules"]))
        ok = (audit_counts(audit_before.stdout) == audit_counts(audit_after.stdout) and same_ev
              and audit_counts(audit_raw.stdout) != audit_counts(audit_before.stdout))
    except (ValueError, KeyError) as e:
        ok = False
    check(audit_before.returncode in (0, 1) and ok,
          "full-range audit after prune: the counts of before (from the rollups), not the raw rows'",
          audit_before.stderr + audit_after.stderr + audit_after.stdout[:2000])
    # What prune deletes: rows before the cutoff, except the one with the
    # highest id (the fence that keeps new ids above folded_id). The same
    # rows deleted by hand give the raw-only answer.
    exp = os.path.join(tmp, "expected.db")
    shutil.copy(gen, exp)
    con = sqlite3.connect(exp)
    con.execute("DELETE FROM handshake_extras WHERE id IN (SELECT id FROM handshake_rows WHERE"
                " ts_first_us < 1759449600000000 AND id < (SELECT max(id) FROM handshake_rows))")
    con.execute("DELETE FROM handshake_rows WHERE ts_first_us < 1759449600000000"
                " AND id < (SELECT max(id) FROM handshake_rows)")
    con.commit()
    con.close()
    raw_after = kx("hops", "--db", pr, "--json", env=RAW).stdout
    check(raw_after and raw_after == kx("hops", "--db", exp, "--json", env=RAW).stdout
          and kx("hops", "--db", pr, "--json", "--since", cut).stdout == window_before,
          "raw-only hops after prune = the rows prune keeps; a window from the cutoff is unchanged")
    top = q(pr, "SELECT max(id) FROM handshake_rows")[0][0]
    r = kx("read", "-q", "--no-progress", "--sensor", "after-prune", "--rollup-every", "1", "--db", pr,
           caps[0], caps[1])
    sp = state(pr)
    new = q(pr, "SELECT count(*) FROM handshake_rows WHERE sensor = 'after-prune'")[0][0]
    check(r.returncode == 0 and new > 0 and sp[0] == sp[1] > top
          and q(pr, "SELECT sum(n) FROM rollup_legs WHERE sensor = 'after-prune'")[0][0] == new,
          f"rows read after the prune get ids above the fence and are folded ({new})", r.stderr + str(sp))

    # --- audit evidence whose raw row is gone ---
    # Every folded handshake row deleted (as prune deletes, by hand):
    # only the rollups and the sessions remain. The audit counts what it
    # did; a handshake's evidence is its group's newest time, server and
    # verdict from the rollup, marked pruned (no client, no capture file).
    gone = os.path.join(tmp, "gone.db")
    shutil.copy(gen, gone)
    con = sqlite3.connect(gone)
    con.execute("DELETE FROM handshake_extras WHERE id <= (SELECT folded_id FROM rollup_state)")
    con.execute("DELETE FROM handshake_rows WHERE id <= (SELECT folded_id FROM rollup_state)")
    con.commit()
    con.close()
    full = kx("audit", "--db", gen, "--policy", POLICY, "--json")
    g_js = kx("audit", "--db", gone, "--policy", POLICY, "--json")
    g_txt = kx("audit", "--db", gone, "--policy", POLICY)
    g_csv = kx("audit", "--db", gone, "--policy", POLICY, "--csv")
    g_raw = kx("audit", "--db", gone, "--policy", POLICY, "--json", env=RAW)
    try:
        fj, gj = json.loads(full.stdout), json.loads(g_js.stdout)
        hs_ev = [(x["evidence"], y["evidence"]) for x, y in zip(fj["rules"], gj["rules"])
                 if x["evidence"] and x["evidence"]["sessions"] is None]
        ok = (audit_counts(full.stdout) == audit_counts(g_js.stdout) and hs_ev
              and all(y and y.get("pruned") is True and y["client_ip"] is None
                      and y["client_port"] is None and y["source"] is None
                      and (x["ts"], x["verdict"]) == (y["ts"], y["verdict"]) for x, y in hs_ev)
              and json.loads(g_raw.stdout)["handshakes"] == 0)
    except (ValueError, KeyError, TypeError):
        ok = False
    check(ok and g_txt.stdout.count("evidence: pruned") == len(hs_ev)
          and g_csv.returncode == full.returncode,
          f"audit over rollups whose raw rows are gone: the same counts, {len(hs_ev) if ok else 0}"
          " handshake evidences from the rollups marked pruned",
          full.stderr + g_js.stderr + g_js.stdout[:2000])

    # --- a report on lagging rollups ---
    lag = os.path.join(tmp, "lag.db")
    shutil.copy(big, lag)
    unfold(lag)
    os.chmod(lag, 0o644)
    want = kx("hops", "--db", lag, "--json", env=RAW).stdout
    ro = kx("hops", "--db", lag, "--json", user=65534)
    check(ro.returncode == 0 and ro.stdout == want and "120000 handshake rows of" in ro.stderr
          and "kexwatch rollup --db" in ro.stderr and state(lag)[0] == 0,
          "a user who may not write the file: told what to run, answered from the raw rows", ro.stderr)
    a = kx("hops", "--db", lag, "--json")
    check(a.returncode == 0 and a.stdout == want
          and "folding 120000 handshake rows into the rollups (once)" in a.stderr
          and "120000 of 120000 handshake rows folded" in a.stderr and state(lag)[0] == state(lag)[1],
          "a report on rollups 120 000 rows behind folds them once, with progress lines", a.stderr)
    b = kx("hops", "--db", lag, "--json")
    check(b.stdout == want and b.stderr == "", "the next report says nothing and answers the same", b.stderr)

    # --- an older schema ---
    v6 = os.path.join(tmp, "v6.db")
    con = sqlite3.connect(v6)
    con.executescript(open(SCHEMA6).read())
    con.execute("PRAGMA application_id = 1801812087")
    con.execute("PRAGMA user_version = 6")
    con.commit()
    n6 = con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    con.close()
    r = kx("rollup", "--db", v6)
    s6 = state(v6)
    check(r.returncode == 0 and q(v6, "PRAGMA user_version")[0][0] == LATEST and s6[2] == n6 > 0,
          f"a schema 6 file: `kexwatch rollup` upgrades it to {LATEST} and folds its {n6} rows", r.stderr)
    same_as_raw(v6, "schema 6 file, upgraded")

    # --- schema 12 (no fingerprint or cbom rollups): the upgrade fills
    # them from the rows already folded, so folded_id holds for them too.
    # A file of 12 is a file of 13 without the four tables. ---
    for src, label in ((fol, "folded"), (mix, "half folded")):
        v12 = os.path.join(tmp, "v12.db")
        shutil.copy(src, v12)
        con = sqlite3.connect(v12)
        con.executescript("".join(f"DROP TABLE {t};" for t in V13_TABLES + V14_TABLES + V15_TABLES + V16_TABLES)
                          + "PRAGMA user_version = 12;")
        con.close()
        before = state(v12)
        rd = kx("hops", "--db", v12, "--json")  # read-only: reads a 12 file as it is
        check(rd.returncode == 0 and rd.stdout == kx("hops", "--db", src, "--json").stdout
              and q(v12, "PRAGMA user_version")[0][0] == 12,
              f"schema 12 ({label}): reports read it without upgrading it", rd.stderr)
        same_as_raw(v12, f"schema 12 file ({label}), not upgraded", ("cap-a", "cap-b"), short=True)
        # `kexwatch rollup` opens as a writer (the upgrade fills the
        # rollups up to folded_id) and folds the tail: a row counted by
        # both would show as a difference from the raw rows' counts.
        st = kx("rollup", "--db", v12)
        con = sqlite3.connect(v12)
        want = {t: sorted(con.execute(
            f"SELECT {', '.join(c)}, count(*) FROM handshake_rows WHERE fp_id IS NOT NULL"
            " AND id <= (SELECT folded_id FROM rollup_state) GROUP BY "
            + ", ".join(str(i + 1) for i in range(len(c)))).fetchall(), key=repr)
            for t, c in (("rollup_fp_clients", ("fp_id", "sensor", "protocol", "client_ip")),
                         ("rollup_fp_endpoints", ("fp_id", "sensor", "protocol", "server_ip",
                                                  "server_port", "coalesce(sni, '')")))}
        con.close()
        got = {t: sorted(q(v12, f"SELECT * FROM {t}"), key=repr) for t in want}
        fp_n = q(v12, "SELECT coalesce(sum(n), 0) FROM rollup_fp_legs")[0][0]
        check(st.returncode == 0 and q(v12, "PRAGMA user_version")[0][0] == LATEST and got == want
              and state(v12)[0] == state(v12)[1] >= before[0]
              and fp_n == q(v12, "SELECT count(*) FROM handshake_rows WHERE fp_id IS NOT NULL")[0][0] > 0,
              f"schema 12 ({label}): upgraded, the fingerprint rollups count each of the"
              f" {fp_n} rows with a fingerprint once", st.stderr)
        same_as_raw(v12, f"schema 12 file ({label}), upgraded", ("cap-a", "cap-b"))
        folded_then = rollup_rows(v12)
        kx("rollup", "--db", v12, "--rebuild")
        check(folded_then == rollup_rows(v12),
              f"schema 12 ({label}), upgraded and folded: the rollups equal a rebuild's")

    # --- schema 13 (no per-client rollups): reports read it as it is; the
    # upgrade fills them from the rollups of the rows already folded (and
    # kexwatch rollup folds the tail on top): what a rebuild makes. ---
    for src, label in ((fol, "folded"), (mix, "half folded"), (gen, "generated 120 000")):
        v13 = os.path.join(tmp, "v13.db")
        shutil.copy(src, v13)
        con = sqlite3.connect(v13)
        con.executescript("".join(f"DROP TABLE {t};" for t in V14_TABLES + V15_TABLES + V16_TABLES)
                          + "PRAGMA user_version = 13;")
        con.close()
        ss = [x[0] for x in q(v13, "SELECT DISTINCT sensor FROM handshake_rows ORDER BY 1 LIMIT 2")]
        rd = kx("clients", "--db", v13, "--json")
        check(rd.returncode == 0 and rd.stdout == kx("clients", "--db", src, "--json").stdout
              and q(v13, "PRAGMA user_version")[0][0] == 13,
              f"schema 13 ({label}): reports read it without upgrading it", rd.stderr)
        same_as_raw(v13, f"schema 13 file ({label}), not upgraded", ss, short=True)
        before = state(v13)
        st = kx("rollup", "--db", v13)
        check(st.returncode == 0 and q(v13, "PRAGMA user_version")[0][0] == LATEST
              and state(v13)[0] == state(v13)[1] >= before[0] and client_counts_ok(v13),
              f"schema 13 ({label}): upgraded and folded, the per-client counters are the raw"
              " rows' counts", st.stderr)
        same_as_raw(v13, f"schema 13 file ({label}), upgraded", ss)
        html_same(v13, f"schema 13 file ({label}), upgraded", tmp)
        folded_then = rollup_rows(v13)
        kx("rollup", "--db", v13, "--rebuild")
        check(folded_then == rollup_rows(v13),
              f"schema 13 ({label}), upgraded and folded: the rollups equal a rebuild's")
    # A schema 13 file whose tail the migration must not count: folded
    # half, upgraded (the new rollups from the folded half), the rest
    # folded by the new code: each pair counted once.
    v13 = os.path.join(tmp, "v13-half.db")
    shutil.copy(big, v13)
    con = sqlite3.connect(v13)
    con.executescript("".join(f"DROP TABLE {t};" for t in V14_TABLES + V15_TABLES + V16_TABLES)
                      + "PRAGMA user_version = 13;")
    con.close()
    st = kx("rollup", "--db", v13)
    check(st.returncode == 0 and edges and 0 < edges[-1][0] and client_counts_ok(v13),
          f"schema 13, {edges[-1][0] if edges else 0} rows folded, upgraded, the rest folded:"
          " the per-client counters are the raw rows' counts", st.stderr)
    # --- schema 14 (no daily rollups): changes reads the raw rows; the
    # upgrade fills the daily rollups from the rows already folded, and
    # the tail folds on top: what a rebuild makes. ---
    for src, label in ((gen, "generated 120 000"), (big, "half folded")):
        v14 = os.path.join(tmp, "v14.db")
        shutil.copy(src, v14)
        con = sqlite3.connect(v14)
        con.executescript("".join(f"DROP TABLE {t};" for t in V15_TABLES + V16_TABLES) + "PRAGMA user_version = 14;")
        con.close()
        cases = changes_cases("2025-12-20", [])[1:3]
        changes_same_as_raw(v14, f"schema 14 ({label}), read as it is",
                            [(n, a, False) for n, a, _ in cases])
        before = state(v14)
        st = kx("rollup", "--db", v14)
        dn = q(v14, "SELECT (SELECT sum(n) FROM rollup_daily_endpoints),"
                    " (SELECT sum(n) FROM rollup_daily_clients)")[0]
        check(st.returncode == 0 and q(v14, "PRAGMA user_version")[0][0] == LATEST
              and state(v14)[0] == state(v14)[1] >= before[0] and dn == (120000, 120000),
              f"schema 14 ({label}, {before[0]} rows folded): upgraded and folded, the daily"
              " rollups count every row once", st.stderr + str(dn))
        changes_same_as_raw(v14, f"schema 14 ({label}), upgraded", cases)
        folded_then = rollup_rows(v14)
        kx("rollup", "--db", v14, "--rebuild")
        check(folded_then == rollup_rows(v14),
              f"schema 14 ({label}), upgraded and folded: the rollups equal a rebuild's")
    # --- schema 15 (no weekly rollups): changes reads the daily ones as
    # they are; the upgrade sums them per week, and the tail folds on
    # top: what a rebuild makes. ---
    for src, label in ((gen, "generated 120 000"), (big, "half folded")):
        v15 = os.path.join(tmp, "v15.db")
        shutil.copy(src, v15)
        con = sqlite3.connect(v15)
        con.executescript("".join(f"DROP TABLE {t};" for t in V16_TABLES) + "PRAGMA user_version = 15;")
        con.close()
        cases = changes_cases("2025-12-20", [])[:4]
        changes_same_as_raw(v15, f"schema 15 ({label}), read as it is", cases)
        before = state(v15)
        st = kx("rollup", "--db", v15)
        check(st.returncode == 0 and q(v15, "PRAGMA user_version")[0][0] == LATEST
              and state(v15)[0] == state(v15)[1] >= before[0] and weekly_is_daily(v15)
              and legs_all_is_legs(v15),
              f"schema 15 ({label}, {before[0]} rows folded): upgraded and folded, each weekly"
              " rollup row is its week's daily rows summed, rollup_legs_all is rollup_legs over"
              " all sensors", st.stderr)
        ss = [x[0] for x in q(v15, "SELECT DISTINCT sensor FROM handshake_rows ORDER BY 1 LIMIT 2")]
        same_as_raw(v15, f"schema 15 file ({label}), upgraded", ss, short=True)
        changes_same_as_raw(v15, f"schema 15 ({label}), upgraded", cases)
        folded_then = rollup_rows(v15)
        kx("rollup", "--db", v15, "--rebuild")
        check(folded_then == rollup_rows(v15),
              f"schema 15 ({label}), upgraded and folded: the rollups equal a rebuild's")
    for bad in ([], ["--db"], ["--db", v6, "extra"], ["--db", "postgresql://x/y", "--rebuild"]):
        r = kx("rollup", *bad)
        check(r.returncode == 2, f"usage error exits 2: rollup {' '.join(bad)}", r.stderr)
    # A central store folds its pending rows (test_central_rollups.py); one
    # that does not answer is a failure, named.
    r = kx("rollup", "--db", "postgresql://x/y?connect_timeout=2")
    check(r.returncode == 1 and "postgresql://" in r.stderr, "rollup --db URL: an unreachable store exits 1",
          r.stderr)
    r = kx("rollup", "--db", os.path.join(tmp, "missing.db"))
    check(r.returncode == 1 and "no such file" in r.stderr
          and not os.path.exists(os.path.join(tmp, "missing.db")), "a missing file: exit 1, not created",
          r.stderr)

print(f"{len(failures)} failures" if failures else "# all rollup checks passed")
sys.exit(1 if failures else 0)
