#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Send a flood of hand-built IPv4/TCP SYN frames out of one interface
through AF_PACKET (no scapy, no tcpreplay): every frame has its own source
address and port, so each one is a new flow for a passive monitor.

usage: synflood.py IFACE --dst-mac MAC [--count N] [--pps R]
                   [--dst IP] [--dport P] [--half-file FILE] [--until-file FILE]

Sources are 10.0.0.1 + i (i = 0 .. N-1) with port 1024 + i % 64000; the
destination defaults to 203.0.113.1:443 (TEST-NET-3), an address the
receiving namespace does not own, so its kernel drops the SYNs without
answering (no ARP, no RST storm). IP and TCP checksums are correct
(computed incrementally). --pps paces the sending in bursts of 1000 frames;
--half-file is created once half of the frames are out (so a caller can
start real traffic in the middle of the flood); with --until-file the flood
goes on after N frames until that file exists (at most 30 s more), so the
real traffic is surely inside it. Prints one summary line.
"""
import argparse
import os
import socket
import struct
import sys
import time


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--pps", type=float, default=0.0)
    ap.add_argument("--dst", default="203.0.113.1")
    ap.add_argument("--dport", type=int, default=443)
    ap.add_argument("--half-file")
    ap.add_argument("--until-file")
    a = ap.parse_args()

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    src_mac = s.getsockname()[4]
    eth = mac_bytes(a.dst_mac) + src_mac + b"\x08\x00"
    dst_ip = socket.inet_aton(a.dst)
    dst_w = struct.unpack("!HH", dst_ip)

    # IPv4 header without source address, id and checksum (filled per frame).
    ip_base = fold(0x4500 + 40 + 0x4000 + (64 << 8 | 6) + dst_w[0] + dst_w[1])
    # TCP: window 64240, SYN, data offset 5; pseudo header: proto 6, length 20.
    tcp_base = fold(a.dport + (5 << 12 | 0x02) + 64240 + 6 + 20 + dst_w[0] + dst_w[1])

    base_ip = 0x0A000001
    half = a.count // 2
    burst = 1000
    t0 = time.monotonic()
    sent = 0
    errors = 0
    pack = struct.pack
    i = -1
    while True:
        i += 1
        if i >= a.count:
            if not a.until_file:
                break
            if i % burst == 0 and (os.path.exists(a.until_file) or
                                   time.monotonic() - t0 > a.count / (a.pps or 1e5) + 30):
                break
        src = base_ip + i % 16000000
        sh, sl = src >> 16, src & 0xFFFF
        ident = i & 0xFFFF
        sport = 1024 + i % 64000
        seq = (i * 2654435761) & 0xFFFFFFFF
        ipc = 0xFFFF - fold(ip_base + ident + sh + sl)
        tcpc = 0xFFFF - fold(tcp_base + sh + sl + sport + (seq >> 16) + (seq & 0xFFFF))
        frame = (eth +
                 pack("!BBHHHBBHI4s", 0x45, 0, 40, ident, 0x4000, 64, 6, ipc, src, dst_ip) +
                 pack("!HHIIBBHHH", sport, a.dport, seq, 0, 5 << 4, 0x02, 64240, tcpc, 0))
        try:
            s.send(frame)
            sent += 1
        except (BlockingIOError, OSError):
            errors += 1
            time.sleep(0.001)
        if a.half_file and i + 1 == half:
            open(a.half_file, "w").close()
        if a.pps and (i + 1) % burst == 0:
            ahead = (i + 1) / a.pps - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    dt = time.monotonic() - t0
    print(f"synflood: {sent} frames sent, {errors} send errors, {dt:.2f} s, "
          f"{sent / dt if dt else 0:.0f} frames/s")
    return 0 if sent else 1


if __name__ == "__main__":
    sys.exit(main())
