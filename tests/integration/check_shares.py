#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Key shares of every TLS, QUIC and DTLS handshake in pcaps/, against the
sizes their groups define (issue 18's table, written out again here):
every real capture has them right and nothing flagged; the three captures
edited by contrib/pcapgen/kx_claims_craft.py are flagged exactly as made.

usage: check_shares.py KEXWATCH PCAPS_DIR
"""
import glob
import json
import os
import subprocess
import sys

# group -> (client share, server share) in bytes
SIZES = {0x0017: (65, 65), 0x0018: (97, 97), 0x0019: (133, 133), 0x001d: (32, 32),
         0x001e: (56, 56), 0x001f: (65, 65), 0x0020: (97, 97), 0x0021: (129, 129),
         0x0100: (256, 256), 0x0101: (384, 384), 0x0102: (512, 512), 0x0103: (768, 768),
         0x0104: (1024, 1024), 0x11ec: (1216, 1120), 0x11eb: (1249, 1153),
         0x11ed: (1665, 1665), 0x11ee: (1249, 1153), 0x0200: (800, 768),
         0x0201: (1184, 1088), 0x0202: (1568, 1568), 0x6399: (1216, 1120),
         0x639a: (1249, 1153)}
CRAFTED = {"tls13-share-size-crafted.pcap": ("share-size", ["client-share-size"]),
           "tls13-not-offered-crafted.pcap": ("group-not-offered", ["group-not-offered"]),
           "tls13-share-unlisted-crafted.pcap": ("share-not-in-groups", ["share-not-in-groups"])}


def grease(g):
    return (g & 0x0f0f) == 0x0a0a and (g >> 8) == (g & 0xff)


def main():
    kexwatch, pcaps = sys.argv[1:3]
    files = sorted(glob.glob(os.path.join(pcaps, "*.pcap")) + glob.glob(os.path.join(pcaps, "*.pcapng")))
    bad, shares, servers, flagged = [], 0, 0, 0
    for path in files:
        name = os.path.basename(path)
        out = subprocess.run([kexwatch, "read", "--no-db", "--no-ndpi", "--json", "-", path],
                             capture_output=True, text=True)
        for l in out.stdout.splitlines():
            e = json.loads(l)
            if e["event_type"] == "run":
                continue
            if e["protocol"] not in ("tls", "quic", "dtls") or e.get("is_session"):
                continue
            where = f"{name} :{e['client_port']}"
            if e["key_shares"] and e["key_share_sizes"] is not None:
                for groups, sizes in zip(e["key_shares"], e["key_share_sizes"]):
                    if len(groups) != len(sizes):
                        bad.append(f"{where}: {len(groups)} shares, {len(sizes)} sizes")
                    for g, n in zip(groups, sizes):
                        if grease(g) or g not in SIZES:
                            continue
                        shares += 1
                        if n != SIZES[g][0] and name not in CRAFTED:
                            bad.append(f"{where}: share 0x{g:04x} of {n} bytes, want {SIZES[g][0]}")
            g = e["group_code"]
            if g in SIZES and e["server_share_size"] is not None:
                servers += 1
                if e["server_share_size"] != SIZES[g][1]:
                    bad.append(f"{where}: server share 0x{g:04x} {e['server_share_size']} bytes")
            if name in CRAFTED:
                flagged += 1
                reason, anomalies = CRAFTED[name]
                if e["verdict"] != "unknown" or e["reason"] != reason or e["kx_anomalies"] != anomalies:
                    bad.append(f"{where}: {e['verdict']}/{e['reason']} {e['kx_anomalies']}, "
                               f"want unknown/{reason} {anomalies}")
            elif e["kx_anomalies"] or e["reason"] in ("share-size", "group-not-offered",
                                                       "share-not-in-groups"):
                bad.append(f"{where}: a real capture flagged: {e['reason']} {e['kx_anomalies']}")
    print(f"{len(files)} captures: {shares} client key shares and {servers} server shares of the "
          f"right size, {flagged} crafted handshakes flagged as made")
    if bad or flagged != len(CRAFTED) or not shares:
        print("\n".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
