#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Crafts handshakes whose key-exchange claims do not hold, by editing bytes
of a real capture (issue 18: no stack sends them on purpose).

  kx_claims_craft.py SRC.pcap OUTDIR [SSH_SRC.pcap]

SRC is pcaps/tls13-x25519mlkem768.pcap (Node 24 / OpenSSL 3.5 on both
sides, X25519MLKEM768 selected). Each output keeps every packet and every
length; only a few bytes of the hellos change, the client port moves to its
own value (so the rows are not the source's connection) and the timestamps
move by a few minutes; the IPv4 and TCP checksums are computed again:

  tls13-share-size-crafted.pcap      the ClientHello's two key share labels
                                     swapped: "X25519MLKEM768" on the 32-byte
                                     x25519 key, "x25519" on the 1216-byte one
                                     (client port 58901)
  tls13-not-offered-crafted.pcap     the ServerHello's key_share group
                                     0x11ec -> 0x6399 (X25519Kyber768Draft00,
                                     the same 1120-byte size), which the
                                     client never offered (client port 58902)
  tls13-share-unlisted-crafted.pcap  supported_groups' x25519 (0x001d) ->
                                     ffdhe8192 (0x0104): the x25519 key share
                                     is for a group the list no longer has
                                     (client port 58903)

With SSH_SRC (pcaps/ssh-default-sntrup.pcap, Debian's OpenSSH 9.2 on both
sides, sntrup761x25519-sha512 negotiated):

  ssh-share-size-crafted.pcap        the client's SSH_MSG_KEX_ECDH_INIT says
                                     its Q_C is 1186 bytes, not 1190 (the
                                     last 4 bytes of the key become padding:
                                     string length - 4, padding_length + 4,
                                     packet_length unchanged; client port
                                     50999)
"""
import os
import struct
import sys

SRC_PORT = 58830
SSH_SRC_PORT = 50964


def read_pcap(path):
    data = open(path, "rb").read()
    assert struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4, "little-endian microsecond pcap"
    assert struct.unpack("<I", data[20:24])[0] == 1, "Ethernet"
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        recs.append([sec, usec, wirelen, bytearray(data[off + 16:off + 16 + caplen])])
        off += 16 + caplen
    return data[:24], recs


def write_pcap(path, header, recs):
    with open(path, "wb") as f:
        f.write(header)
        for sec, usec, wirelen, frame in recs:
            f.write(struct.pack("<IIII", sec, usec, len(frame), wirelen))
            f.write(frame)


def tcp_of(frame):
    """(ip offset, tcp offset, payload offset, end) of an IPv4 TCP frame, or None."""
    if struct.unpack(">H", frame[12:14])[0] != 0x0800 or frame[23] != 6:
        return None
    ip = 14
    tcp = ip + (frame[ip] & 15) * 4
    end = ip + struct.unpack(">H", frame[ip + 2:ip + 4])[0]
    return ip, tcp, tcp + (frame[tcp + 12] >> 4) * 4, end


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def fix_checksums(frame):
    ip, tcp, _, end = tcp_of(frame)
    frame[ip + 10:ip + 12] = b"\0\0"
    frame[ip + 10:ip + 12] = struct.pack(">H", csum(bytes(frame[ip:tcp])))
    frame[tcp + 16:tcp + 18] = b"\0\0"
    pseudo = frame[ip + 12:ip + 20] + struct.pack(">BBH", 0, 6, end - tcp)
    frame[tcp + 16:tcp + 18] = struct.pack(">H", csum(bytes(pseudo + frame[tcp:end])))


def stream_map(recs, from_client, client_port=SRC_PORT):
    """The direction's bytes, and for each stream offset the (record, frame
    offset) pairs that carry it (every copy: retransmissions too)."""
    isn, where = None, {}
    for i, (_, _, _, fr) in enumerate(recs):
        t = tcp_of(fr)
        if not t:
            continue
        ip, tcp, pay, end = t
        sport = struct.unpack(">H", fr[tcp:tcp + 2])[0]
        if (sport == client_port) != from_client:
            continue
        seq = struct.unpack(">I", fr[tcp + 4:tcp + 8])[0]
        if fr[tcp + 13] & 2:
            isn = seq + 1
            continue
        for k in range(end - pay):
            where.setdefault((seq - isn + k) & 0xffffffff, []).append((i, pay + k))
    data = bytes(recs[where[k][0][0]][3][where[k][0][1]] for k in range(len(where)))
    return data, where


def patch(recs, where, off, new):
    for k, b in enumerate(new):
        for i, fo in where[off + k]:
            recs[i][3][fo] = b


def hello_exts(data, msg_type):
    """Offset and bytes of the first handshake message of msg_type (one record)."""
    i = 0
    while i + 9 <= len(data):
        if data[i] == 22 and data[i + 5] == msg_type:
            return i + 9
        i += 5 + struct.unpack(">H", data[i + 3:i + 5])[0]
    raise SystemExit(f"no handshake message {msg_type}")


def extensions(data, body, client):
    """{type: (offset of the extension data, length)} of a hello at body."""
    i = body + 2 + 32
    i += 1 + data[i]
    if client:
        i += 2 + struct.unpack(">H", data[i:i + 2])[0]
        i += 1 + data[i]
    else:
        i += 3
    end = i + 2 + struct.unpack(">H", data[i:i + 2])[0]
    i += 2
    out = {}
    while i < end:
        t, n = struct.unpack(">HH", data[i:i + 4])
        out[t] = (i + 4, n)
        i += 4 + n
    return out


def retime_and_port(recs, port, shift_s, old=SRC_PORT):
    for r in recs:
        r[0] += shift_s
        t = tcp_of(r[3])
        if not t:
            continue
        _, tcp, _, _ = t
        for at in (tcp, tcp + 2):
            if struct.unpack(">H", r[3][at:at + 2])[0] == old:
                r[3][at:at + 2] = struct.pack(">H", port)
        fix_checksums(r[3])


def craft(src, out, kind):
    header, recs = read_pcap(src)
    c, cw = stream_map(recs, True)
    s, sw = stream_map(recs, False)
    ch = extensions(c, hello_exts(c, 1), True)
    if kind == "share-size":
        at, _ = ch[51]
        entries, i = [], at + 2
        while i < at + 2 + struct.unpack(">H", c[at:at + 2])[0]:
            g, n = struct.unpack(">HH", c[i:i + 4])
            entries.append((i, g, n))
            i += 4 + n
        assert [(g, n) for _, g, n in entries] == [(0x11ec, 1216), (0x001d, 32)], entries
        patch(recs, cw, entries[0][0], struct.pack(">H", 0x001d))
        patch(recs, cw, entries[1][0], struct.pack(">H", 0x11ec))
        port, shift = 58901, 60
    elif kind == "not-offered":
        sh = extensions(s, hello_exts(s, 2), False)
        at, _ = sh[51]
        assert struct.unpack(">HH", s[at:at + 4]) == (0x11ec, 1120)
        patch(recs, sw, at, struct.pack(">H", 0x6399))
        port, shift = 58902, 120
    else:
        at, n = ch[10]
        groups = [struct.unpack(">H", c[at + 2 + k:at + 4 + k])[0] for k in range(0, n - 2, 2)]
        k = groups.index(0x001d)
        assert 0x0104 not in groups
        patch(recs, cw, at + 2 + 2 * k, struct.pack(">H", 0x0104))
        port, shift = 58903, 180
    retime_and_port(recs, port, shift)
    write_pcap(out, header, recs)


def craft_ssh(src, out):
    header, recs = read_pcap(src)
    c, cw = stream_map(recs, True, SSH_SRC_PORT)
    i = c.index(b"\n", c.index(b"SSH-")) + 1
    seen_kexinit = False
    while i + 6 <= len(c):
        plen, pad, msg = struct.unpack(">IBB", c[i:i + 6])
        if msg == 20:
            seen_kexinit = True
        elif msg == 30 and seen_kexinit:
            qlen = struct.unpack(">I", c[i + 6:i + 10])[0]
            assert qlen == 1190 and pad + 4 <= 255, (qlen, pad)
            patch(recs, cw, i + 4, bytes([pad + 4]))
            patch(recs, cw, i + 6, struct.pack(">I", qlen - 4))
            break
        i += 4 + plen
    else:
        raise SystemExit("no KEX_ECDH_INIT")
    retime_and_port(recs, 50999, 240, SSH_SRC_PORT)
    write_pcap(out, header, recs)


def main():
    src, outdir = sys.argv[1:3]
    for kind, name in (("share-size", "tls13-share-size-crafted.pcap"),
                       ("not-offered", "tls13-not-offered-crafted.pcap"),
                       ("share-unlisted", "tls13-share-unlisted-crafted.pcap")):
        craft(src, os.path.join(outdir, name), kind)
        print(name)
    if len(sys.argv) > 3:
        craft_ssh(sys.argv[3], os.path.join(outdir, "ssh-share-size-crafted.pcap"))
        print("ssh-share-size-crafted.pcap")


if __name__ == "__main__":
    main()
