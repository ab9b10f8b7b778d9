#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Bulk ingest into the central PostgreSQL store (schema 3), against a real
PostgreSQL server this test starts itself (unix socket only, port 5498):

- one sensor's rows (a generated dense capture read by kexwatch) go in by
  COPY; the rate is printed (measured, not asserted: machines differ);
- a file whose rows are partly there: the direct COPY's fallback to the
  staging merge and back, exact counts;
- 8 `kexwatch push` processes at once, from 8 files with shared and own
  rows: no error, no deadlock, the central rows are exactly the union;
- the server killed (immediate stop) in the middle of a push and started
  again: the push carries on, nothing lost, nothing doubled;
- handshakes is partitioned by month; rows of three months (a real capture
  with its timestamps moved back 40 and 120 days) land in three partitions;
- `kexwatch prune --older-than 90d` drops the old month whole and deletes
  the older rows of the month across the cutoff;
- `kexwatch prune --rollups-older-than`: the endpoints last seen before
  it (their handshakes and sessions, worked out here from the local rows)
  are forgotten whole, the others keep their full-range hops answer, the
  sessions rows of older hours go, exact printed counts; rows still
  pending are folded first (the same rollups as a store folded before);
  prune waits for a folder holding the fold lock; without the option the
  rollups and sessions stay; shorter than --older-than is refused;
- a schema 2 store (the plain table schema 2 made) is upgraded in place,
  ids and rows kept.

Exit 77 (skipped) only when the PostgreSQL server binaries are missing."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import datetime
import json

from pgcluster import BIN, Cluster  # exits 77 without PostgreSQL's server

KX, GEN, PCAPS = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("# " + str(detail).replace("\n", "\n# "))


PORT = "5498"


def kx(*a):
    return subprocess.run([KX, *a], capture_output=True, text=True)


def keys_of(db):
    c = sqlite3.connect(db)
    k = set(c.execute("SELECT ts_first_us, dedup_key FROM handshakes"))
    c.close()
    return k


def central_keys(srv, db):
    out = srv.psql("SELECT ts_first_us, dedup_key FROM handshakes", db)
    return {tuple(int(x) for x in line.split("|")) for line in out.splitlines() if line}


def shifted(src, dst, days):
    """A copy of a classic pcap with every timestamp moved by `days`."""
    b = bytearray(open(src, "rb").read())
    off = 24
    while off + 16 <= len(b):
        sec = int.from_bytes(b[off:off + 4], "little") + days * 86400
        b[off:off + 4] = sec.to_bytes(4, "little")
        off += 16 + int.from_bytes(b[off + 8:off + 12], "little")
    open(dst, "wb").write(b)


top = tempfile.mkdtemp(prefix="kx-pgb-")
tmp = tempfile.mkdtemp(prefix="kx-bulk-")
srv = Cluster(top, PORT)
try:
    srv.init()
    srv.start()

    # --- one sensor: the rows of a generated dense capture ---
    pcap = os.path.join(tmp, "dense.pcap")
    subprocess.run([GEN, "--profile", "dense", "--seed", "7", "--out", pcap, "--expected",
                    os.path.join(tmp, "dense.tsv"), "--templates", PCAPS, "-q"], check=True)
    base = os.path.join(tmp, "base.db")
    p = kx("read", "-q", "--sensor", "fleet", "--db", base, pcap)
    os.unlink(pcap)
    kb = keys_of(base)
    check(p.returncode == 0 and len(kb) > 20000, f"the dense capture gives {len(kb)} local rows", p.stderr)
    one = os.path.join(tmp, "one.db")
    shutil.copy(base, one)
    url = srv.createdb("one")
    t0 = time.monotonic()
    p = kx("push", "--db", one, "--pg", url)
    dt = time.monotonic() - t0
    print(f"# ingest: {len(kb)} rows in {dt:.2f} s = {len(kb) / dt:.0f} rows/s (push, COPY)")
    check(p.returncode == 0 and f"{len(kb)} rows sent, 0 already there, 0 failed attempts" in p.stderr,
          "push: every row sent once", p.stderr)
    check(central_keys(srv, "one") == kb
          and srv.psql("SELECT count(*) FROM handshakes", "one") == str(len(kb)),
          "the central rows are the local rows, once each")
    check(srv.psql("SELECT relkind FROM pg_class WHERE relname = 'handshakes'", "one") == "p"
          and srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "one") == "12",
          "schema 3: handshakes is partitioned")
    check(srv.psql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                   " AND conrelid <> 'sources'::regclass", "one") == "0",
          "schema 8: no foreign key on handshakes, its partitions or sessions")
    check(srv.psql("SELECT count(*) FROM pg_class WHERE relname LIKE 'pg_temp%' OR relname = 'kx_stage'",
                   "one") == "0", "the session's staging table went with the session")

    # --- a file whose rows are partly there: each batch COPYs straight into
    # handshakes while its rows are new, falls back to the staging merge on
    # the first one already there, and goes back to the direct COPY after a
    # batch of new rows only. 100 new keys in the first batch (its direct
    # COPY fails), then 4 batches of rows already there (merged), then
    # 12000 new rows: a mixed batch, one all new (merged: a batch of new
    # rows only follows one that met old rows), then direct COPYs. ---
    part = os.path.join(tmp, "part.db")
    shutil.copy(base, part)
    c = sqlite3.connect(part)
    c.execute("UPDATE handshake_rows SET dedup_key = dedup_key + 1 WHERE id <= 100")
    cols = [r[1] for r in c.execute("PRAGMA table_info(handshake_rows)") if r[1] not in ("id", "ts_first_us")]
    c.execute(f"INSERT INTO handshake_rows (ts_first_us, {', '.join(cols)})"
              f" SELECT ts_first_us + 1, {', '.join(cols)} FROM handshake_rows WHERE id > 100 AND id <= 12100")
    c.commit()
    c.close()
    kp = keys_of(part)
    new, old = len(kp - kb), len(kp & kb)
    p = kx("push", "--db", part, "--pg", url)
    check(new == 12100 and p.returncode == 0
          and f"{new} rows sent, {old} already there, 0 failed attempts, 0 refused, 0 still waiting" in p.stderr,
          f"rows partly there: {new} sent, {old} already there, exactly", p.stderr)
    check(central_keys(srv, "one") == kb | kp
          and srv.psql("SELECT count(*) FROM handshakes", "one") == str(len(kb | kp)),
          "rows partly there: the central rows are the union, once each")

    # --- 8 sensors at once, shared and own rows ---
    files, union = [], set()
    for i in range(8):
        f = os.path.join(tmp, f"s{i}.db")
        shutil.copy(base, f)
        c = sqlite3.connect(f)
        # Each drops a different eighth of the shared rows and makes one
        # sixteenth its own (a dedup key no other file has).
        c.execute("DELETE FROM handshake_rows WHERE id % 8 = ?", (i,))
        c.execute("UPDATE handshake_rows SET dedup_key = (dedup_key | ?1) - (dedup_key & ?1)"
                  " WHERE id % 16 = ?2", ((i + 1) << 40, (i + 3) % 16))  # XOR
        c.commit()
        c.close()
        files.append(f)
        union |= keys_of(f)
    url8 = srv.createdb("eight")
    t0 = time.monotonic()
    procs = [subprocess.Popen([KX, "push", "--db", f, "--pg", url8, "--timeout", "120"],
                              stderr=subprocess.PIPE, text=True) for f in files]
    errs = [pr.communicate(timeout=300)[1] for pr in procs]
    dt = time.monotonic() - t0
    sent = sum(int(e.split(" rows sent")[0].rsplit(" ", 1)[-1]) for e in errs if " rows sent" in e)
    print(f"# 8 sensors: {sum(len(keys_of(f)) for f in files)} rows offered, {len(union)} distinct,"
          f" {dt:.2f} s")
    check(all(pr.returncode == 0 for pr in procs) and all("0 failed attempts" in e for e in errs),
          "8 concurrent pushes: all exit 0, no failed attempt (no deadlock, no error)", "\n".join(errs))
    check(central_keys(srv, "eight") == union
          and srv.psql("SELECT count(*) FROM handshakes", "eight") == str(len(union)),
          f"8 concurrent pushes: the central rows are exactly the union ({len(union)})")
    check(sent == len(union), f"the pushes' 'rows sent' add up to the union ({sent})")

    # --- the server killed in the middle of a push ---
    big = os.path.join(tmp, "big.db")
    shutil.copy(base, big)
    c = sqlite3.connect(big)
    cols = [r[1] for r in c.execute("PRAGMA table_info(handshake_rows)") if r[1] not in ("id", "ts_first_us")]
    for k in range(1, 6):  # six copies of the rows, a microsecond apart: a longer push
        c.execute(f"INSERT OR IGNORE INTO handshake_rows (ts_first_us, {', '.join(cols)})"
                  f" SELECT ts_first_us + ?, {', '.join(cols)} FROM handshake_rows WHERE id <= ?",
                  (k, len(kb)))
    c.commit()
    c.close()
    kbig = keys_of(big)
    urlk = srv.createdb("killed")
    push = subprocess.Popen([KX, "push", "--db", big, "--pg", urlk, "--timeout", "120"],
                            stderr=subprocess.PIPE, text=True)
    end = time.time() + 60
    seen = 0
    while time.time() < end and push.poll() is None:
        try:
            seen = int(srv.psql("SELECT count(*) FROM handshakes", "killed") or 0)
        except RuntimeError:
            seen = 0
        if seen > 0:
            break
        time.sleep(0.02)
    srv.stop("immediate")
    killed_at = seen
    time.sleep(1)
    srv.start()
    err = push.communicate(timeout=300)[1]
    check(0 < killed_at < len(kbig) and push.returncode == 0 and "unavailable" in err
          and "reachable again" in err,
          f"the server killed after {killed_at} of {len(kbig)} rows: the push noticed, waited, finished",
          err)
    check(central_keys(srv, "killed") == kbig
          and srv.psql("SELECT count(*) FROM handshakes", "killed") == str(len(kbig)),
          "after the kill: every row once, none lost, none doubled")
    p = kx("push", "--db", big, "--pg", urlk)
    check(p.returncode == 0 and "0 rows sent" in p.stderr and "0 still waiting" in p.stderr,
          "a second push has nothing left", p.stderr)

    # --- partitions by month; prune ---
    cap = os.path.join(PCAPS, "tls13-mixed-50.pcap")
    old, mid = os.path.join(tmp, "old.pcap"), os.path.join(tmp, "mid.pcap")
    shifted(cap, old, -120)
    shifted(cap, mid, -40)
    urlp = srv.createdb("parts")
    pdb = os.path.join(tmp, "parts.db")
    p = kx("read", "--sensor", "p", "--db", pdb, "--pg", urlp, old, mid, cap)
    check(p.returncode == 0 and "150 rows sent" in p.stderr, "three months of one capture: 150 rows", p.stderr)
    parts = srv.psql("SELECT c.relname || ':' || (SELECT count(*) FROM handshakes h WHERE h.tableoid = c.oid)"
                     " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                     " WHERE i.inhparent = 'handshakes'::regclass ORDER BY 1", "parts")
    newest = srv.psql("SELECT max(ts_first_us) FROM handshakes", "parts")
    check(parts.count(":50") == 3 and len(parts.splitlines()) == 3,
          "handshakes_pYYYYMM: three monthly partitions of 50 rows", parts)
    # Cutoff 90 days before a moment between the mid and newest rows: the
    # oldest month goes whole, the mid month only if it lies before it.
    now_us = int(newest)
    cutoff = now_us - 90 * 86400 * 10**6
    want_drop = int(srv.psql(f"SELECT count(*) FROM handshakes WHERE ts_first_us < {cutoff}", "parts"))
    import datetime
    now_s = datetime.datetime.fromtimestamp(now_us / 1e6, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    p = kx("prune", "--older-than", "90d", "--db", urlp, "--now", now_s)
    left = srv.psql("SELECT count(*), min(ts_first_us) >= " + str(cutoff) + " FROM handshakes", "parts")
    check(p.returncode == 0 and "1 partitions dropped (50 rows), 0 rows deleted" in p.stderr
          and want_drop == 50 and left == "100|t",
          "prune --older-than 90d: the oldest month's partition dropped, 100 rows left", p.stderr + left)
    # A cutoff inside a month: only its older rows go.
    mid_cut = srv.psql("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ts_first_us) FROM handshakes"
                       " WHERE ts_first_us < (SELECT min(ts_first_us) + 20 * 86400000000 FROM handshakes)",
                       "parts")
    n_before = int(srv.psql(f"SELECT count(*) FROM handshakes WHERE ts_first_us < {mid_cut}", "parts"))
    cut_s = datetime.datetime.fromtimestamp(int(mid_cut) / 1e6 + 86400, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    p = kx("prune", "--older-than", "1d", "--db", urlp, "--now", cut_s)
    check(p.returncode == 0 and f"0 partitions dropped (0 rows), {n_before} rows deleted" in p.stderr
          and 0 < n_before < 50
          and srv.psql("SELECT count(*) FROM handshakes", "parts") == str(100 - n_before),
          f"a cutoff inside a month deletes its {n_before} older rows only", p.stderr)
    # A late row for a pruned month: its partition comes back, not a refusal.
    p = kx("read", "--sensor", "late", "--db", os.path.join(tmp, "late.db"), "--pg", urlp, old)
    check(p.returncode == 0 and "50 rows sent, 0 already there" in p.stderr and " 0 refused" in p.stderr,
          "rows of a pruned month sent later: the partition is made again", p.stderr)
    p = kx("prune", "--older-than", "90d", "--db", "/nonexistent.db")
    check(p.returncode == 1 and "/nonexistent.db: no such file" in p.stderr and not os.path.exists("/nonexistent.db"),
          "prune on a missing SQLite file: a clear error, exit 1, nothing created (test_prune covers files)",
          p.stderr)

    # --- the rollup retention: prune --rollups-older-than ---
    # One sensor's file: every endpoint of a capture 300 days back and now,
    # sessions of two plaintext captures. R (the rollup cutoff) lies
    # between. The old rows of 16 SNIs are renamed (gone-...): endpoints
    # seen only before R, but for gone-hrr-01, whose last packet is at R
    # exactly (seen since), and gone-declined-01, moved onto the MySQL
    # server at 198.18.0.21:3306 without SNI, whose sessions (endpoint '')
    # are seen now. gone-hrr-03 goes onto the old-only HTTP server (its
    # sessions too are old).
    r_us = int(datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc).timestamp()) * 10**6
    now_r = datetime.datetime.fromtimestamp(r_us / 1e6 + 200 * 86400, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    my, http = os.path.join(PCAPS, "plaintext-mysql.pcap"), os.path.join(PCAPS, "plaintext-http.pcap")
    old3, my3, http3 = (os.path.join(tmp, n) for n in ("old3.pcap", "my3.pcap", "http3.pcap"))
    shifted(cap, old3, -300)
    shifted(my, my3, -300)
    shifted(http, http3, -300)
    rdb = os.path.join(tmp, "ret.db")
    # In time order: one read is one stream, whose clock does not go back.
    p = kx("read", "-q", "--sensor", "r", "--db", rdb, old3, my3, http3, cap, my)
    c = sqlite3.connect(rdb)
    c.execute("UPDATE handshake_rows SET sni = 'gone-' || sni WHERE ts_first_us < ?"
              " AND (sni LIKE 'hrr-%' OR sni LIKE 'declined-%')", (r_us,))
    c.execute("UPDATE handshake_rows SET ts_last_us = ? WHERE sni = 'gone-hrr-01.mixed.kx.test'", (r_us,))
    c.execute("UPDATE handshake_rows SET ts_last_us = ? WHERE sni = 'gone-hrr-02.mixed.kx.test'", (r_us - 1,))
    # A client seen only there, before R: the client rollups forget it.
    c.execute("UPDATE handshake_rows SET client_ip = '203.0.113.250' WHERE sni = 'gone-hrr-02.mixed.kx.test'")
    c.execute("UPDATE handshake_rows SET sni = NULL, server_ip = '198.18.0.21', server_port = 3306"
              " WHERE sni = 'gone-declined-01.mixed.kx.test'")
    c.execute("UPDATE handshake_rows SET sni = NULL, server_ip = '198.18.0.20', server_port = 80"
              " WHERE sni = 'gone-hrr-03.mixed.kx.test'")
    # The HTTP server on 8080: its one sessions row spans R, in the hour
    # before it; a row counts from its hour's start: forgotten.
    c.execute("UPDATE sessions SET hour = ?, ts_first_us = ?, ts_last_us = ? WHERE server_port = 8080",
              (r_us // 3600000000 - 1, r_us - 10**7, r_us + 10**7))
    c.commit()
    # The expected answer from the local rows alone (50 endpoints now, 14
    # renamed old ones besides, 4 servers of the sessions; 15 to forget):
    # an endpoint's newest handshake packet or sessions hour (a sessions
    # row counts from the start of its hour, as on SQLite).: each endpoint's last
    # packet over its handshakes and its sessions (no SNI).
    last = {}
    for ip, port, sni, t in c.execute(
            "SELECT server_ip, server_port, coalesce(sni, ''), ts_last_us FROM handshakes"
            " UNION ALL SELECT server_ip, server_port, '', hour * 3600000000 FROM sessions"):
        last[(ip, port, sni)] = max(t, last.get((ip, port, sni), t))
    n_local_sess = c.execute("SELECT count(*) FROM sessions").fetchone()[0]
    c.close()
    forgotten = {e for e, t in last.items() if t < r_us}
    check(p.returncode == 0 and len(last) == 50 + 14 + 4 and len(forgotten) == 15
          and ("198.18.0.20", 80, "") in forgotten and ("198.18.0.20", 8080, "") in forgotten
          and ("198.18.0.21", 3306, "") not in forgotten
          and ("198.18.0.22", 9443, "gone-hrr-01.mixed.kx.test") not in forgotten
          and ("198.18.0.22", 9443, "gone-hrr-02.mixed.kx.test") in forgotten,
          f"retention data: {len(last)} endpoints, {len(forgotten)} last seen before R",
          p.stderr + str(sorted(forgotten)))

    def hops_of(url_):
        q = kx("hops", "--db", url_, "--json")
        return q.returncode, {(h["server_ip"], h["server_port"], h["sni"] or ""):
                              (h["handshakes"], h["clients"]) for h in json.loads(q.stdout or "[]")}

    def rollup_dump(db):
        return {t: srv.psql(f"SELECT * FROM {t} AS x ORDER BY x::text", db)
                for t in ("rollup_legs", "rollup_pairs", "rollup_pairs_all", "rollup_clients",
                          "rollup_clients_all", "rollup_runs")} | {
            # The client rollups by address and sensor (ids differ by fold order).
            t: srv.psql(f"SELECT string_agg(d, E'\\n' ORDER BY d) FROM (SELECT c.client_ip || '|'"
                        f" || coalesce(s.sensor, '*') || '|' || (to_jsonb(x) - 'cl' - 'sn')::text AS d"
                        f" FROM {t} AS x JOIN rollup_client_ips AS c ON c.id = x.cl"
                        " LEFT JOIN rollup_sensors AS s ON s.id = x.sn) AS y", db)
            for t in ("rollup_client_legs", "rollup_client_offers", "rollup_client_sets",
                      "rollup_client_counts")}

    # Two stores of the same rows: "ret" folded before the prune, "ret2"
    # with every row still pending (the shipper does not fold), which the
    # prune folds first. Both must end the same.
    urlr, urlr2 = srv.createdb("ret"), srv.createdb("ret2")
    p = kx("push", "--db", rdb, "--pg", urlr)
    p2 = subprocess.run([KX, "push", "--db", rdb, "--pg", urlr2], capture_output=True, text=True,
                        env=dict(os.environ, KEXWATCH_PG_FOLD_EVERY="0"))
    pend2 = srv.psql("SELECT count(*) FROM rollup_pending", "ret2")
    check(p.returncode == 0 and p2.returncode == 0 and kx("rollup", "--db", urlr).returncode == 0
          and srv.psql("SELECT count(*) FROM rollup_pending", "ret") == "0" and int(pend2) > 0
          and srv.psql("SELECT count(*) FROM sessions", "ret") == str(n_local_sess),
          f"retention data pushed twice: folded, and {pend2} rows pending", p.stderr + p2.stderr)
    rc_b, hops_b = hops_of(urlr)
    check(rc_b == 0 and set(hops_b) == set(last), "full-range hops lists every endpoint before the prune",
          sorted(set(hops_b) ^ set(last)))
    want_rows = 0
    for t in ("rollup_legs", "rollup_pairs", "rollup_pairs_all", "rollup_clients", "rollup_clients_all"):
        for line in srv.psql(f"SELECT server_ip, server_port, sni FROM {t}", "ret").splitlines():
            ip, port, sni = line.split("|")
            want_rows += (ip, int(port), sni) in forgotten
    sess_b = {tuple(l.split("|")) for l in srv.psql("SELECT id, hour FROM sessions", "ret").splitlines()}
    sess_keep = {s for s in sess_b if int(s[1]) * 3600 * 10**6 >= r_us}
    runs_b = srv.psql("SELECT * FROM rollup_runs ORDER BY 1", "ret")
    hs_keep = srv.psql(f"SELECT count(*) FROM handshakes WHERE ts_first_us >= {r_us + 100 * 86400 * 10**6}",
                       "ret")
    dump_b = rollup_dump("ret")
    # Schema 12's client rollups: a client goes when its newest handshake
    # ended, and its newest sessions hour began, before R.
    cl_last = {}
    for line in srv.psql("SELECT client_ip, max(ts_last_us) FROM handshakes GROUP BY 1 UNION ALL"
                         " SELECT client_ip, max(hour) * 3600000000 FROM sessions GROUP BY 1",
                         "ret").splitlines():
        ip, t = line.split("|")
        cl_last[ip] = max(int(t), cl_last.get(ip, int(t)))
    cl_hs = set(srv.psql("SELECT DISTINCT client_ip FROM handshakes", "ret").splitlines())
    cl_gone = {ip for ip, t in cl_last.items() if t < r_us and ip in cl_hs}
    CL_ROLLED = ("SELECT DISTINCT c.client_ip FROM rollup_client_legs AS l"
                 " JOIN rollup_client_ips AS c ON c.id = l.cl")
    clients_b = kx("clients", "--db", urlr, "--json")
    # Shorter than the raw retention: refused, nothing done.
    p = kx("prune", "--older-than", "100d", "--rollups-older-than", "99d", "--db", urlr, "--now", now_r)
    check(p.returncode == 2 and "must be at least --older-than" in p.stderr
          and rollup_dump("ret") == dump_b and srv.psql("SELECT count(*) FROM handshakes", "ret") != hs_keep,
          "--rollups-older-than shorter than --older-than: exit 2, nothing pruned", p.stderr)
    # Without --rollups-older-than: the raw rows go, the rollups and the
    # sessions stay as they are.
    p = kx("prune", "--older-than", "100d", "--db", urlr, "--now", now_r)
    check(p.returncode == 0 and "1 partitions dropped (50 rows)" in p.stderr and "rollups of" not in p.stderr
          and rollup_dump("ret") == dump_b and hops_of(urlr) == (0, hops_b)
          and srv.psql("SELECT count(*) FROM sessions", "ret") == str(len(sess_b))
          and srv.psql("SELECT count(*) FROM handshakes", "ret") == hs_keep,
          "prune without --rollups-older-than: rollups, sessions and full-range hops unchanged", p.stderr)
    p = kx("prune", "--older-than", "100d", "--rollups-older-than", "200d", "--db", urlr, "--now", now_r)
    rt = "2026-06-01T00:00:00.000000Z"
    msg = (f"before {rt}: {len(forgotten)} endpoints forgotten ({want_rows} rollup rows),"
           f" {len(sess_b) - len(sess_keep)} hourly sessions rows deleted")
    check(p.returncode == 0 and msg in p.stderr and want_rows > 0 and 0 < len(sess_keep) < len(sess_b),
          f"prune --rollups-older-than 200d: {msg}", p.stderr)
    rc_a, hops_a = hops_of(urlr)
    check(rc_a == 0 and set(hops_a) == set(last) - forgotten,
          f"after it, full-range hops lists exactly the {len(last) - len(forgotten)} endpoints seen since R",
          sorted(set(hops_a) ^ (set(last) - forgotten)))
    check(all(hops_a[e] == hops_b[e] for e in hops_a) and hops_a[("198.18.0.22", 9443, "gone-hrr-01.mixed.kx.test")] == (1, 1),
          "each keeps its whole history: the same handshakes and clients as before the prune",
          [(e, hops_b[e], hops_a[e]) for e in hops_a if hops_a[e] != hops_b[e]])
    left = 0
    for t in ("rollup_legs", "rollup_pairs", "rollup_pairs_all", "rollup_clients", "rollup_clients_all"):
        for line in srv.psql(f"SELECT server_ip, server_port, sni FROM {t}", "ret").splitlines():
            ip, port, sni = line.split("|")
            left += (ip, int(port), sni) in forgotten
    cl_a = set(srv.psql(CL_ROLLED, "ret").splitlines())
    clients_a = kx("clients", "--db", urlr, "--json")
    kept = {c["client_ip"]: c for c in json.loads(clients_a.stdout or "[]")}
    was = {c["client_ip"]: c for c in json.loads(clients_b.stdout or "[]")}
    check(f"; {len(cl_gone)} clients forgotten (" in p.stderr and len(cl_gone) > 0
          and cl_a == cl_hs - cl_gone
          and all(kept[ip]["handshakes"] == was[ip]["handshakes"] for ip in cl_a)
          and not any(kept.get(ip, {}).get("handshakes") for ip in cl_gone),
          f"the client rollups forget the {len(cl_gone)} clients last seen before R, the others keep"
          " their handshakes", p.stderr + str(sorted(cl_a ^ (cl_hs - cl_gone))))
    sess_a = {tuple(l.split("|")) for l in srv.psql("SELECT id, hour FROM sessions", "ret").splitlines()}
    check(left == 0 and sess_a == sess_keep and runs_b == srv.psql("SELECT * FROM rollup_runs ORDER BY 1", "ret")
          and srv.psql("SELECT count(*) FROM handshakes", "ret") == hs_keep,
          "no rollup row of a forgotten endpoint left, exactly the sessions rows of hours since R,"
          " rollup_runs and the raw rows since the raw cutoff kept")
    p = kx("prune", "--older-than", "100d", "--rollups-older-than", "200d", "--db", urlr2, "--now", now_r)
    check(p.returncode == 0 and f"{pend2} pending rows folded into the rollups first" in p.stderr
          and msg in p.stderr and srv.psql("SELECT count(*) FROM rollup_pending", "ret2") == "0"
          and rollup_dump("ret2") == rollup_dump("ret"),
          "rows still pending are folded first: the same counts and the same rollups", p.stderr)
    # Prune waits for a folder: the fold lock held by another session for
    # 3 s, then released; nothing left to forget the second time.
    holder = subprocess.Popen([os.path.join(BIN, "psql"), "-h", top, "-p", PORT, "-U", "kx", "-d", "ret",
                               "-Atc", "BEGIN; SELECT pg_advisory_xact_lock(1801812089);"
                               " SELECT pg_sleep(3); COMMIT"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    t0 = time.monotonic()
    p = kx("prune", "--older-than", "100d", "--rollups-older-than", "200d", "--db", urlr, "--now", now_r)
    waited = time.monotonic() - t0
    holder.communicate(timeout=60)
    check(p.returncode == 0 and waited > 1.0 and "0 endpoints forgotten (0 rollup rows), 0 hourly" in p.stderr
          and rollup_dump("ret") == rollup_dump("ret2"),
          f"a prune beside a folder waits for it ({waited:.1f} s); again: nothing more to forget", p.stderr)

    # --- a schema 2 store upgraded in place ---
    url2 = srv.createdb("v2")
    v2db = os.path.join(tmp, "v2.db")
    kx("read", "--sensor", "two", "--db", v2db, "--pg", url2, old, cap)
    before = srv.psql("SELECT id, ts_first_us, dedup_key, verdict FROM handshakes ORDER BY id", "v2")
    # Back to the layout schema 2 created: a plain table, id the primary key.
    srv.psql("DROP VIEW hops, clients, hybrid_share_daily, clienthello_sizes, classical_handshakes;"
             " ALTER TABLE handshakes RENAME TO h3;"
             " CREATE TABLE handshakes (LIKE h3 INCLUDING DEFAULTS);"
             " INSERT INTO handshakes SELECT * FROM h3;"
             " ALTER SEQUENCE handshakes_id_seq OWNED BY handshakes.id; DROP TABLE h3;"
             " ALTER TABLE handshakes ADD PRIMARY KEY (id), ADD UNIQUE (ts_first_us, dedup_key),"
             " ADD FOREIGN KEY (run_id) REFERENCES runs(id);"
             " CREATE INDEX handshakes_server ON handshakes (server_ip, server_port, sni);"
             " CREATE INDEX handshakes_sensor ON handshakes (sensor, ts_first_us);"
             " UPDATE kexwatch_meta SET value = '2'", "v2")
    check(srv.psql("SELECT relkind FROM pg_class WHERE relname = 'handshakes'", "v2") == "r",
          "a schema 2 store: a plain handshakes table")
    p = kx("hops", "--db", url2, "--csv")
    check(p.returncode == 0 and p.stdout.count("\n") > 2, "reports read schema 2 as it is", p.stderr)
    p = kx("read", "--sensor", "two", "--db", os.path.join(tmp, "v2b.db"), "--pg", url2, mid)
    check(p.returncode == 0 and "50 rows sent" in p.stderr
          and srv.psql("SELECT value FROM kexwatch_meta WHERE key = 'schema_version'", "v2") == "12"
          and srv.psql("SELECT relkind FROM pg_class WHERE relname = 'handshakes'", "v2") == "p"
          and srv.psql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                       " AND conrelid <> 'sources'::regclass", "v2") == "0",
          "the next sensor upgrades it to schema 12 (partitioned, fingerprint and interface columns,"
          " no foreign key on handshakes or sessions) and sends its rows", p.stderr)
    after = srv.psql("SELECT id, ts_first_us, dedup_key, verdict FROM handshakes WHERE sensor = 'two'"
                     " AND id <= 100 ORDER BY id", "v2")
    check(after == before and len(before.splitlines()) == 100, "the upgrade kept every row and its id")
    check(srv.psql("SELECT count(*), count(DISTINCT id), min(id) > 100 FROM handshakes WHERE id > 100",
                   "v2") == "50|50|t", "new rows get new ids after the old ones")
    check(srv.psql("SELECT count(*) FROM hops", "v2") != "0", "the views are back")
finally:
    srv.stop()
    shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)

print(f"1..{len(failures)} failures" if failures else "# all bulk central checks passed")
sys.exit(1 if failures else 0)
