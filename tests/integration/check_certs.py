#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The server certificate fields of every TLS 1.2 / DTLS 1.2 handshake in
pcaps/ whose certificate is visible, against tests/data/expected-certs.tsv
(what the generators made: contrib/pcapgen/certs.sh, dtls.sh, targets.sh),
and each expected line against the capture itself: the leaf certificate is
cut out of the reassembled TCP stream or the reassembled DTLS fragments and
read by `openssl x509`, the ServerKeyExchange's SignatureAndHashAlgorithm
from its bytes. TLS 1.3 handshakes must say "encrypted" and name nothing.

usage: check_certs.py KEXWATCH PCAPS_DIR EXPECTED_CERTS_TSV
"""
import json
import os
import re
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ja4 import handshake_messages, read_pcap, streams  # noqa: E402

KEY = {"rsaEncryption": "rsa", "rsassaPss": "rsa-pss", "id-ecPublicKey": "ec",
       "ED25519": "ed25519", "ED448": "ed448", "dsaEncryption": "dsa"}
CURVE = {"prime256v1": "secp256r1", "secp384r1": "secp384r1", "secp521r1": "secp521r1"}
# RFC 8410: the key is the whole bit string (32 / 57 bytes)
ED_BITS = {"ed25519": 256, "ed448": 456}
SIG = {0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512",
       0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384",
       0x0603: "ecdsa_secp521r1_sha512", 0x0804: "rsa_pss_rsae_sha256",
       0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512", 0x0807: "ed25519",
       0x0808: "ed448", 0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1"}


def udp_datagrams(path):
    link, frames = read_pcap(path)
    for f in frames:
        if link != 1 or struct.unpack(">H", f[12:14])[0] != 0x0800 or f[23] != 17:
            continue
        ip = 14
        udp = ip + (f[ip] & 15) * 4
        src = ".".join(map(str, f[ip + 12:ip + 16]))
        dst = ".".join(map(str, f[ip + 16:ip + 20]))
        sport, dport, ln = struct.unpack(">HHH", f[udp:udp + 6])
        yield src, sport, dst, dport, f[udp + 8:udp + ln]


def dtls_messages(path, src, sport):
    """(type, body) of the first copy of each handshake message a DTLS side sent in epoch 0."""
    msgs = {}
    for s, sp, _, _, d in udp_datagrams(path):
        if (s, sp) != (src, sport):
            continue
        i = 0
        while i + 13 <= len(d):
            ctype, _, epoch = d[i], d[i + 1:i + 3], struct.unpack(">H", d[i + 3:i + 5])[0]
            ln = struct.unpack(">H", d[i + 11:i + 13])[0]
            body = d[i + 13:i + 13 + ln]
            i += 13 + ln
            if ctype != 22 or epoch != 0:
                continue
            j = 0
            while j + 12 <= len(body):
                t = body[j]
                mlen = int.from_bytes(body[j + 1:j + 4], "big")
                seq = struct.unpack(">H", body[j + 4:j + 6])[0]
                off = int.from_bytes(body[j + 6:j + 9], "big")
                flen = int.from_bytes(body[j + 9:j + 12], "big")
                m = msgs.setdefault(seq, [t, bytearray(mlen), set()])
                m[1][off:off + flen] = body[j + 12:j + 12 + flen]
                m[2].update(range(off, off + flen))
                j += 12 + flen
    for seq in sorted(msgs):
        t, b, have = msgs[seq]
        if len(have) == len(b):
            yield t, bytes(b)


def derive(path, cip, cport, sip, sport, dtls):
    if dtls:
        msgs = list(dtls_messages(path, sip, int(sport)))
    else:
        st = streams(path).get((sip, int(sport), cip, int(cport)), b"")
        msgs = list(handshake_messages(st))
    sh = next((b for t, b in msgs if t == 2), None)
    cert = next((b for t, b in msgs if t == 11), None)
    ske = next((b for t, b in msgs if t == 12), None)
    if not sh or not cert:
        return None
    leaf = cert[6:6 + int.from_bytes(cert[3:6], "big")]
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=leaf,
                          capture_output=True, check=True).stdout.decode()
    key = KEY[re.search(r"Public Key Algorithm: (\S+)", text).group(1)]
    m = re.search(r"Public-Key: \((\d+) bit\)", text)
    bits = int(m.group(1)) if m else ED_BITS[key]
    m = re.search(r"ASN1 OID: (\S+)", text)
    curve = CURVE[m.group(1)] if m else ""
    sig = re.search(r"Signature Algorithm: (\S+)", text).group(1)
    ske_sig = ""
    version = struct.unpack(">H", sh[:2])[0]
    if ske and version in (0x0303, 0xfefd) and ske[0] == 3:  # named_curve ECDHE
        at = 4 + ske[3]
        ske_sig = SIG.get(struct.unpack(">H", ske[at:at + 2])[0], "?")
    return [key, str(bits), curve, sig, ske_sig]


def main():
    kexwatch, pcaps, tsv = sys.argv[1:4]
    want = []
    for line in open(tsv):
        if line.startswith("#") or not line.strip():
            continue
        cols = line.rstrip("\n").split("\t")
        if cols[0] != "file":
            want.append(cols + [""] * (7 - len(cols)))
    names = sorted({w[0] for w in want} | {f for f in os.listdir(pcaps) if f.startswith("tls13-x")})
    events = {}
    for name in names:
        out = subprocess.run([kexwatch, "read", "--no-db", "--no-ndpi", "--json", "-",
                              os.path.join(pcaps, name)], capture_output=True, text=True, check=True)
        for l in out.stdout.splitlines():
            e = json.loads(l)
            if e["event_type"] == "run":
                continue
            events[(name, str(e["client_port"]))] = e
    bad = []
    for name, cport, key, bits, curve, sig, ske in want:
        e = events.get((name, cport))
        where = f"{name} :{cport}"
        if not e:
            bad.append(f"{where}: no event")
            continue
        got = [e["cert_key"] or "", str(e["cert_key_bits"] or ""), e["cert_curve"] or "",
               e["cert_sig"] or "", e["ske_sigalg_name"] or ""]
        if e["cert_status"] != "seen" or got != [key, bits, curve, sig, ske]:
            bad.append(f"{where}: kexwatch {e['cert_status']} {got}, want {[key, bits, curve, sig, ske]}")
        d = derive(os.path.join(pcaps, name), e["client_ip"], cport, e["server_ip"],
                   e["server_port"], e["protocol"] == "dtls")
        if d != [key, bits, curve, sig, ske]:
            bad.append(f"{where}: the capture says {d}, the expected file {[key, bits, curve, sig, ske]}")
    n13 = 0
    for (name, _), e in events.items():
        if e["version"] == "TLS1.3":
            n13 += 1
            if e["cert_status"] != "encrypted" or e["cert_key"] or e["cert_sig"]:
                bad.append(f"{name}: TLS 1.3 certificate must stay unknown: {e['cert_status']}")
    # A certificate larger than --max-message-bytes is left unread, never
    # fatal: the handshake row and the ServerKeyExchange stay.
    for name, cap in (("tls12-openssl-rsa.pcap", "600"), ("dtls12-openssl-fragmented.pcap", "512")):
        out = subprocess.run([kexwatch, "read", "--no-db", "--no-ndpi", "--max-message-bytes", cap,
                              "--json", "-", os.path.join(pcaps, name)],
                             capture_output=True, text=True, check=True)
        ev = [e for e in map(json.loads, out.stdout.splitlines()) if e["event_type"] != "run"]
        ev = [e for e in ev if e["cert_status"] not in (None, "encrypted")]
        if len(ev) != 1 or ev[0]["cert_status"] != "too-big" or ev[0]["verdict"] != "classical" \
                or ev[0]["reason"] != "tls12" or not ev[0]["ske_sigalg_name"]:
            bad.append(f"{name} --max-message-bytes {cap}: "
                       f"{[(e['cert_status'], e['verdict'], e['reason'], e['ske_sigalg_name']) for e in ev]}")
    print(f"{len(want)} certificates compared (kexwatch and openssl x509 on the captured leaf); "
          f"{n13} TLS 1.3 handshakes say encrypted")
    if bad or not want:
        print("\n".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
