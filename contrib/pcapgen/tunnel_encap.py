#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A userspace tunnel endpoint for the kernels that lack the driver.

Creates a TUN (IP inside) or TAP (Ethernet inside) device, reads what the
namespace's own stack sends into it, wraps each packet or frame in the
tunnel header and sends it to the peer; what arrives from the peer is
unwrapped and written back into the device. Where the tunnel rides on IP,
the kernel builds the outer IP header (raw IP socket for protocols 4, 41 and
47) or the outer IP/UDP headers (UDP socket for GENEVE); MPLS and PPPoE ride
on Ethernet, so their frames, Ethernet header included, are built here and
sent on the underlay interface through an AF_PACKET socket.

  tunnel_encap.py MODE --dev kt0 [--local ADDR --remote ADDR]
                  [--underlay DEV --peer-mac MAC] [--side client|server] [--ready FILE]

modes (header layouts as in RFC 2784/2890, RFC 8926, draft-foschiano-erspan,
RFC 2003/4213/2473, RFC 3032, RFC 2516):
  geneve    UDP 6081, VNI 7, one option TLV (class 0xff01, type 0x01, 4 bytes), Ethernet inside (TAP)
  gre       GRE with checksum, key 5 and sequence numbers, IPv4 inside (TUN)
  gretap    GRE 0x6558, no options, Ethernet inside (TAP)
  erspan2   GRE (sequence numbers) 0x88be + ERSPAN type II header, session 7, Ethernet inside (TAP)
  erspan3   GRE (sequence numbers) 0x22eb + ERSPAN type III header, session 8, with the
            optional platform-specific subheader, Ethernet inside (TAP)
  ipip      IPv4 in IPv4 (protocol 4)          6in4  IPv6 in IPv4 (protocol 41)
  4in6      IPv4 in IPv6 (next header 4)       6in6  IPv6 in IPv6 (next header 41)
  mpls      Ethernet 0x8847, two labels: client->server 100/200, server->client 101/201
            (labels are per direction, as LSPs are), IPv4 inside (TUN)
  pppoe     Ethernet 0x8864 session stage, session 0x1234, PPP 0x0021, IPv4 inside (TUN);
            no discovery stage: the session is taken as set up
"""
import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454ca
IFF_TUN, IFF_TAP, IFF_NO_PI = 0x0001, 0x0002, 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

ETH_MODES = {'geneve', 'gretap', 'erspan2', 'erspan3'}
GRE_MODES = {'gre', 'gretap', 'erspan2', 'erspan3'}
L2_MODES = {'mpls': 0x8847, 'pppoe': 0x8864}
IP_PROTO = {'ipip': (socket.AF_INET, 4), '6in4': (socket.AF_INET, 41),
            '4in6': (socket.AF_INET6, 4), '6in6': (socket.AF_INET6, 41)}


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def open_tun(name, tap):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), (IFF_TAP if tap else IFF_TUN) | IFF_NO_PI))
    return fd


class Tunnel:
    def __init__(self, o):
        self.o = o
        self.seq = 0
        self.t0 = time.monotonic()
        m = o.mode
        if m == 'geneve':
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((o.local, 6081))
        elif m in GRE_MODES:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
        elif m in IP_PROTO:
            fam, proto = IP_PROTO[m]
            self.sock = socket.socket(fam, socket.SOCK_RAW, proto)
        else:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((o.underlay, 0))
            self.mac = open(f'/sys/class/net/{o.underlay}/address').read().strip()

    # ---- wrap: inner packet/frame -> what goes on the underlay socket ----
    def gre(self, proto, flags, extra=b''):
        c, k, s = flags & 0x8000, flags & 0x2000, flags & 0x1000
        opt = b''
        if k:
            opt += struct.pack('!I', 5)
        if s:
            self.seq += 1
            opt += struct.pack('!I', self.seq)
        body = opt + extra
        if c:
            head = struct.pack('!HHHH', flags, proto, 0, 0)
            return head, body
        return struct.pack('!HH', flags, proto), body

    def wrap(self, pkt):
        m, server = self.o.mode, self.o.side == 'server'
        if m == 'geneve':
            opt = struct.pack('!HBB', 0xff01, 0x01, 1) + b'kxgv'
            return struct.pack('!BBHI', len(opt) // 4, 0, 0x6558, 7 << 8) + opt + pkt
        if m == 'gre':
            head, body = self.gre(0x0800, 0xb000)
            cs = csum(head + body + pkt)
            return head[:4] + struct.pack('!HH', cs, 0) + body + pkt
        if m == 'gretap':
            head, body = self.gre(0x6558, 0)
            return head + body + pkt
        if m == 'erspan2':
            head, body = self.gre(0x88be, 0x1000)
            # ver 1, VLAN 0 | COS 0, En 0, T 0, session 7 | reserved, index (port 1)
            ers = struct.pack('!HHI', 1 << 12, 7, 1)
            return head + body + ers + pkt
        if m == 'erspan3':
            head, body = self.gre(0x22eb, 0x1000)
            ts = int((time.monotonic() - self.t0) * 1e7) & 0xffffffff   # 100 ns units (Gra 01)
            # P 0, FT 0 (Ethernet), HwID 1, D (0 ingress / 1 egress), Gra 01, O 1
            bits = (1 << 4) | ((1 if server else 0) << 3) | (1 << 1) | 1
            ers = struct.pack('!HHIHH', 2 << 12, 8, ts, 0, bits)
            # platform-specific subheader: platform id 3, port index 1, upper timestamp 0
            ers += struct.pack('!II', (3 << 26) | 1, 0)
            return head + body + ers + pkt
        if m in IP_PROTO:
            return pkt
        if m == 'mpls':
            top, bottom = (101, 201) if server else (100, 200)
            return struct.pack('!II', top << 12 | 64, bottom << 12 | 0x100 | 64) + pkt
        if m == 'pppoe':
            ppp = struct.pack('!H', 0x0021) + pkt
            return struct.pack('!BBHH', 0x11, 0, 0x1234, len(ppp)) + ppp
        raise ValueError(m)

    def send(self, pkt):
        data = self.wrap(pkt)
        m = self.o.mode
        if m == 'geneve':
            self.sock.sendto(data, (self.o.remote, 6081))
        elif m in GRE_MODES or m in IP_PROTO:
            self.sock.sendto(data, (self.o.remote, 0))
        else:
            eth = bytes.fromhex(self.o.peer_mac.replace(':', '')) + bytes.fromhex(self.mac.replace(':', ''))
            self.sock.send(eth + struct.pack('!H', L2_MODES[m]) + data)

    # ---- unwrap: what the underlay socket gave -> inner packet/frame, or None ----
    def recv(self):
        m = self.o.mode
        if m == 'geneve':
            data, addr = self.sock.recvfrom(65535)
            if addr[0] != self.o.remote or len(data) < 8:
                return None
            return data[8 + (data[0] & 0x3f) * 4:]
        if m in GRE_MODES or m in IP_PROTO:
            data, addr = self.sock.recvfrom(65535)
            if addr[0] != self.o.remote:
                return None
            if self.sock.family == socket.AF_INET:   # IPv4 raw sockets include the IP header
                data = data[(data[0] & 0x0f) * 4:]
            if m in IP_PROTO:
                return data
            flags, proto = struct.unpack('!HH', data[:4])
            n = 4 + (4 if flags & 0x8000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x1000 else 0)
            if proto == 0x88be:
                n += 8
            elif proto == 0x22eb:
                n += 12 + (8 if data[n + 11] & 1 else 0)
            return data[n:]
        fr, addr = self.sock.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING or struct.unpack('!H', fr[12:14])[0] != L2_MODES[m]:
            return None
        if m == 'mpls':
            i = 14
            while not fr[i + 2] & 1:
                i += 4
            return fr[i + 4:]
        length = struct.unpack('!H', fr[18:20])[0]
        return fr[22:20 + length]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=sorted(ETH_MODES | GRE_MODES | set(IP_PROTO) | set(L2_MODES)))
    ap.add_argument('--dev', default='kt0')
    ap.add_argument('--local')
    ap.add_argument('--remote')
    ap.add_argument('--underlay')
    ap.add_argument('--peer-mac')
    ap.add_argument('--side', default='client', choices=['client', 'server'])
    ap.add_argument('--ready')
    o = ap.parse_args()
    tun = open_tun(o.dev, o.mode in ETH_MODES)
    t = Tunnel(o)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))
    if o.ready:
        open(o.ready, 'w').write('ready\n')
    n_out = n_in = 0
    while running[0]:
        try:
            r, _, _ = select.select([tun, t.sock], [], [], 0.2)
        except InterruptedError:
            continue
        if tun in r:
            t.send(os.read(tun, 65535))
            n_out += 1
        if t.sock in r:
            pkt = t.recv()
            if pkt:
                try:
                    os.write(tun, pkt)
                    n_in += 1
                except OSError:   # the device is not up yet
                    pass
    print(f'[encap {o.mode} {o.side}] {n_out} out, {n_in} in', file=sys.stderr)


if __name__ == '__main__':
    main()
