#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hand-built DTLS 1.3 captures (RFC 9147): no stack on Debian 12 speaks DTLS
1.3, so the bytes are made here, field by field, from the RFC, and written as
Ethernet/IPv4/UDP frames into classic pcap files. Key shares and ciphertext
are deterministic pseudo-random bytes of the right sizes (X25519MLKEM768:
1216 bytes from the client, 1120 from the server, RFC 9180-style
concatenation as in draft-ietf-tls-ecdhe-mlkem; x25519: 32), nothing here is
a working key exchange: kexwatch only reads which groups are offered and
selected.

  dtls13-hybrid-synthetic.pcap  ClientHello (supported_versions 0xfefc,
      groups X25519MLKEM768, x25519, secp256r1; shares X25519MLKEM768 +
      x25519, ~1.5 KB) in two fragments / two datagrams (client PMTU 1000),
      record version 0xfeff as RFC 9147 section 4 allows for the first
      ClientHello; ServerHello selecting X25519MLKEM768 plus the server's next
      flight as DTLSCiphertext (unified header 0x2e: no connection ID, 16-bit
      sequence number, length present, epoch 2); the client's encrypted
      Finished and an ACK (epoch 3, unified header without a length).
  dtls13-hrr-synthetic.pcap  ClientHello offering x25519 and X25519MLKEM768
      with an x25519 share only; HelloRetryRequest (message_seq 0) asking for
      X25519MLKEM768 with a cookie extension; the second ClientHello
      (message_seq 1) echoing the cookie with the 1216-byte share, in two
      fragments; ServerHello (message_seq 1) selecting X25519MLKEM768.

usage: dtls13_craft.py OUTDIR
"""
import os
import random
import struct
import sys

CLIENT = ('198.18.0.10', '02:6b:78:00:00:10')
SERVER = ('198.18.0.20', '02:6b:78:00:00:20')
DPORT = 4433
T0 = 1796515200  # 2026-12-06T00:00:00Z
HRR_RANDOM = bytes.fromhex('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c')
DTLS12, DTLS10, DTLS13 = 0xfefd, 0xfeff, 0xfefc
X25519MLKEM768, X25519, SECP256R1 = 0x11ec, 0x001d, 0x0017

rng = random.Random(9147)


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def u8(v): return struct.pack('>B', v)
def u16(v): return struct.pack('>H', v)
def u24(v): return struct.pack('>I', v)[1:]
def vec8(b): return u8(len(b)) + b
def vec16(b): return u16(len(b)) + b


def ext(t, body):
    return u16(t) + vec16(body)


def client_hello(shares, groups, sni, cookie=None, random32=None):
    """RFC 9147 section 5.3: legacy_version {254,253}, empty legacy_session_id
    and legacy_cookie; supported_versions lists DTLS 1.3 first."""
    exts = ext(0, vec16(u8(0) + vec16(sni.encode())))
    exts += ext(10, vec16(b''.join(u16(g) for g in groups)))
    exts += ext(13, vec16(b''.join(u16(s) for s in (0x0403, 0x0804, 0x0401))))
    exts += ext(43, vec8(u16(DTLS13) + u16(DTLS12)))
    exts += ext(45, vec8(u8(1)))  # psk_dhe_ke
    exts += ext(51, vec16(b''.join(u16(g) + vec16(k) for g, k in shares)))
    if cookie is not None:
        exts += ext(44, vec16(cookie))
    body = u16(DTLS12) + (random32 or rnd(32)) + vec8(b'') + vec8(b'')
    body += vec16(u16(0x1301) + u16(0x1302) + u16(0x1303)) + vec8(u8(0)) + vec16(exts)
    return body


def server_hello(group, key=None, cookie=None, hrr=False):
    """RFC 9147 section 5.4 / RFC 8446 section 4.1.3-4.1.4: a
    HelloRetryRequest is a ServerHello with the special random and a
    key_share holding only the selected group."""
    exts = ext(43, u16(DTLS13))
    exts += ext(51, u16(group) if hrr else u16(group) + vec16(key))
    if cookie is not None:
        exts += ext(44, vec16(cookie))
    return u16(DTLS12) + (HRR_RANDOM if hrr else rnd(32)) + vec8(b'') + u16(0x1301) + u8(0) + vec16(exts)


def fragments(msg_type, seq, body, size):
    """DTLS handshake fragments (RFC 9147 section 5.2) of at most `size` body bytes."""
    out = []
    off = 0
    while True:
        n = min(size, len(body) - off)
        out.append(u8(msg_type) + u24(len(body)) + u16(seq) + u24(off) + u24(n) + body[off:off + n])
        off += n
        if off >= len(body):
            return out


def record(ctype, version, epoch, seq, payload):
    """DTLSPlaintext (RFC 9147 section 4): epoch and 48-bit sequence number."""
    return u8(ctype) + u16(version) + u16(epoch) + struct.pack('>Q', seq)[2:] + vec16(payload)


def unified(epoch, seq, payload, length=True):
    """DTLSCiphertext unified header: 001CSLEE, C=0, S=1 (16-bit seq), L."""
    b0 = 0x20 | 0x08 | (0x04 if length else 0) | (epoch & 3)
    return u8(b0) + u16(seq & 0xffff) + (vec16(payload) if length else payload)


def mac(s):
    return bytes(int(x, 16) for x in s.split(':'))


def ip4(s):
    return bytes(int(x) for x in s.split('.'))


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Pcap:
    def __init__(self, path, sport, t0):
        self.sport, self.t0 = sport, t0
        self.f = open(path, 'wb')
        self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        self.ipid = {CLIENT: 0x1000, SERVER: 0x2000}

    def udp(self, t_us, src, dst, payload):
        sport, dport = (self.sport, DPORT) if src is CLIENT else (DPORT, self.sport)
        udp = struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload
        pseudo = ip4(src[0]) + ip4(dst[0]) + struct.pack('>BBH', 0, 17, len(udp))
        c = csum(pseudo + udp) or 0xffff
        udp = udp[:6] + u16(c) + udp[8:]
        self.ipid[src] += 1
        hdr = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), self.ipid[src], 0x4000, 64, 17, 0,
                          ip4(src[0]), ip4(dst[0]))
        hdr = hdr[:10] + u16(csum(hdr)) + hdr[12:]
        frame = mac(dst[1]) + mac(src[1]) + u16(0x0800) + hdr + udp
        self.f.write(struct.pack('<IIII', self.t0 + t_us // 1000000, t_us % 1000000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


# Each capture its own client port and minute: read together they are two
# handshakes, not one seen twice.
def hybrid(path):
    p = Pcap(path, 50913, T0)
    ch = client_hello([(X25519MLKEM768, rnd(1216)), (X25519, rnd(32))],
                      [X25519MLKEM768, X25519, SECP256R1], 'dtls13-hybrid.kx.test')
    for i, frag in enumerate(fragments(1, 0, ch, 1000)):
        p.udp(1000 + i * 40, CLIENT, SERVER, record(22, DTLS10, 0, i, frag))
    sh = server_hello(X25519MLKEM768, rnd(1120))
    flight = record(22, DTLS12, 0, 0, fragments(2, 0, sh, 1 << 20)[0])
    flight += unified(2, 0, rnd(180))  # EncryptedExtensions .. Finished
    p.udp(3500, SERVER, CLIENT, flight)
    p.udp(6000, CLIENT, SERVER, unified(2, 0, rnd(48)) + unified(3, 0, rnd(24), length=False))
    p.close()


def hrr(path):
    p = Pcap(path, 50914, T0 + 60)
    # RFC 8446 section 4.1.2: the second ClientHello is the first with a new
    # key_share and the cookie; the random stays.
    crandom = rnd(32)
    ch1 = client_hello([(X25519, rnd(32))], [X25519, X25519MLKEM768], 'dtls13-hrr.kx.test',
                       random32=crandom)
    p.udp(1000, CLIENT, SERVER, record(22, DTLS10, 0, 0, fragments(1, 0, ch1, 1 << 20)[0]))
    cookie = rnd(32)
    h = server_hello(X25519MLKEM768, cookie=cookie, hrr=True)
    p.udp(1800, SERVER, CLIENT, record(22, DTLS12, 0, 0, fragments(2, 0, h, 1 << 20)[0]))
    ch2 = client_hello([(X25519MLKEM768, rnd(1216))], [X25519, X25519MLKEM768], 'dtls13-hrr.kx.test',
                       cookie=cookie, random32=crandom)
    for i, frag in enumerate(fragments(1, 1, ch2, 1000)):
        p.udp(2600 + i * 40, CLIENT, SERVER, record(22, DTLS12, 0, 1 + i, frag))
    sh = server_hello(X25519MLKEM768, rnd(1120))
    flight = record(22, DTLS12, 0, 1, fragments(2, 1, sh, 1 << 20)[0]) + unified(2, 0, rnd(180))
    p.udp(5200, SERVER, CLIENT, flight)
    p.udp(7400, CLIENT, SERVER, unified(2, 0, rnd(48)))
    p.close()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'pcaps')
    hybrid(os.path.join(out, 'dtls13-hybrid-synthetic.pcap'))
    hrr(os.path.join(out, 'dtls13-hrr-synthetic.pcap'))


if __name__ == '__main__':
    main()
