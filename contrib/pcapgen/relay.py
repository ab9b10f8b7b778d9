#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""L2 relay between two interfaces using AF_PACKET raw sockets (python3 stdlib).

It bridges every frame between --a and --b (both without IP addresses, in a
middle namespace), optionally mangles the TCP data segments going a->b
(client -> server) and optionally mirrors every forwarded frame to a --span
interface with 802.1Q / 802.1ad tags inserted.

  relay.py --a vm0 --b vm1 [--span vm2 --tags 0x8100:100[,0x8100:20]]
           [--mangle reorder-dup-loss|drop-first-seg|reverse-frags] [--ready FILE] [--log FILE]

mangle modes (applied to the first TCP connection's client data only):
  reorder-dup-loss  client segments s1,s2,s3 of the ClientHello: s1 is held,
                    the first copy of s2 is dropped (the client kernel has to
                    retransmit it), s3 is forwarded, then s1, then s1 again
                    (duplicate).  The retransmitted s2 passes.
  drop-first-seg    every copy of the first client data segment is dropped, so
                    the server never sees the start of the ClientHello.
  reverse-frags     IPv4 fragments (any flow, a->b) are held until their
                    datagram's last fragment and then sent last first.
"""
import argparse
import select
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return s


def tcp_info(fr):
    """(flow, seq, payload_len) for IPv4/IPv6 TCP frames, else None"""
    et = struct.unpack('!H', fr[12:14])[0]
    if et == 0x0800:
        ihl = (fr[14] & 0x0f) * 4
        tot = struct.unpack('!H', fr[16:18])[0]
        if fr[23] != 6:
            return None
        t = 14 + ihl
        plen_ip = tot - ihl
        src, dst = fr[26:30], fr[30:34]
    elif et == 0x86dd:
        if fr[20] != 6:
            return None
        t = 14 + 40
        plen_ip = struct.unpack('!H', fr[18:20])[0]
        src, dst = fr[22:38], fr[38:54]
    else:
        return None
    sport, dport, seq = struct.unpack('!HHI', fr[t:t + 8])
    doff = (fr[t + 12] >> 4) * 4
    return (src, sport, dst, dport), seq, plen_ip - doff


class Mangler:
    def __init__(self, mode, log):
        self.mode = mode
        self.log = log
        self.flow = None
        self.seen = {}        # seq -> number of copies seen
        self.order = []       # distinct seqs in first-seen order
        self.held = None
        self.done = False
        self.frags = {}       # reverse-frags: (addresses, id, protocol) -> frames

    def reverse_frags(self, fr):
        if struct.unpack('!H', fr[12:14])[0] != 0x0800:
            return [fr]
        flags = struct.unpack('!H', fr[20:22])[0]
        if not flags & 0x3fff:
            return [fr]
        key = (fr[26:34], fr[18:20], fr[23])
        held = self.frags.setdefault(key, [])
        held.append(fr)
        if flags & 0x2000:
            return []
        del self.frags[key]
        self.log(f'datagram id {struct.unpack("!H", key[1])[0]:#06x}: {len(held)} fragments sent in reverse')
        return held[::-1]

    def __call__(self, fr):
        """returns the list of frames to emit for this a->b frame"""
        if self.mode == 'reverse-frags':
            return self.reverse_frags(fr)
        if not self.mode or self.done:
            return [fr]
        ti = tcp_info(fr)
        if ti is None or ti[2] <= 0:
            return [fr]
        flow, seq, plen = ti
        if self.flow is None:
            self.flow = flow
        if flow != self.flow:
            return [fr]
        first_copy = seq not in self.seen
        self.seen[seq] = self.seen.get(seq, 0) + 1
        if first_copy:
            self.order.append(seq)
        idx = self.order.index(seq) + 1
        if self.mode == 'drop-first-seg':
            if idx == 1:
                self.log(f'drop copy {self.seen[seq]} of s1 seq={seq} len={plen}')
                return []
            return [fr]
        # reorder-dup-loss
        if idx == 1 and first_copy:
            self.log(f'hold s1 seq={seq} len={plen}')
            self.held = fr
            return []
        if idx == 2 and first_copy:
            self.log(f'drop first copy of s2 seq={seq} len={plen}')
            return []
        if idx == 3 and first_copy and self.held is not None:
            self.log(f'forward s3 seq={seq} len={plen}, then s1, then s1 again')
            h, self.held = self.held, None
            return [fr, h, h]
        if idx == 2:
            self.log(f'forward retransmitted s2 seq={seq} len={plen}')
            self.done = True
        if self.held is not None and idx >= 3:
            h, self.held = self.held, None
            return [fr, h, h]
        return [fr]


def tag(fr, tags):
    hdr = b''.join(struct.pack('!HH', tpid, vid & 0x0fff) for tpid, vid in tags)
    return fr[:12] + hdr + fr[12:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--a', required=True)
    ap.add_argument('--b', required=True)
    ap.add_argument('--span')
    ap.add_argument('--tags', default='')
    ap.add_argument('--mangle', default='')
    ap.add_argument('--ready')
    ap.add_argument('--log')
    o = ap.parse_args()
    logf = open(o.log, 'a') if o.log else sys.stderr

    def log(m):
        logf.write('[relay] ' + m + '\n')
        logf.flush()

    tags = []
    for t in filter(None, o.tags.split(',')):
        tpid, vid = t.split(':')
        tags.append((int(tpid, 0), int(vid)))
    sa, sb = open_if(o.a), open_if(o.b)
    sspan = open_if(o.span) if o.span else None
    mangle = Mangler(o.mangle, log)
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))
    if o.ready:
        open(o.ready, 'w').write('ready\n')
    while running[0]:
        try:
            r, _, _ = select.select([sa, sb], [], [], 0.2)
        except InterruptedError:
            continue
        for s in r:
            fr, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            if s is sa:
                out, frames = sb, mangle(fr)
            else:
                out, frames = sa, [fr]
            for f in frames:
                out.send(f)
                if sspan is not None:
                    sspan.send(tag(f, tags))
    log('stopped')


if __name__ == '__main__':
    main()
