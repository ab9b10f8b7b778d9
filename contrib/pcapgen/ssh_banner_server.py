#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A server that answers like an SSH server but never sends its KEXINIT:
accepts one TCP connection, sends an identification line (after optional
extra lines, RFC 4253 section 4.2), reads the client's identification line
and its first binary packet (the KEXINIT), then closes (FIN).
usage: ssh_banner_server.py PORT ready-file [pre-line ...]"""
import socket
import struct
import sys

port, ready = int(sys.argv[1]), sys.argv[2]
pre = sys.argv[3:]
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('0.0.0.0', port))
ls.listen(4)
open(ready, 'w').write('ready\n')
c, _ = ls.accept()
c.settimeout(5)
c.sendall(b''.join(p.encode() + b'\r\n' for p in pre) + b'SSH-2.0-kxfake_1.0 no-kexinit\r\n')
buf = b''
try:
    while True:
        nl = buf.find(b'\n')
        if nl >= 0 and len(buf) >= nl + 5:
            need = nl + 1 + 4 + struct.unpack('!I', buf[nl + 1:nl + 5])[0]
            if len(buf) >= need:
                break
        d = c.recv(65536)
        if not d:
            break
        buf += d
except OSError:
    pass
c.close()
