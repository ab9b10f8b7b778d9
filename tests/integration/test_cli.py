#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The command line: help, version, usage errors, --groups overrides, --json
to stdout, and the hops report in its three formats, on real captures."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

KX, PCAPS = sys.argv[1], sys.argv[2]
failures = []


def run(*args, **kw):
    return subprocess.run([KX, *args], capture_output=True, text=True, **kw)


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


def expected_rows():
    """Handshake rows of every bundled capture read into one database, from
    pcaps/expected*.tsv (expected-sessions.tsv lists connections without one).
    The CONVERTED captures hold the same packets as their sources: one row
    per connection (client and server address and port)."""
    conns = set()
    # Two tunnels' connections can share addresses and ports: the tunnel tells them apart.
    with open(os.path.join(PCAPS, "expected-tunnel.tsv")) as f:
        tunnels = {tuple(l.split("\t")[:2]): l.rstrip("\n").split("\t")[4] for l in list(f)[1:]}
    for tsv in ("expected.tsv", "expected-ssh.tsv", "expected-starttls.tsv"):
        with open(os.path.join(PCAPS, tsv)) as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if cols[0] != "file" and line.strip() and not line.startswith("#"):
                    # merged-time-jumps.pcap moves two of its three sources'
                    # packets years in time (the first keeps its own): the
                    # same connections, other handshakes.
                    shifted = cols[0] == "merged-time-jumps.pcap" and cols[5] != "hybrid.kx.test"
                    tunnel = tunnels.get((cols[0], cols[14]), "") if tsv == "expected.tsv" else ""
                    conns.add(tuple(cols[1:5]) + ((cols[0],) if shifted else ()) + (tunnel,))
    return len(conns)


p = run("--version")
check(p.returncode == 0 and "kexwatch" in p.stdout and "libpcap" in p.stdout
      and "nDPI" in p.stdout and "SQLite" in p.stdout, "--version names the libraries")
p = run("--help")
check(p.returncode == 0 and "read" in p.stdout and "hops" in p.stdout, "--help lists commands")
for cmd in ("read", "hops"):
    p = run(cmd, "--help")
    check(p.returncode == 0 and f"usage: kexwatch {cmd}" in p.stdout, f"{cmd} --help")
p = run("frobnicate")
check(p.returncode == 2 and "unknown command" in p.stderr, "unknown command: exit 2")
p = run("read")
check(p.returncode == 2 and "no capture file" in p.stderr, "read without files: exit 2")
p = run("read", "--max-flows", "zero", "x.pcap")
check(p.returncode == 2 and "--max-flows" in p.stderr, "bad number: exit 2, names the option")
p = run("read", "--bogus", "x.pcap")
check(p.returncode == 2, "unknown option: exit 2")

with tempfile.TemporaryDirectory() as tmp:
    # --json - writes events to stdout; the summary goes to stderr.
    p = run("read", "--no-db", "--json", "-", os.path.join(PCAPS, "tls13-hybrid-draft-synthetic.pcap"))
    ev = [e for e in map(json.loads, p.stdout.splitlines()) if e["event_type"] != "run"]
    check(p.returncode == 0 and len(ev) == 1 and ev[0]["verdict"] == "hybrid-draft"
          and ev[0]["group_code"] == 0x6399 and "handshakes: 1" in p.stderr,
          "--json - : one hybrid-draft event on stdout, summary on stderr")

    # --groups overrides the registry without recompiling.
    gf = os.path.join(tmp, "groups.txt")
    with open(gf, "w") as f:
        f.write("# test override\n0x6399  VendorHybrid  hybrid\n")
    p = run("read", "--no-db", "--json", "-", "--groups", gf,
            os.path.join(PCAPS, "tls13-hybrid-draft-synthetic.pcap"))
    ev = [e for e in map(json.loads, p.stdout.splitlines()) if e["event_type"] != "run"]
    check(p.returncode == 0 and ev[0]["verdict"] == "hybrid" and ev[0]["group_name"] == "VendorHybrid",
          "--groups: 0x6399 redefined as a hybrid group")
    with open(gf, "w") as f:
        f.write("0x6399 Broken\n")
    p = run("read", "--no-db", "--json", "-", "--groups", gf, os.path.join(PCAPS, "tls13-mlkem768.pcap"))
    check(p.returncode == 2 and ":1:" in p.stderr, "--groups: bad line is a usage error with its line")

    # hops on a database of three captures, in every format.
    db = os.path.join(tmp, "h.db")
    caps = [os.path.join(PCAPS, c) for c in
            ("tls13-x25519mlkem768.pcap", "tls13-server-declined.pcap", "tls13-client-no-pq.pcap")]
    p = run("read", "--db", db, *caps)
    check(p.returncode == 0, "read three captures")
    p = run("hops", "--db", db)
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and len(lines) == 4 and lines[0].split()[0] == "SERVER", "hops table: header + 3")
    check("classical (server-declined)" in lines[1] and "declined.kx.test" in lines[1],
          "hops table: riskiest (server-declined) first")
    check("classical (clients-no-pq)" in lines[2] and "hybrid" in lines[3], "hops table: order by risk")
    p = run("hops", "--db", db, "--json")
    hops = json.loads(p.stdout)
    byname = {h["sni"]: h for h in hops}
    check(p.returncode == 0 and len(hops) == 3 and byname["hybrid.kx.test"]["verdict"] == "hybrid"
          and byname["hybrid.kx.test"]["groups_selected"] == "X25519MLKEM768"
          and byname["declined.kx.test"]["n_server_declined"] == 1
          and byname["classic.kx.test"]["verdict"] == "classical (clients-no-pq)",
          "hops --json: exact verdicts and groups")
    p = run("hops", "--db", db, "--csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and len(rows) == 3 and {r["verdict"] for r in rows} ==
          {"hybrid", "classical (server-declined)", "classical (clients-no-pq)"}, "hops --csv")
    p = run("hops", "--db", os.path.join(tmp, "missing.db"))
    check(p.returncode == 1 and not os.path.exists(os.path.join(tmp, "missing.db")),
          "hops on a missing database: error, nothing created")

    # Labelling by name gives TLS, QUIC, SSH or DTLS for every bundled handshake;
    # nDPI's own dissection (from the SYN; it also recognises a two-segment
    # hello on port 8443) names the cleartext protocol of STARTTLS flows.
    # Neither changes anything but the label.
    import glob
    import sqlite3
    caps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) + glob.glob(os.path.join(PCAPS, "*.pcapng")))
    results, labels = {}, {}
    for mode in ([], ["--ndpi-packets"]):
        dbm = os.path.join(tmp, "ndpi%d.db" % len(mode))
        p = run("read", "--db", dbm, *mode, *caps)
        con = sqlite3.connect(dbm)
        rows = con.execute("SELECT source, pkt_first_ch, verdict, ifnull(reason, ''), ifnull(ndpi, ''),"
                           " ifnull(starttls, '') FROM handshakes ORDER BY 1, 2").fetchall()
        con.close()
        results[len(mode)] = [r[:4] for r in rows]
        labels[len(mode)] = {r[4] for r in rows}
        if not mode:
            st = {r[5]: r[4] for r in rows if r[5]}
    check(labels[0] == {"TLS", "QUIC", "SSH", "DTLS"}, f"labels by name: TLS, QUIC, SSH, DTLS ({labels[0]})")
    check({"TLS", "QUIC", "SSH", "DTLS", "SMTP", "PostgreSQL", "MySQL"} <= labels[1] and "" not in labels[1],
          f"labels by packets: every row labelled, cleartext protocols named ({sorted(labels[1])})")
    n_rows = expected_rows()
    check(results[0] == results[1] and len(results[0]) == n_rows,
          f"both nDPI modes give the same {n_rows} rows ({len(results[0])}, {len(results[1])})")

    # Every fast path off (libpcap reader, every byte copied, no in-place
    # parsing): the same rows, column for column, but the interface, which
    # libpcap 1.10 does not give (NULL there; the pcapng's name with ours).
    full = {}
    for mode in ([], ["--no-fastpath"]):
        dbm = os.path.join(tmp, "fp%d.db" % len(mode))
        p = run("read", "--db", dbm, *mode, *caps)
        con = sqlite3.connect(dbm)
        cols = [r[1] for r in con.execute("PRAGMA table_info(handshakes)")
                if r[1] not in ("id", "run_id", "interface")]
        ifs = {r[0] for r in con.execute("SELECT interface FROM handshakes WHERE source LIKE '%.pcapng'")}
        check(ifs == ({None} if mode else {"vc0"}),
              f"pcapng interface name: {'NULL with libpcap' if mode else 'vc0 with our reader'} ({ifs})")
        full[len(mode)] = con.execute(f"SELECT {','.join(cols)} FROM handshakes ORDER BY source, pkt_first_ch").fetchall()
        con.close()
    diff = [(a, b) for a, b in zip(full[0], full[1]) if a != b]
    check(full[0] == full[1] and len(full[0]) == n_rows, f"--no-fastpath: identical rows {diff[:1]}")

if failures:
    sys.exit(f"{len(failures)} failed")
