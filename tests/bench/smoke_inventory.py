#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench-inventory-smoke: gen_inventory and inventory.sh at a tiny scale,
for correctness only (nothing is timed or compared with a time).

    smoke_inventory.py GEN_INVENTORY KEXWATCH INVENTORY_SH

- the same seed gives the same rows (handshakes, hellos, sessions, runs,
  compared column by column through `kexwatch sql`), another seed others;
- the inventory holds exactly what the generator says it wrote: handshakes,
  sessions rows and sessions, runs, sensors, and every kind of leg the
  reports distinguish;
- `hops` and `clients` (JSON) count every handshake and session of the
  full range, and `hops` exactly those of a 1-day window;
- inventory.sh generates its inventory once (the second call reuses it),
  runs every report on every window and gets exit status 0 from each.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROWS = 3000
GEN_ARGS = ["--rows", str(ROWS), "--sensors", "3", "--servers", "300", "--clients", "800",
            "--session-share", "0.5"]
DAY = ("2025-07-01", "2025-07-02")
failures = 0


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120, env=env)
    if p.returncode != 0:
        sys.exit(f"inventory-smoke: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p


def check(ok, what):
    global failures
    print(f"{'ok    ' if ok else 'FAILED'} {what}")
    if not ok:
        failures += 1


def sql(kexwatch, db, query):
    return json.loads(run([kexwatch, "sql", "--db", db, "--json", query]).stdout)


def dump(kexwatch, db):
    return {t: sql(kexwatch, db, f"SELECT * FROM {t} ORDER BY id")
            for t in ("handshakes", "hellos", "sessions", "runs")}


def main():
    tmp = tempfile.mkdtemp(prefix="kx-inv-smoke-")
    try:
        return smoke(tmp, *sys.argv[1:4])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def smoke(tmp, gen, kexwatch, inventory_sh):
    dbs, said = [], []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        db = os.path.join(tmp, name + ".db")
        out = run([gen, "--out", db, "--seed", seed] + GEN_ARGS).stdout
        print(out, end="")
        m = re.search(r"(\d+) handshakes, (\d+) sessions rows \((\d+) sessions\), (\d+) runs", out)
        if not m:
            sys.exit(f"inventory-smoke: cannot read the generator's summary: {out!r}")
        dbs.append(db)
        said.append(tuple(int(x) for x in m.groups()))
    a, b, c = (dump(kexwatch, db) for db in dbs)
    check(a == b, "the same seed gives the same handshakes, hellos, sessions and runs")
    check(a["handshakes"] != c["handshakes"], "another seed gives other handshakes")

    db = dbs[0]
    hs, srows, sess, runs = said[0]
    check(hs == ROWS, f"the generator wrote {ROWS} handshakes ({hs})")
    got = sql(kexwatch, db, "SELECT (SELECT count(*) FROM handshake_rows) AS hs,"
              " (SELECT count(*) FROM sessions) AS srows,"
              " (SELECT coalesce(sum(sessions), 0) FROM sessions) AS sess,"
              " (SELECT count(*) FROM runs) AS runs,"
              " (SELECT count(DISTINCT sensor) FROM handshake_rows) AS sensors")[0]
    check(got == {"hs": hs, "srows": srows, "sess": sess, "runs": runs, "sensors": 3},
          f"the inventory holds what the generator said: {got}")
    check(srows > 0 and sess > srows, "some sessions rows, some with several sessions")
    verdicts = {r["verdict"] for r in sql(kexwatch, db, "SELECT DISTINCT verdict FROM handshakes")}
    check({"hybrid", "classical", "incomplete", "resumed"} <= verdicts,
          f"handshake verdicts {sorted(verdicts)}")
    reasons = {r["reason"] for r in sql(kexwatch, db,
               "SELECT DISTINCT reason FROM handshakes WHERE verdict = 'classical'")}
    check({"client-no-pq", "server-declined", "tls12"} <= reasons, f"classical reasons {sorted(reasons)}")
    protos = {r["protocol"] for r in sql(kexwatch, db, "SELECT DISTINCT protocol FROM handshakes")}
    check(protos == {"tls", "quic", "ssh"}, f"protocols {sorted(protos)}")
    sv = {r["verdict"] for r in sql(kexwatch, db, "SELECT DISTINCT verdict FROM sessions")}
    check(sv == {"plaintext", "no-verdict"}, f"sessions verdicts {sorted(sv)}")
    hrr = sql(kexwatch, db, "SELECT count(*) AS n FROM handshakes WHERE hrr = 1")[0]["n"]
    check(hrr > 0, f"HelloRetryRequests ({hrr})")

    hops = json.loads(run([kexwatch, "hops", "--db", db, "--json"]).stdout)
    check(sum(e["handshakes"] for e in hops) == hs and sum(e["sessions"] for e in hops) == sess,
          "hops counts every handshake and session of the full range")
    clients = json.loads(run([kexwatch, "clients", "--db", db, "--json"]).stdout)
    check(sum(e["handshakes"] for e in clients) == hs, "clients counts every handshake")
    day = json.loads(run([kexwatch, "hops", "--db", db, "--json", "--since", DAY[0],
                          "--until", DAY[1]]).stdout)
    want = sql(kexwatch, db, "SELECT count(*) AS n FROM handshake_rows WHERE ts_first_us >="
               " 1751328000000000 AND ts_first_us < 1751414400000000")[0]["n"]
    check(want > 0 and sum(e["handshakes"] for e in day) == want,
          f"hops --since/--until counts the day's {want} handshakes")

    env = dict(os.environ, KEXWATCH=kexwatch, GEN_INVENTORY=gen,
               BENCH_DIR=os.path.join(tmp, "bench"))
    for n in (1, 2):
        p = subprocess.run([inventory_sh, "--rows", str(ROWS)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300, env=env)
        print(p.stdout, end="")
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("| `")]
        statuses = [ln.rstrip(" |").rsplit("|", 1)[1].strip() for ln in lines]
        check(p.returncode == 0 and len(lines) == 18 and set(statuses) == {"0"},
              f"inventory.sh run {n}: 6 reports x 3 windows, each exit 0 (rc {p.returncode})")
        generated = "generating" in p.stderr
        check(generated == (n == 1), f"inventory.sh run {n}: {'generates' if n == 1 else 'reuses'}"
              " the inventory")
        if p.returncode != 0:
            print(p.stderr)
    print(f"inventory-smoke: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
