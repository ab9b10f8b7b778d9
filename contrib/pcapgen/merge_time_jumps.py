#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Concatenate real captures into one pcap whose timestamps jump years
forward and back between records, as merged or re-stamped captures from
other tools do (mergecap -a, editcap -t, a sensor whose clock was set).

usage: merge_time_jumps.py OUT.pcap IN1.pcap:SHIFT IN2.pcap:SHIFT ...

Each input's records are copied byte for byte, in order, with SHIFT seconds
(an integer, may be negative) added to every timestamp. The inputs must be
classic little-endian microsecond pcaps of the same link type; the output
header is the first input's with the largest snap length. Deterministic:
the same inputs give the same bytes.
"""
import struct
import sys


def read(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\xd4\xc3\xb2\xa1':
        sys.exit(f'{path}: not a little-endian microsecond pcap')
    snap, link = struct.unpack_from('<II', data, 16)
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack_from('<IIII', data, off)
        if off + 16 + caplen > len(data):
            sys.exit(f'{path}: cut in the middle of a record')
        recs.append((sec, usec, caplen, wirelen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    if off != len(data):
        sys.exit(f'{path}: trailing bytes')
    return data[:24], snap, link, recs


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    if not specs:
        sys.exit(__doc__)
    header, snap_max, link0, body = None, 0, None, []
    for spec in specs:
        path, _, shift = spec.rpartition(':')
        shift = int(shift)
        hdr, snap, link, recs = read(path)
        if header is None:
            header, link0 = hdr, link
        if link != link0:
            sys.exit(f'{path}: link type {link}, the first input has {link0}')
        snap_max = max(snap_max, snap)
        for sec, usec, caplen, wirelen, frame in recs:
            t = sec + shift
            if not 0 <= t < 1 << 32:
                sys.exit(f'{path}: shifted timestamp {t} outside 32 bits')
            body.append(struct.pack('<IIII', t, usec, caplen, wirelen) + frame)
    header = header[:16] + struct.pack('<I', snap_max) + header[20:]
    with open(out, 'wb') as f:
        f.write(header + b''.join(body))


if __name__ == '__main__':
    main()
