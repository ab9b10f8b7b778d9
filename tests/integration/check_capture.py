#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs kexwatch on one capture and compares every handshake row, in the
SQLite inventory and in the JSON events, with the expected values written
down in pcaps/expected.tsv (cross-checked with tshark when the capture was
made). The outermost tunnel of each row is checked against
expected-tunnel.tsv beside it ("" for rows not listed there) in the JSON key
and the database column `tunnel`. Exits 1 on the first difference, printing
all of them."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

FIELDS = ["file", "client_ip", "client_port", "server_ip", "server_port", "sni", "version",
          "offered_groups", "key_shares", "hrr", "hrr_group", "selected_group", "cipher_suite",
          "ch_segments", "first_ch_frame", "sh_frame", "expected_verdict"]

VERSION_NAMES = {"0x0304": "TLS1.3", "0x0303": "TLS1.2", "0x0302": "TLS1.1", "0x0301": "TLS1.0",
                 "TLS1.3": "TLS1.3", "TLS1.2": "TLS1.2",
                 "0xfefc": "DTLS1.3", "0xfefd": "DTLS1.2", "0xfeff": "DTLS1.0"}


def hexlist(s):
    return [int(x, 16) for x in s.split(",") if x.strip()]


def load_expected(tsv, name):
    rows = []
    with open(tsv) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "file":
                continue
            # expected-starttls.tsv adds an 18th column: the upgraded protocol.
            if len(cols) not in (len(FIELDS), len(FIELDS) + 1):
                sys.exit(f"{tsv}: {len(cols)} columns, want {len(FIELDS)}: {line!r}")
            row = dict(zip(FIELDS + ["starttls"], cols))
            if row["file"] == name:
                rows.append(row)
    return rows


def load_tunnels(tsv, name):
    """first_ch_frame -> (client_port, server_port, tunnel) of the capture's tunnelled handshakes"""
    path = os.path.join(os.path.dirname(tsv), "expected-tunnel.tsv")
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 5 or cols[0] != name:
                continue
            out[cols[1]] = (int(cols[2]), int(cols[3]), cols[4])
    return out


def opt_int(s):
    s = s.strip()
    return int(s, 16) if s.lower().startswith("0x") else (int(s) if s else None)


def first_frame(exp):
    # empty for a ServerHello whose ClientHello is not in the capture
    f = exp["first_ch_frame"].split(";")[0]
    return int(f) if f else None


def hs_key(exp):
    """A handshake is found by its first ClientHello frame; one whose
    ClientHello was not captured (empty first_ch_frame) by its ServerHello."""
    if exp["first_ch_frame"].strip():
        return ("ch", first_frame(exp))
    return ("sh", int(exp["sh_frame"]))


def ev_key(ev):
    if ev["client_hello_seen"]:
        return ("ch", ev["pkt_first_ch"])
    return ("sh", ev["pkt_sh"])


SESSION_FIELDS = ["file", "client_ip", "client_port", "server_ip", "server_port", "transport",
                  "verdict", "reason", "app", "first_frame"]


def load_sessions(tsv, name):
    """pcaps/expected-sessions.tsv: connections with no handshake row."""
    rows = []
    if not os.path.exists(tsv):
        return rows
    with open(tsv) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "file":
                continue
            if len(cols) != len(SESSION_FIELDS):
                sys.exit(f"{tsv}: {len(cols)} columns, want {len(SESSION_FIELDS)}: {line!r}")
            row = dict(zip(SESSION_FIELDS, cols))
            if row["file"] == name:
                rows.append(row)
    return rows


def frame_times(path):
    """Microsecond timestamps of a classic pcap's frames, by 1-based number
    ({} for pcapng: those captures are checked without them)."""
    import struct
    times = {}
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return times
        magic = head[:4]
        order = {b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
                 b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000)}.get(magic)
        if not order:
            return times
        n = 0
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return times
            sec, frac, caplen, _ = struct.unpack(order[0] + "IIII", rec)
            n += 1
            times[n] = sec * 1_000_000 + frac // order[1]
            f.seek(caplen, 1)


def check_sessions(name, expected, events, con, errors, times=None):
    """Every session event field by field, and the hourly aggregates."""
    got = sorted(events, key=lambda e: e["pkt_first_ch"])
    want = sorted(expected, key=lambda r: int(r["first_frame"]))
    if len(got) != len(want):
        errors.append(f"{name}: {len(got)} session events, want {len(want)}: "
                      f"{[(e['pkt_first_ch'], e['app'], e['verdict'], e['reason']) for e in got]}")
    for exp, ev in zip(want, got):
        where = f"{name} session frame {exp['first_frame']}"
        have = {"client_ip": ev["client_ip"], "client_port": str(ev["client_port"]),
                "server_ip": ev["server_ip"], "server_port": str(ev["server_port"]),
                "transport": ev["transport"], "verdict": ev["verdict"], "reason": ev["reason"],
                "app": ev["app"], "first_frame": str(ev["pkt_first_ch"])}
        for k, v in have.items():
            if v != exp[k]:
                errors.append(f"{where}: {k}: want {exp[k]!r}, got {v!r}")
        if not isinstance(ev["bytes"], int) or ev["bytes"] <= 0:
            errors.append(f"{where}: bytes: want a positive count, got {ev['bytes']!r}")
        if ev["protocol"] != exp["app"]:
            errors.append(f"{where}: protocol: want {exp['app']!r}, got {ev['protocol']!r}")
        # nDPI names the well-known services by port (its guess, kept in ndpi).
        if exp["app"] in ("http", "postgresql", "mysql", "redis", "smtp") and not ev["ndpi"]:
            errors.append(f"{where}: ndpi: no label for {exp['app']} on port {exp['server_port']}")
        # The session starts with its first packet.
        t = (times or {}).get(int(exp["first_frame"]))
        if t is not None:
            row = con.execute("SELECT min(ts_first_us) FROM sessions WHERE client_ip = ? AND"
                              " server_ip = ? AND server_port = ? AND app = ? AND hour = ?",
                              (exp["client_ip"], exp["server_ip"], int(exp["server_port"]),
                               exp["app"], t // 3_600_000_000)).fetchone()
            if row[0] is None or row[0] > t:
                errors.append(f"{where}: sessions row of hour {t // 3_600_000_000}: first seen "
                              f"{row[0]}, want <= {t} (the first packet's time)")
    # The database keeps them per hour and endpoint: the counts must agree.
    agg = {}
    for exp in want:
        k = (exp["client_ip"], exp["server_ip"], int(exp["server_port"]), exp["transport"],
             exp["app"], exp["verdict"], exp["reason"])
        agg[k] = agg.get(k, 0) + 1
    have = {}
    for r in con.execute("SELECT client_ip, server_ip, server_port, transport, app, verdict, reason,"
                         " sum(sessions) FROM sessions GROUP BY 1, 2, 3, 4, 5, 6, 7"):
        have[tuple(r[:7])] = r[7]
    if have != agg:
        errors.append(f"{name}: sessions table: want {agg}, got {have}")


def compare(exp, got, where, errors):
    def eq(what, want, have):
        if want != have:
            errors.append(f"{where}: {what}: want {want!r}, got {have!r}")

    eq("sni", exp["sni"] or None, got["sni"])
    verdict, _, reason = exp["expected_verdict"].partition("/")
    eq("verdict", verdict, got["verdict"])
    eq("reason", reason or None, got["reason"])
    eq("groups_offered", hexlist(exp["offered_groups"]), got["groups_offered"])
    eq("key_shares", [hexlist(k) for k in exp["key_shares"].split(";")] if exp["ch_segments"] != "0" else [],
       got["key_shares"])
    eq("hrr", exp["hrr"] == "1", bool(got["hrr"]))
    eq("hrr_group", opt_int(exp["hrr_group"]) if exp["hrr"] == "1" else None, got["hrr_group"])
    eq("group_code", opt_int(exp["selected_group"]), got["group_code"])
    if verdict != "incomplete":
        eq("version", VERSION_NAMES.get(exp["version"], exp["version"]), got["version"])
        eq("cipher_suite", opt_int(exp["cipher_suite"]), got["cipher_suite"])
        eq("pkt_sh", int(exp["sh_frame"]), got["pkt_sh"])
    else:
        eq("pkt_sh", None, got["pkt_sh"])
    # After an HRR the segment counts and frames read "first;second".
    segs = [int(x) for x in exp["ch_segments"].split(";")]
    eq("ch_segments", segs[0], got["ch_segments"])
    eq("ch2_segments", segs[1] if len(segs) > 1 else None, got["ch2_segments"])
    eq("pkt_first_ch", first_frame(exp) if exp["first_ch_frame"].strip() else 0, got["pkt_first_ch"])


def main():
    kexwatch, pcap, tsv = sys.argv[1:4]
    extra = sys.argv[4:]
    name = os.path.basename(pcap)
    expected = [] if os.path.basename(tsv) == "expected-sessions.tsv" else load_expected(tsv, name)
    sessions = load_sessions(os.path.join(os.path.dirname(tsv), "expected-sessions.tsv"), name)
    if not expected and not sessions:
        sys.exit(f"no expected rows for {name} in {tsv} or expected-sessions.tsv")
    tunnels = load_tunnels(tsv, name)
    for frame in tunnels:
        if frame not in {e["first_ch_frame"] for e in expected}:
            sys.exit(f"expected-tunnel.tsv: {name} frame {frame} is no handshake of {tsv}")
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "t.db")
        js = os.path.join(tmp, "t.jsonl")
        cmd = [kexwatch, "read", "--db", db, "--json", js, "--sensor", "test", *extra, pcap]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr}")
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM handshakes ORDER BY pkt_first_ch")]
        with open(js) as f:
            all_events = [e for e in map(json.loads, f) if e["event_type"] != "run"]
        # Sessions without a handshake carry a byte count; handshakes do not.
        events = sorted((e for e in all_events if e["bytes"] is None), key=lambda e: e["pkt_first_ch"])
        session_events = [e for e in all_events if e["bytes"] is not None]
        errors = []
        check_sessions(name, sessions, session_events, con, errors, frame_times(pcap))
        if len(rows) != len(expected):
            errors.append(f"{name}: {len(rows)} rows in the database, want {len(expected)}")
        if len(events) != len(rows):
            errors.append(f"{name}: {len(events)} JSON events but {len(rows)} rows")
        byfirst = {ev_key(e): e for e in events}
        for exp in expected:
            where = f"{name} CH frame {exp['first_ch_frame'] or '(not seen)'}"
            ev = byfirst.get(hs_key(exp))
            if ev is None:
                errors.append(f"{where}: no handshake found "
                              f"(have {sorted(byfirst)})")
                continue
            if ev["client_hello_seen"] != (hs_key(exp)[0] == "ch"):
                errors.append(f"{where}: client_hello_seen: got {ev['client_hello_seen']}")
            for k in ("client_ip", "server_ip"):
                if ev[k] != exp[k]:
                    errors.append(f"{where}: {k}: want {exp[k]}, got {ev[k]}")
            for k in ("client_port", "server_port"):
                if ev[k] != int(exp[k]):
                    errors.append(f"{where}: {k}: want {exp[k]}, got {ev[k]}")
            # QUIC captures are named quic-* (or *-quic.pcap when test_quic's own
            # reader must not take them), DTLS ones dtls*; everything else here
            # is TLS over TCP.
            quic = name.startswith("quic-") or name.endswith("-quic.pcap")
            want_proto = ("quic", "udp") if quic else \
                ("dtls", "udp") if name.startswith("dtls") else ("tls", "tcp")
            if (ev["protocol"], ev["transport"]) != want_proto:
                errors.append(f"{where}: protocol/transport: want {want_proto}, "
                              f"got {(ev['protocol'], ev['transport'])}")
            if ev["starttls"] != (exp.get("starttls") or None):
                errors.append(f"{where}: starttls: want {exp.get('starttls')!r}, got {ev['starttls']!r}")
            tun = tunnels.get(exp["first_ch_frame"])
            want_tunnel = tun[2] if tun else ""
            if tun and (tun[0], tun[1]) != (int(exp["client_port"]), int(exp["server_port"])):
                errors.append(f"{where}: expected-tunnel.tsv ports {tun[:2]} differ from expected.tsv")
            if (ev.get("tunnel", "missing") or "") != want_tunnel:
                errors.append(f"{where}: tunnel (json): want {want_tunnel!r}, got {ev['tunnel']!r}")
            compare(exp, ev, where + " (json)", errors)
            # The database row must say the same as the JSON event.
            row = next((r for r in rows if r["pkt_first_ch"] == ev["pkt_first_ch"] and
                        r["pkt_sh"] == ev["pkt_sh"]), None)
            if row is None:
                errors.append(f"{where}: JSON event has no database row")
                continue
            dbv = {
                "sni": row["sni"], "verdict": row["verdict"], "reason": row["reason"],
                "groups_offered": json.loads(row["groups_offered"]),
                "key_shares": json.loads(row["key_shares"]), "hrr": row["hrr"],
                "hrr_group": row["hrr_group"], "group_code": row["group_code"],
                "version": row["version"], "cipher_suite": row["cipher_suite"],
                "pkt_sh": row["pkt_sh"], "ch_segments": row["ch_segments"],
                "ch2_segments": row["ch2_segments"],
                "pkt_first_ch": row["pkt_first_ch"],
            }
            compare(exp, dbv, where + " (db)", errors)
            if (row.get("tunnel", "missing") or "") != want_tunnel:
                errors.append(f"{where}: tunnel (db): want {want_tunnel!r}, got {row['tunnel']!r}")
        # Reading the same capture again adds nothing.
        p2 = subprocess.run([kexwatch, "read", "--db", db, "--sensor", "test", *extra, pcap],
                            capture_output=True, text=True)
        n2 = con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
        if p2.returncode != 0 or n2 != len(rows):
            errors.append(f"{name}: second read: exit {p2.returncode}, {n2} rows (want {len(rows)})")
        s2 = con.execute("SELECT coalesce(sum(sessions), 0) FROM sessions").fetchone()[0]
        if s2 != len(sessions):
            errors.append(f"{name}: second read: {s2} sessions counted (want {len(sessions)})")
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        if runs != 2:
            errors.append(f"{name}: {runs} runs recorded, want 2")
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            errors.append(f"{name}: integrity_check: {integrity}")
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print(f"{name}: {len(expected)} handshakes and {len(sessions)} sessions match")


if __name__ == "__main__":
    main()
