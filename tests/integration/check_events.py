#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The JSON event contract on every bundled capture.

usage: check_events.py KEXWATCH PCAPS_DIR SCHEMA

Every event of every capture in pcaps/ must validate against
contrib/schema/kexwatch-event.schema.json (strict: no key it does not
declare); community_id must equal an independent implementation of the
Community ID v1 spec (community_id.py), also with a seed; id must be the
database's (ts_first_us, dedup_key); a capture read again into the same
database emits only its run events unless --json-all; --no-db emits
everything every time; run events open and close the stream.
"""
import glob
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from community_id import community_id  # noqa: E402

KX, PCAPS, SCHEMA = sys.argv[1:4]
passed, failed = [], []
PROTO = {"tcp": 6, "udp": 17}


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:30]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def events(*args):
    p = subprocess.run([KX, "read", "--no-ndpi", "--sensor", "t", *args], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return [json.loads(l) for l in p.stdout.splitlines()]


schema = json.load(open(SCHEMA))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
pcaps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) + glob.glob(os.path.join(PCAPS, "*.pcapng")))
n_ev, bad, cid_bad, cid_n, order_bad, dup_ids = 0, [], [], 0, [], []
kinds = {}
for path in pcaps:
    name = os.path.basename(path)
    ev = events("--no-db", "--json", "-", path)
    if not ev or ev[0].get("phase") != "start" or ev[-1].get("phase") != "end" \
            or ev[-1].get("events") != len(ev) - 2 or any(e["event_type"] == "run" for e in ev[1:-1]):
        order_bad.append(name)
    ids = [e["id"] for e in ev]
    if len(set(ids)) != len(ids):
        dup_ids.append(name)
    for e in ev:
        n_ev += 1
        kinds[e["event_type"]] = kinds.get(e["event_type"], 0) + 1
        errs = list(v.iter_errors(e))
        if errs:
            bad.append(f"{name}: {e['event_type']} {e.get('protocol')}: {errs[0].message[:200]}")
        if e["event_type"] != "run" and e["transport"] in PROTO:
            cid_n += 1
            want = community_id(e["client_ip"], e["server_ip"], PROTO[e["transport"]],
                                e["client_port"], e["server_port"])
            if e["community_id"] != want:
                cid_bad.append(f"{name}: {e['community_id']} want {want}")
check(len(pcaps) > 100 and n_ev > 2 * len(pcaps), f"{len(pcaps)} captures, {n_ev} events: {kinds}")
check(not bad, "every event of every bundled capture validates against the schema", "\n".join(bad[:20]))
check(not order_bad, "each stream opens with a run start and closes with a run end counting its events",
      order_bad)
check(not dup_ids, "ids are unique within a capture", dup_ids)
check(cid_n > 150 and not cid_bad, f"community_id of {cid_n} events equals the independent implementation",
      "\n".join(cid_bad[:10]))
check(all(k in kinds for k in ("handshake", "plaintext", "session", "run")),
      "handshake, plaintext, session and run events all occur", kinds)

# A seed changes the hash as the spec says.
ev = [e for e in events("--no-db", "--json", "-", "--community-id-seed", "4242",
                        os.path.join(PCAPS, "tls13-ipv6.pcap")) if e["event_type"] == "handshake"]
check(len(ev) == 1 and ev[0]["community_id"] == community_id(
    ev[0]["client_ip"], ev[0]["server_ip"], 6, ev[0]["client_port"], ev[0]["server_port"], seed=4242)
    and ev[0]["community_id"] != community_id(ev[0]["client_ip"], ev[0]["server_ip"], 6,
                                              ev[0]["client_port"], ev[0]["server_port"]),
    "--community-id-seed 4242 (IPv6): the seeded hash", ev and ev[0]["community_id"])

# The schema is strict and rejects TLS placeholders on SSH events.
ssh = [e for e in events("--no-db", "--json", "-", os.path.join(PCAPS, "ssh-default-sntrup.pcap"))
       if e["event_type"] == "handshake"]
check(len(ssh) == 1 and ssh[0]["version"] is None and ssh[0]["cipher_suite"] is None
      and ssh[0]["key_shares"] == [] and ssh[0]["kex_offered"][0] == "sntrup761x25519-sha512",
      "SSH: version and cipher_suite null, key_shares [], kex_offered an array", ssh)
check(not v.is_valid({**ssh[0], "version": "0x0000"}) and not v.is_valid({**ssh[0], "group": 1})
      and v.is_valid({**ssh[0], "interface": "eth0", "regression": False}),
      "control: the schema refuses a TLS placeholder and an undeclared key, accepts interface/regression")

with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "e.db")
    cap = os.path.join(PCAPS, "tls13-mixed-50.pcap")
    first = events("--db", db, "--json", "-", cap)
    hs = [e for e in first if e["event_type"] != "run"]
    con = sqlite3.connect(db)
    dbids = {"%016x%016x" % (t, k & (2**64 - 1)) for t, k in
             con.execute("SELECT ts_first_us, dedup_key FROM handshakes")}
    check(len(hs) == 50 and {e["id"] for e in hs} == dbids,
          "id is the database's (ts_first_us, dedup_key) for each of the 50 handshakes")
    check(first[0]["run_id"] == first[-1]["run_id"] == 1, "run events carry the database's run id")
    again = events("--db", db, "--json", "-", cap)
    check([e["event_type"] for e in again] == ["run", "run"] and again[-1]["events"] == 0,
          "reading the capture again: no event for rows already stored", again)
    forced = events("--db", db, "--json", "-", "--json-all", cap)
    check([e["id"] for e in forced if e["event_type"] != "run"] == [e["id"] for e in hs],
          "--json-all: every event again, with the same ids")
    n1 = [e["id"] for e in events("--no-db", "--json", "-", cap) if e["event_type"] != "run"]
    n2 = [e["id"] for e in events("--no-db", "--json", "-", cap) if e["event_type"] != "run"]
    check(n1 == n2 == [e["id"] for e in hs], "--no-db: nothing to compare with, every event every time")

print(f"{len(passed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
