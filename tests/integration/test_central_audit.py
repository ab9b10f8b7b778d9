#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""audit and fingerprints on the central PostgreSQL inventory run their
aggregation in PostgreSQL (only the answer rows come back, no snapshot),
against a real PostgreSQL 15 server this test starts itself (initdb in a
temporary folder, unix socket only, stopped at the end):

- two sensors push every bundled capture (and plaintext sessions);
- audit (policies that fail, warn and pass, --strict, --sensor, windows,
  --json, --csv, the exit codes) and fingerprints (every format, --sensor,
  windows) say on the central store, byte for byte, what they say on the
  merge of the two sensors' SQLite files;
- no snapshot is taken: they work with a TMPDIR where none can be made,
  and a TMPDIR that can stays empty;
- a --groups file still goes through the snapshot, with the same answer.

Exit 77 (skipped) only when the PostgreSQL server binaries are missing."""
import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

from plaincap import plain_capture

from pgcluster import Cluster  # exits 77 without PostgreSQL's server

KX, PCAPS = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("# " + detail.replace("\n", "\n# "))


PORT = "5494"

# A report that snapshots writes its folder under TMPDIR. EMPTY: one that
# must stay empty; NO_TMP: one where no folder can be made (a snapshot
# fails there: "cannot create a temporary folder").
SCRATCH = tempfile.mkdtemp(prefix="kx-au-")
EMPTY = os.path.join(SCRATCH, "empty")
NO_TMP = os.path.join(SCRATCH, "absent")
os.mkdir(EMPTY)
assert len(NO_TMP) <= 40, NO_TMP  # longer: report_db.c would use /tmp instead


def kx(*a, tmpdir=EMPTY):
    return subprocess.run([KX, *a], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": tmpdir})


top = tempfile.mkdtemp(prefix="kx-pga-")
tmp = tempfile.mkdtemp(prefix="kx-audit-")
srv = Cluster(top, PORT)
try:
    srv.init()
    srv.start()
    url = srv.createdb("kx")

    # --- two sensors push every bundled capture ---
    caps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) +
                  glob.glob(os.path.join(PCAPS, "*.pcapng")))
    plain = os.path.join(tmp, "plain.pcap")
    plain_capture(plain)  # plaintext sessions and a handshake-unseen one
    late = os.path.join(tmp, "late.pcap")
    plain_capture(late, t0=1795348800 + 86400, net="10.30.0")
    set_a, set_b = caps[0::2] + [plain], caps[1::2] + [late]
    a, b = os.path.join(tmp, "a.db"), os.path.join(tmp, "b.db")
    pa = kx("read", "-q", "--sensor", "edge", "--db", a, "--pg", url, *set_a)
    pb = kx("read", "-q", "--sensor", "origin", "--db", b, "--pg", url, *set_b)
    check(pa.returncode == 0 and pb.returncode == 0 and "; 0 rows wait" in pa.stderr
          and "; 0 rows wait" in pb.stderr,
          "two sensors read every bundled capture with --pg", pa.stderr[-2000:] + pb.stderr[-2000:])
    merged = os.path.join(tmp, "merged.db")
    pm = kx("merge", "-q", "--db", merged, a, b)
    check(pm.returncode == 0, "merge the two sensor files", pm.stderr)
    cm = sqlite3.connect(merged)
    n_local = cm.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    n_sess = cm.execute("SELECT count(*) FROM sessions").fetchone()[0]
    check(srv.psql("SELECT count(*) FROM handshakes") == str(n_local) and n_local > 100
          and srv.psql("SELECT count(*) FROM sessions") == str(n_sess) and n_sess > 0,
          f"the central store has every row: {n_local} handshakes, {n_sess} sessions rows")

    # --- policies ---
    def policy(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    # A server whose every leg is hybrid or pq: its required rule passes.
    good = cm.execute("SELECT server_ip, server_port FROM handshakes GROUP BY 1, 2"
                      " HAVING sum(verdict NOT IN ('hybrid', 'pq')) = 0 ORDER BY 1, 2").fetchone()
    bad = cm.execute("SELECT server_ip FROM handshakes WHERE verdict = 'classical'"
                     " ORDER BY ts_first_us DESC LIMIT 1").fetchone()[0]
    v6 = cm.execute("SELECT server_ip FROM handshakes WHERE server_ip LIKE '%:%'"
                    " ORDER BY 1 LIMIT 1").fetchone()
    firsts = [v for (v,) in cm.execute("SELECT ts_first_us FROM handshakes UNION ALL"
                                        " SELECT ts_first_us FROM sessions ORDER BY 1")]
    cm.close()
    check(good is not None and v6 is not None, "the captures have a hybrid-only server and IPv6")
    pols = {
        "broad": policy("broad.txt", "required 198.18.0.0/16 443 *\nwarn 0.0.0.0/0 * *\n"
                        "warn ::/0 * *\n"),
        "fail": policy("fail.txt", f"required {bad}/32 * *\nrequired 10.0.0.0/8 * -\n"
                       "warn * 443 *.example.com\nrequired * 1-1023 *\nwarn * * *\n"),
        "pass": policy("pass.txt", f"required {good[0]} {good[1]} *\n"
                       "warn 203.0.113.254/32 * *\n"),
        "strict": policy("strict.txt", "required 203.0.113.254/32 * *\n"),
        "v6": policy("v6.txt", f"required {v6[0]}/64 * *\nwarn * 8000-9000 *\n"
                     "required * * -\n"),
        "plain": policy("plain.txt", "required 10.20.0.0/24 * *\nwarn 10.30.0.0/16 * *\n"),
    }

    def iso(us):
        import datetime
        return datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")

    mid = firsts[len(firsts) // 2]
    windows = [[], ["--sensor", "edge"], ["--sensor", "origin"], ["--sensor", "nobody"],
               ["--since", iso(mid)], ["--until", iso(mid)],
               ["--since", iso(mid + 1), "--until", iso(firsts[-1])],
               ["--since", "2000-01-01", "--until", "2000-01-02"]]
    fmts = [[], ["--json"], ["--csv"]]
    before = len(failures)
    n_cases, codes = 0, set()
    for name, pol in pols.items():
        for w in windows:
            for fmt in fmts:
                for strict in ([], ["--strict"]) if name in ("strict", "pass") else ([],):
                    args = ["audit", "--policy", pol, *strict, *w, *fmt]
                    loc = kx(*args, "--db", merged)
                    cen = kx(*args, "--db", url, tmpdir=NO_TMP)
                    n_cases += 1
                    codes.add(loc.returncode)
                    if (loc.stdout, loc.returncode) != (cen.stdout, cen.returncode) \
                            or loc.returncode not in (0, 1) or cen.stderr:
                        check(False, "audit " + " ".join([name, *strict, *w, *fmt])
                              + ": the central store answers as the merged file",
                              f"rc {loc.returncode}/{cen.returncode}\n{cen.stderr}\n"
                              f"--- sqlite\n{loc.stdout}\n--- central\n{cen.stdout}")
    check(len(failures) == before, f"audit: {n_cases} policies x windows x formats equal byte for byte")
    check(codes == {0, 1}, f"audit: both exit codes were seen (pass and fail): {sorted(codes)}")
    # A failing audit is reported as such.
    cen = kx("audit", "--policy", pols["fail"], "--db", url, tmpdir=NO_TMP)
    check(cen.returncode == 1 and "audit: FAIL" in cen.stdout and "last classical" in cen.stdout
          and "evidence: " in cen.stdout and "client software: " in cen.stdout,
          "audit fails with evidence lines (capture file, client software)", cen.stdout + cen.stderr)
    cen = kx("audit", "--policy", pols["plain"], "--db", url, tmpdir=NO_TMP)
    check(cen.returncode == 1 and "last plaintext" in cen.stdout and "that hour" in cen.stdout,
          "a plaintext session is the evidence of its rule", cen.stdout + cen.stderr)

    # Ties, in a store of their own: the same legs under two capture names,
    # one per sensor. The evidence is the last of them in SQLite's order:
    # of equal handshakes of one microsecond the greatest id (the later
    # push, the later file merged), of equal sessions the greater sensor.
    url_t = srv.createdb("kx_ties")
    ta, tb = os.path.join(tmp, "twin-a.pcap"), os.path.join(tmp, "twin-b.pcap")
    shutil.copy(os.path.join(PCAPS, "tls13-client-no-pq.pcap"), ta)
    shutil.copy(ta, tb)
    pla, plb = os.path.join(tmp, "plain-a.pcap"), os.path.join(tmp, "plain-b.pcap")
    shutil.copy(plain, pla)
    shutil.copy(plain, plb)
    da, db_, dm = (os.path.join(tmp, n) for n in ("ta.db", "tb.db", "tm.db"))
    p1 = kx("read", "-q", "--sensor", "edge", "--db", da, "--pg", url_t, ta, pla)
    p2 = kx("read", "-q", "--sensor", "origin", "--db", db_, "--pg", url_t, tb, plb)
    p3 = kx("merge", "-q", "--db", dm, da, db_)
    check(p1.returncode == p2.returncode == p3.returncode == 0, "the tie store is filled",
          p1.stderr + p2.stderr + p3.stderr)
    ct = sqlite3.connect(dm)
    tie_ip = ct.execute("SELECT DISTINCT server_ip FROM handshakes WHERE source LIKE '%twin-%'"
                        ).fetchone()[0]
    ct.close()
    tpol = policy("ties.txt", f"required {tie_ip} * *\nrequired 10.20.0.0/24 * *\n")
    for fmt in fmts:
        loc = kx("audit", "--policy", tpol, *fmt, "--db", dm)
        cen = kx("audit", "--policy", tpol, *fmt, "--db", url_t, tmpdir=NO_TMP)
        check(loc.stdout == cen.stdout and loc.returncode == cen.returncode == 1
              and "twin-b.pcap" in cen.stdout and "plain-b.pcap" in cen.stdout
              and "twin-a" not in cen.stdout and "plain-a" not in cen.stdout,
              f"audit {' '.join(fmt) or 'table'} on ties: the last leg in SQLite's order is the"
              " evidence (twin-b, plain-b)", cen.stderr + "\n" + loc.stdout + "\n---\n" + cen.stdout)

    # changes: windows around the captures' days, baselines, groupings,
    # formats; the exit code says whether something got worse.
    days = sorted({f // 86400000000 for f in firsts})
    cwins = []
    for d in days:
        start = iso(d * 86400000000)
        cwins += [["--since", start, "--until", iso((d + 1) * 86400000000)],
                  ["--since", iso(d * 86400000000 + 43200000000), "--until",
                   iso((d + 1) * 86400000000), "--baseline", "3d"],
                  ["--since", start, "--until", iso((d + 1) * 86400000000),
                   "--baseline-since", iso((d - 2) * 86400000000),
                   "--baseline-until", iso((d - 1) * 86400000000 + 3600000000)]]
    cwins += [["--since", iso(mid), "--until", iso(firsts[-1] + 1)],
              ["--since", iso(firsts[0]), "--until", iso(firsts[-1] + 1), "--baseline", "1h"],
              ["--since", "2000-01-01", "--until", "2000-01-02"]]
    before = len(failures)
    n_ch, ch_codes, ch_lines = 0, set(), 0
    for w in cwins:
        for extra in ([], ["--sensor", "edge"], ["--group-by", "sni"], ["--group-by", "server"],
                      ["--group-by", "pair"]):
            for fmt in fmts:
                args = ["changes", *w, *extra, *fmt]
                loc = kx(*args, "--db", merged)
                cen = kx(*args, "--db", url, tmpdir=NO_TMP)
                n_ch += 1
                ch_codes.add(loc.returncode)
                if fmt == ["--csv"]:
                    ch_lines += max(0, len(loc.stdout.splitlines()) - 1)
                if (loc.stdout, loc.returncode) != (cen.stdout, cen.returncode) \
                        or loc.returncode not in (0, 1) or cen.stderr:
                    check(False, "changes " + " ".join(args[1:])
                          + ": the central store answers as the merged file",
                          f"rc {loc.returncode}/{cen.returncode}\n{cen.stderr}\n"
                          f"--- sqlite\n{loc.stdout}\n--- central\n{cen.stdout}")
    check(len(failures) == before, f"changes: {n_ch} windows x groupings x formats equal byte"
          " for byte, without a snapshot")
    check(ch_codes == {0, 1} and ch_lines > 10,
          f"changes: lines were found ({ch_lines}) and both exit codes seen: {sorted(ch_codes)}")
    # Ties: the twin captures' equal legs of one microsecond; the first
    # handshake in row order (edge pushed first, merged first) is the evidence.
    for fmt in fmts:
        args = ["changes", "--since", "2000-01-01", "--until", "2100-01-01", *fmt]
        loc = kx(*args, "--db", dm)
        cen = kx(*args, "--db", url_t, tmpdir=NO_TMP)
        check(loc.stdout == cen.stdout and loc.returncode == cen.returncode == 1
              and "twin-a.pcap" in cen.stdout and "twin-b" not in cen.stdout,
              f"changes {' '.join(fmt) or 'table'} on ties: the first leg in row order is the"
              " evidence (twin-a)", cen.stderr + "\n" + loc.stdout + "\n---\n" + cen.stdout)

    before = len(failures)
    n_fp = 0
    for w in windows:
        for fmt in fmts:
            args = ["fingerprints", *w, *fmt]
            loc = kx(*args, "--db", merged)
            cen = kx(*args, "--db", url, tmpdir=NO_TMP)
            n_fp += 1
            if (loc.stdout, loc.returncode) != (cen.stdout, cen.returncode) or loc.returncode != 0:
                check(False, " ".join(args) + ": the central store answers as the merged file",
                      f"rc {loc.returncode}/{cen.returncode}\n{cen.stderr}\n"
                      f"--- sqlite\n{loc.stdout}\n--- central\n{cen.stdout}")
    check(len(failures) == before, f"fingerprints: {n_fp} windows x formats equal byte for byte")
    cen = kx("fingerprints", "--json", "--db", url, tmpdir=NO_TMP)
    check(cen.returncode == 0 and cen.stdout.count('"fingerprint"') > 10,
          "fingerprints on the central store lists the fleet's software", cen.stderr)

    # --- no snapshot ---
    check(os.listdir(EMPTY) == [] and not os.path.exists(NO_TMP),
          "no snapshot folder was ever made", str(os.listdir(EMPTY)))
    # The snapshot path still is: a --groups file (its renaming is SQLite's).
    groups = policy("groups.txt", "0x11ec X25519MLKEM768 hybrid\n")
    loc = kx("audit", "--groups", groups, "--policy", pols["fail"], "--json", "--db", merged)
    cen = kx("audit", "--groups", groups, "--policy", pols["fail"], "--json", "--db", url,
             tmpdir=NO_TMP)
    check(cen.returncode == 2 and "temporary folder" in cen.stderr,
          "with --groups, audit takes the snapshot (it needs a TMPDIR)", cen.stderr)
    cen = kx("audit", "--groups", groups, "--policy", pols["fail"], "--json", "--db", url)
    check(cen.stdout == loc.stdout and cen.returncode == loc.returncode == 1
          and os.listdir(EMPTY) == [],
          "with --groups, the snapshot's answer is the same and the snapshot is removed",
          cen.stderr + str(os.listdir(EMPTY)))
finally:
    srv.stop()
    shutil.rmtree(top, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(SCRATCH, ignore_errors=True)

print(f"1..{len(failures)}" if failures else "# all passed")
sys.exit(1 if failures else 0)
