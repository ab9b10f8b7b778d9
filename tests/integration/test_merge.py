#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""kexwatch merge: two sensors' databases, with an overlap, become one
inventory with every handshake exactly once; merging again adds nothing;
the inputs are not modified. Sessions without a handshake: other sessions
of the same hour add up, a file merged twice or a later copy of it counts
them once; the handshake columns of schema 6 (client_hello_seen, tunnel)
are carried."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

from plaincap import plain_capture

KX, PCAPS = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail is not None:
            print(f"#   {detail}")


def run(*a):
    return subprocess.run([KX, *a], capture_output=True, text=True)


def digest(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


cap = lambda n: os.path.join(PCAPS, n)
with tempfile.TemporaryDirectory() as tmp:
    edge, origin, again, out = (os.path.join(tmp, n) for n in ("edge.db", "origin.db", "edge2.db", "all.db"))
    run("read", "-q", "--db", edge, "--sensor", "edge", cap("tls13-x25519mlkem768.pcap"), cap("tls13-mixed-50.pcap"))
    run("read", "-q", "--db", origin, "--sensor", "origin", cap("tls13-mixed-50.pcap"),
        cap("ssh-default-sntrup.pcap"), cap("starttls-smtp.pcap"), cap("quic-chromium-ngtcp2.pcap"))
    # The same capture by the same sensor in a second file: an overlap.
    run("read", "-q", "--db", again, "--sensor", "edge", cap("tls13-mixed-50.pcap"))
    before = [digest(p) for p in (edge, origin, again)]
    p = run("merge", "--db", out, edge, origin, again)
    check(p.returncode == 0 and "104 new handshakes" in p.stderr and "50 already present" in p.stderr,
          f"first merge: {p.stderr.strip()}")
    con = sqlite3.connect(out)
    rows = dict(((s, pr), n) for s, pr, n in con.execute(
        "SELECT sensor, protocol, count(*) FROM handshakes GROUP BY 1, 2"))
    check(rows == {("edge", "tls"): 51, ("origin", "tls"): 51, ("origin", "ssh"): 1, ("origin", "quic"): 1},
          f"rows per sensor and protocol: {rows}")
    check(con.execute("SELECT count(*) FROM runs").fetchone()[0] == 3, "three runs kept")
    check(con.execute("SELECT count(*) FROM handshakes h LEFT JOIN runs r ON r.id = h.run_id"
                      " WHERE r.id IS NULL").fetchone()[0] == 0, "every handshake points at its run")
    con.close()
    p = run("merge", "--db", out, origin, edge)
    con = sqlite3.connect(out)
    n = con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    check(p.returncode == 0 and n == 104 and runs == 3 and ok == "ok",
          f"merging again adds nothing ({n} rows, {runs} runs)")
    check([digest(p_) for p_ in (edge, origin, again)] == before, "inputs unchanged")
    p = run("hops", "--db", out, "--json")
    check(p.returncode == 0 and '"sntrup761x25519-sha512"' in p.stdout, "reports read the merged inventory")
    bad = os.path.join(tmp, "bad.db")
    open(bad, "wb").write(b"not a database at all" * 100)
    p = run("merge", "--db", out, bad)
    check(p.returncode == 1 and "bad.db" in p.stderr, "a non-database input: clear error, exit 1")
    p = run("merge", edge)
    check(p.returncode == 2, "usage error without --db")


def sessions(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT sensor, server_port, app, sessions, bytes, ts_first_us % 3600000000,"
                       " client_port, pkt_first FROM sessions ORDER BY sensor, server_port").fetchall()
    con.close()
    return rows


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
    sh = open(os.path.join(data, "sh-x25519mlkem768.bin"), "rb").read()
    early, late = os.path.join(tmp, "early.pcap"), os.path.join(tmp, "late.pcap")
    plain_capture(early, server_hello=sh)                # 12:00:00
    plain_capture(late, t0=1795348800 + 1800)            # 12:30:00, the same hour
    edge, edge2, origin, out = (os.path.join(tmp, n) for n in ("e.db", "e2.db", "o.db", "m.db"))
    run("read", "-q", "--db", edge, "--sensor", "edge", early)
    run("read", "-q", "--db", edge2, "--sensor", "edge", late)
    run("read", "-q", "--db", origin, "--sensor", "origin", early)
    # What a tunnel decoder writes (no tunnel in these captures): carried as is.
    con = sqlite3.connect(edge)
    con.execute("INSERT INTO handshake_extras (id, tunnel, ch_unseen) SELECT id, 'vxlan:42', 1"
                " FROM handshakes WHERE NOT client_hello_seen"
                " ON CONFLICT (id) DO UPDATE SET tunnel = excluded.tunnel")
    con.commit()
    con.close()
    one = sessions(edge)
    p = run("merge", "--db", out, edge, origin, edge2, edge)
    check(p.returncode == 0 and "sessions rows: 8 new, 4 added to one there, 4 already counted" in p.stderr,
          f"merge: sensors apart, the later half hour added, the file again counted once: {p.stderr.strip()}")
    got = sessions(out)
    redis = [r for r in got if r[0] == "edge" and r[1] == 6379][0]
    check(len(got) == 8 and redis[3] == 4 and redis[4] == 2 * [r for r in one if r[1] == 6379][0][4]
          and redis[5:] == [r for r in one if r[1] == 6379][0][5:]
          and [r for r in got if r[0] == "origin"] == [("origin",) + r[1:] for r in one],
          "sessions: edge's two half hours add up (first session's evidence kept), origin's apart", got)
    con = sqlite3.connect(out)
    hs = con.execute("SELECT sensor, verdict, client_hello_seen, tunnel FROM handshakes ORDER BY sensor").fetchall()
    con.close()
    check(hs == [("edge", "hybrid", 0, "vxlan:42"), ("origin", "hybrid", 0, None)],
          "handshakes: client_hello_seen and tunnel carried", hs)
    p = run("hops", "--db", out, "--json", "--sensor", "edge")
    h = {x["server_port"]: x for x in json.loads(p.stdout)}
    check(h[6379]["verdict"] == "plaintext" and h[6379]["n_plaintext"] == 4 and h[80]["n_plaintext"] == 2,
          "reports read the merged sessions", p.stdout[:300])

    # A later copy of a file whose run was still capturing: same run, same
    # first sessions, more of them. The larger counts win, nothing adds up.
    snap = os.path.join(tmp, "snap.db")
    shutil.copy(edge, snap)
    con = sqlite3.connect(snap)
    con.execute("UPDATE sessions SET sessions = sessions + 1, bytes = bytes + 100,"
                " ts_last_us = ts_last_us + 60000000")
    con.execute("UPDATE runs SET capture_last_us = capture_last_us + 60000000")
    con.commit()
    con.close()
    solo = os.path.join(tmp, "solo.db")
    run("merge", "-q", "--db", solo, edge)
    p = run("merge", "--db", solo, snap)
    got = sessions(solo)
    check(p.returncode == 0 and "sessions rows: 0 new, 4 added to one there, 0 already counted" in p.stderr
          and [r[3] for r in got] == [r[3] + 1 for r in one] and [r[4] for r in got] == [r[4] + 100 for r in one],
          f"a later copy of the same capture: max, not sum: {p.stderr.strip()}", got)
    p = run("merge", "--db", solo, snap, edge)
    check(p.returncode == 0 and "sessions rows: 0 new, 0 added to one there, 8 already counted" in p.stderr
          and sessions(solo) == got, f"and again: nothing changes: {p.stderr.strip()}")

if failures:
    sys.exit(f"{len(failures)} failed")
