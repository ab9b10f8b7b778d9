#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The flow ledger adds up on every bundled capture: each flow the sensor
saw ends counted exactly once (a handshake row, a capacity row, a plaintext
session, an encrypted session whose handshake was unseen, one-sided, no
payload, not recorded, unrecognised), the handshake rows are the flows that
made one, and `read` prints the ledger."""
import glob
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

OUTCOMES = ["flow_hs_row", "flow_capacity", "flow_plaintext", "flow_unseen", "flow_one_sided",
            "flow_no_payload", "flow_plain_off", "flow_unrecognised"]


def main():
    kexwatch, pcaps = sys.argv[1:3]
    files = sorted(glob.glob(os.path.join(pcaps, "*.pcap")) + glob.glob(os.path.join(pcaps, "*.pcapng")))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            db = os.path.join(tmp, f"{i}.db")
            p = subprocess.run([kexwatch, "read", "--db", db, "--sensor", "ledger", path],
                               capture_output=True, text=True)
            con = sqlite3.connect(db)
            c = json.loads(con.execute("SELECT counters FROM runs").fetchone()[0])
            n_sessions = con.execute("SELECT coalesce(sum(sessions), 0) FROM sessions").fetchone()[0]
            con.close()
            ended = sum(c[k] for k in OUTCOMES)
            problems = []
            if p.returncode != 0:
                problems.append(f"exit {p.returncode}: {p.stderr.strip()}")
            if ended != c["flows_created"]:
                problems.append(f"{ended} flows ended in the ledger, {c['flows_created']} created "
                                f"({ {k: c[k] for k in OUTCOMES if c[k]} })")
            if c["hs_total"] != c["flow_hs_row"] + c["flow_capacity"]:
                problems.append(f"{c['hs_total']} handshakes, but {c['flow_hs_row']} + "
                                f"{c['flow_capacity']} flows made one")
            if n_sessions != c["flow_plaintext"] + c["flow_unseen"]:
                problems.append(f"{n_sessions} sessions stored, {c['flow_plaintext']} plaintext + "
                                f"{c['flow_unseen']} unseen flows")
            seen = c["flows_created"] + c["flows_refused"]
            if f"flows: {seen} seen = " not in p.stderr:
                problems.append("the summary does not print the ledger")
            name = os.path.basename(path)
            if problems:
                failed += 1
                print(f"not ok - {name}: " + "; ".join(problems))
            else:
                print(f"ok - {name}: {seen} flows accounted for")
    if not files:
        print("not ok - no captures found")
        failed = 1
    if failed:
        print(f"{failed} failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
