#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Rewrite an Ethernet (DLT_EN10MB) pcap into another link type.

usage: convert.py raw|null|null6-darwin IN.pcap OUT.pcap

  raw   -> LINKTYPE_RAW (101): the IP packet only
  null  -> LINKTYPE_NULL (0): 4-byte address family in the *file's* byte order
           (the writer's host order; this file is little-endian), AF_INET=2,
           AF_INET6=30 (Darwin value; BSDs use 24 or 28)
Non-IP frames (ARP) are dropped, VLAN tags are skipped.  Timestamps and
payloads are kept byte for byte.
"""
import struct
import sys

AF_INET6_DARWIN = 30


def read_pcap(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic == b'\xd4\xc3\xb2\xa1':
        bo, nsec = '<', False
    elif magic == b'\xa1\xb2\xc3\xd4':
        bo, nsec = '>', False
    elif magic == b'\x4d\x3c\xb2\xa1':
        bo, nsec = '<', True
    elif magic == b'\xa1\xb2\x3c\x4d':
        bo, nsec = '>', True
    else:
        raise SystemExit(f'{path}: not a classic pcap file')
    vmaj, vmin, tz, sig, snap, lt = struct.unpack(bo + 'HHiIII', data[4:24])
    off = 24
    pkts = []
    while off + 16 <= len(data):
        ts, tsf, incl, orig = struct.unpack(bo + 'IIII', data[off:off + 16])
        off += 16
        pkts.append((ts, tsf, orig, data[off:off + incl]))
        off += incl
    return dict(bo=bo, nsec=nsec, snap=snap, lt=lt), pkts


def write_pcap(path, lt, snap, pkts, nsec=False):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b23c4d if nsec else 0xa1b2c3d4, 2, 4, 0, 0, snap, lt))
        for ts, tsf, orig, b in pkts:
            f.write(struct.pack('<IIII', ts, tsf, len(b), orig) + b)


def eth_payload(frame):
    et = struct.unpack('!H', frame[12:14])[0]
    off = 14
    while et in (0x8100, 0x88a8, 0x9100):
        et = struct.unpack('!H', frame[off + 2:off + 4])[0]
        off += 4
    return et, frame[off:], off


def main():
    mode, src, dst = sys.argv[1:4]
    hdr, pkts = read_pcap(src)
    if hdr['lt'] != 1:
        raise SystemExit('input must be Ethernet')
    out = []
    for ts, tsf, orig, fr in pkts:
        et, ip, hl = eth_payload(fr)
        if et not in (0x0800, 0x86dd):
            continue
        if mode == 'raw':
            out.append((ts, tsf, orig - hl, ip))
        elif mode in ('null', 'null6-darwin'):
            af = 2 if et == 0x0800 else AF_INET6_DARWIN
            out.append((ts, tsf, orig - hl + 4, struct.pack('<I', af) + ip))
        else:
            raise SystemExit('unknown mode ' + mode)
    lt = {'raw': 101, 'null': 0, 'null6-darwin': 0}[mode]
    write_pcap(dst, lt, hdr['snap'], out, hdr['nsec'])


if __name__ == '__main__':
    main()
