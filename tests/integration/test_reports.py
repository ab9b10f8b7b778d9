#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The audit reports on real captures: hops, clients, audit, health, sql and
report --html, run through the real binary on inventories that `kexwatch
read` builds from pcaps/.

usage: test_reports.py KEXWATCH PCAPS_DIR

Asserts exact results: which hops are classical and why, the clients that
offer no PQ, audit exit codes (0 pass, 1 a required rule failed, 2 a broken
policy) with the evidence of the last classical handshake, the health
findings for tls13-dropped-large-ch.pcap and tls13-ch-first-segment-lost.pcap,
the sessions without a handshake of a capture the test writes itself
(plaintext endpoints first, clients, audit evidence, health, HTML),
that `sql` refuses every write and leaves the file byte for byte unchanged,
and that JSON and CSV parse. The HTML report is checked as text (no URL,
nothing external) and rendered in headless Chromium: the numbers, charts and
tables must be in the DOM after rendering, and the table sort must run.

Exit status: 0 all passed; 1 a check failed; 77 every other check passed but
Chromium is not installed (apt-get install chromium), so the page was not
rendered. The screenshot's path is printed (KX_ARTIFACTS=DIR keeps it there).
"""
import csv
import hashlib
import html.parser
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter

from plaincap import plain_capture

KX, PCAPS = sys.argv[1], sys.argv[2]
passed, failed = [], []


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def kx(*args, input=None):
    return subprocess.run([KX, *args], capture_output=True, text=True, input=input, timeout=120)


def pcap(name):
    return os.path.join(PCAPS, name)


def build(db, names, sensor="lab"):
    """One `read` per capture: end-of-capture rows then end at their own file."""
    for n in names:
        p = kx("read", "-q", "--db", db, "--sensor", sensor, pcap(n))
        check(p.returncode == 0, f"read {n}", p.stderr)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


MAIN = [
    "tls13-x25519mlkem768.pcap", "tls13-server-declined.pcap",
    "tls13-server-declined-openssl30.pcap", "tls13-client-no-pq.pcap", "tls12-ecdhe.pcap",
    "tls13-hybrid-draft-synthetic.pcap", "tls13-mlkem768.pcap", "tls13-hrr-x25519mlkem768.pcap",
    "quic-chromium-ngtcp2.pcap", "tls13-mixed-50.pcap", "ssh-server-refuses-pq.pcap",
    "tls13-dropped-large-ch.pcap", "tls13-ch-first-segment-lost.pcap",
]

DECLINED = "classical (server-declined)"
NOPQ = "classical (clients-no-pq)"


def expected_hops():
    """(server, port, sni) -> verdict for every endpoint of MAIN."""
    want = {
        ("198.18.0.20", 443, "hybrid.kx.test"): "hybrid",
        ("198.18.0.20", 443, "declined.kx.test"): DECLINED,
        ("198.18.0.20", 443, "declined-openssl.kx.test"): DECLINED,
        ("198.18.0.20", 443, "classic.kx.test"): NOPQ,
        ("198.18.0.20", 443, "tls12.kx.test"): NOPQ,
        ("198.18.0.20", 443, "draft.kx.test"): "draft-kyber",
        ("198.18.0.20", 8443, "mlkem.kx.test"): "hybrid",
        ("198.18.0.20", 443, "hrr.kx.test"): "hybrid",
        ("198.18.0.20", 443, "quic-ngtcp2.kx.test"): DECLINED,
        ("198.18.0.20", 22, None): DECLINED,
        ("198.18.0.20", 443, "dropped.kx.test"): "no-verdict",
        ("198.18.0.20", 443, None): "no-verdict",
    }
    for i in range(1, 17):
        want[("198.18.0.20", 443, f"hybrid-{i:02}.mixed.kx.test")] = "hybrid"
    for i in range(1, 9):
        want[("198.18.0.21", 8443, f"declined-{i:02}.mixed.kx.test")] = DECLINED
        want[("198.18.0.22", 9443, f"hrr-{i:02}.mixed.kx.test")] = "hybrid"
        want[("198.18.0.20", 443, f"classic-{i:02}.mixed.kx.test")] = NOPQ
    for i in range(1, 7):
        want[("198.18.0.20", 443, f"tls12-{i:02}.mixed.kx.test")] = NOPQ
    for i in range(1, 5):
        want[("198.18.0.21", 8443, f"gnutls-{i:02}.mixed.kx.test")] = NOPQ
    return want


def test_hops(db):
    p = kx("hops", "--db", db, "--json")
    hops = json.loads(p.stdout)
    got = {(h["server_ip"], h["server_port"], h["sni"]): h["verdict"] for h in hops}
    want = expected_hops()
    check(p.returncode == 0 and got == want, f"hops --json: the {len(want)} endpoints and their verdicts",
          {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)})
    risks = [h["risk"] for h in hops]
    check(risks == sorted(risks, reverse=True) and hops[0]["verdict"] == DECLINED,
          "hops: riskiest first")
    quic = [h for h in hops if h["sni"] == "quic-ngtcp2.kx.test"][0]
    ssh = [h for h in hops if h["server_port"] == 22][0]
    check(quic["protocols"] == "quic" and quic["groups_selected"] == "x25519" and quic["n_server_declined"] == 1
          and ssh["protocols"] == "ssh" and ssh["groups_selected"] == "curve25519-sha256",
          "hops: protocols and groups of the QUIC and SSH endpoints")
    draft = [h for h in hops if h["sni"] == "draft.kx.test"][0]
    check(draft["groups_selected"] == "X25519Kyber768Draft00" and draft["n_hybrid_draft"] == 1,
          "hops: the Kyber draft endpoint")

    p = kx("hops", "--db", db, "--csv", "--group-by", "server")
    rows = {r["server_ip"]: r for r in csv.DictReader(io.StringIO(p.stdout))}
    check(p.returncode == 0 and set(rows) == {"198.18.0.20", "198.18.0.21", "198.18.0.22"}
          and rows["198.18.0.21"]["verdict"] == DECLINED and rows["198.18.0.21"]["handshakes"] == "12"
          and rows["198.18.0.22"]["verdict"] == "hybrid" and rows["198.18.0.22"]["handshakes"] == "8"
          and rows["198.18.0.20"]["verdict"] == "mixed"
          and rows["198.18.0.20"]["protocols"] == "quic,ssh,tls",
          "hops --csv --group-by server: three servers, .21 declines, .22 hybrid", p.stdout)

    p = kx("hops", "--db", db, "--group-by", "sni", "--json")
    snis = {h["sni"]: h for h in json.loads(p.stdout)}
    check(p.returncode == 0 and len(snis) == len({k[2] for k in want}), "hops --group-by sni: one row per SNI")
    p = kx("hops", "--db", db, "--group-by", "pair", "--json")
    pairs = json.loads(p.stdout)
    check(p.returncode == 0 and {(h["client_ip"], h["server_ip"]) for h in pairs} ==
          {("198.18.0.10", "198.18.0.20"), ("198.18.0.10", "198.18.0.21"), ("198.18.0.10", "198.18.0.22")},
          "hops --group-by pair: client -> server pairs")

    # The mixed capture lasts 0.3 s and is the last TLS file written... by
    # time, the newest rows are the QUIC one (03:27:49) and SSH (03:22).
    p = kx("hops", "--db", db, "--live", "10m", "--json")
    live = {(h["server_ip"], h["server_port"], h["sni"]) for h in json.loads(p.stdout)}
    check(p.returncode == 0 and live == {("198.18.0.20", 443, "quic-ngtcp2.kx.test"), ("198.18.0.20", 22, None)},
          "hops --live 10m: the hops seen in the 10 minutes before the newest row", live)
    p = kx("hops", "--db", db, "--live", "10m", "--now", "--json")
    check(p.returncode == 0 and json.loads(p.stdout) == [], "hops --live 10m --now: nothing that recent")
    p = kx("hops", "--db", db, "--since", "2026-11-22T02:52:35Z", "--until", "2026-11-22T02:52:36Z",
           "--csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and len(rows) == 50 and all(".mixed.kx.test" in r["sni"] for r in rows),
          "hops --since/--until: exactly the 50 handshakes of the mixed capture", len(rows))
    p = kx("hops", "--db", db, "--sensor", "elsewhere", "--json")
    check(p.returncode == 0 and p.stdout == "[]\n", "hops --sensor elsewhere: []")
    p = kx("hops", "--db", db, "--since", "yesterday")
    check(p.returncode == 2 and "--since" in p.stderr, "hops --since yesterday: usage error")
    p = kx("hops", "--db", db, "--group-by", "port")
    check(p.returncode == 2 and "--group-by" in p.stderr, "hops --group-by port: usage error")
    p = kx("hops", "--db", db)
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and lines[0].split()[:4] == ["SERVER", "PORT", "SNI", "PROTO"]
          and len(lines) == len(want) + 1 and lines[1].endswith(DECLINED), "hops table")


def test_clients(tmp):
    db = os.path.join(tmp, "clients.db")
    build(db, ["tls13-client-no-pq.pcap", "tls13-gnutls-client.pcap", "quic-ngtcp2-v2draft.pcap",
               "ssh-client-classical.pcap", "tls13-ipv6.pcap", "quic-chromium-ngtcp2-ipv6.pcap"])
    p = kx("clients", "--db", db, "--json")
    got = [(c["client_ip"], c["offers_pq"], c["n_offers_pq"], c["n_hello"], c["pq_groups_offered"],
            c["protocols"], c["n_classical"]) for c in json.loads(p.stdout)]
    check(p.returncode == 0 and got == [
        ("198.18.0.10", "none", 0, 4, None, "quic,ssh,tls", 4),
        ("fd00:6b78::10", "all", 2, 2, "X25519MLKEM768", "quic,tls", 1)],
        "clients --json: 198.18.0.10 offers no PQ in 4 hellos (TLS, QUIC, SSH) and comes first", got)
    p = kx("clients", "--db", db, "--csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and [r["client_ip"] for r in rows] == ["198.18.0.10", "fd00:6b78::10"]
          and rows[0]["sample_snis"] == "classic.kx.test,gnutls.kx.test,quic-v2draft.kx.test"
          and rows[1]["sample_alpns"] == "h3", "clients --csv: sample SNIs and ALPNs", rows)
    p = kx("clients", "--db", db)
    check(p.returncode == 0 and "none (0/4)" in p.stdout.splitlines()[1], "clients table: none (0/4)")
    # On the main inventory the one client offers PQ in some ClientHellos only.
    return db


def test_audit(db, tmp):
    def policy(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    good = policy("pass.txt", "# the hybrid endpoints must stay hybrid\n"
                  "required 198.18.0.20/32 443 hybrid.kx.test\n"
                  "required 198.18.0.0/16 8443 MLKEM.kx.test   # case-insensitive\n"
                  "required 198.18.0.22 9000-9999 *.mixed.kx.test\n"
                  "warn * * *\n")
    p = kx("audit", "--db", db, "--policy", good)
    check(p.returncode == 0 and "audit: PASS with warnings: 0 of 3 required rules failed, 1 warning" in p.stdout,
          "audit: passing policy exits 0", p.stdout + p.stderr)
    p = kx("audit", "--db", db, "--policy", good, "--json")
    j = json.loads(p.stdout)
    check(p.returncode == 0 and [r["status"] for r in j["rules"]] == ["pass", "pass", "pass", "warn"]
          and [r["handshakes"] for r in j["rules"][:3]] == [1, 1, 8] and j["status"] == "warn",
          "audit --json: pass, pass, pass, warn", j)

    bad = policy("fail.txt", "warn 198.18.0.21 8443 *\nrequired 198.18.0.0/16 * *.kx.test\n")
    p = kx("audit", "--db", db, "--policy", bad, "--json")
    j = json.loads(p.stdout)
    rule = j["rules"][1]
    ev = rule["evidence"]
    check(p.returncode == 1 and j["status"] == "fail" and rule["status"] == "fail"
          and j["rules"][0]["status"] == "warn" and j["rules"][0]["handshakes"] == 12,
          "audit: a required rule with classical handshakes exits 1", p.stdout + p.stderr)
    # The newest classical handshake the rule matched: the QUIC one (SSH has no SNI).
    check(ev == {"ts": "2026-11-22T03:27:49.693992Z", "protocol": "quic", "client_ip": "198.18.0.10",
                 "client_port": 48470, "server_ip": "198.18.0.20", "server_port": 443,
                 "sni": "quic-ngtcp2.kx.test", "group": "x25519", "verdict": "classical",
                 "reason": "server-declined", "source": pcap("quic-chromium-ngtcp2.pcap"),
                 "pkt_first_ch": 3, "pkt_sh": 6, "app": None, "sessions": None, "bytes": None,
                 # its client software (test_fingerprints.py holds these to the captures)
                 "fingerprint": "q13d0312h3_55b375c5d22e_178839b6cec1",
                 "kx_fp": "11ec,001d,0017,0018_11ec,001d"},
          "audit: evidence = the last classical handshake with file and packet numbers", ev)
    check(rule["classical"] == rule["client_no_pq"] + rule["server_declined"] + rule["tls12"]
          and (rule["client_no_pq"], rule["server_declined"], rule["tls12"]) == (9, 3, 7)
          and rule["handshakes"] == 48 and rule["pq"] == 27 and rule["other"] == 1,
          "audit: the 12 handshakes to .21:8443 went to the first rule; the rest counted by reason", rule)
    p = kx("audit", "--db", db, "--policy", bad)
    check(p.returncode == 1 and "FAIL       line 2: required 198.18.0.0/16 port * sni *.kx.test" in p.stdout
          and "evidence: " + pcap("quic-chromium-ngtcp2.pcap") + " packet 3 (ServerHello packet 6)" in p.stdout,
          "audit text: FAIL line with evidence", p.stdout)
    p = kx("audit", "--db", db, "--policy", bad, "--csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(p.returncode == 1 and [r["status"] for r in rows] == ["warn", "fail"]
          and rows[1]["evidence_pkt_first_ch"] == "3", "audit --csv", rows)

    quiet = policy("quiet.txt", "required 10.0.0.0/8 * *\n")
    p = kx("audit", "--db", db, "--policy", quiet)
    check(p.returncode == 0 and "NO TRAFFIC" in p.stdout, "audit: no traffic passes by default")
    p = kx("audit", "--db", db, "--policy", quiet, "--strict")
    check(p.returncode == 1 and "fails with --strict" in p.stdout, "audit --strict: no traffic fails")

    broken = policy("broken.txt", "# ok\nrequired 198.18.0.0/16 443 *\nrequired 198.18.0.0/16 443\n")
    p = kx("audit", "--db", db, "--policy", broken)
    check(p.returncode == 2 and f"{broken}:3: expected 4 fields" in p.stderr and p.stdout == "",
          "audit: broken policy exits 2 naming FILE:LINE", p.stderr)
    cidr = policy("cidr.txt", "required 198.18.0.0/99 * *\n")
    p = kx("audit", "--db", db, "--policy", cidr)
    check(p.returncode == 2 and f"{cidr}:1: bad server" in p.stderr, "audit: bad CIDR exits 2", p.stderr)
    p = kx("audit", "--db", os.path.join(tmp, "nope.db"), "--policy", good)
    check(p.returncode == 2 and "No such file" in p.stderr, "audit: missing database exits 2", p.stderr)
    p = kx("audit", "--db", db)
    check(p.returncode == 2 and "--policy" in p.stderr, "audit without --policy exits 2")


def test_health(tmp):
    dropped = os.path.join(tmp, "dropped.db")
    build(dropped, ["tls13-dropped-large-ch.pcap"])
    p = kx("health", "--db", dropped, "--json")
    j = json.loads(p.stdout)
    check(p.returncode == 0 and j["bands"] == [{
        "band": ">= 1500", "handshakes": 1, "answered": 0, "no_server_hello": 1, "n_rst": 0, "n_fin": 0,
        "n_timeout": 0, "n_end_of_capture": 1, "n_gap": 0, "n_other": 0, "n_first_segment_lost": 0,
        "n_hrr": 0, "n_slow": 0, "pct_no_server_hello": 100, "n_capacity": 0}],
        "health, dropped large ClientHello: one unanswered ClientHello >= 1500 bytes (end-of-capture)", j["bands"])
    check([(f["severity"], f["kind"], f["server_ip"], f["server_port"], f["count"]) for f in j["findings"]]
          == [("error", "large-clienthello-unanswered", "198.18.0.20", 443, 1)],
          "health: error finding, large ClientHellos dropped on the path to 198.18.0.20:443", j["findings"])
    check(j["runs"]["reasm_retransmits"] == 5,
          "health: the run counted the 5 retransmissions of the first segment", j["runs"])
    p = kx("health", "--db", dropped)
    check(p.returncode == 0 and "error    198.18.0.20:443: 1 of 1 ClientHello of 1500 bytes or more got no "
          "ServerHello (end-of-capture), against 0 of 0 smaller ones" in p.stdout, "health table: the finding",
          p.stdout)

    lost = os.path.join(tmp, "lost.db")
    build(lost, ["tls13-ch-first-segment-lost.pcap"])
    p = kx("health", "--db", lost, "--json")
    j = json.loads(p.stdout)
    check(p.returncode == 0 and [(b["band"], b["n_gap"], b["n_first_segment_lost"]) for b in j["bands"]]
          == [("not reassembled", 1, 1)], "health, first segment lost: band unknown, gap, first segment lost", j["bands"])
    check([(f["severity"], f["kind"], f["server_port"]) for f in j["findings"]]
          == [("error", "first-segment-lost", 443)], "health: first-segment-lost finding", j["findings"])
    p = kx("health", "--db", lost, "--csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and len(rows) == 1 and rows[0]["n_first_segment_lost"] == "1"
          and rows[0]["reasons"] == "gap", "health --csv: the hop", rows)


def test_health_main(db):
    p = kx("health", "--db", db, "--json")
    j = json.loads(p.stdout)
    kinds = sorted((f["kind"], f["server_ip"], f["server_port"]) for f in j["findings"])
    check(p.returncode == 0 and kinds == [
        ("first-segment-lost", "198.18.0.20", 443), ("hello-retry-request", "198.18.0.20", 443),
        ("hello-retry-request", "198.18.0.22", 9443), ("large-clienthello-unanswered", "198.18.0.20", 443)],
        "health on the main inventory: dropped and lost ClientHellos, HRR round trips", kinds)
    return len(j["findings"])


def test_sql(db, tmp):
    copy = os.path.join(tmp, "sql.db")
    shutil.copy(db, copy)
    before = sha256(copy)
    writes = [
        "INSERT INTO runs (started, started_us, sensor, kexwatch_version) VALUES ('x', 1, 'x', 'x')",
        "UPDATE handshake_rows SET verdict = 'hybrid'",
        "DELETE FROM handshake_rows",
        "CREATE TABLE evil (x)",
        "CREATE TEMP VIEW v AS SELECT 1",
        "DROP VIEW hops",
        f"ATTACH '{os.path.join(tmp, 'other.db')}' AS o",
        "PRAGMA user_version = 9",
        "PRAGMA query_only = 0",
        "PRAGMA journal_mode = DELETE",
        "SELECT 1; DELETE FROM handshake_rows",
        "VACUUM",
        "BEGIN IMMEDIATE",
    ]
    for w in writes:
        p = kx("sql", "--db", copy, w)
        check(p.returncode == 2 and "refused" in p.stderr and p.stdout == "",
              f"sql refuses: {w[:50]}", p.stderr)
    check(sha256(copy) == before and not os.path.exists(os.path.join(tmp, "other.db")),
          "sql: the database file is byte for byte unchanged, nothing attached")
    con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    check(con.execute("SELECT count(*) FROM handshakes").fetchone()[0] == 62
          and con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "sql: 62 rows, integrity ok")
    con.close()

    p = kx("sql", "--db", copy, "--json", "SELECT verdict, count(*) AS n FROM handshakes GROUP BY verdict ORDER BY verdict")
    check(p.returncode == 0 and json.loads(p.stdout) == [
        {"verdict": "classical", "n": 32}, {"verdict": "hybrid", "n": 26}, {"verdict": "hybrid-draft", "n": 1},
        {"verdict": "incomplete", "n": 2}, {"verdict": "pq", "n": 1}],
        "sql --json: counts per verdict", p.stdout + p.stderr)
    p = kx("sql", "--db", copy, "--csv", "SELECT band, no_server_hello, n_first_segment_lost FROM clienthello_sizes ORDER BY band")
    rows = list(csv.reader(io.StringIO(p.stdout)))
    check(p.returncode == 0 and rows == [["band", "no_server_hello", "n_first_segment_lost"],
                                         ["< 1500", "0", "0"], [">= 1500", "1", "0"], ["not reassembled", "1", "1"]],
          "sql --csv: the clienthello_sizes view", rows)
    p = kx("sql", "--db", copy, "SELECT sni, verdict FROM hops WHERE verdict LIKE 'classical%' ORDER BY sni LIMIT 2")
    check(p.returncode == 0 and p.stdout.splitlines()[0].split() == ["sni", "verdict"], "sql table", p.stdout)
    p = kx("sql", "--db", copy, "-", input="SELECT day, deciding FROM hybrid_share_daily")
    check(p.returncode == 0 and "2026-11-22" in p.stdout, "sql - reads the statement from stdin", p.stdout)
    p = kx("sql", "--db", copy, "SELECT nope FROM handshakes")
    check(p.returncode == 1 and "no such column: nope" in p.stderr, "sql: an SQL error exits 1", p.stderr)
    check(sha256(copy) == before, "sql: still unchanged after the reads")


def test_plaintext(tmp):
    cap = os.path.join(tmp, "plaintext-built.pcap")
    firsts = plain_capture(cap)
    db = os.path.join(tmp, "plain.db")
    p = kx("read", "--db", db, "--sensor", "lab", cap)
    check(p.returncode == 0 and "4 plaintext + 1 handshake unseen" in p.stderr,
          "read: 4 plaintext sessions, 1 encrypted without its handshake", p.stderr)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT server_ip, server_port, app, verdict, reason, sessions, client_port, pkt_first"
                       " FROM sessions ORDER BY server_ip").fetchall()
    # One packet a millisecond from 2026-11-22T12:00:00Z: the first session's
    # time is its first packet's, and the hour row is that hour's.
    times = con.execute("SELECT pkt_first, ts_first_us, hour FROM sessions ORDER BY server_ip").fetchall()
    con.close()
    check(times == [(pk, 1795348800000000 + (pk - 1) * 1000, 498708) for pk, _, _ in times],
          "sessions: the first session's time and its hour", times)
    check(rows == [("10.20.0.79", 6379, "redis", "plaintext", "no-tls", 2, 40002, firsts[("10.20.0.79", 6379)][0]),
                   ("10.20.0.80", 80, "http", "plaintext", "no-tls", 1, 40001, firsts[("10.20.0.80", 80)][0]),
                   ("10.20.0.81", 5432, "postgresql", "plaintext", "ssl-refused", 1, 40004,
                    firsts[("10.20.0.81", 5432)][0]),
                   ("10.20.0.82", 443, "tls", "no-verdict", "handshake-unseen", 1, 40005,
                    firsts[("10.20.0.82", 443)][0])],
          "sessions table: one hourly row per endpoint, the first session as evidence", rows)

    # Read again: the sessions are already counted (same sensor, same capture time).
    p = kx("read", "-q", "--db", db, "--sensor", "lab", cap)
    p = kx("hops", "--db", db, "--json")
    hops = json.loads(p.stdout)
    got = [(h["server_ip"], h["server_port"], h["verdict"], h["risk"], h["handshakes"], h["sessions"],
            h["n_plaintext"], h["n_unseen"], h["n_no_tls"], h["n_ssl_refused"], h["apps"], h["protocols"])
           for h in hops]
    check(p.returncode == 0 and got == [
        ("10.20.0.79", 6379, "plaintext", 6, 0, 2, 2, 0, 2, 0, "redis", "redis"),
        ("10.20.0.80", 80, "plaintext", 6, 0, 1, 1, 0, 1, 0, "http", "http"),
        ("10.20.0.81", 5432, "plaintext", 6, 0, 1, 1, 0, 0, 1, "postgresql", "postgresql"),
        ("10.20.0.82", 443, "no-verdict (not observed)", 1, 0, 1, 0, 1, 0, 0, "tls", "tls")],
        "hops --json: plaintext endpoints first, counts by weight, read twice counts once", got)
    p = kx("hops", "--db", db)
    lines = p.stdout.splitlines()
    check(p.returncode == 0 and "PLAINTEXT" in lines[0].split() and lines[1].split()[-1] == "plaintext"
          and lines[4].endswith("no-verdict (not observed)"), "hops table: PLAINTEXT column, verdicts", p.stdout)
    p = kx("sql", "--db", db, "--csv", "SELECT server_port, verdict, n_plaintext, apps FROM hops ORDER BY risk DESC,"
           " server_ip")
    check(p.returncode == 0 and p.stdout.splitlines() == [
        "server_port,verdict,n_plaintext,apps", "6379,plaintext,2,redis", "80,plaintext,1,http",
        "5432,plaintext,1,postgresql", "443,no-verdict (not observed),0,tls"], "the hops view agrees", p.stdout)

    p = kx("clients", "--db", db, "--json")
    got = [(c["client_ip"], c["handshakes"], c["n_plaintext"], c["n_unseen"], c["plaintext_apps"], c["risk"])
           for c in json.loads(p.stdout)]
    check(p.returncode == 0 and got == [("10.20.0.6", 0, 2, 0, "redis", 3), ("10.20.0.5", 0, 1, 0, "http", 3),
                                         ("10.20.0.7", 0, 1, 0, "postgresql", 3), ("10.20.0.8", 0, 0, 1, None, 0)],
          "clients --json: clients whose only legs are plaintext are listed, first", got)

    pol = os.path.join(tmp, "plain-policy.txt")
    with open(pol, "w") as f:
        f.write("required 10.20.0.81 5432 *\nwarn 10.20.0.0/24 * *\n")
    p = kx("audit", "--db", db, "--policy", pol, "--json")
    j = json.loads(p.stdout)
    ev = j["rules"][0]["evidence"]
    check(p.returncode == 1 and j["rules"][0]["status"] == "fail" and j["rules"][0]["plaintext"] == 1
          and j["rules"][1]["status"] == "warn" and j["rules"][1]["plaintext"] == 3
          and j["rules"][1]["unseen"] == 1 and j["sessions"] == 5 and j["handshakes"] == 0,
          "audit: a plaintext leg fails a required rule (exit 1)", p.stdout)
    check(ev["verdict"] == "plaintext" and ev["reason"] == "ssl-refused" and ev["app"] == "postgresql"
          and ev["source"] == cap and ev["pkt_first_ch"] == firsts[("10.20.0.81", 5432)][0]
          and ev["client_port"] == 40004 and ev["sessions"] == 1,
          "audit: the evidence is the session's capture file and first packet", ev)

    p = kx("health", "--db", db, "--json")
    j = json.loads(p.stdout)
    kinds = sorted((f["kind"], f["server_port"], f["count"]) for f in j["findings"])
    check(p.returncode == 0 and kinds == [("handshake-unseen", 443, 1), ("plaintext", 80, 1),
                                           ("plaintext", 5432, 1), ("plaintext", 6379, 2)]
          and j["bands"] == [], "health: plaintext and handshake-unseen findings", kinds)
    flows = j["runs"]["flows"]
    # The runs behind these legs: the second read added none.
    check(flows == {"runs": 1, "seen": 5, "handshake_rows": 0, "capacity_rows": 0, "plaintext": 4,
                    "handshake_unseen": 1, "one_sided": 0, "no_payload": 0, "not_recorded": 0,
                    "unrecognised": 0, "still_open": 0, "refused": 0},
          "health: the flow ledger of the run behind these legs", flows)

    out = os.path.join(tmp, "plain.html")
    p = kx("report", "--db", db, "--html", out)
    page = open(out, encoding="utf-8").read()
    dom = Dom()
    dom.feed(page)
    values = {i: text(by_id(dom.root, i)) for i in ("kx-plaintext-hops", "kx-unobserved-hops", "kx-handshakes")}
    plain = [text(r["children"][0]) + ":" + text(r["children"][1]) for r in rows_of(by_id(dom.root, "kx-plaintext"))]
    unobserved = [text(r["children"][1]) for r in rows_of(by_id(dom.root, "kx-unobserved"))]
    check(p.returncode == 0 and values == {"kx-plaintext-hops": "3", "kx-unobserved-hops": "1", "kx-handshakes": "0"}
          and plain == ["10.20.0.79:6379", "10.20.0.80:80", "10.20.0.81:5432"] and unobserved == ["443"],
          "report --html: plaintext hops card and table, key exchange not observed", (values, plain, unobserved))


def test_real_sessions(tmp):
    """The bundled captures of real plaintext legs (PostgreSQL, MariaDB,
    Redis, HTTP, SMTP servers in network namespaces) and of TLS and QUIC
    picked up after their handshake: every endpoint of
    pcaps/expected-sessions.tsv, with its verdict and counts by reason."""
    caps = sorted(c for c in os.listdir(PCAPS) if c.startswith("plaintext-") or
                  c in ("tls13-handshake-unseen.pcap", "quic-handshake-unseen.pcap"))
    db = os.path.join(tmp, "real-sessions.db")
    build(db, caps)
    with open(pcap("expected-sessions.tsv")) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    rows = [dict(zip(lines[0], c)) for c in lines[1:] if c[0] in caps]
    # Handshakes at the same endpoints: the sslmode=require connection.
    hs = {}
    for tsv in ("expected.tsv", "expected-starttls.tsv"):
        with open(pcap(tsv)) as f:
            hl = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
        for c in hl[1:]:
            r = dict(zip(hl[0], c))
            if r["file"] in caps:
                k = (r["server_ip"], int(r["server_port"]))
                hs[k] = hs.get(k, 0) + 1
    want = {}
    for r in rows:
        k = (r["server_ip"], int(r["server_port"]))
        w = want.setdefault(k, {"sessions": 0, "n_plaintext": 0, "n_unseen": 0, "n_no_tls": 0,
                                "n_starttls_not_offered": 0, "n_starttls_refused": 0, "n_ssl_refused": 0,
                                "apps": set(), "handshakes": hs.get(k, 0)})
        w["sessions"] += 1
        w["n_plaintext" if r["verdict"] == "plaintext" else "n_unseen"] += 1
        if r["verdict"] == "plaintext":
            w["n_" + r["reason"].replace("-", "_")] += 1
        w["apps"].add(r["app"])
    for w in want.values():
        w["verdict"] = "plaintext" if w["n_plaintext"] else "no-verdict (not observed)"
        w["apps"] = ",".join(sorted(w["apps"]))
    p = kx("hops", "--db", db, "--json")
    got = {(h["server_ip"], h["server_port"]): {k: h[k] for k in next(iter(want.values()))}
           for h in json.loads(p.stdout)}
    check(p.returncode == 0 and got == want and len(want) >= 10,
          f"real captures: the {len(want)} endpoints of expected-sessions.tsv, verdicts and counts by reason",
          {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)})
    p = kx("health", "--db", db, "--json")
    kinds = Counter(f["kind"] for f in json.loads(p.stdout)["findings"])
    check(kinds["plaintext"] == sum(w["n_plaintext"] > 0 for w in want.values())
          and kinds["handshake-unseen"] == sum(w["n_unseen"] > 0 for w in want.values()),
          "real captures: a plaintext finding per plaintext endpoint, one per endpoint not observed", kinds)


class Dom(html.parser.HTMLParser):
    """A small element tree: enough to find ids, classes, text and children."""
    VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "source", "area", "base", "embed"}

    def __init__(self):
        super().__init__()
        self.root = {"tag": "#root", "attrs": {}, "children": [], "text": ""}
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = {"tag": tag, "attrs": dict(attrs), "children": [], "text": ""}
        self.stack[-1]["children"].append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1]["children"].append({"tag": tag, "attrs": dict(attrs), "children": [], "text": ""})

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        self.stack[-1]["children"].append({"tag": "#text", "attrs": {}, "children": [], "text": data})


def walk(node):
    yield node
    for c in node["children"]:
        yield from walk(c)


def text(node):
    return "".join(n["text"] for n in walk(node) if n["tag"] == "#text").strip()


def by_id(root, i):
    return next((n for n in walk(root) if n["attrs"].get("id") == i), None)


def rows_of(table):
    tbody = next(n for n in walk(table) if n["tag"] == "tbody")
    return [r for r in tbody["children"] if r["tag"] == "tr"]


def test_html(db, tmp, n_findings):
    out = os.path.join(tmp, "report.html")
    p = kx("report", "--db", db, "--html", out)
    check(p.returncode == 0 and os.path.exists(out) and not os.path.exists(out + ".tmp"),
          "report --html writes the page", p.stderr)
    page = open(out, encoding="utf-8").read()
    check(not re.search(r"https?:|//|\bsrc\s*=|\bhref\s*=|url\(|@import|<link|<img|<iframe", page),
          "the page references no URL and loads nothing",
          re.findall(r".{30}(?:https?:|//|src=|href=|url\(|@import).{30}", page))
    check("default-src 'none'" in page, "and forbids fetches (Content-Security-Policy)")

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    pq, deciding, total = con.execute(
        "SELECT sum(verdict IN ('hybrid', 'pq')), sum(verdict IN ('hybrid', 'pq', 'hybrid-draft',"
        " 'classical', 'unknown')), count(*) FROM handshakes").fetchone()
    groups = con.execute("SELECT count(DISTINCT group_name) FROM handshakes").fetchone()[0]
    con.close()
    hops = json.loads(kx("hops", "--db", db, "--json").stdout)
    share = f"{100.0 * pq / deciding:.1f}%"
    classical = sum(h["verdict"].startswith("classical") for h in hops)
    declined = sum(h["verdict"] == DECLINED for h in hops)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("skip - HTML rendering: chromium is not installed (apt-get install -y chromium)")
        return False
    art = os.environ.get("KX_ARTIFACTS") or tempfile.mkdtemp(prefix="kx-report-")
    os.makedirs(art, exist_ok=True)
    shot = os.path.join(art, "report.png")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--user-data-dir=" + os.path.join(tmp, "chromium")]
    url = "file://" + out
    r = subprocess.run([chromium, *flags, "--screenshot=" + shot, "--window-size=1400,2000", url],
                       capture_output=True, text=True, timeout=180)
    check(r.returncode == 0 and os.path.getsize(shot) > 10000, f"screenshot: {shot}", r.stderr[-2000:])
    # Sort the hops table by Handshakes (column 5), descending, through the page's own script.
    r = subprocess.run([chromium, *flags, "--dump-dom", url + "#sort=kx-hops:5:desc"],
                       capture_output=True, text=True, timeout=180)
    check(r.returncode == 0 and "</html>" in r.stdout, "chromium --dump-dom", r.stderr[-2000:])
    dom = Dom()
    dom.feed(r.stdout)
    root = dom.root
    htm = next(n for n in walk(root) if n["tag"] == "html")
    check(htm["attrs"].get("data-sortable") == "ready", "the inline script ran (html[data-sortable=ready])")
    values = {i: text(by_id(root, i)) if by_id(root, i) else None
              for i in ("kx-share", "kx-handshakes", "kx-classical-hops", "kx-declined-hops",
                        "kx-nopq-clients", "kx-findings")}
    want = {"kx-share": share, "kx-handshakes": str(total), "kx-classical-hops": str(classical),
            "kx-declined-hops": str(declined), "kx-nopq-clients": "1", "kx-findings": str(n_findings)}
    check(values == want, f"headline numbers in the rendered DOM: {want}", values)
    svg = by_id(root, "kx-chart-share")
    check(svg is not None and svg["tag"] == "svg"
          and sum(n["tag"] == "rect" for n in walk(svg)) >= 3
          and any(n["tag"] == "circle" for n in walk(svg)), "hybrid share chart: SVG bars and points")
    svg = by_id(root, "kx-chart-groups")
    check(svg is not None and sum(n["tag"] == "rect" for n in walk(svg)) == groups,
          f"group chart: one SVG bar per selected group ({groups})")
    check(by_id(root, "kx-chart-verdicts") is not None and by_id(root, "kx-chart-hops") is not None,
          "verdict and hop charts")
    table = by_id(root, "kx-hops")
    rows = rows_of(table)
    counts = [int(text(r["children"][5])) for r in rows]
    check(len(rows) == len(hops) and counts == sorted(counts, reverse=True) and counts[0] == max(h["handshakes"] for h in hops),
          f"hops table: {len(hops)} rows, sorted by the script on handshakes", counts[:5])
    classes = {r["attrs"].get("class") for r in rows}
    check({"v v-declined", "v v-nopq", "v v-hybrid", "v v-draft"} <= classes, "rows coloured by verdict", classes)
    head = [text(th) for th in walk(table) if th["tag"] == "th"]
    check(head[:4] == ["Server", "Port", "SNI", "Verdict"], "hops table headings", head)
    findings = by_id(root, "kx-findings-list")
    items = [n for n in findings["children"] if n["tag"] == "li"]
    check(len(items) == n_findings and any(i["attrs"].get("data-kind") == "first-segment-lost" for i in items),
          "health findings listed", [text(i)[:60] for i in items])
    bands = rows_of(by_id(root, "kx-health-bands"))
    check([text(r["children"][0]) for r in bands] == ["< 1500 bytes", ">= 1500 bytes", "not reassembled"],
          "ClientHello size bands")
    clients = rows_of(by_id(root, "kx-clients"))
    check(len(clients) == 1 and text(clients[0]["children"][0]) == "198.18.0.10"
          and text(clients[0]["children"][1]) == "some", "clients without PQ: one client, some")
    print(f"# screenshot: {shot}")
    return True


def main():
    for cmd in ("clients", "audit", "health", "sql", "report"):
        p = kx(cmd, "--help")
        check(p.returncode == 0 and f"usage: kexwatch {cmd}" in p.stdout, f"{cmd} --help")
    rendered = False
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "main.db")
        build(db, MAIN)
        test_hops(db)
        test_clients(tmp)
        test_audit(db, tmp)
        test_health(tmp)
        n = test_health_main(db)
        test_sql(db, tmp)
        rendered = test_html(db, tmp, n)
        test_plaintext(tmp)
        test_real_sessions(tmp)
    print(f"{len(passed)} passed, {len(failed)} failed")
    if failed:
        return 1
    if not rendered:
        print("SKIP: the HTML report was not rendered (chromium missing); every other check passed")
        return 77
    return 0


sys.exit(main())
