#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""UDP relay over IPv6 whose upstream packets the kernel must fragment.

Listens on [--listen]:--port; every client address gets its own upstream
socket to [--server]:--port with IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DONT (no
"packet too big" refusals: the kernel fragments to the link MTU) and an
8-byte hop-by-hop options header (IPV6_HOPOPTS: one PadN option), which
makes a 1238-byte QUIC datagram a 1286-byte packet. Answers go back to the
client unchanged. The datagrams' bytes are never touched.

  udp_relay6.py --listen ADDR --port P --server ADDR [--ready FILE]
"""
import argparse
import select
import signal
import socket
import sys

IPV6_MTU_DISCOVER = getattr(socket, 'IPV6_MTU_DISCOVER', 23)
IPV6_PMTUDISC_DONT = 0
IPV6_HOPOPTS = getattr(socket, 'IPV6_HOPOPTS', 54)
# next header (set by the kernel), length 0 (8 bytes), PadN of 4 bytes
HOPOPTS = bytes([0, 0, 1, 4, 0, 0, 0, 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--listen', required=True)
    ap.add_argument('--port', type=int, default=443)
    ap.add_argument('--server', required=True)
    ap.add_argument('--ready')
    o = ap.parse_args()
    lsock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    lsock.bind((o.listen, o.port))
    ups = {}      # client address -> upstream socket
    back = {}     # upstream socket -> client address
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))
    if o.ready:
        open(o.ready, 'w').write('ready\n')
    n_up = n_down = 0
    while running[0]:
        try:
            r, _, _ = select.select([lsock] + list(back), [], [], 0.2)
        except InterruptedError:
            continue
        for s in r:
            if s is lsock:
                data, caddr = lsock.recvfrom(65535)
                up = ups.get(caddr)
                if up is None:
                    up = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                    up.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DONT)
                    up.setsockopt(socket.IPPROTO_IPV6, IPV6_HOPOPTS, HOPOPTS)
                    up.bind((o.listen, 0))
                    up.connect((o.server, o.port))
                    ups[caddr] = up
                    back[up] = caddr
                up.send(data)
                n_up += 1
            else:
                data = s.recv(65535)
                lsock.sendto(data, back[s])
                n_down += 1
    print(f'[udp_relay6] {n_up} datagrams up, {n_down} down, {len(ups)} client(s)', file=sys.stderr)


if __name__ == '__main__':
    main()
