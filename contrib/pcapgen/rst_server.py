#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Accept one TCP connection, read the ClientHello, then either abort with a
RST (SO_LINGER 0) or stay silent for a while and close.
usage: rst_server.py PORT rst|silent [ready-file]"""
import socket
import struct
import sys
import time

port, mode = int(sys.argv[1]), sys.argv[2]
ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
ls.bind(('::', port))
ls.listen(4)
if len(sys.argv) > 3:
    open(sys.argv[3], 'w').write('ready\n')
c, _ = ls.accept()
c.settimeout(5)
buf = b''
while len(buf) < 5 or len(buf) < 5 + struct.unpack('!H', buf[3:5])[0]:
    d = c.recv(65536)
    if not d:
        break
    buf += d
if mode == 'rst':
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.close()
else:
    try:
        c.settimeout(6)
        c.recv(65536)   # wait for the client to give up (its FIN)
    except OSError:
        pass
    c.close()
