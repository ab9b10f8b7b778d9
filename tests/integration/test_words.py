#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""One meaning per word: `unknown` is an unregistered code point only.

An endpoint whose handshakes are all resumed or incomplete says
`no-verdict`, one seen only in sessions whose handshake was not captured
`no-verdict (not observed)`: in `hops` (table, JSON), the SQLite `hops`
view (a schema 6 file upgraded to schema 11 too), and the HTML report, whose
hop chart, handshake legend and client card agree with the tables below
them. The report's hybrid share is drawn only for bins with 10 or more
deciding handshakes. A client without a ClientHello offers `no-hello`, the
size band without a reassembled ClientHello is `not reassembled` (reports
and views). A session whose handshake was not seen (reason
`handshake-unseen`) is `no-verdict`, never `unknown`: in the sessions table,
the JSON `session` event, `kexwatch merge` of a schema 10 file, reports read
straight from one, and a schema 10 (or 6) file upgraded to 11 by a write.

usage: test_words.py KEXWATCH PCAPS_DIR SCHEMA6_SQL
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

from plaincap import plain_capture

KX, PCAPS, SCHEMA6 = sys.argv[1], sys.argv[2], sys.argv[3]
passed, failed = [], []

CAPTURES = ["tls13-x25519mlkem768.pcap", "tls13-server-declined.pcap", "tls13-client-no-pq.pcap",
            "tls13-mixed-50.pcap", "tls13-dropped-large-ch.pcap", "tls13-ch-first-segment-lost.pcap",
            "tls13-handshake-unseen.pcap"]


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def kx(*args):
    return subprocess.run([KX, *args], capture_output=True, text=True, timeout=120)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "kx.db")
        for n in CAPTURES:
            p = kx("read", "-q", "--db", db, os.path.join(PCAPS, n))
            check(p.returncode == 0, f"read {n}", p.stderr)
        # clients whose only legs are sessions (plaintext, handshake unseen)
        plain = os.path.join(tmp, "plain.pcap")
        plain_capture(plain)
        p = kx("read", "-q", "--db", db, plain)
        check(p.returncode == 0, "read a capture of sessions without a handshake", p.stderr)
        hops = json.loads(kx("hops", "--db", db, "--json").stdout)
        got = {(h["sni"], h["server_port"]): h["verdict"] for h in hops
               if h["verdict"] not in ("hybrid", "plaintext") and not h["verdict"].startswith("classical")}
        want = {("dropped.kx.test", 443): "no-verdict", (None, 443): "no-verdict (not observed)"}
        check(got == want,
              "hops --json: no-verdict for the incomplete-only endpoint, no-verdict (not observed)", got)
        check(not any(h["verdict"] == "unknown" for h in hops), "hops: no endpoint called unknown",
              [h for h in hops if h["verdict"] == "unknown"])
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        view = dict(((s, p), v) for s, p, v in con.execute(
            "SELECT sni, server_port, verdict FROM hops WHERE verdict NOT LIKE 'classical%'"
            " AND verdict NOT IN ('hybrid', 'plaintext')"))
        check(view == got and con.execute("PRAGMA user_version").fetchone()[0] >= 11,
              "the hops view (schema 11 on) says the same", view)
        sess = sorted(con.execute("SELECT verdict, reason, app, sum(sessions) FROM sessions"
                                  " WHERE reason = 'handshake-unseen' GROUP BY 1, 2, 3").fetchall())
        check(sess == [("no-verdict", "handshake-unseen", "tls", 2)],
              "sessions table: handshake-unseen sessions say no-verdict", sess)
        n_unknown = con.execute("SELECT count(*) FROM sessions WHERE verdict = 'unknown'").fetchone()[0]
        check(n_unknown == 0, "sessions table: no row says unknown", n_unknown)
        risk = dict(con.execute("SELECT verdict, risk FROM hops WHERE verdict LIKE 'no-verdict%'"))
        check(risk == {"no-verdict": 1, "no-verdict (not observed)": 1}, "no-verdict risk 1", risk)
        con.close()
        clients = json.loads(kx("clients", "--db", db, "--json").stdout)
        offers = sorted((c["client_ip"], c["offers_pq"]) for c in clients)
        check(all(o in ("all", "some", "none", "no-hello") for _, o in offers)
              and any(o == "no-hello" for _, o in offers), "clients: no-hello for a client without a ClientHello", offers)
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        view_offers = sorted(con.execute("SELECT client_ip, offers_pq FROM clients").fetchall())
        bands = [b for (b,) in con.execute("SELECT band FROM clienthello_sizes ORDER BY band")]
        con.close()
        check(view_offers == offers, "the clients view agrees", view_offers)
        health = json.loads(kx("health", "--db", db, "--json").stdout)
        check(bands == ["< 1500", ">= 1500", "not reassembled"]
              and [b["band"] for b in health["bands"]] == ["< 1500", ">= 1500", "not reassembled"],
              "health and clienthello_sizes: the band without a reassembled ClientHello is 'not reassembled'",
              (bands, [b["band"] for b in health["bands"]]))
        p = kx("hops", "--db", db, "--columns", "sni,verdict", "--sort", "name")
        check(p.returncode == 0 and re.search(r"^dropped\.kx\.test +no-verdict$", p.stdout, re.M)
              and re.search(r"^- +no-verdict \(not observed\)$", p.stdout, re.M), "hops table", p.stdout)

        # The JSON event of such a session says no-verdict too.
        p = kx("read", "-q", "--no-db", "--json", "-", os.path.join(PCAPS, "tls13-handshake-unseen.pcap"))
        events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        sev = [(e.get("event_type"), e.get("verdict"), e.get("reason")) for e in events
               if e.get("event_type") not in ("run",)]
        check(p.returncode == 0 and sev == [("session", "no-verdict", "handshake-unseen")],
              "JSON: the session event says no-verdict, reason handshake-unseen", (p.stderr, sev))
        check(not any(e.get("verdict") == "unknown" for e in events), "JSON: no event says unknown",
              [e for e in events if e.get("verdict") == "unknown"])

        # A schema 10 file whose handshake-unseen session says 'unknown' (the
        # word before schema 11; no table or view differs otherwise).
        v10 = os.path.join(tmp, "v10.db")
        p = kx("read", "-q", "--db", v10, "--sensor", "v10", os.path.join(PCAPS, "tls13-handshake-unseen.pcap"))
        con = sqlite3.connect(v10)
        con.execute("UPDATE sessions SET verdict = 'unknown' WHERE reason = 'handshake-unseen'")
        con.execute("PRAGMA user_version = 10")
        con.commit()
        old10 = con.execute("SELECT verdict, reason FROM sessions").fetchall()
        con.close()
        check(p.returncode == 0 and old10 == [("unknown", "handshake-unseen")],
              "a schema 10 file with an 'unknown' handshake-unseen session", (p.stderr, old10))
        # Reports read it as it is (read-only), in the new word.
        p = kx("sql", "--db", v10, "--json", "SELECT verdict, reason FROM kx_legs WHERE is_session")
        legs = [(r["verdict"], r["reason"]) for r in json.loads(p.stdout or "[]")] if p.returncode == 0 else p.stderr
        con = sqlite3.connect(f"file:{v10}?mode=ro", uri=True)
        still = (con.execute("PRAGMA user_version").fetchone()[0],
                 con.execute("SELECT verdict FROM sessions").fetchall())
        con.close()
        check(legs == [("no-verdict", "handshake-unseen")] and still == (10, [("unknown",)]),
              "reports of a schema 10 file (read-only, not upgraded) say no-verdict", (legs, still))
        # kexwatch merge carries the new word into a new file.
        merged = os.path.join(tmp, "merged.db")
        p = kx("merge", "--db", merged, v10)
        con = sqlite3.connect(f"file:{merged}?mode=ro", uri=True)
        mrows = con.execute("SELECT verdict, reason FROM sessions").fetchall()
        con.close()
        check(p.returncode == 0 and mrows == [("no-verdict", "handshake-unseen")],
              "merge of a schema 10 file: its session says no-verdict", (p.stderr, mrows))
        # A write upgrades it to 11 and rewrites the row.
        p = kx("read", "-q", "--db", v10, "--sensor", "v10", os.path.join(PCAPS, "tls13-dropped-large-ch.pcap"))
        con = sqlite3.connect(f"file:{v10}?mode=ro", uri=True)
        up = (con.execute("PRAGMA user_version").fetchone()[0],
              con.execute("SELECT verdict, reason, sessions FROM sessions").fetchall())
        con.close()
        check(p.returncode == 0 and up[0] >= 11 and up[1] == [("no-verdict", "handshake-unseen", 1)],
              "a schema 10 file upgraded to 11: its handshake-unseen session says no-verdict", (p.stderr, up))

        # A schema 6 file (unknown words in its view, an 'unknown'
        # handshake-unseen session) is upgraded to 11 by a write.
        old = os.path.join(tmp, "old.db")
        con = sqlite3.connect(old)
        con.executescript(open(SCHEMA6).read())
        con.execute("INSERT INTO sessions VALUES(3,'old',499036,'tcp','tls','198.18.0.10','198.18.0.21',443,4,0,"
                    "'','unknown','handshake-unseen',NULL,4,9000,1796532007325871,1796532007325871,1,3,57923,20)")
        con.execute("PRAGMA application_id = 1801812087")
        con.execute("PRAGMA user_version = 6")
        con.commit()
        con.close()
        p = kx("read", "-q", "--db", old, "--sensor", "old", os.path.join(PCAPS, "tls13-dropped-large-ch.pcap"))
        con = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
        ver = con.execute("PRAGMA user_version").fetchone()[0]
        v = con.execute("SELECT verdict, risk FROM hops WHERE sni = 'dropped.kx.test'").fetchall()
        sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'hops'").fetchone()[0]
        old_words = tuple("'" + w + "'" in con.execute("SELECT sql FROM sqlite_master WHERE name = ?", (v,)).fetchone()[0]
                          for v, w in (("clients", "no-hello"), ("clienthello_sizes", "not reassembled")))
        old_sess = con.execute("SELECT verdict, reason, sessions FROM sessions WHERE app = 'tls'").fetchall()
        con.close()
        check(old_sess == [("no-verdict", "handshake-unseen", 4)],
              "the upgraded schema 6 file's handshake-unseen session says no-verdict", old_sess)
        check(old_words == (True, True), "the upgraded file's clients and clienthello_sizes views say no-hello, not reassembled",
              old_words)
        check(p.returncode == 0 and ver >= 11 and v == [("no-verdict", 1)] and "'unknown (not observed)'" not in sql,
              "a schema 6 file upgraded to 11: its hops view says no-verdict", (p.stderr, ver, v))

        # The HTML report: the hop chart, the legend and the cards agree.
        out = os.path.join(tmp, "r.html")
        p = kx("report", "--db", db, "--html", out)
        page = open(out).read()
        titles = re.findall(r"<title>([^<]*)</title>", page)
        check(p.returncode == 0 and "unknown: 0" in titles and "no-verdict: 1" in titles
              and "no-verdict (not observed): 2" in titles,
              "HTML hop chart: unknown 0, no-verdict 1, no-verdict (not observed) 2",
              [t for t in titles if "verdict" in t or "unknown" in t])
        check("<i style=\"background:var(--unknown)\"></i>unknown 0</span>" in page,
              "HTML handshake legend: unknown 0 (the same word as the hop chart)")
        card = re.search(r'id="kx-nopq-clients">(\d+)</div>', page)
        table = re.search(r'<table id="kx-clients".*?</table>', page, re.S)
        rows = len(re.findall(r"<tr class", table.group(0))) if table else -1
        check(card and int(card.group(1)) == rows and rows == 4,
              f"HTML: the clients card counts the {rows} client(s) listed below it",
              (card and card.group(1), rows))
        points = re.findall(r"<circle[^>]*><title>([^<]*)</title>", page)
        bars = re.findall(r"<g class=\"bar\"><title>([^<]*)</title>", page)
        small = [b for b in bars if re.search(r": ([1-9]) deciding", b)]
        check(all("too few for a share" in b for b in small)
              and all(int(re.search(r": (\d+) deciding", b).group(1)) >= 10 or "%" not in b for b in bars)
              and len(points) == sum(int(re.search(r": (\d+) deciding", b).group(1)) >= 10 for b in bars),
              "share chart: a share point only for bins of 10 or more deciding handshakes", (bars, points))

    print(f"# {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
