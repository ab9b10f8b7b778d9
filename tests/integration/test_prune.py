#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`kexwatch prune` on SQLite inventories, through the real binary.

usage: test_prune.py KEXWATCH GEN_INVENTORY GEN_CAPTURE SCHEMA6_SQL PCAPS_DIR

- a generated year of 60 000 handshakes: exactly the rows older than the
  cutoff go (counted here on a copy), with their handshake_extras rows;
  sessions and runs stay; integrity holds; `hops --since CUTOFF` counts the
  same handshakes before and after;
- --rollups-older-than on that year and on the bundled captures: the
  endpoints, clients and fingerprint sets last seen before it (worked out
  from the raw rows) are forgotten, the counts printed say so, full-range
  hops and clients equal the pre-prune answers less those keys, hourly rows
  of older hours go; R shorter than D is refused;
- rows a central store has not received (above the outbox mark) stay and the
  summary says how many;
- beside a `kexwatch read` writing to the same file, its rollups emptied:
  both succeed, every row the capture made is there, no transaction (the
  fold's included) held the lock for 1 s, and the full-range hops equal
  those of a twin file that read the same capture unpruned;
- a schema 6 file is upgraded first; a missing file, a file that is not an
  inventory and bad options are refused with a clear message.
"""
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from rollup_checks import legs_all_is_legs, weekly_is_daily

KX, GEN_INV, GEN_CAP, SCHEMA6, PCAPS = sys.argv[1:6]
failures = []
NOW = "2026-01-01T00:00:00Z"
CUTOFF_US = 1759449600 * 1000000  # 2025-10-03T00:00:00Z = NOW - 90 days


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail is not None:
            for line in str(detail).splitlines()[:30]:
                print("#   " + line)


def kx(*a):
    return subprocess.run([KX, *a], capture_output=True, text=True, timeout=600)


def q(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def hops_handshakes(db, *extra, env=None):
    r = subprocess.run([KX, "hops", "--db", db, "--json", *extra], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, **(env or {})))
    return {(h["server_ip"], h["server_port"], h["sni"]): h["handshakes"]
            for h in json.loads(r.stdout) if h["handshakes"]} if r.returncode == 0 else r.stderr


def last_seen(db):
    """Per endpoint (address, port, SNI), client and fingerprint set, from
    the raw rows: its newest handshake's last packet or the start of its
    newest hourly sessions row (the rollup retention's "last seen")."""
    ep = dict(((a, p, s), t) for a, p, s, t in q(
        db, "SELECT server_ip, server_port, sni, max(t) FROM (SELECT server_ip, server_port,"
            " coalesce(sni, '') AS sni, ts_last_us AS t FROM handshake_rows UNION ALL"
            " SELECT server_ip, server_port, '', hour * 3600000000 FROM sessions) GROUP BY 1, 2, 3"))
    cl = dict(q(db, "SELECT client_ip, max(t) FROM (SELECT client_ip, ts_last_us AS t FROM"
                    " handshake_rows UNION ALL SELECT client_ip, hour * 3600000000 FROM sessions)"
                    " GROUP BY 1"))
    fp = dict(q(db, "SELECT fp_id, max(ts_last_us) FROM handshake_rows WHERE fp_id IS NOT NULL"
                    " GROUP BY 1"))
    return ep, cl, fp


with tempfile.TemporaryDirectory() as tmp:
    base = os.path.join(tmp, "base.db")
    subprocess.run([GEN_INV, "--out", base, "--rows", "60000", "--seed", "3", "--days", "365",
                    "--start", "1735689600"], check=True, capture_output=True)

    # --- exactly the old rows ---
    db = os.path.join(tmp, "a.db")
    shutil.copy(base, db)
    old = q(db, "SELECT count(*) FROM handshake_rows WHERE ts_first_us < ?", CUTOFF_US)[0][0]
    total = q(db, "SELECT count(*) FROM handshake_rows")[0][0]
    keep_ids = q(db, "SELECT id FROM handshake_rows WHERE ts_first_us >= ? ORDER BY id", CUTOFF_US)
    extras_keep = q(db, "SELECT count(*) FROM handshake_extras WHERE id IN"
                        " (SELECT id FROM handshake_rows WHERE ts_first_us >= ?)", CUTOFF_US)[0][0]
    sessions = q(db, "SELECT count(*), sum(sessions) FROM sessions")[0]
    runs = q(db, "SELECT count(*) FROM runs")[0][0]
    hops_before = hops_handshakes(db, "--since", "2025-10-03T00:00:00Z")
    hops_all_before = hops_handshakes(db)
    check(0 < old < total, f"the generated year holds {old} rows older than the cutoff of {total}")
    p = kx("prune", "--db", db, "--older-than", "90d", "--now", NOW)
    m = re.search(r"(\d+) rows deleted in (\d+) transactions \(longest ([\d.]+) s", p.stderr)
    check(p.returncode == 0 and m and int(m.group(1)) == old and "2025-10-03T00:00:00.000000Z" in p.stderr,
          f"prune --older-than 90d --now {NOW}: {old} rows deleted, the cutoff named", p.stderr)
    check(q(db, "SELECT id FROM handshake_rows ORDER BY id") == keep_ids,
          f"exactly the {len(keep_ids)} rows from the cutoff on are left")
    check(q(db, "SELECT count(*) FROM handshake_extras")[0][0] == extras_keep
          and q(db, "SELECT count(*) FROM handshake_extras WHERE id NOT IN (SELECT id FROM handshake_rows)")[0][0] == 0,
          f"their {extras_keep} handshake_extras rows stay, none of the deleted rows'")
    check(q(db, "SELECT count(*), sum(sessions) FROM sessions")[0] == sessions
          and q(db, "SELECT count(*) FROM runs")[0][0] == runs,
          f"the hourly sessions rows ({sessions[0]}) and the {runs} runs are kept")
    check(q(db, "PRAGMA integrity_check")[0][0] == "ok", "integrity_check ok")
    hops_after = hops_handshakes(db, env={"KEXWATCH_ROLLUPS": "0"})
    check(isinstance(hops_after, dict) and hops_after == hops_before,
          f"hops from the raw rows after = hops --since cutoff before ({len(hops_before)} endpoints"
          " with handshakes)")
    check(hops_handshakes(db) == hops_all_before,
          "full-range hops after = before: the rollups keep the deleted history", p.stderr)
    p = kx("prune", "--db", db, "--older-than", "90d", "--now", NOW)
    check(p.returncode == 0 and " 0 rows deleted" in p.stderr, "again: nothing left to delete", p.stderr)

    # --- the rollups' retention ---
    # Expected from the raw rows of the unpruned file, not from the
    # rollups: an endpoint (address, port, SNI) or a client is last seen
    # at its newest handshake's last packet or at the start of its newest
    # hourly sessions row.
    db, db0 = os.path.join(tmp, "rt.db"), base
    shutil.copy(base, db)
    RCUT_US = 1751673600 * 1000000  # 2025-07-05T00:00:00Z = NOW - 180 days
    hour_end = -(-RCUT_US // 3600000000)
    ep_last, cl_last, fp_last = last_seen(db)
    ep_gone = {k for k, t in ep_last.items() if t < RCUT_US}
    cl_gone = {k for k, t in cl_last.items() if t < RCUT_US}
    fp_gone = {k for k, t in fp_last.items() if t < RCUT_US}
    sess_gone, sess_keep = q(db, "SELECT sum(hour < ?), sum(hour >= ?) FROM sessions", hour_end, hour_end)[0]
    # What the surviving keys must keep: everything a handshake made.
    HOP_KEEP = ("handshakes", "clients", "n_hybrid", "n_pq", "n_classical", "n_client_no_pq",
                "n_server_declined", "n_tls12", "n_resumed", "n_incomplete", "groups_selected")
    CL_KEEP = ("handshakes", "n_hello", "n_offers_pq", "n_no_pq", "servers", "sample_snis",
               "n_hybrid", "n_classical", "n_tls12", "n_incomplete", "fingerprints")

    def report(db, what, key, fields, *extra):
        r = kx(what, "--db", db, "--json", *extra)
        if r.returncode != 0:
            return r.stderr
        return {tuple(row[k] for k in key): tuple(row[f] for f in fields) for row in json.loads(r.stdout)}

    HK = ("server_ip", "server_port", "sni")
    hops0 = report(db, "hops", HK, HOP_KEEP)
    sens = q(db, "SELECT sensor FROM handshake_rows GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0][0]
    hops0_s = report(db, "hops", HK, HOP_KEEP, "--sensor", sens)
    cl0 = report(db, "clients", ("client_ip",), CL_KEEP)
    sess_ep = dict(((a, p, None), n) for a, p, n in q(
        db, "SELECT server_ip, server_port, sum(sessions) FROM sessions WHERE hour >= ?"
            " GROUP BY 1, 2", hour_end))
    check(ep_gone and cl_gone and len(ep_gone) < len(ep_last) and len(cl_gone) < len(cl_last)
          and sess_gone and sess_keep,
          f"the year has endpoints ({len(ep_gone)} of {len(ep_last)}), clients ({len(cl_gone)} of"
          f" {len(cl_last)}) and sessions rows ({sess_gone}) last seen before {RCUT_US}")
    p = kx("prune", "--db", db, "--older-than", "90d", "--rollups-older-than", "180d", "--now", NOW,
           "--max-lock-ms", "200")
    m = re.search(r"rollups of \S+ before 2025-07-05T00:00:00.000000Z: (\d+) endpoints, (\d+) clients"
                  r" and (\d+) fingerprint sets forgotten \((\d+) rollup rows\) and (\d+) hourly"
                  r" sessions rows deleted in (\d+) transactions", p.stderr)
    lm = re.search(r"longest ([\d.]+) s", p.stderr)
    check(p.returncode == 0 and m and (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(5)))
          == (len(ep_gone), len(cl_gone), len(fp_gone), sess_gone) and lm and float(lm.group(1)) < 1.0,
          f"prune --rollups-older-than 180d: {len(ep_gone)} endpoints, {len(cl_gone)} clients,"
          f" {len(fp_gone)} fingerprint sets and {sess_gone} sessions rows, as the raw rows say;"
          f" longest transaction {lm and lm.group(1)} s", p.stderr)
    left = {(a, p_, s) for a, p_, s in q(db, "SELECT server_ip, server_port, sni FROM rollup_legs UNION"
                                            " SELECT server_ip, server_port, sni FROM rollup_pairs UNION"
                                            " SELECT server_ip, server_port, sni FROM rollup_cbom")}
    check(left == set(ep_last) - ep_gone,
          f"the endpoint rollups hold exactly the {len(ep_last) - len(ep_gone)} endpoints seen since")
    left = {c for (c,) in q(db, "SELECT client_ip FROM rollup_client_legs_all UNION SELECT client_ip"
                                " FROM rollup_client_sets UNION SELECT client_ip FROM rollup_client_counts_all")}
    check(left == set(cl_last) - cl_gone,
          f"the client rollups hold exactly the {len(cl_last) - len(cl_gone)} clients seen since",
          sorted(left ^ (set(cl_last) - cl_gone))[:10])
    check(q(db, "SELECT count(*) FROM sessions WHERE hour < ?", hour_end)[0][0] == 0
          and q(db, "SELECT count(*) FROM sessions")[0][0] == sess_keep
          and q(db, "SELECT count(*) FROM rollup_hourly WHERE hour < ?", hour_end)[0][0] == 0
          and q(db, "SELECT count(*) FROM rollup_hourly")[0][0] > 0,
          f"no sessions or hourly rollup row of an hour before the cutoff is left; the {sess_keep}"
          " newer sessions rows stay")
    # The daily rollups (schema 15) lose the days that ended by the cutoff.
    day_end = RCUT_US // 86400000000
    daily = [q(db, f"SELECT sum(day < ?), sum(day >= ?), min(day) FROM {t}", day_end, day_end)[0]
             for t in ("rollup_daily_endpoints", "rollup_daily_clients")]
    check(all(d[0] == 0 and d[1] > 0 and d[2] == day_end for d in daily),
          f"the daily rollups keep the days from {day_end} on, none before", daily)
    # The weekly ones (schema 16) stay the daily rows summed per week: the
    # cutoff's week (mid-week here) keeps only its days from the cutoff on.
    check(legs_all_is_legs(db), "rollup_legs_all and rollup_fp_*_all are rollup_legs and"
          " rollup_fp_* left, over all sensors")
    check(day_end % 7 != 0 and weekly_is_daily(db),
          f"the weekly rollups equal the daily rows left, summed per week (day {day_end} is"
          f" day {day_end % 7} of its week)")
    # A row stays for an endpoint seen since; one of plaintext sessions
    # alone only if some of them are of the hours kept.
    def kept(rows, sensor=None):
        sess = {(a, p_) for a, p_ in q(db0, "SELECT server_ip, server_port FROM sessions WHERE hour >= ?"
                                            " AND coalesce(?, sensor) = sensor", hour_end, sensor)}
        return {k: v for k, v in rows.items() if (k[0], k[1], k[2] or "") not in ep_gone
                and (v[0] > 0 or (k[2] is None and (k[0], k[1]) in sess))}

    hops1 = report(db, "hops", HK, HOP_KEEP)
    want = kept(hops0)
    check(isinstance(hops1, dict) and hops1 == want and len(want) < len(hops0),
          f"full-range hops: the {len(want)} endpoints seen since, each with its whole history"
          f" (of {len(hops0)})", hops1 if not isinstance(hops1, dict) else
          sorted(set(hops1.items()) ^ set(want.items()))[:6])
    hops1_s = report(db, "hops", HK, HOP_KEEP, "--sensor", sens)
    want_s = kept(hops0_s, sens)
    check(hops1_s == want_s, f"the same for --sensor {sens} ({len(want_s)} endpoints)")
    sess1 = report(db, "hops", HK, ("sessions",))
    check(isinstance(sess1, dict) and all(sess1.get(k, (0,))[0] == n for k, n in sess_ep.items())
          and sum(v[0] for v in sess1.values()) == sum(sess_ep.values()),
          f"hops' plaintext sessions are those of the hours kept ({sum(sess_ep.values())})")
    cl1 = report(db, "clients", ("client_ip",), CL_KEEP)
    want = {k: v for k, v in cl0.items() if k[0] not in cl_gone}
    check(isinstance(cl1, dict) and cl1 == want and len(want) < len(cl0),
          f"full-range clients: the {len(want)} clients seen since, each with its whole history"
          f" (of {len(cl0)})", cl1 if not isinstance(cl1, dict) else
          sorted(set(cl1.items()) ^ set(want.items()))[:6])
    for what in ("health", "fingerprints", "cbom", "changes"):
        r = kx(what, "--db", db)
        check(r.returncode in (0, 1) and r.stdout and "error" not in r.stderr.lower(),
              f"{what} reads the forgetful rollups", r.stderr)
    r = kx("report", "--db", db, "--html", os.path.join(tmp, "rt.html"))
    check(r.returncode in (0, 1) and os.path.getsize(os.path.join(tmp, "rt.html")) > 1000,
          "the HTML page too", r.stderr)
    check(q(db, "PRAGMA integrity_check")[0][0] == "ok", "integrity_check ok")
    p = kx("prune", "--db", db, "--older-than", "90d", "--rollups-older-than", "180d", "--now", NOW)
    check(p.returncode == 0 and "0 endpoints, 0 clients and 0 fingerprint sets forgotten (0 rollup rows)"
          " and 0 hourly sessions rows" in p.stderr, "again: nothing left to forget", p.stderr)
    # Everything older: every rollup but the runs' empties, fingerprints included.
    p = kx("prune", "--db", db, "--older-than", "30d", "--rollups-older-than", "30d",
           "--now", "2027-06-01T00:00:00Z")
    n_tables = [t for (t,) in q(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
                                    " LIKE 'rollup%' AND name NOT IN ('rollup_state', 'rollup_runs')")]
    nonempty = [t for t in n_tables if q(db, f"SELECT count(*) FROM {t}")[0][0]]
    fps = report(db, "fingerprints", ("kind", "fingerprint"), ("handshakes",))
    check(p.returncode == 0 and len(n_tables) == 23 and not nonempty and fps == {}
          and f" and {len(fp_last)} fingerprint sets forgotten" in p.stderr
          and q(db, "SELECT count(*) FROM sessions")[0][0] == 0,
          f"a cutoff after the last row: all {len(n_tables)} rollups and the sessions empty,"
          f" all {len(fp_last)} fingerprint sets forgotten", [p.stderr, nonempty, fps])
    p = kx("prune", "--db", db, "--older-than", "90d", "--rollups-older-than", "30d")
    check(p.returncode == 2 and "at least --older-than" in p.stderr,
          "--rollups-older-than shorter than --older-than: refused (exit 2)", p.stderr)

    # --- the same on the bundled captures (real TLS, QUIC and SSH stacks) ---
    # They were made on 2026-11-22 and 2026-12-06 (and one in 2022, one in
    # 2032): a cutoff between the two days forgets the first day's endpoints
    # and fingerprint sets (their two client addresses are in both days).
    caps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) + glob.glob(os.path.join(PCAPS, "*.pcapng")))
    bdb = os.path.join(tmp, "bundled.db")
    r = kx("read", "-q", "--db", bdb, *caps)
    BCUT_US = 1796083200 * 1000000  # 2026-12-01T00:00:00Z = 2026-12-07 - 6 days
    ep, cl, fp = last_seen(bdb)
    ep_g = {k for k, t in ep.items() if t < BCUT_US}
    cl_g = {k for k, t in cl.items() if t < BCUT_US}
    fp_g = {k for k, t in fp.items() if t < BCUT_US}
    h0 = report(bdb, "hops", HK, HOP_KEEP)
    c0 = report(bdb, "clients", ("client_ip",), CL_KEEP)
    check(r.returncode == 0 and 0 < len(ep_g) < len(ep) and len(cl_g) < len(cl) and 0 < len(fp_g) < len(fp),
          f"{len(caps)} bundled captures: {len(ep_g)} of {len(ep)} endpoints, {len(cl_g)} of {len(cl)}"
          f" clients and {len(fp_g)} of {len(fp)} fingerprint sets last seen before 2026-12-01", r.stderr)
    p = kx("prune", "--db", bdb, "--older-than", "6d", "--rollups-older-than", "6d",
           "--now", "2026-12-07T00:00:00Z")
    check(p.returncode == 0 and f": {len(ep_g)} endpoints, {len(cl_g)} clients and {len(fp_g)} fingerprint"
          " sets forgotten" in p.stderr,
          f"prune: {len(ep_g)} endpoints, {len(cl_g)} clients, {len(fp_g)} fingerprint sets forgotten", p.stderr)
    h1, c1 = report(bdb, "hops", HK, HOP_KEEP), report(bdb, "clients", ("client_ip",), CL_KEEP)
    want_h = {k: v for k, v in h0.items() if (k[0], k[1], k[2] or "") not in ep_g}
    want_c = {k: v for k, v in c0.items() if k[0] not in cl_g}
    check(h1 == want_h and c1 == want_c and len(want_h) > 10,
          f"hops ({len(want_h)} endpoints) and clients ({len(want_c)}) equal the pre-prune answers"
          " less the forgotten keys", [h1, want_h] if h1 != want_h else [c1, want_c])
    check({f for (f,) in q(bdb, "SELECT DISTINCT fp_id FROM rollup_fp_legs")} == set(fp) - fp_g,
          f"the fingerprint rollups hold exactly the {len(fp) - len(fp_g)} sets seen since")

    # --- the central outbox: rows not yet sent stay ---
    db = os.path.join(tmp, "outbox.db")
    shutil.copy(base, db)
    ids = [r[0] for r in q(db, "SELECT id FROM handshake_rows WHERE ts_first_us < ? ORDER BY id", CUTOFF_US)]
    mark = ids[len(ids) // 2]
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE IF NOT EXISTS central_outbox (target TEXT PRIMARY KEY,"
                " last_id INTEGER NOT NULL DEFAULT 0, sent INTEGER NOT NULL DEFAULT 0, updated_us INTEGER)")
    con.execute("INSERT INTO central_outbox VALUES ('pg-a', ?, 0, 0), ('pg-b', ?, 0, 0)", (mark + 1000, mark))
    con.commit()
    con.close()
    unsent = sum(1 for i in ids if i > mark)
    p = kx("prune", "--db", db, "--older-than", "90d", "--now", NOW)
    left_old = q(db, "SELECT count(*), min(id) FROM handshake_rows WHERE ts_first_us < ?", CUTOFF_US)[0]
    check(p.returncode == 0 and left_old[0] == unsent and left_old[1] > mark
          and f"{unsent} older rows kept: not yet sent to the central store" in p.stderr,
          f"two central targets: the {unsent} old rows above the lower mark stay, the rest go", p.stderr)

    # --- beside a capture writing to the same file ---
    # The rollups emptied first: prune must fold all 60 000 rows while the
    # capture writes, in transactions that keep to its lock budget.
    db = os.path.join(tmp, "busy.db")
    shutil.copy(base, db)
    con = sqlite3.connect(db)
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                            " AND name LIKE 'rollup%' AND name <> 'rollup_state'").fetchall():
        con.execute(f"DELETE FROM {t}")
    con.execute("UPDATE rollup_state SET folded_id = 0, folded_session_id = 0")
    con.commit()
    con.close()
    cap, exp = os.path.join(tmp, "dense.pcap"), os.path.join(tmp, "dense.tsv")
    subprocess.run([GEN_CAP, "--profile", "dense", "--seed", "5", "--scale", "0.3", "--out", cap,
                    "--expected", exp], check=True, capture_output=True)
    want = sum(1 for line in open(exp) if line.strip() and not line.startswith(("client_ip", "#")))
    # The same capture into a copy nobody prunes: the reference for the rollups.
    twin = os.path.join(tmp, "twin.db")
    shutil.copy(base, twin)
    subprocess.run([KX, "read", "--db", twin, "--sensor", "live-cap", "-q", "--no-progress", cap],
                   check=True, capture_output=True)
    reader = subprocess.Popen([KX, "read", "--db", db, "--sensor", "live-cap", "-q", "--no-progress", cap],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not q(db, "SELECT count(*) FROM handshake_rows WHERE id > ?",
                                                 max(r[0] for r in keep_ids))[0][0]:
        time.sleep(0.02)
    p = kx("prune", "--db", db, "--older-than", "90d", "--now", NOW, "--max-lock-ms", "200")
    reader_err = reader.communicate(timeout=600)[1]
    m = re.search(r"longest ([\d.]+) s", p.stderr)
    got = q(db, "SELECT count(*) FROM handshakes WHERE sensor = 'live-cap'")[0][0]
    check(p.returncode == 0 and reader.returncode == 0 and m and float(m.group(1)) < 1.0,
          f"prune while `kexwatch read` writes: both exit 0, longest transaction {m and m.group(1)} s < 1 s",
          p.stderr + reader_err)
    check(got == want and q(db, "SELECT count(*) FROM handshake_rows WHERE ts_first_us < ?", CUTOFF_US)[0][0] == 0,
          f"every one of the capture's {want} rows is there ({got}); no old row is left")
    check(q(db, "PRAGMA integrity_check")[0][0] == "ok", "integrity_check ok after both")
    m = re.search(r"(\d+) rows folded into the rollups first \((\d+) transactions\)", p.stderr)
    check(m and int(m.group(1)) >= 60000 and int(m.group(2)) >= 2,
          f"the emptied rollups folded first, {m and m.group(1)} rows in {m and m.group(2)} transactions"
          " (counted in the longest above)", p.stderr)
    # Let the reader's last fold land, then compare with the twin.
    subprocess.run([KX, "rollup", "--db", db], capture_output=True)
    subprocess.run([KX, "rollup", "--db", twin], capture_output=True)
    hb, ht = hops_handshakes(db), hops_handshakes(twin)
    check(isinstance(hb, dict) and hb == ht and len(hb) > 1000,
          f"full-range hops after prune and capture = the unpruned twin's ({len(ht)} endpoints):"
          " folded once each, none lost", [hb, ht] if not isinstance(hb, dict) else "")

    # --- an older schema, and what is refused ---
    v6 = os.path.join(tmp, "v6.db")
    con = sqlite3.connect(v6)
    con.executescript(open(SCHEMA6).read())
    con.execute("PRAGMA application_id = 1801812087")
    con.execute("PRAGMA user_version = 6")
    con.commit()
    n6 = con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    con.close()
    p = kx("prune", "--db", v6, "--older-than", "1d", "--now", "2100-01-01T00:00:00Z")
    ver = q(v6, "PRAGMA user_version")[0][0]
    check(p.returncode == 0 and ver >= 12 and q(v6, "SELECT count(*) FROM handshake_rows")[0][0] == 1
          and f"{n6 - 1} rows deleted" in p.stderr and "1 older row kept: the newest row" in p.stderr
          and q(v6, "SELECT sum(n) FROM rollup_legs")[0][0] == n6,
          f"a schema 6 file: upgraded to {ver} first, folded, its {n6} rows pruned but the newest"
          " (the id fence, said so)", p.stderr)
    p = kx("prune", "--db", os.path.join(tmp, "missing.db"), "--older-than", "90d")
    check(p.returncode == 1 and "missing.db: no such file" in p.stderr
          and not os.path.exists(os.path.join(tmp, "missing.db")),
          "a missing file: exit 1, nothing created", p.stderr)
    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(os.urandom(8192))
    p = kx("prune", "--db", junk, "--older-than", "90d")
    check(p.returncode == 1 and "junk.db" in p.stderr, "a file that is not an inventory: exit 1", p.stderr)
    for bad in (["--max-lock-ms", "0"], ["--older-than", "soon"], []):
        args = ["prune", "--db", db] + (bad if bad[:1] == ["--older-than"] else ["--older-than", "90d"] + bad)
        if not bad:
            args = ["prune", "--db", db]
        p = kx(*args)
        check(p.returncode == 2, f"usage error exits 2: {' '.join(args[1:])}", p.stderr)

print(f"{len(failures)} failures" if failures else "# all prune checks passed")
sys.exit(1 if failures else 0)
