#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Fingerprints in the inventory and the reports that use them, on every
bundled capture, through the real binary.

usage: test_fingerprints.py KEXWATCH PCAPS_DIR REFERENCE_TSV SCHEMA6_SQL

- `kexwatch fingerprints --json` is compared, line for line and value for
  value, with a report computed here: JA4 from FoxIO's reference values
  (REFERENCE_TSV, TLS over TCP; QUIC and DTLS carry kexwatch's own JA4, which
  the reference printed none of), HASSH and the kex list derived from the
  KEXINIT bytes (check_ssh_fp.py), the key-exchange suffix from the stored
  groups and key shares, grouped and counted in Python; the order puts the
  classical-only fingerprints with the most clients first.
- every handshake's fingerprint columns in SQLite equal its JSON event;
- clients, report --html and audit show the fingerprints; hops marks
  suspect endpoints;
- a schema 6 file written before fingerprints were stored (SCHEMA6_SQL)
  upgrades in place: old rows keep NULL fingerprints, new rows have them.
"""
import json
import re
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ja4 import streams  # noqa: E402
from check_ssh_fp import side  # noqa: E402

KX, PCAPS, REF, SCHEMA6 = sys.argv[1:5]
GREASE = {0x0a0a + 0x1010 * i for i in range(16)}
FP_COLS = ["ja4", "ja4_2", "ja4s", "ja4s_hrr", "kx_fp", "kx_fp_2", "hassh", "hassh_server",
           "offers_mldsa", "key_share_sizes", "server_share_size", "kx_anomalies",
           "cert_status", "cert_key", "cert_key_bits", "cert_curve", "cert_sig", "ske_sigalg"]
passed, failed = [], []


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def kx(*args):
    return subprocess.run([KX, *args], capture_output=True, text=True, timeout=300)


def ts_text(us):
    import datetime
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kx_set(values, limit=0):
    v = sorted({x for x in values if x is not None})
    if not v:
        return None
    shown = v[:limit] if limit else v
    return ",".join(shown) + (f" +{len(v) - len(shown)}" if len(shown) < len(v) else "")


def kx_suffix(groups, shares):
    hx = lambda v: ",".join(f"{c:04x}" for c in v if c not in GREASE)  # noqa: E731
    return hx(groups) + "_" + hx(shares)


def main():
    tmp = tempfile.mkdtemp(prefix="kxfp.")
    db, events = os.path.join(tmp, "all.db"), os.path.join(tmp, "events.json")
    caps = sorted(f for f in os.listdir(PCAPS) if f.endswith((".pcap", ".pcapng")))
    r = kx("read", "--db", db, "--sensor", "fp", "--no-ndpi", "--json", events,
           *[os.path.join(PCAPS, c) for c in caps])
    check(r.returncode == 0, "read every bundled capture", r.stderr)
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM handshakes").fetchall()

    # 1. SQLite columns = JSON event.
    ev = {}
    for line in open(events):
        e = json.loads(line)
        if e.get("event_type") != "handshake":  # run start/end, plaintext legs
            continue
        ev[(e["client_ip"], e["client_port"], e["server_ip"], e["server_port"], e["ts_first"])] = e
    diff = []
    for row in rows:
        e = ev.get((row["client_ip"], row["client_port"], row["server_ip"], row["server_port"],
                    row["ts_first"]))
        if e is None:
            diff.append(f"no event for {row['client_ip']}:{row['client_port']} {row['ts_first']}")
            continue
        for c in FP_COLS:
            v = e[c]
            if c == "offers_mldsa":
                v = int(v)
            elif c == "key_share_sizes" and v is not None:
                v = json.dumps(v, separators=(",", ":"))
            elif c == "kx_anomalies":
                v = ",".join(v) or None
            if v == "":
                v = None
            if row[c] != v:
                diff.append(f"{row['source']} {row['client_port']}: {c}: db {row[c]!r}, json {v!r}")
    check(len(rows) > 150 and not diff,
          f"{len(rows)} handshakes: the 18 fingerprint columns equal the JSON events", "\n".join(diff))
    n_fp = con.execute("SELECT count(*) FROM fingerprints").fetchone()[0]
    check(0 < n_fp < len(rows) and con.execute(
        "SELECT count(*) FROM handshake_rows WHERE fp_id IS NULL").fetchone()[0] == 0,
        f"fingerprints deduplicated: {n_fp} rows for {len(rows)} handshakes, every row has fp_id")

    # 2. The fingerprints report against one computed here.
    ref = {}
    for line in open(REF):
        if line.startswith("#") or line.startswith("file\t"):
            continue
        f = line.rstrip("\n").split("\t")
        if len(f) >= 6 and f[5]:
            ref[(f[0], f[1], int(f[2]), f[3], int(f[4]))] = f[5].split(";")[0]
    ssh_streams = {}
    groups = defaultdict(list)
    used_ref, derived = 0, []
    for row in rows:
        src = os.path.basename(row["source"] or "")
        key = (src, row["client_ip"], row["client_port"], row["server_ip"], row["server_port"])
        if row["protocol"] == "ssh":
            if src not in ssh_streams:
                ssh_streams[src] = streams(os.path.join(PCAPS, src))
            st = ssh_streams[src]
            h, kex, _ = side(st.get(key[1:], b""), False)
            if h is None:
                if row["hassh"] is not None:
                    derived.append(f"{key}: kexwatch has a HASSH, the bytes hold no KEXINIT")
                continue
            groups[("hassh", h, kex)].append(row)
            continue
        if row["ja4"] is None:
            continue
        if row["protocol"] == "tls" and row["transport"] == "tcp" and key in ref:
            fp = ref[key]
            used_ref += 1
        else:
            fp = row["ja4"]  # QUIC, DTLS, and connections the reference printed no JA4 for
        shares = json.loads(row["key_shares"])
        kxs = kx_suffix(json.loads(row["groups_offered"]), shares[0] if shares else [])
        groups[("ja4", fp, kxs)].append(row)
    # A handshake in several captures (tls13-raw.pcap, tls13-null.pcap, ...)
    # is stored once, under the first: its other reference lines must
    # name the same JA4 as that row.
    stored = {(x["client_ip"], x["client_port"], x["server_ip"], x["server_port"]): x["ja4"]
              for x in rows}
    unmatched = [f"{k}: reference {v}, stored {stored.get(k[1:])}" for k, v in ref.items()
                 if stored.get(k[1:]) != v]
    check(used_ref >= 90 and not derived and not unmatched,
          f"{used_ref} TLS handshakes keyed on the reference JA4, every reference line matched",
          "\n".join(derived + unmatched))
    want = []
    for (kind, fp, kxs), rs in groups.items():
        v = [x["verdict"] for x in rs]
        want.append({
            "kind": kind, "fingerprint": fp, "kx_fp": kxs,
            "protocols": kx_set(x["protocol"] for x in rs),
            "clients": len({x["client_ip"] for x in rs}),
            "endpoints": len({(x["server_ip"], x["server_port"], x["sni"] or "") for x in rs}),
            "handshakes": len(rs),
            "offers_pq": "yes" if any(x["offers_pq"] for x in rs) else "no",
            "offers_mldsa": "yes" if any(x["offers_mldsa"] for x in rs) else "no",
            "n_hybrid": v.count("hybrid"), "n_pq": v.count("pq"),
            "n_hybrid_draft": v.count("hybrid-draft"), "n_classical": v.count("classical"),
            "n_resumed": v.count("resumed"), "n_incomplete": v.count("incomplete"),
            "n_unknown": v.count("unknown"),
            "n_suspect": sum(1 for x in rs if x["verdict"] == "unknown" and x["reason"] in
                             ("share-size", "group-not-offered", "share-not-in-groups")),
            "first_seen": ts_text(min(x["ts_first_us"] for x in rs)),
            "last_seen": ts_text(max(x["ts_last_us"] for x in rs)),
            "sample_snis": kx_set((x["sni"] for x in rs), 3),
        })
    want.sort(key=lambda w: (w["offers_pq"] != "no", -w["clients"], -w["handshakes"],
                             w["fingerprint"], w["kx_fp"]))
    r = kx("fingerprints", "--db", db, "--json")
    got = json.loads(r.stdout) if r.returncode == 0 else None
    if got is not None and len(got) == len(want):
        bad = [f"line {i}: {k}: got {g.get(k)!r}, want {w[k]!r}"
               for i, (g, w) in enumerate(zip(got, want)) for k in w if g.get(k) != w[k]]
    else:
        bad = [f"exit {r.returncode} {r.stderr}; {len(got or [])} lines, want {len(want)}"]
    check(not bad, f"fingerprints --json: {len(want)} fingerprints, every value as computed here",
          "\n".join(bad))
    kinds = {w["kind"] for w in want}
    protos = {p for w in want for p in w["protocols"].split(",")}
    check(kinds == {"ja4", "hassh"} and {"tls", "quic", "dtls", "ssh"} <= protos,
          f"JA4 (TLS, QUIC, DTLS) and HASSH lines: {sorted(protos)}")
    check(want and want[0]["offers_pq"] == "no" and want[-1]["offers_pq"] == "yes",
          "classical-only fingerprints first: " + (want[0]["fingerprint"] if want else ""))
    # two builds of one JA4 told apart by the suffix
    by_ja4 = defaultdict(set)
    for w in want:
        by_ja4[w["fingerprint"]].add((w["kx_fp"], w["offers_pq"]))
    split = [j for j, s in by_ja4.items() if len(s) > 1]
    check(split, f"{len(split)} JA4s split by their key-exchange suffix", by_ja4)

    r = kx("fingerprints", "--db", db, "--csv")
    check(r.returncode == 0 and len(r.stdout.splitlines()) == len(want) + 1,
          "fingerprints --csv: a header and one line per fingerprint", r.stderr)
    r = kx("fingerprints", "--db", db, "--sensor", "nobody")
    check(r.returncode == 0 and "t13d" not in r.stdout, "--sensor filters", r.stdout)
    first = min(w["first_seen"] for w in want)
    r = kx("fingerprints", "--db", db, "--json", "--until", first[:19] + "Z")
    check(r.returncode == 0 and json.loads(r.stdout) == [], "--until before the first handshake: none",
          r.stdout + r.stderr)
    r = kx("fingerprints", "--db", db)
    check(r.returncode == 0 and r.stdout.startswith("FINGERPRINT") and want[0]["fingerprint"] in r.stdout,
          "fingerprints table", r.stdout[:400])

    extra_checks(db, want, tmp)
    upgrade_checks(tmp)

    print(f"{len(passed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


SUSPECT = ("share-size", "group-not-offered", "share-not-in-groups")


def extra_checks(db, want, tmp):
    """hops (table, JSON, HTML) marks suspect endpoints; clients and the
    HTML report name each client's fingerprints; audit's evidence names one."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM handshakes").fetchall()
    con.close()
    sus = defaultdict(int)
    for x in rows:
        ep = (x["server_ip"], x["server_port"], x["sni"])
        sus[ep] += x["verdict"] == "unknown" and x["reason"] in SUSPECT
    r = kx("hops", "--db", db, "--json")
    hops = json.loads(r.stdout) if r.returncode == 0 else []
    got = {(h["server_ip"], h["server_port"], h["sni"]): h["n_suspect"] for h in hops
           if h["handshakes"] > 0}
    check(got == dict(sus) and sum(sus.values()) >= 4 and len([v for v in sus.values() if v]) >= 2,
          f"hops --json: n_suspect of every endpoint as counted here ({sum(sus.values())} suspect "
          f"handshakes at {len([v for v in sus.values() if v])} endpoints)",
          "\n".join(f"{k}: got {got.get(k)}, want {v}" for k, v in sus.items() if got.get(k) != v))
    r = kx("hops", "--db", db)
    lines = r.stdout.splitlines()
    bad = []
    for (ip, port, sni), n in sus.items():
        mine = [ln for ln in lines if ln.split()[:3] == [ip, str(port), sni or "-"]]
        if len(mine) != 1 or (n > 0) != (f"(suspect: {n})" in mine[0]) or (n == 0 and "suspect" in mine[0]):
            bad.append(f"{ip} {port} {sni}: {n} suspect, line {mine}")
    check(r.returncode == 0 and not bad, "hops table: '(suspect: N)' exactly on the suspect endpoints",
          "\n".join(bad))

    html = os.path.join(tmp, "fp.html")
    r = kx("report", "--db", db, "--html", html)
    page = open(html).read() if r.returncode == 0 else ""
    badges = sorted(int(b) for b in re.findall(r">suspect: (\d+)</span>", page))
    check(badges == sorted(v for v in sus.values() if v),
          f"HTML hops: a 'suspect: N' badge per suspect endpoint {badges}", r.stderr)
    missing = [w["fingerprint"] for w in want if w["fingerprint"] not in page]
    check(r.returncode == 0 and not missing and "Client software: fingerprints" in page,
          f"HTML: the fingerprints section names all {len(want)} fingerprints", missing[:5])

    r = kx("clients", "--db", db, "--json")
    clients = json.loads(r.stdout) if r.returncode == 0 else []
    per_client = defaultdict(set)
    for x in rows:
        if x["ja4"]:
            per_client[x["client_ip"]].add(x["ja4"])
        if x["hassh"]:
            per_client[x["client_ip"]].add(x["hassh"])
    bad = [f"{c['client_ip']}: got {c['fingerprints']}, want {sorted(per_client[c['client_ip']])}"
           for c in clients if set((c["fingerprints"] or "").split(",")) - {""} != per_client[c["client_ip"]]]
    check(clients and not bad, f"clients --json: each of {len(clients)} clients lists its own JA4s and HASSHes",
          "\n".join(bad[:10]))

    # audit: the evidence handshake's own JA4 and suffix, from its row
    pol = os.path.join(tmp, "policy")
    with open(pol, "w") as f:
        f.write("required 198.18.0.20 443 *\n")
    r = kx("audit", "--db", db, "--policy", pol, "--json")
    ev = json.loads(r.stdout)["rules"][0]["evidence"] if r.stdout else {}
    row = [x for x in rows if (x["ts_first"], x["client_ip"], x["client_port"], x["server_ip"], x["server_port"])
           == (ev.get("ts"), ev.get("client_ip"), ev.get("client_port"), ev.get("server_ip"), ev.get("server_port"))]
    check(r.returncode == 1 and len(row) == 1 and row[0]["ja4"] and ev.get("fingerprint") == row[0]["ja4"]
          and ev.get("kx_fp") == row[0]["kx_fp"],
          f"audit --json: the evidence names its handshake's JA4 {ev.get('fingerprint')} and kx suffix",
          r.stdout[:600] + r.stderr)
    r = kx("audit", "--db", db, "--policy", pol)
    check(row and f"client software: JA4 {row[0]['ja4']} kx {row[0]['kx_fp']}" in r.stdout,
          "audit table: a 'client software' evidence line", r.stdout)


def upgrade_checks(tmp):
    db = os.path.join(tmp, "v6.db")
    con = sqlite3.connect(db)
    con.executescript(open(SCHEMA6).read())
    con.execute("PRAGMA application_id = 1801812087")
    con.execute("PRAGMA user_version = 6")
    con.commit()
    old = con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
    con.close()
    r = kx("fingerprints", "--db", db, "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == [],
          "fingerprints on an unupgraded schema 6 file: read as it is, no fingerprints", r.stderr)
    r = kx("read", "--db", db, "--sensor", "new", "--no-ndpi",
           os.path.join(PCAPS, "tls13-hrr-x25519mlkem768.pcap"),
           os.path.join(PCAPS, "ssh-default-sntrup.pcap"))
    con = sqlite3.connect(db)
    ver = con.execute("PRAGMA user_version").fetchone()[0]
    got = con.execute("SELECT sensor, protocol, ja4 IS NOT NULL OR hassh IS NOT NULL,"
                      " offers_mldsa IS NOT NULL FROM handshakes ORDER BY sensor, protocol").fetchall()
    ok_integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    check(r.returncode == 0 and ver >= 7 and ok_integrity == "ok" and old == 3
          and [g for g in got if g[0] == "old"] == [("old", p, 0, 0) for p in
                                                    sorted(x[1] for x in got if x[0] == "old")]
          and [g for g in got if g[0] == "new"] == [("new", "ssh", 1, 1), ("new", "tls", 1, 1)],
          f"schema 6 upgraded to {ver}: the {old} old rows keep NULL fingerprints, new rows have them",
          f"{r.stderr}\n{got}")
    r = kx("fingerprints", "--db", db, "--json")
    fps = json.loads(r.stdout) if r.returncode == 0 else []
    check(sorted(f["kind"] for f in fps) == ["hassh", "ja4"] and all(f["handshakes"] == 1 for f in fps),
          "fingerprints after the upgrade: the new rows", r.stdout + r.stderr)
    out = os.path.join(tmp, "merged.db")
    r = kx("merge", "--db", out, db) if True else None
    con = sqlite3.connect(out) if r.returncode == 0 else None
    same = con and con.execute("SELECT count(*), count(ja4), count(hassh), count(offers_mldsa)"
                               " FROM handshakes").fetchone() == (5, 1, 1, 2)
    check(bool(same), "merge carries the fingerprint columns", r.stderr)


if __name__ == "__main__":
    main()
