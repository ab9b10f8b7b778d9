#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The central store's rollups (schema 9), against a real PostgreSQL 15
server this test starts itself (as test_central.py does):

- two sensors shipping at once (bundled captures, generated inventories):
  full-range hops (every grouping but pair, JSON, CSV and table, --sensor)
  and health, and full-range clients (table, CSV, JSON, --sensor; central
  schema 12's client rollups), on the central store read the rollups and
  equal the SQLite
  answers on a file holding the same rows (read with KEXWATCH_ROLLUPS=0,
  the raw rows), and the central store's own raw answers;
- rows sent again (all present: the staged merge's conflict path; partly
  present: only the new rows count; two sensors sending the same new rows
  at once) are not counted twice;
- the server restarted in the middle of a push: every row counted once;
- after prune, full-range hops and health give the pre-prune answers;
- a store of schema 8 is upgraded to 12 by the next sensor, its rollups
  built from its rows equal to a fresh store's;
- schema 10's pending rows: pushed and not folded (KEXWATCH_PG_FOLD_EVERY=0),
  folded, folded partway (the folder killed, the server stopped mid-fold,
  small chunks), two folders at once, eight sensors shipping and folding
  at once: the reports equal the raw answers in every state, every row is
  in the rollups or pending, exactly once;
- a store of schema 9 is upgraded to 12 by the next sensor;
- a store of schema 10 (the pairs as text tables) is upgraded to 12 (the
  pairs as ids, views of the old names): its rollups and reports equal a
  fresh store's;
- a store of schema 11 (no client rollups, rows pending) is upgraded to
  12: the client rollups built from every row, the rows pending then
  folded; its reports and, once folded, its rollups equal a fresh store's;
- prune with rows pending folds them first and keeps the answers.

KEXWATCH_OLD (optional): a kexwatch built from before schema 9, to make the
schema 8 store with; without it the store is made by this build and set
back to schema 8 (its rollup tables dropped: schema 8's DDL).

Exit 77 (skipped) only when the PostgreSQL server binaries are missing."""
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from pgcluster import Cluster  # exits 77 without PostgreSQL's server

KX, GEN_INV, PCAPS = sys.argv[1], sys.argv[2], sys.argv[3]
OLD_KX = os.environ.get("KEXWATCH_OLD")
failures = []


def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("# " + str(detail).replace("\n", "\n# ")[:4000])


PORT = "5493"


SNAPDIR = tempfile.mkdtemp(prefix="kx-snap-")


def kx(*a, raw=False, exe=None, extra=None):
    env = {**os.environ, "TMPDIR": SNAPDIR, **(extra or {})}
    if raw:
        env["KEXWATCH_ROLLUPS"] = "0"
    return subprocess.run([exe or KX, *a], capture_output=True, text=True, env=env)


# Full-range reports that read the rollups on PostgreSQL (pair stays raw,
# included as a control).
REPORTS = [["health", "--json"], ["health"], ["health", "--csv"], ["health", "--sensor", "edge", "--json"],
           ["health", "--sensor", "g1-span-01"], ["hops", "--sensor", "edge"],
           ["hops", "--sensor", "g1-span-02", "--json"], ["hops", "--group-by", "pair", "--json"]]
for g in ("endpoint", "sni", "server"):
    for o in ("risk", "clients", "name"):
        REPORTS += [["hops", "--group-by", g, "--sort", o, "--json"], ["hops", "--group-by", g, "--sort", o]]
    REPORTS.append(["hops", "--group-by", g, "--csv"])
# Full-range clients (central schema 12: the client rollups).
REPORTS += [["clients"], ["clients", "--csv"], ["clients", "--json"], ["clients", "--sensor", "edge"],
            ["clients", "--sensor", "g1-span-01", "--json"], ["clients", "--sensor", "g1-span-02", "--csv"]]


def answers(db, raw=False):
    out = {}
    for r in REPORTS:
        p = kx(*r, "--db", db, raw=raw)
        out[" ".join(r)] = (p.returncode, p.stdout, p.stderr.strip())
    return out


def same(got, want, what):
    bad = [k for k in want if got.get(k) != want[k]]
    detail = ""
    if bad:
        k = bad[0]
        detail = f"{len(bad)} differ, first: {k}\n--- got\n{got[k][1][:1500]}{got[k][2]}\n--- want\n" \
                 f"{want[k][1][:1500]}{want[k][2]}"
    check(not bad and all(v[0] == 0 and v[1] for v in want.values()), what, detail)


ROLLUP_DUMP = ("SELECT string_agg(t, E'\\n' ORDER BY t) FROM ("
               " SELECT 'l|' || concat_ws('|', server_ip, server_port, sni, sensor, protocol, group_name,"
               "  group_family, verdict, reason, offers_pq, hrr, hrr_group, band, ch_seg0, slow, n,"
               "  first_us, last_us, max_ch_to_sh_us, newest_first_us) AS t FROM rollup_legs"
               " UNION ALL SELECT 'p|' || concat_ws('|', server_ip, server_port, sni, client_ip, sensor)"
               "  FROM rollup_pairs"
               " UNION ALL SELECT 'a|' || concat_ws('|', server_ip, server_port, sni, client_ip)"
               "  FROM rollup_pairs_all"
               " UNION ALL SELECT 'c|' || concat_ws('|', server_ip, server_port, sni, sensor, clients)"
               "  FROM rollup_clients"
               " UNION ALL SELECT 'C|' || concat_ws('|', server_ip, server_port, sni, clients)"
               "  FROM rollup_clients_all"
               " UNION ALL SELECT 'r|' || concat_ws('|', r.sensor, r.started_us, r.local_id, u.n)"
               "  FROM rollup_runs AS u JOIN runs AS r ON r.id = u.run_id"
               " UNION ALL SELECT 'L|' || concat_ws('|', c.client_ip, s.sensor, protocol, verdict, reason,"
               "  offers_pq, hello, n, first_us, last_us) FROM rollup_client_legs AS t"
               "  JOIN rollup_client_ips AS c ON c.id = t.cl LEFT JOIN rollup_sensors AS s ON s.id = t.sn"
               " UNION ALL SELECT 'O|' || concat_ws('|', c.client_ip, s.sensor, k, groups_offered,"
               "  groups_offered_2, kex_offered, alpn, fp, offers_mldsa) FROM rollup_client_offers AS t"
               "  JOIN rollup_client_ips AS c ON c.id = t.cl LEFT JOIN rollup_sensors AS s ON s.id = t.sn"
               " UNION ALL SELECT 'S|' || concat_ws('|', c.client_ip, s.sensor, kind, value)"
               "  FROM rollup_client_sets AS t"
               "  JOIN rollup_client_ips AS c ON c.id = t.cl JOIN rollup_sensors AS s ON s.id = t.sn"
               " UNION ALL SELECT 'K|' || concat_ws('|', c.client_ip, s.sensor, servers, snis)"
               "  FROM rollup_client_counts AS t"
               "  JOIN rollup_client_ips AS c ON c.id = t.cl LEFT JOIN rollup_sensors AS s ON s.id = t.sn) AS d")

# Schema 12's client rollups and rollup_pending's columns for them
# dropped (the pending rows kept): what schema 11 left.
V11 = ("DROP TABLE rollup_client_legs, rollup_client_offers, rollup_client_sets, rollup_client_counts;"
       " ALTER TABLE rollup_pending DROP COLUMN alpn, DROP COLUMN groups_offered,"
       " DROP COLUMN groups_offered_2, DROP COLUMN kex_offered, DROP COLUMN ja4, DROP COLUMN hassh,"
       " DROP COLUMN offers_mldsa;")


# Schema 11's pairs back to schema 10's DDL (text tables with their keys),
# the rows kept: what an older kexwatch left.
TEXT_PAIRS = ("CREATE TABLE kx_p AS SELECT * FROM rollup_pairs;"
              " CREATE TABLE kx_a AS SELECT * FROM rollup_pairs_all;"
              " DROP VIEW rollup_pairs, rollup_pairs_all;"
              " DROP TABLE rollup_pair_ids, rollup_endpoints, rollup_client_ips, rollup_sensors;"
              " CREATE TABLE rollup_pairs (server_ip text NOT NULL, server_port integer NOT NULL,"
              "  sni text NOT NULL, client_ip text NOT NULL, sensor text NOT NULL,"
              "  PRIMARY KEY (server_ip, server_port, sni, client_ip, sensor));"
              " CREATE TABLE rollup_pairs_all (server_ip text NOT NULL, server_port integer NOT NULL,"
              "  sni text NOT NULL, client_ip text NOT NULL,"
              "  PRIMARY KEY (server_ip, server_port, sni, client_ip));"
              " INSERT INTO rollup_pairs SELECT * FROM kx_p; INSERT INTO rollup_pairs_all SELECT * FROM kx_a;"
              " DROP TABLE kx_p, kx_a;")


def rollup_invariants(srv, db, what, pending=0):
    """The rollups plus the pending rows hold every raw row once (before
    any prune); the pairs are checked once nothing is pending."""
    got = srv.psql("SELECT (SELECT coalesce(sum(n), 0) FROM rollup_legs) + (SELECT count(*) FROM rollup_pending),"
                   " (SELECT count(*) FROM handshakes),"
                   " (SELECT coalesce(sum(n), 0) FROM rollup_runs) + (SELECT count(*) FROM rollup_pending),"
                   " (SELECT count(*) FROM rollup_pairs) = (SELECT count(*) FROM (SELECT DISTINCT"
                   "  server_ip, server_port, coalesce(sni, ''), client_ip, sensor FROM handshakes) AS d),"
                   " (SELECT coalesce(sum(clients), 0) FROM rollup_clients_all)"
                   "  = (SELECT count(*) FROM rollup_pairs_all), (SELECT count(*) FROM rollup_pending)",
                   db).split("|")
    n_pend = int(got[5])
    check(got[0] == got[1] == got[2] and got[4] == "t" and (n_pend > 0 or got[3] == "t")
          and (pending is None or n_pend == pending),
          what + f": legs and runs (+ {n_pend} pending) and pairs hold every raw row once", got)
    return n_pend


cap = lambda n: os.path.join(PCAPS, n)
SET_A = sorted(os.path.basename(p) for p in glob.glob(os.path.join(PCAPS, "tls13-*.pcap")))
SET_B = sorted(os.path.basename(p) for p in glob.glob(os.path.join(PCAPS, "*.pcap"))
               if not os.path.basename(p).startswith("tls13-"))

top = tempfile.mkdtemp(prefix="kx-pgr-")
tmp = tempfile.mkdtemp(prefix="kx-rollc-")
srv = Cluster(top, PORT)
try:
    srv.init()
    srv.start()
    url = srv.createdb("kx")
    T = lambda n: os.path.join(tmp, n)

    # --- generated inventories (volume, several months) and captures ---
    def gen(name, rows, seed, sensors, start):
        g = subprocess.run([GEN_INV, "--out", T(name + ".gen"), "--rows", str(rows), "--seed", str(seed),
                            "--sensors", str(sensors), "--days", "200", "--start", str(start),
                            "--session-share", "0.2", "--servers", "300", "--clients", "500"],
                           capture_output=True, text=True)
        check(g.returncode == 0, f"gen_inventory {name}", g.stderr)
        # Its sensors named after the file: gen_inventory names them span-NN
        # in every file, and one sensor's sessions rows in two files are
        # its total twice (the central store keeps the larger, merge not).
        c = sqlite3.connect(T(name + ".gen"))
        for (t,) in c.execute("SELECT m.name FROM sqlite_master AS m WHERE m.type = 'table' AND"
                              " EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'sensor')"
                              ).fetchall():
            c.execute(f"UPDATE {t} SET sensor = ? || sensor", (name[:2] + "-",))
        c.commit()
        c.close()
        # dedup_key hashes the sensor: a merge computes it again.
        m = kx("merge", "-q", "--db", T(name), T(name + ".gen"))
        check(m.returncode == 0, f"{name}: its sensors renamed", m.stderr)
    gen("g1.db", 30000, 11, 2, 1735689600)        # 2025-01-01
    gen("g2.db", 20000, 12, 1, 1736294400)        # a week later: other runs
    gen("g3.db", 6000, 13, 1, 1737504000)
    # Two sensors at once: a push of each inventory and a capture read of
    # each set, all four concurrently.
    procs = [subprocess.Popen([KX, "push", "--db", T("g1.db"), "--pg", url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True),
             subprocess.Popen([KX, "push", "--db", T("g2.db"), "--pg", url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True),
             subprocess.Popen([KX, "read", "--sensor", "edge", "--db", T("a.db"), "--pg", url,
                               *map(cap, SET_A)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
             subprocess.Popen([KX, "read", "--sensor", "origin", "--db", T("b.db"), "--pg", url,
                               *map(cap, SET_B)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    outs = [p.communicate() for p in procs]
    check(all(p.returncode == 0 for p in procs), "four sensors ship at once",
          "\n".join(o[1][-800:] for o in outs))

    def reference(files, name):
        ref = T(name)
        if os.path.exists(ref):
            os.unlink(ref)
        m = kx("merge", "-q", "--db", ref, *files)
        check(m.returncode == 0, f"merge {name}", m.stderr)
        return answers(ref, raw=True)

    locals_ = [T("g1.db"), T("g2.db"), T("a.db"), T("b.db")]
    want = reference(locals_, "ref1.db")
    n_raw = int(srv.psql("SELECT count(*) FROM handshakes", "kx"))
    c = sqlite3.connect(T("ref1.db"))
    n_local = c.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    n_sess = c.execute("SELECT count(*) FROM sessions").fetchone()[0]
    c.close()
    check(n_raw == n_local and n_raw > 50000 and n_sess > 0,
          f"the central store has every row: {n_raw} (local {n_local}), {n_sess} sessions rows")
    rollup_invariants(srv, "kx", "concurrent sensors")
    legs = int(srv.psql("SELECT count(*) FROM rollup_legs", "kx"))
    check(legs * 5 < n_raw, f"the rollups are smaller than the rows: {legs} legs for {n_raw} rows")
    got = answers(url)
    same(got, want, "full-range hops and health on PostgreSQL (rollups) = SQLite's raw answers")
    same(answers(url, raw=True), want, "... = PostgreSQL's own raw answers (KEXWATCH_ROLLUPS=0)")

    # --- rows sent again: all present (the conflict path), then partly ---
    c = sqlite3.connect(T("g1.db"))
    c.execute("UPDATE central_outbox SET last_id = 0, sent = 0")
    c.commit()
    c.close()
    p = kx("push", "--db", T("g1.db"), "--pg", url)
    check(p.returncode == 0 and " 0 rows sent" in p.stderr and "already there" in p.stderr,
          "g1 pushed again: every row already there", p.stderr)
    rollup_invariants(srv, "kx", "re-push")
    same(answers(url), want, "re-pushed rows are not counted again")
    # g1 and g3 in one file: batches of present and new rows, merged; at
    # the same time g3 alone, so two sensors insert the same new rows (and
    # pairs) at once: each row counted by the one whose insert won.
    m = kx("merge", "-q", "--db", T("g13.db"), T("g1.db"), T("g3.db"))
    procs = [subprocess.Popen([KX, "push", "--db", f, "--pg", url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in (T("g13.db"), T("g3.db"))]
    outs = [p.communicate() for p in procs]
    check(m.returncode == 0 and all(p.returncode == 0 for p in procs) and "already there" in outs[0][1],
          "g1 + g3 and g3 pushed at once: partly present", outs[0][1] + outs[1][1])
    rollup_invariants(srv, "kx", "partly present")
    locals_.append(T("g3.db"))
    want = reference(locals_, "ref2.db")
    same(answers(url), want, "partly present batches: only the new rows counted")

    # --- the server restarted in the middle of a push ---
    gen("g4.db", 40000, 14, 2, 1738368000)
    base = int(srv.psql("SELECT count(*) FROM handshakes", "kx"))
    pp = subprocess.Popen([KX, "push", "--db", T("g4.db"), "--pg", url], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        time.sleep(0.05)
        try:
            if int(srv.psql("SELECT count(*) FROM handshakes", "kx")) > base + 5000:
                break
        except RuntimeError:
            pass
    srv.stop("immediate")
    pp.communicate()
    srv.start()
    mid_count = int(srv.psql("SELECT count(*) FROM handshakes", "kx"))
    p = kx("push", "--db", T("g4.db"), "--pg", url)
    check(p.returncode == 0 and base < mid_count, f"push after a restart ({mid_count - base} rows before it)",
          p.stderr)
    rollup_invariants(srv, "kx", "restart mid-push")
    locals_.append(T("g4.db"))
    want = reference(locals_, "ref3.db")
    same(answers(url), want, "after a restart mid-push: every row counted once")

    # --- prune: the full-range answers stay ---
    before_raw = int(srv.psql("SELECT count(*) FROM handshakes", "kx"))
    pr = kx("prune", "--older-than", "90d", "--db", url, "--now", "2025-07-01T00:00:00Z")
    after_raw = int(srv.psql("SELECT count(*) FROM handshakes", "kx"))
    check(pr.returncode == 0 and 0 < after_raw < before_raw - 30000,
          f"prune drops old months: {before_raw} -> {after_raw} rows", pr.stderr)
    got = answers(url)
    PAIR = "hops --group-by pair --json"
    same({k: v for k, v in got.items() if k != PAIR}, {k: v for k, v in want.items() if k != PAIR},
         "after prune: full-range hops and health still the pre-prune answers")
    # --group-by pair reads the raw rows: what prune left.
    check(got[PAIR][0] == 0 and got[PAIR] != want[PAIR], "after prune: hops --group-by pair reads what is left")
    # The windowed reports read what is left: a month pruned is gone there.
    w = kx("hops", "--json", "--db", url, "--until", "2025-02-01T00:00:00Z")
    check(w.returncode == 0 and json.loads(w.stdout)
          and all(h["handshakes"] == 0 for h in json.loads(w.stdout)),
          "a window inside the pruned months reads the raw rows: no handshake left, the sessions kept",
          w.stdout[:300] + w.stderr)

    # --- an upgrade from schema 8 ---
    fresh_url, old_url = srv.createdb("fresh"), srv.createdb("old")
    srcs = [T("g2.db"), T("a.db"), T("g3.db")]
    for f in srcs:
        shutil.copy(f, f + ".old")
        shutil.copy(f, f + ".fresh")
    if OLD_KX:
        for f in srcs:
            p = kx("push", "--db", f + ".old", "--pg", old_url, exe=OLD_KX)
            check(p.returncode == 0, f"the old kexwatch pushes {os.path.basename(f)}", p.stderr)
    else:
        for f in srcs:
            kx("push", "--db", f + ".old", "--pg", old_url)
        srv.psql("DROP VIEW rollup_pairs, rollup_pairs_all;"
                 " DROP TABLE rollup_legs, rollup_pair_ids, rollup_endpoints, rollup_client_ips,"
                 " rollup_sensors, rollup_clients, rollup_clients_all, rollup_runs, rollup_pending,"
                 " rollup_client_legs, rollup_client_offers, rollup_client_sets, rollup_client_counts;"
                 " UPDATE kexwatch_meta SET value = '8'", "old")
    check(srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "old") == "8"
          and srv.psql("SELECT to_regclass('rollup_legs') IS NULL", "old") == "t",
          "a schema 8 store, no rollups")
    want_old = answers(old_url)  # read raw: no rollups
    for f in srcs:
        kx("push", "--db", f + ".fresh", "--pg", fresh_url)
    p = kx("push", "--db", T("g1.db"), "--pg", old_url)  # the next sensor upgrades it
    q = kx("push", "--db", T("g1.db"), "--pg", fresh_url)
    check(p.returncode == 0 and q.returncode == 0
          and srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "old") == "12",
          "the next sensor upgrades schema 8 to 12", p.stderr)
    dump_old, dump_fresh = srv.psql(ROLLUP_DUMP, "old"), srv.psql(ROLLUP_DUMP, "fresh")
    check(dump_old == dump_fresh and dump_old.count("\n") > 1000,
          f"the upgraded store's rollups equal a fresh store's ({dump_old.count(chr(10)) + 1} rows)")
    rollup_invariants(srv, "old", "upgraded store")
    same(answers(old_url), answers(fresh_url), "reports on the upgraded store = on the fresh one")
    same(answers(old_url, raw=True), answers(old_url), "... and = its raw answers")
    check(want_old != answers(old_url), "(g1 arrived with the upgrade)")

    # --- schema 10: pending rows and the folder ---
    NOFOLD = {"KEXWATCH_PG_FOLD_EVERY": "0"}
    pend_url = srv.createdb("pend")

    def pending(db):
        return int(srv.psql("SELECT count(*) FROM rollup_pending", db))

    def raw_count(db):
        return int(srv.psql("SELECT count(*) FROM handshakes", db))

    def fold(url_, extra=None):
        p = kx("rollup", "--db", url_, extra=extra)
        n = -1
        if p.returncode == 0 and "pending handshake rows folded" in p.stderr:
            n = int(p.stderr.split(": ")[-1].split()[0])
        return p, n

    files_p = [T("g2.db"), T("a.db"), T("g3.db")]
    for f in files_p:
        shutil.copy(f, f + ".pend")
    for f in files_p[:2]:
        p = kx("push", "--db", f + ".pend", "--pg", pend_url, extra=NOFOLD)
        check(p.returncode == 0, f"push {os.path.basename(f)} without folding", p.stderr)
    n_p = raw_count("pend")
    want_p = reference(files_p[:2], "refp.db")
    check(pending("pend") == n_p > 20000
          and srv.psql("SELECT count(*) FROM rollup_legs", "pend") == "0",
          f"nothing folded: all {n_p} rows pending, the rollups empty")
    same(answers(pend_url), want_p, "every row pending: reports (rollups + pending) = raw answers")
    p, n = fold(pend_url)
    check(p.returncode == 0 and n == n_p and pending("pend") == 0,
          f"kexwatch rollup --db URL folds every pending row ({n})", p.stderr)
    rollup_invariants(srv, "pend", "folded", pending=0)
    same(answers(pend_url), want_p, "all folded: reports = raw answers")
    p, n = fold(pend_url)
    check(p.returncode == 0 and n == 0, "a second fold finds nothing", p.stderr)
    # g3 pending on top of folded rows (its pairs partly rolled up already:
    # distinct clients must not count them twice).
    p = kx("push", "--db", files_p[2] + ".pend", "--pg", pend_url, extra=NOFOLD)
    want_p = reference(files_p, "refp2.db")
    n_pend = pending("pend")
    check(p.returncode == 0 and n_pend == raw_count("pend") - n_p > 0,
          f"g3 pending on top of folded rows ({n_pend})", p.stderr)
    rollup_invariants(srv, "pend", "folded + pending", pending=n_pend)
    same(answers(pend_url), want_p, "folded + pending: reports = raw answers")

    # Folded partway: small chunks, the folder killed mid-fold, then the
    # server stopped mid-fold.
    for f in (T("g1.db"), T("g4.db")):
        shutil.copy(f, f + ".pend")
        p = kx("push", "--db", f + ".pend", "--pg", pend_url, extra=NOFOLD)
        check(p.returncode == 0, f"push {os.path.basename(f)} without folding", p.stderr)
    files_p += [T("g1.db"), T("g4.db")]
    want_p = reference(files_p, "refp3.db")
    total = raw_count("pend")
    for how in ("kill", "server"):
        start = pending("pend")
        env = {**os.environ, "KEXWATCH_PG_FOLD_CHUNK": "2000"}
        fp = subprocess.Popen([KX, "rollup", "--db", pend_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(400):
            time.sleep(0.02)
            try:
                if pending("pend") < start - 4000:
                    break
            except RuntimeError:
                pass
        if how == "kill":
            fp.kill()
        else:
            srv.stop("immediate")
        fp.communicate()
        if how == "server":
            srv.start()
        left = pending("pend")
        check(0 < left < start, f"folder stopped ({how}) partway: {start} -> {left} pending")
        rollup_invariants(srv, "pend", f"folded partway ({how})", pending=left)
        same(answers(pend_url), want_p, f"folded partway ({how}): reports = raw answers")
    # Two folders at once (small chunks so they interleave): together they
    # fold what was pending, once.
    start = pending("pend")
    env = {**os.environ, "KEXWATCH_PG_FOLD_CHUNK": "3000"}
    fps = [subprocess.Popen([KX, "rollup", "--db", pend_url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [fp.communicate() for fp in fps]
    ns = [int(o[1].split(": ")[-1].split()[0]) if "rows folded" in o[1] else -1 for o in outs]
    check(all(fp.returncode == 0 for fp in fps) and sum(ns) == start and pending("pend") == 0,
          f"two folders at once: {ns} rows folded of {start}", outs)
    rollup_invariants(srv, "pend", "two folders", pending=0)
    same(answers(pend_url), want_p, "two folders: reports = raw answers")
    check(raw_count("pend") == total, "the folders changed no raw row")

    # Eight sensors at once, each folding every 3000 rows it sends (and
    # at its end), two pairs of them sending the same rows.
    eight_url = srv.createdb("eight")
    eight = []
    for i in range(6):
        gen(f"e{i}.db", 6000, 30 + i, 1, 1735689600 + i * 86400 * 20)
        eight.append(T(f"e{i}.db"))
    for i in (0, 1):
        shutil.copy(T(f"e{i}.db"), T(f"e{i}b.db"))
    env = {**os.environ, "KEXWATCH_PG_FOLD_EVERY": "3000", "KEXWATCH_PG_FOLD_CHUNK": "2500"}
    procs = [subprocess.Popen([KX, "push", "--db", f, "--pg", eight_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for f in eight + [T("e0b.db"), T("e1b.db")]]
    outs = [p.communicate() for p in procs]
    check(all(p.returncode == 0 for p in procs) and not any("deadlock" in o[1] for o in outs),
          "eight sensors ship and fold at once, no deadlock", "\n".join(o[1][-600:] for o in outs))
    want8 = reference(eight, "ref8.db")
    c = sqlite3.connect(T("ref8.db"))
    n8 = c.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    c.close()
    check(raw_count("eight") == n8, f"eight sensors: every row once ({raw_count('eight')}, local {n8})")
    left = rollup_invariants(srv, "eight", "eight sensors", pending=None)
    same(answers(eight_url), want8, f"eight sensors ({left} left pending): reports = raw answers")
    p, n = fold(eight_url)
    rollup_invariants(srv, "eight", "eight sensors, folded", pending=0)
    same(answers(eight_url), want8, "eight sensors, folded: reports = raw answers")

    # --- an upgrade from schema 9 ---
    v9_url, f10_url = srv.createdb("v9"), srv.createdb("f10")
    for f in srcs:
        shutil.copy(f, f + ".v9")
        shutil.copy(f, f + ".f10")
        kx("push", "--db", f + ".v9", "--pg", v9_url)
        kx("push", "--db", f + ".f10", "--pg", f10_url)
    # Schema 9's DDL: the rollups complete (folded), no rollup_pending.
    fold(v9_url)
    srv.psql(TEXT_PAIRS + V11 + "DROP TABLE rollup_pending; UPDATE kexwatch_meta SET value = '9'", "v9")
    check(srv.psql("SELECT to_regclass('rollup_pending') IS NULL", "v9") == "t",
          "a schema 9 store, no pending table")
    want9 = answers(v9_url, raw=True)
    same(answers(v9_url), want9, "a schema 9 store is read raw by this kexwatch")
    p = kx("push", "--db", T("g1.db"), "--pg", v9_url, extra=NOFOLD)  # the next sensor upgrades it
    q = kx("push", "--db", T("g1.db"), "--pg", f10_url, extra=NOFOLD)
    check(p.returncode == 0 and q.returncode == 0
          and srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "v9") == "12"
          and pending("v9") == pending("f10") > 10000,
          "the next sensor upgrades schema 9 to 12, its rows pending", p.stderr)
    same(answers(v9_url), answers(f10_url), "upgraded from 9 with rows pending: reports = a fresh store's")
    same(answers(v9_url, raw=True), answers(v9_url), "... and = its raw answers")
    fold(v9_url)
    fold(f10_url)
    check(srv.psql(ROLLUP_DUMP, "v9") == srv.psql(ROLLUP_DUMP, "f10"),
          "upgraded from 9 and folded: its rollups equal a fresh store's")
    rollup_invariants(srv, "v9", "upgraded from 9", pending=0)

    # --- an upgrade from schema 10: text pairs, some rows pending ---
    v10_url, f11_url = srv.createdb("v10"), srv.createdb("f11")
    for f in srcs:
        shutil.copy(f, f + ".v10")
        shutil.copy(f, f + ".f11")
    for f in srcs[:2]:
        kx("push", "--db", f + ".v10", "--pg", v10_url)
        kx("push", "--db", f + ".f11", "--pg", f11_url)
    kx("push", "--db", srcs[2] + ".v10", "--pg", v10_url, extra=NOFOLD)
    kx("push", "--db", srcs[2] + ".f11", "--pg", f11_url, extra=NOFOLD)
    srv.psql(TEXT_PAIRS + V11 + "UPDATE kexwatch_meta SET value = '10'", "v10")
    check(srv.psql("SELECT relkind FROM pg_class WHERE oid = 'rollup_pairs'::regclass", "v10") == "r"
          and pending("v10") == pending("f11") > 1000,
          "a schema 10 store: the pairs a table, rows pending")
    want10 = answers(v10_url, raw=True)
    same(answers(v10_url), want10, "a schema 10 store is read by this kexwatch (rollups and pending rows)")
    p = kx("push", "--db", T("g1.db"), "--pg", v10_url, extra=NOFOLD)  # the next sensor upgrades it
    q = kx("push", "--db", T("g1.db"), "--pg", f11_url, extra=NOFOLD)
    # Schema 12's upgrade folds the rows pending before it (their copies
    # lack the clients' columns): only g1's stay pending.
    check(p.returncode == 0 and q.returncode == 0
          and srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "v10") == "12"
          and srv.psql("SELECT relkind FROM pg_class WHERE oid = 'rollup_pairs'::regclass", "v10") == "v"
          and 0 < pending("v10") < pending("f11"),
          "the next sensor upgrades schema 10 to 12: the pairs get ids, the old pending rows folded", p.stderr)
    same(answers(v10_url), answers(f11_url), "upgraded from 10 with rows pending: reports = a fresh store's")
    fold(v10_url)
    fold(f11_url)
    check(srv.psql(ROLLUP_DUMP, "v10") == srv.psql(ROLLUP_DUMP, "f11"),
          "upgraded from 10 and folded: its rollups equal a fresh store's")
    rollup_invariants(srv, "v10", "upgraded from 10", pending=0)

    # --- an upgrade from schema 11: no client rollups, some rows pending ---
    v11_url, f12_url = srv.createdb("v11"), srv.createdb("f12")
    for f in srcs:
        shutil.copy(f, f + ".v11")
        shutil.copy(f, f + ".f12")
    for f in srcs[:2]:
        kx("push", "--db", f + ".v11", "--pg", v11_url)
        kx("push", "--db", f + ".f12", "--pg", f12_url)
    kx("push", "--db", srcs[2] + ".v11", "--pg", v11_url, extra=NOFOLD)
    kx("push", "--db", srcs[2] + ".f12", "--pg", f12_url, extra=NOFOLD)
    srv.psql(V11 + "UPDATE kexwatch_meta SET value = '11'", "v11")
    n11 = pending("v11")
    check(srv.psql("SELECT to_regclass('rollup_client_legs') IS NULL", "v11") == "t"
          and n11 == pending("f12") > 1000, f"a schema 11 store: no client rollups, {n11} rows pending")
    want11 = answers(v11_url, raw=True)
    same(answers(v11_url), want11, "a schema 11 store: clients read raw, hops and health its rollups")
    same(answers(f12_url), want11, "the same rows in schema 12 (rollups + pending) = the raw answers")
    p = kx("push", "--db", T("g1.db"), "--pg", v11_url, extra=NOFOLD)  # the next sensor upgrades it
    q = kx("push", "--db", T("g1.db"), "--pg", f12_url, extra=NOFOLD)
    check(p.returncode == 0 and q.returncode == 0
          and srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "v11") == "12"
          and 0 < pending("v11") == pending("f12") - n11,
          "the next sensor upgrades schema 11 to 12: the client rollups built, the old pending rows folded",
          p.stderr)
    want12 = reference([T("g2.db"), T("a.db"), T("g3.db"), T("g1.db")], "ref12.db")
    same(answers(v11_url), want12, "upgraded from 11, g1 pending: reports = SQLite's raw answers")
    same(answers(v11_url, raw=True), want12, "... = its raw answers")
    same(answers(f12_url), want12, "... = a fresh store's")
    rollup_invariants(srv, "v11", "upgraded from 11", pending=None)
    fold(v11_url)
    fold(f12_url)
    check(srv.psql(ROLLUP_DUMP, "v11") == srv.psql(ROLLUP_DUMP, "f12"),
          "upgraded from 11 and folded: its rollups (the clients' too) equal a fresh store's")
    same(answers(v11_url), want12, "upgraded from 11 and folded: reports = SQLite's raw answers")

    # --- prune with rows pending: folded first, the history kept ---
    shutil.copy(T("g3.db"), T("g3.db.eight"))
    p = kx("push", "--db", T("g3.db.eight"), "--pg", eight_url, extra=NOFOLD)
    n_pend = pending("eight")
    want_e = answers(eight_url)
    check(p.returncode == 0 and n_pend == 6000, f"g3 pending before a prune ({n_pend})", p.stderr)
    same(answers(eight_url, raw=True), want_e, "... reports = raw answers before the prune")
    before_raw = raw_count("eight")
    pr = kx("prune", "--older-than", "90d", "--db", eight_url, "--now", "2025-07-01T00:00:00Z")
    check(pr.returncode == 0 and f"; {n_pend} pending rows folded" in pr.stderr and pending("eight") == 0
          and raw_count("eight") < before_raw,
          "prune folds the pending rows first, then drops old months", pr.stderr)
    got = answers(eight_url)
    same({k: v for k, v in got.items() if k != PAIR}, {k: v for k, v in want_e.items() if k != PAIR},
         "prune with rows pending: full-range hops and health keep the pre-prune answers")
finally:
    srv.stop()
    shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(SNAPDIR, ignore_errors=True)

print(f"1..{len(failures)} failures" if failures else "# all passed")
sys.exit(1 if failures else 0)
