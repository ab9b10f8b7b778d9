#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`kexwatch cbom` on inventories read from the bundled captures.

usage: test_cbom.py KEXWATCH PCAPS_DIR

Checks: the BOM is valid against the official CycloneDX 1.6 and 1.7 JSON
schemas (ajv, schemas from the @cyclonedx/cyclonedx-library package,
fetched with npm at first use: npm_tools.py); two runs give the same bytes
and -o FILE the same as stdout; the exact components of single captures
(ML-KEM-768, X25519MLKEM768, TLS 1.2 RSA key transport, SSH sntrup761 with
its Ed25519 host key); on every bundled capture, the algorithms, counts
and endpoints equal what the inventory's rows say (computed here in SQL).
Exit 77 (skip) only when npm is unreachable and CI is not set.
"""
import glob
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import npm_tools  # noqa: E402

KX, PCAPS = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
passed, failed = [], []


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def kx(*args):
    return subprocess.run([KX, *args], capture_output=True, text=True, timeout=300)


def read(db, *pcaps):
    p = kx("read", "--no-ndpi", "--sensor", "t", "--db", db, *pcaps)
    assert p.returncode == 0, p.stderr
    return db


def cbom(db, *args):
    p = kx("cbom", "--db", db, *args)
    check(p.returncode == 0, "cbom " + " ".join(args) + " exits 0", p.stderr)
    return p.stdout


def props(c):
    return {p["name"]: p["value"] for p in c.get("properties", [])}


def algos(doc):
    return {c["bom-ref"]: c for c in doc["components"]
            if c["cryptoProperties"]["assetType"] == "algorithm"}


def protos(doc):
    return {c["bom-ref"]: c for c in doc["components"]
            if c["cryptoProperties"]["assetType"] == "protocol"}


node, mods, schemas = npm_tools.ensure()


def validate(spec, paths):
    p = subprocess.run([node, os.path.join(HERE, "cdx_validate.cjs"), mods, schemas, spec, *paths],
                       capture_output=True, text=True, timeout=120)
    return p.returncode == 0, p.stdout + p.stderr


with tempfile.TemporaryDirectory() as tmp:
    # --- one capture each: exact components ---
    db = read(os.path.join(tmp, "mlkem.db"), os.path.join(PCAPS, "tls13-mlkem768.pcap"))
    doc = json.loads(cbom(db))
    a, pr = algos(doc), protos(doc)
    kem = a.get("kexwatch:algorithm/key-exchange/MLKEM768")
    check(kem is not None and kem["cryptoProperties"] == {
        "assetType": "algorithm",
        "algorithmProperties": {"primitive": "kem", "parameterSetIdentifier": "768",
                                "cryptoFunctions": ["keygen", "encapsulate", "decapsulate"],
                                "classicalSecurityLevel": 192, "nistQuantumSecurityLevel": 3},
        "oid": "2.16.840.1.101.3.4.4.2"}, "ML-KEM-768: kem, parameter set 768, category 3, FIPS 203 OID",
        json.dumps(kem))
    check(kem and props(kem).get("kexwatch:family") == "pq" and props(kem).get("kexwatch:tls_group") == "0x0201"
          and props(kem).get("kexwatch:handshakes") == "1" and props(kem).get("kexwatch:endpoints") == "1",
          "ML-KEM-768: family pq, group 0x0201, 1 handshake, 1 endpoint", json.dumps(kem))
    check(sorted(a) == ["kexwatch:algorithm/cipher/AES-256-GCM", "kexwatch:algorithm/key-exchange/MLKEM768"],
          "tls13-mlkem768: exactly ML-KEM-768 and AES-256-GCM", sorted(a))
    ep = "kexwatch:endpoint/tls/198.18.0.20/8443/mlkem.kx.test/TLS1.3"
    check(list(pr) == [ep] and pr[ep]["cryptoProperties"]["protocolProperties"] == {
        "type": "tls", "version": "1.3",
        "cipherSuites": [{"name": "TLS_AES_256_GCM_SHA384",
                          "algorithms": ["kexwatch:algorithm/cipher/AES-256-GCM"],
                          "identifiers": ["0x13", "0x02"]}]},
          "one TLS 1.3 endpoint with TLS_AES_256_GCM_SHA384 (0x13,0x02)", json.dumps(pr))
    check(doc["dependencies"] == [{"ref": ep, "dependsOn": ["kexwatch:algorithm/cipher/AES-256-GCM",
                                                            "kexwatch:algorithm/key-exchange/MLKEM768"]}],
          "the endpoint depends on exactly its two algorithms", doc["dependencies"])
    pp = props(pr.get(ep, {}))
    check(pp.get("kexwatch:handshakes:pq") == "1" and pp.get("kexwatch:handshakes:classical") == "0",
          "endpoint properties count its pq handshake", pp)

    db = read(os.path.join(tmp, "hyb.db"), os.path.join(PCAPS, "tls13-x25519mlkem768.pcap"))
    a = algos(json.loads(cbom(db)))
    h = a.get("kexwatch:algorithm/key-exchange/X25519MLKEM768", {})
    check(h.get("cryptoProperties", {}).get("algorithmProperties", {}).get("nistQuantumSecurityLevel") == 3
          and h["cryptoProperties"]["algorithmProperties"].get("curve") == "Curve25519"
          and "oid" not in h["cryptoProperties"] and props(h).get("kexwatch:family") == "hybrid",
          "X25519MLKEM768: category 3, Curve25519, no OID (none assigned), family hybrid", json.dumps(h))

    db = read(os.path.join(tmp, "rsa.db"), os.path.join(PCAPS, "tls12-rsa.pcap"))
    doc = json.loads(cbom(db))
    a = algos(doc)
    check(sorted(a) == ["kexwatch:algorithm/cipher/AES-128-GCM", "kexwatch:algorithm/key-transport/RSA"]
          and a["kexwatch:algorithm/key-transport/RSA"]["cryptoProperties"]["algorithmProperties"]
          ["nistQuantumSecurityLevel"] == 0,
          "TLS 1.2 RSA key transport: RSA (pke, category 0) and AES-128-GCM", json.dumps(a))
    suites = [c["cryptoProperties"]["protocolProperties"]["cipherSuites"] for c in protos(doc).values()]
    check(suites == [[{"name": "TLS_RSA_WITH_AES_128_GCM_SHA256",
                       "algorithms": ["kexwatch:algorithm/cipher/AES-128-GCM",
                                      "kexwatch:algorithm/key-transport/RSA"],
                       "identifiers": ["0x00", "0x9C"]}]], "the RSA suite names both its algorithms", suites)

    db = read(os.path.join(tmp, "ssh.db"), os.path.join(PCAPS, "ssh-default-sntrup.pcap"))
    doc = json.loads(cbom(db))
    a, pr = algos(doc), protos(doc)
    s = a.get("kexwatch:algorithm/key-exchange/sntrup761x25519-sha512", {})
    sig = a.get("kexwatch:algorithm/signature/ssh-ed25519", {})
    check(s.get("cryptoProperties", {}).get("algorithmProperties", {}).get("primitive") == "kem"
          and s["cryptoProperties"]["algorithmProperties"]["nistQuantumSecurityLevel"] == 2
          and sig.get("cryptoProperties", {}).get("oid") == "1.3.101.112"
          and sig["cryptoProperties"]["algorithmProperties"]["primitive"] == "signature",
          "SSH: sntrup761x25519 (kem, category 2) and the Ed25519 host key (signature, 1.3.101.112)",
          json.dumps(a))
    check([c["cryptoProperties"]["protocolProperties"] for c in pr.values()] == [{"type": "ssh", "version": "2.0"}],
          "SSH endpoint: type ssh, version 2.0, no cipher suites", json.dumps(pr))

    # --- every bundled capture ---
    pcaps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) + glob.glob(os.path.join(PCAPS, "*.pcapng")))
    db = read(os.path.join(tmp, "all.db"), *pcaps)
    out1, out2 = cbom(db), cbom(db)
    check(out1 == out2 and len(out1) > 1000, "two runs on the same inventory give the same bytes")
    f = os.path.join(tmp, "bom.json")
    kx("cbom", "--db", db, "-o", f)
    check(open(f).read() == out1 and not os.path.exists(f + ".tmp"), "-o FILE holds the same bytes")
    # The shared write-then-rename path (cbom -o, report --html): a missing
    # directory is exit 1 with the path named; a failed report leaves neither
    # FILE nor FILE.tmp behind, and an existing FILE untouched.
    for args, flag in ((["cbom"], "-o"), (["report"], "--html")):
        p = kx(*args, "--db", db, flag, os.path.join(tmp, "no-such-dir", "x"))
        check(p.returncode == 1 and "no-such-dir/x.tmp" in p.stderr,
              f"{args[0]} {flag} into a missing directory: exit 1, the file named", p.stderr)
        keep = os.path.join(tmp, f"keep-{args[0]}")
        with open(keep, "w") as fh:
            fh.write("old")
        p = kx(*args, "--db", os.path.join(tmp, "missing.db"), flag, keep)
        check(p.returncode == 1 and open(keep).read() == "old" and not os.path.exists(keep + ".tmp"),
              f"{args[0]} {flag} on a missing database: exit 1, FILE untouched, no FILE.tmp", p.stderr)
    doc = json.loads(out1)
    a, pr = algos(doc), protos(doc)
    c = sqlite3.connect(db)
    rows = "FROM handshakes WHERE (group_name IS NOT NULL OR (version IS NOT NULL AND protocol <> 'ssh'))"
    total = c.execute("SELECT count(*) " + rows).fetchone()[0]
    check(props(doc["metadata"]).get("kexwatch:handshakes") == str(total),
          f"metadata counts the {total} handshakes that negotiated something", doc["metadata"])
    newest = c.execute("SELECT max(ts_last) " + rows).fetchone()[0]
    check(doc["metadata"]["timestamp"] == newest, "timestamp: the newest handshake's last packet",
          (doc["metadata"]["timestamp"], newest))
    want_kx = dict(c.execute("SELECT group_name, count(*) FROM handshakes WHERE group_name IS NOT NULL"
                             " GROUP BY 1"))
    got_kx = {v["name"]: int(props(v)["kexwatch:handshakes"]) for k, v in a.items()
              if props(v)["kexwatch:role"] == "key-exchange"}
    check(got_kx == want_kx, f"one key-exchange component per group seen ({len(want_kx)}), handshakes counted",
          (got_kx, want_kx))
    check(sorted(got_kx) == sorted([
        "MLKEM1024", "MLKEM512", "MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024",
        "X25519Kyber768Draft00", "X25519MLKEM768", "curve25519-sha256", "secp256r1", "secp521r1",
        "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com", "x25519"]),
        "the bundled captures' key exchanges, exactly", sorted(got_kx))
    fam = {v["name"]: props(v).get("kexwatch:family") for v in a.values()
           if props(v)["kexwatch:role"] == "key-exchange"}
    lvl = {v["name"]: v["cryptoProperties"]["algorithmProperties"].get("nistQuantumSecurityLevel")
           for v in a.values() if props(v)["kexwatch:role"] == "key-exchange"}
    check(all((lvl[n] == 0) == (fam[n] == "classical") for n in fam),
          "NIST category 0 exactly for the algorithms kexwatch calls classical", (fam, lvl))
    want_ep = c.execute("SELECT count(DISTINCT protocol || '/' || server_ip || '/' || server_port || '/' ||"
                        " coalesce(sni, '') || '/' || CASE WHEN protocol = 'ssh' THEN '2.0' ELSE"
                        " coalesce(version, '') END) " + rows).fetchone()[0]
    check(len(pr) == want_ep, f"one protocol component per endpoint and version ({want_ep})", len(pr))
    refs = {x["bom-ref"] for x in doc["components"]}
    deps = doc["dependencies"]
    check(len(deps) == len(pr) and all(d["ref"] in pr and set(d["dependsOn"]) <= refs for d in deps),
          "every endpoint has a dependency entry naming existing algorithms")
    uses = {}
    for d in deps:
        for r in d["dependsOn"]:
            uses[r] = uses.get(r, 0) + 1
    check(all(int(props(v)["kexwatch:endpoints"]) == uses.get(k, 0) for k, v in a.items()),
          "each algorithm's endpoint count equals the endpoints that depend on it")
    hs = sum(int(props(v)["kexwatch:handshakes"]) for v in pr.values())
    check(hs == total, "the endpoints' handshakes add up to the total", (hs, total))
    sig = {v["name"]: props(v)["kexwatch:handshakes"] for v in a.values()
           if props(v)["kexwatch:role"] == "signature"}
    want_sig = dict(c.execute("SELECT ssh_hostkey, count(*) " + rows + " AND ssh_hostkey <> '' GROUP BY 1"))
    check(sig == {k: str(v) for k, v in want_sig.items()} and sig,
          "SSH host key algorithms as signature components", (sig, want_sig))

    # A window: a different document, its own serial number.
    mid = c.execute("SELECT ts_first FROM handshakes ORDER BY ts_first_us LIMIT 1 OFFSET 60").fetchone()[0]
    win = cbom(db, "--since", mid)
    wdoc = json.loads(win)
    check(wdoc["serialNumber"] != doc["serialNumber"] and props(wdoc["metadata"]).get("kexwatch:window_since") == mid
          and int(props(wdoc["metadata"])["kexwatch:handshakes"]) < total,
          "a window: fewer handshakes, its own serial number, the window in metadata")
    empty = cbom(db, "--since", "2100-01-01")
    edoc = json.loads(empty)
    check(edoc["components"] == [] and edoc["dependencies"] == [], "an empty window: no components")
    v17 = cbom(db, "--spec", "1.7")
    check(json.loads(v17)["specVersion"] == "1.7" and '"type":"quic"' in v17 and '"type":"dtls"' in v17,
          "--spec 1.7: QUIC and DTLS endpoints get their own protocol types")
    check(kx("cbom", "--db", db, "--spec", "1.5").returncode == 2, "--spec 1.5: usage error (exit 2)")

    files = {}
    for name, text in (("all", out1), ("window", win), ("empty", empty)):
        files[name] = os.path.join(tmp, name + ".json")
        with open(files[name], "w") as fh:
            fh.write(text)
    ok, log = validate("1.6", list(files.values()))
    check(ok, "CycloneDX 1.6 schema: the whole inventory, a window, an empty window are valid", log)
    f17 = os.path.join(tmp, "v17.json")
    with open(f17, "w") as fh:
        fh.write(v17)
    ok, log = validate("1.7", [f17])
    check(ok, "CycloneDX 1.7 schema: valid", log)
    # The validator can fail: 1.7's protocol types are not 1.6's.
    ok, log = validate("1.6", [f17])
    check(not ok and "allowedValues" in log, "control: the 1.6 schema rejects 1.7's quic protocol type", log)

print(f"{len(passed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
