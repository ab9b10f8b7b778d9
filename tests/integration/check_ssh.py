#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs kexwatch on one SSH capture and compares its row, in SQLite and in the
JSON events, with pcaps/expected-ssh.tsv (cross-checked with tshark and an
independent reader when the capture was made)."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile


def main():
    kexwatch, pcap, tsv = sys.argv[1:4]
    name = os.path.basename(pcap)
    lines = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
    head = lines[0]
    rows = [dict(zip(head, l)) for l in lines[1:] if l[0] == name]
    if not rows:
        sys.exit(f"no expected rows for {name}")
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        db, js = os.path.join(tmp, "s.db"), os.path.join(tmp, "s.jsonl")
        p = subprocess.run([kexwatch, "read", "--db", db, "--json", js, pcap], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"kexwatch exited {p.returncode}: {p.stderr}")
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        got = [dict(r) for r in con.execute("SELECT * FROM handshakes ORDER BY pkt_first_ch")]
        events = sorted((e for e in map(json.loads, open(js)) if e["event_type"] != "run"),
                        key=lambda e: e["pkt_first_ch"])
        if len(got) != len(rows) or len(events) != len(rows):
            errors.append(f"{len(got)} rows / {len(events)} events, want {len(rows)}")
        for exp, row, ev in zip(rows, got, events):
            verdict, _, reason = exp["verdict"].partition("/")

            def eq(what, want, have):
                if want != have:
                    errors.append(f"{name}: {what}: want {want!r}, got {have!r}")

            eq("protocol", "ssh", row["protocol"])
            eq("client", (exp["client_ip"], int(exp["client_port"])), (row["client_ip"], row["client_port"]))
            eq("server", (exp["server_ip"], int(exp["server_port"])), (row["server_ip"], row["server_port"]))
            eq("client banner", exp["client_banner"] or None, row["ssh_client_banner"])
            eq("server banner", exp["server_banner"] or None, row["ssh_server_banner"])
            eq("client kex", exp["client_kex"], row["kex_offered"])
            eq("server kex", exp["server_kex"] or None, row["kex_offered_server"])
            eq("negotiated kex", exp["negotiated_kex"] or None, row["group_name"])
            eq("verdict", verdict, row["verdict"])
            eq("reason", reason or None, row["reason"])
            # A capture that starts after the client's KEXINIT: 0, and the
            # row says the client's offer was not seen.
            eq("client KEXINIT frame", int(exp["first_kexinit_frame"] or 0), row["pkt_first_ch"])
            eq("client_hello_seen", 1 if exp["first_kexinit_frame"] else 0, row["client_hello_seen"])
            eq("server KEXINIT frame", int(exp["server_kexinit_frame"]) if exp["server_kexinit_frame"] else None,
               row["pkt_sh"])
            eq("client KEXINIT segments", int(exp["client_kexinit_segments"] or 0), row["ch_segments"])
            eq("client KEXINIT bytes", int(exp["client_kexinit_bytes"] or 0), row["ch_bytes"])
            eq("hostkey", exp["hostkey"] or None, row["ssh_hostkey"])
            eq("json verdict", row["verdict"], ev["verdict"])
            eq("json kex", row["group_name"], ev["kex"] or None)
            eq("json banners", (row["ssh_client_banner"], row["ssh_server_banner"]),
               (ev["ssh_client_banner"], ev["ssh_server_banner"]))
    if errors:
        print("\n".join(errors))
        sys.exit(1)
    print(f"{name}: {len(rows)} SSH handshake(s) match")


main()
