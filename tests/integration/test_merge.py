#!/usr/bin/env python3
"""kexwatch merge: two sensors' databases, with an overlap, become one
inventory with every handshake exactly once; merging again adds nothing;
the inputs are not modified."""
import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile

KX, PCAPS = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


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

if failures:
    sys.exit(f"{len(failures)} failed")
