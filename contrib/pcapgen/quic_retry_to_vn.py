#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Turn a real QUIC capture with a Retry into one with Version Negotiation.

usage: quic_retry_to_vn.py IN.pcap OUT.pcap

No stack here starts over after Version Negotiation (ngtcp2 0.12's example
client gives up, and no server here refuses v1), but a capture with a Retry
already shows what a restart looks like on the wire: the client's next
Initial goes to a new Destination Connection ID and both directions' keys
come from that. This script replaces the payload of the first Retry
datagram (server -> client, Ethernet/IPv4/UDP) with a Version Negotiation
packet (RFC 9000 section 17.2.1) answering the client's first Initial:
DCID = the client's SCID, SCID = the client's first DCID, one supported
version, 0x709a50c4 (the client goes on in v1 in the capture, which a real
client would not do after this list; the observer does not care). The IPv4
and UDP lengths and checksums are recomputed; every other record is copied
byte for byte.
"""
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack(f'!{len(data) // 2}H', data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    src, dst = sys.argv[1:3]
    data = open(src, 'rb').read()
    if data[:4] != b'\xd4\xc3\xb2\xa1' or struct.unpack_from('<I', data, 20)[0] != 1:
        sys.exit(f'{src}: want a little-endian microsecond Ethernet pcap')
    out, off, first_dcid, done = [data[:24]], 24, None, False
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack_from('<IIII', data, off)
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if not done and frame[12:14] == b'\x08\x00' and frame[23] == 17:
            ihl = (frame[14] & 15) * 4
            ip, udp = frame[14:14 + ihl], frame[14 + ihl:]
            q = udp[8:]
            if q and q[0] & 0x80 and q[1:5] == b'\0\0\0\1':
                ptype = (q[0] >> 4) & 3
                dcid = q[6:6 + q[5]]
                if ptype == 0 and first_dcid is None:
                    first_dcid = dcid
                elif ptype == 3 and first_dcid is not None:
                    vn = (bytes([0xca]) + b'\0\0\0\0' + bytes([len(dcid)]) + dcid +
                          bytes([len(first_dcid)]) + first_dcid + struct.pack('!I', 0x709a50c4))
                    ulen = 8 + len(vn)
                    ip = ip[:2] + struct.pack('!H', ihl + ulen) + ip[4:10] + b'\0\0' + ip[12:]
                    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
                    pseudo = ip[12:20] + struct.pack('!BBH', 0, 17, ulen)
                    u = udp[:4] + struct.pack('!H', ulen) + b'\0\0' + vn
                    c = csum(pseudo + u) or 0xffff
                    u = u[:6] + struct.pack('!H', c) + u[8:]
                    frame = frame[:14] + ip + u
                    caplen = wirelen = len(frame)
                    done = True
        out.append(struct.pack('<IIII', sec, usec, caplen, wirelen) + frame)
    if not done:
        sys.exit(f'{src}: no Retry after a client Initial')
    with open(dst, 'wb') as f:
        f.write(b''.join(out))


if __name__ == '__main__':
    main()
