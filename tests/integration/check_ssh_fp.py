#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""HASSH / HASSHServer, the kex suffix and the Q_C / Q_S sizes of every SSH
handshake in pcaps/ (the captures of expected-ssh.tsv), each derived here
from the capture bytes independently of kexwatch: the TCP streams are
reassembled (check_ja4.py's reader), the version lines skipped, the binary
packets walked up to NEWKEYS, and

  HASSH       = md5("kex;enc_c2s;mac_c2s;comp_c2s") of the client's KEXINIT
  HASSHServer = md5("kex;enc_s2c;mac_s2c;comp_s2c") of the server's KEXINIT

(the name-lists exactly as on the wire); once a method is agreed on, Q_C is the string of the first
SSH_MSG_KEX_ECDH_INIT (30), Q_S the second string of the first
SSH_MSG_KEX_ECDH_REPLY (31). The sizes must also be those the negotiated
method defines (RFC 8731, RFC 5656, sntrup761x25519, mlkem768x25519).

usage: check_ssh_fp.py KEXWATCH PCAPS_DIR EXPECTED_SSH_TSV
"""
import hashlib
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ja4 import streams  # noqa: E402

SIZES = {"curve25519-sha256": (32, 32), "curve25519-sha256@libssh.org": (32, 32),
         "sntrup761x25519-sha512": (1190, 1071),
         "sntrup761x25519-sha512@openssh.com": (1190, 1071),
         "mlkem768x25519-sha256": (1216, 1120), "ecdh-sha2-nistp256": (65, 65)}


def packets(stream):
    """Payloads of the unencrypted binary packets after the version line."""
    i = stream.find(b"SSH-")
    while i > 0 and stream[i - 1:i] != b"\n":
        i = stream.find(b"SSH-", i + 1)
    if i >= 0:
        i = stream.index(b"\n", i) + 1
    elif len(stream) > 5 and stream[5] == 20:
        i = 0  # picked up after the version line: a KEXINIT first
    else:
        return
    while i + 6 <= len(stream):
        plen, pad = struct.unpack(">IB", stream[i:i + 5])
        if i + 4 + plen > len(stream):
            return
        payload = stream[i + 5:i + 4 + plen - pad]
        yield payload
        if payload[0] == 21:  # NEWKEYS
            return
        i += 4 + plen


def namelists(payload):
    out, i = [], 17
    for _ in range(10):
        n = struct.unpack(">I", payload[i:i + 4])[0]
        out.append(payload[i + 4:i + 4 + n])
        i += 4 + n
    return out


def strings(payload, n):
    out, i = [], 1
    for _ in range(n):
        ln = struct.unpack(">I", payload[i:i + 4])[0]
        out.append(payload[i + 4:i + 4 + ln])
        i += 4 + ln
    return out


def side(stream, server):
    """(hassh, kex list, public value size) of one direction."""
    h = kex = None
    q = None
    for p in packets(stream):
        if p[0] == 20 and h is None:
            nl = namelists(p)
            picks = (0, 3, 5, 7) if server else (0, 2, 4, 6)
            h = hashlib.md5(b";".join(nl[k] for k in picks)).hexdigest()
            kex = nl[0].decode()
        elif p[0] == (31 if server else 30) and h is not None and q is None:
            q = len(strings(p, 2)[1] if server else strings(p, 1)[0])
    return h, kex, q


def main():
    kexwatch, pcaps, tsv = sys.argv[1:4]
    names = []
    for line in open(tsv):
        c = line.split("\t")[0].strip()
        if c and c != "file" and not c.startswith("#") and c not in names:
            names.append(c)
    bad, n = [], 0
    for name in names:
        path = os.path.join(pcaps, name)
        out = subprocess.run([kexwatch, "read", "--no-db", "--no-ndpi", "--json", "-", path],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{name}: kexwatch exit {out.returncode}: {out.stderr}")
        st = streams(path)
        for l in out.stdout.splitlines():
            e = json.loads(l)
            if e["event_type"] == "run":
                continue
            if e["protocol"] != "ssh":
                continue
            n += 1
            cip, cp, sip, sp = e["client_ip"], e["client_port"], e["server_ip"], e["server_port"]
            ch, ckex, qc = side(st.get((cip, cp, sip, sp), b""), False)
            sh, _, qs = side(st.get((sip, sp, cip, cp), b""), True)
            where = f"{name} {cip}:{cp}"
            if not e["group_name"]:
                # No method agreed on (a KEXINIT unseen, no common kex): the
                # sizes have nothing to be checked against and are not kept.
                qc = qs = None
            want_sizes = [[qc]] if qc is not None else []
            for what, got, want in (("hassh", e["hassh"], ch), ("hassh_server", e["hassh_server"], sh),
                                    ("kx_fp", e["kx_fp"], ckex),
                                    ("key_share_sizes", e["key_share_sizes"], want_sizes),
                                    ("server_share_size", e["server_share_size"], qs)):
                if got != want:
                    bad.append(f"{where}: {what}: kexwatch {got!r}, derived {want!r}")
            kex = e["group_name"]
            if kex in SIZES and qc is not None and qs is not None:
                right = (qc, qs) == SIZES[kex]
                if name.endswith("-crafted.pcap"):
                    # edited by kx_claims_craft.py: a Q_C 4 bytes short
                    if right or e["verdict"] != "unknown" or e["reason"] != "share-size" or \
                            e["kx_anomalies"] != ["client-share-size"]:
                        bad.append(f"{where}: Q_C/Q_S {qc}/{qs}: {e['verdict']}/{e['reason']} "
                                   f"{e['kx_anomalies']}, want unknown/share-size")
                elif not right:
                    bad.append(f"{where}: {kex}: Q_C/Q_S {qc}/{qs}, the method says {SIZES[kex]}")
                elif e["kx_anomalies"] or e["reason"] == "share-size":
                    bad.append(f"{where}: right sizes flagged: {e['kx_anomalies']}")
    print(f"{n} SSH handshakes in {len(names)} captures: HASSH, HASSHServer, kex suffix and "
          f"Q_C/Q_S sizes derived from the bytes")
    if not n or bad:
        print("\n".join(bad) or "no SSH handshake found")
        sys.exit(1)


if __name__ == "__main__":
    main()
