#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The inventory under failure: kill -9 in the middle of a large run, a file
size limit (disk full), and another process holding the database lock. The
database must stay consistent, committed rows intact, reruns idempotent, and
every failure reported with a clear error and a non-zero exit."""
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

KX, GEN, PCAPS = sys.argv[1:4]
failures = []


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


def count(db):
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    d = con.execute("SELECT count(*) FROM (SELECT DISTINCT sensor, protocol, client_ip, client_port,"
                    " server_ip, server_port, ts_first_us FROM handshakes)").fetchone()[0]
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    return n, d, ok


with tempfile.TemporaryDirectory() as tmp:
    cap, exp = os.path.join(tmp, "dense.pcap"), os.path.join(tmp, "dense.tsv")
    subprocess.run([GEN, "--profile", "dense", "--seed", "7", "--scale", "0.1", "--out", cap,
                    "--expected", exp], check=True, capture_output=True)
    want = sum(1 for l in open(exp) if l.strip() and not l.startswith(("client_ip", "#")))

    # kill -9 once some batches are committed, then rerun.
    db = os.path.join(tmp, "k.db")
    proc = subprocess.Popen([KX, "read", "--db", db, "-q", "--no-progress", cap, cap, cap, cap, cap],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed_with = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if os.path.exists(db) and count(db)[0] > 0:
                proc.send_signal(signal.SIGKILL)
                killed_with = 1
                break
        except sqlite3.Error:
            pass
        time.sleep(0.01)
    proc.wait()
    n, d, ok = count(db)
    check(killed_with and proc.returncode == -9 and ok == "ok" and 0 < n <= want and n == d,
          f"kill -9 mid-run: integrity ok, {n} committed rows intact")
    p = subprocess.run([KX, "read", "--db", db, "-q", "--no-progress", cap], capture_output=True, text=True)
    n, d, ok = count(db)
    check(p.returncode == 0 and n == want and d == n and ok == "ok",
          f"rerun completes it: {n} rows, {want} expected, no duplicates")

    # A file size limit: a clear error, exit 1, no corruption. The limit
    # leaves room for the schema (measured on an empty inventory, so it
    # follows the schema's growth) plus 64 KiB, far less than the rows
    # need. It applies to the file and to its write-ahead log alike, so
    # the rows must need more than twice the limit: the main file takes
    # what it can, the log holds the rest since the last checkpoint, and
    # with the 2 312 rows of the capture above both fitted once the schema
    # had 41 pages (16): the checkpoint failed, every row was stored. A
    # capture five times that size needs about 150 pages of rows.
    big = os.path.join(tmp, "dense-big.pcap")
    subprocess.run([GEN, "--profile", "dense", "--seed", "7", "--scale", "0.5", "--out", big,
                    "--expected", os.path.join(tmp, "dense-big.tsv")], check=True, capture_output=True)
    db = os.path.join(tmp, "full.db")
    empty = os.path.join(tmp, "empty.db")
    subprocess.run([KX, "read", "--db", empty, "-q", "--no-progress", os.path.join(PCAPS, "tls13-x25519mlkem768.pcap")],
                   check=True, capture_output=True)
    fsize = os.path.getsize(empty) + 64 * 1024
    check(os.path.getsize(os.path.join(tmp, "k.db")) > fsize,
          f"the limit ({fsize} bytes) is below what the rows need ({os.path.getsize(os.path.join(tmp, 'k.db'))})")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    p = subprocess.run([KX, "read", "--db", db, "-q", "--no-progress", big], capture_output=True, text=True,
                       preexec_fn=limit)
    n, d, ok = count(db)
    check(p.returncode == 1 and db in p.stderr and "not stored" in p.stderr and ok == "ok" and n == d,
          f"file size limit: exit {p.returncode}, '{p.stderr.strip().splitlines()[-1][:90] if p.stderr else ''}', integrity ok, {n} rows")

    # Another process holds the write lock for 1.5 s: kexwatch waits and succeeds.
    db = os.path.join(tmp, "lock.db")
    small = os.path.join(PCAPS, "tls13-mixed-50.pcap")
    subprocess.run([KX, "read", "--db", db, "-q", os.path.join(PCAPS, "tls13-x25519mlkem768.pcap")], check=True)

    def hold(seconds):
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        con.execute("COMMIT")
        con.close()
    t = threading.Thread(target=hold, args=(1.5,))
    t.start()
    time.sleep(0.2)
    p = subprocess.run([KX, "read", "--db", db, "-q", small], capture_output=True, text=True)
    t.join()
    n, d, ok = count(db)
    check(p.returncode == 0 and n == 51 and ok == "ok", f"lock held 1.5 s: waited, {n} rows")

    # Held longer than the busy timeout: a clear error, nothing half-written.
    db2 = os.path.join(tmp, "lock2.db")
    subprocess.run([KX, "read", "--db", db2, "-q", os.path.join(PCAPS, "tls13-x25519mlkem768.pcap")], check=True)
    db = db2
    t = threading.Thread(target=hold, args=(8,))
    t.start()
    time.sleep(0.2)
    p = subprocess.run([KX, "read", "--db", db, "-q", small], capture_output=True, text=True)
    t.join()
    n, d, ok = count(db)
    check(p.returncode == 1 and "lock" in p.stderr and ok == "ok" and n in (1, 51),
          f"lock held 8 s: exit {p.returncode}, '{p.stderr.strip()[:80]}', {n} rows")

if failures:
    sys.exit(f"{len(failures)} failed")
