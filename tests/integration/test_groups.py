#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`kexwatch groups` lists the registry (code, name, family, key share sizes,
source) as a table, JSON and CSV; `--groups FILE` adds a new code point
(0x7777) and overrides x25519 there, in `sql`'s kx_group_name() and
kx_group_family(), and in the clients report's PQ groups; every command
that names groups accepts --groups and refuses a bad file with exit 2.

usage: test_groups.py KEXWATCH PCAPS_DIR
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

KX, PCAPS = sys.argv[1], sys.argv[2]
passed, failed = [], []


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
        gfile = os.path.join(tmp, "groups.txt")
        with open(gfile, "w") as f:
            f.write("# a new code point, and x25519 taken for a hybrid\n"
                    "0x7777 TestMLKEM1024 hybrid 1300/1200\n"
                    "29 FakeHybrid hybrid\n")
        bad = os.path.join(tmp, "bad.txt")
        with open(bad, "w") as f:
            f.write("0x7777 TestMLKEM1024 quantum\n")

        p = kx("groups")
        lines = p.stdout.splitlines()
        check(p.returncode == 0 and lines[0].split() == ["CODE", "NAME", "FAMILY", "CLIENT", "SHARE",
                                                          "SERVER", "SHARE", "SOURCE"],
              "groups: table heading", lines[:1])
        check(any(line.split() == ["0x11ec", "X25519MLKEM768", "hybrid", "1216", "1120", "built-in"]
                  for line in lines), "groups: X25519MLKEM768 0x11ec hybrid 1216/1120", p.stdout)
        check(any(line.split() == ["0x0017", "secp256r1", "classical", "65", "65", "built-in"]
                  for line in lines), "groups: secp256r1 65/65")
        check(any(line.split() == ["0x0001", "sect163k1", "classical", "-", "-", "built-in"]
                  for line in lines), "groups: no sizes known: -")
        j = json.loads(kx("groups", "--json").stdout)
        codes = [g["code"] for g in j]
        check(len(j) == 57 and codes == sorted(codes) and not any(g["source"] == "file" for g in j),
              "groups --json: the 57 built-in entries, by code", len(j))
        mlkem = [g for g in j if g["code"] == 0x0201]
        check(mlkem == [{"code": 513, "hex": "0x0201", "name": "MLKEM768", "family": "pq",
                         "client_share": 1184, "server_share": 1088, "source": "built-in"}],
              "groups --json: MLKEM768 in full", mlkem)

        p = kx("groups", "--groups", gfile, "--csv")
        rows = list(csv.reader(io.StringIO(p.stdout)))
        check(p.returncode == 0 and rows[0] == ["code", "hex", "name", "family", "client_share",
                                                "server_share", "source"]
              and ["30583", "0x7777", "TestMLKEM1024", "hybrid", "1300", "1200", "file"] in rows
              and ["29", "0x001d", "FakeHybrid", "hybrid", "", "", "file"] in rows
              and len(rows) == 1 + 58, "groups --groups FILE --csv: the new code point and the override",
              p.stdout[-600:])
        p = kx("groups", "--groups", bad)
        check(p.returncode == 2 and p.stderr.startswith("kexwatch groups: --groups: ")
              and "unknown family 'quantum'" in p.stderr, "groups: a bad file exits 2", p.stderr)

        # sql functions
        q = "SELECT kx_group_name(0x7777) AS n, kx_group_family(0x7777) AS f, kx_group_name(29) AS x"
        db = os.path.join(tmp, "kx.db")
        for n in ("tls13-x25519mlkem768.pcap", "tls13-client-no-pq.pcap"):
            p = kx("read", "-q", "--db", db, os.path.join(PCAPS, n))
            check(p.returncode == 0, f"read {n}", p.stderr)
        p = kx("sql", "--db", db, "--csv", q)
        check(p.returncode == 0 and p.stdout == "n,f,x\n0x7777,unknown,x25519\n", "sql without --groups", p.stdout)
        p = kx("sql", "--db", db, "--groups", gfile, "--csv", q)
        check(p.returncode == 0 and p.stdout == "n,f,x\nTestMLKEM1024,hybrid,FakeHybrid\n",
              "sql --groups FILE: kx_group_name(0x7777), kx_group_family(0x7777)", p.stdout + p.stderr)

        # clients: PQ groups offered resolve through the registry
        c0 = json.loads(kx("clients", "--db", db, "--json").stdout)
        c1 = json.loads(kx("clients", "--db", db, "--json", "--groups", gfile).stdout)
        check([c["pq_groups_offered"] for c in c0] == ["X25519MLKEM768"]
              and [c["pq_groups_offered"] for c in c1] == ["FakeHybrid,X25519MLKEM768"],
              "clients --groups FILE: PQ groups from the registry", (c0, c1))

        # hops: a stored group name a --groups file renames (x25519 -> FakeHybrid)
        h0 = sorted({h["groups_selected"] for h in json.loads(kx("hops", "--db", db, "--json").stdout)})
        h1 = sorted({h["groups_selected"] for h in json.loads(kx("hops", "--db", db, "--json", "--groups", gfile).stdout)})
        check(h0 == ["X25519MLKEM768", "x25519"] and h1 == ["FakeHybrid", "X25519MLKEM768"],
              "hops --groups FILE: groups_selected renamed", (h0, h1))
        p = kx("sql", "--db", db, "--groups", gfile, "--csv",
               "SELECT kx_group_rename('0x7777') AS a, kx_group_rename('x25519') AS b, kx_group_rename('secp256r1') AS c")
        check(p.returncode == 0 and p.stdout == "a,b,c\nTestMLKEM1024,FakeHybrid,secp256r1\n",
              "sql kx_group_rename: a stored 0x7777 and x25519 renamed, secp256r1 kept", p.stdout + p.stderr)

        # every command that names groups takes --groups (and refuses a bad file)
        pol = os.path.join(tmp, "policy.txt")
        with open(pol, "w") as f:
            f.write("warn * * *\n")
        html = os.path.join(tmp, "r.html")
        cmds = {"hops": [], "clients": [], "fingerprints": [], "health": [], "changes": ["--since", "2026-11-01"],
                "audit": ["--policy", pol], "report": ["--html", html], "cbom": ["-o", os.path.join(tmp, "c.json")],
                "sql": ["SELECT 1"]}
        for cmd, extra in cmds.items():
            args = [cmd, "--db", db, "--groups", gfile, *extra]
            if cmd == "sql":
                args = [cmd, "--db", db, "--groups", gfile, *extra]
            ok = kx(*args)
            ko = kx(*[bad if a == gfile else a for a in args])
            check(ok.returncode in (0, 1) and "--groups" not in ok.stderr
                  and ko.returncode == 2 and f"kexwatch {cmd}: --groups: " in ko.stderr,
                  f"{cmd} --groups FILE: accepted; a bad file exits 2", (ok.returncode, ok.stderr, ko.returncode, ko.stderr))

    print(f"# {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
