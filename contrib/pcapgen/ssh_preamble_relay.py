#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A TCP relay in front of a real sshd that writes text lines before the
server's own identification line, as RFC 4253 section 4.2 allows ("The
server MAY send other lines of data before sending the version string"):
the notices some load balancers, port knockers and embedded servers print.

usage: ssh_preamble_relay.py LISTEN_ADDR LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT READY_FILE

Accepts one connection, writes the 40-line notice below (1,603 bytes, CR LF
line ends, none starting with "SSH-"), then relays both directions byte for
byte between the client and the sshd until either side closes.
"""
import select
import socket
import sys

NOTICE = [
    '+----------------------------------------------------------+',
    '|        kexwatch test relay: pre-banner text lines        |',
    '+----------------------------------------------------------+',
    'This system is for the use of authorised users only.',
    'Individuals using this computer system without authority,',
    'or in excess of their authority, are subject to having all',
    'of their activities on this system monitored and recorded.',
    '',
] + [f'  {i:02d}: pre-banner line (RFC 4253 4.2)' for i in range(1, 31)] + [
    '',
    'Connecting you to the SSH service now.',
]
PREAMBLE = b''.join(line.encode() + b'\r\n' for line in NOTICE)


def main():
    laddr, lport, uaddr, uport, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((laddr, lport))
    ls.listen(1)
    open(ready, 'w').write(f'{len(NOTICE)} lines, {len(PREAMBLE)} bytes\n')
    c, _ = ls.accept()
    u = socket.create_connection((uaddr, uport))
    c.sendall(PREAMBLE)
    peer = {c: u, u: c}
    while True:
        r, _, _ = select.select([c, u], [], [], 30)
        if not r:
            break
        done = False
        for s in r:
            data = s.recv(65536)
            if not data:
                done = True
                break
            peer[s].sendall(data)
        if done:
            break
    c.close()
    u.close()


if __name__ == '__main__':
    main()
