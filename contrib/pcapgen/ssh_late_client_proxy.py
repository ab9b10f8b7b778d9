#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""ssh ProxyCommand that holds the client's first bytes back: connects to
HOST PORT at once, relays the server's bytes to stdout as they come, and
starts relaying stdin to the server only DELAY seconds after connecting, so
that a server which speaks first is seen first on the wire (OpenSSH's client
otherwise sends its version line as soon as the connection is up).

usage: ssh_late_client_proxy.py HOST PORT DELAY
"""
import os
import select
import socket
import sys
import time

host, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port))
start = time.monotonic()
inp, out = sys.stdin.fileno(), sys.stdout.fileno()
while True:
    wait = [s] + ([inp] if time.monotonic() - start >= delay else [])
    r, _, _ = select.select(wait, [], [], 0.05)
    if s in r:
        data = s.recv(65536)
        if not data:
            break
        os.write(out, data)
    if inp in r:
        data = os.read(inp, 65536)
        if not data:
            s.shutdown(socket.SHUT_WR)
            break
        s.sendall(data)
s.close()
