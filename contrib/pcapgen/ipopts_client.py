#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Open a TCP connection whose IPv4 packets carry IP options (set with the
IP_OPTIONS socket option, so the kernel puts them in every packet of the
connection), then hand the connected socket to the Node TLS client.
usage: ipopts_client.py NODE TLSPEER HOST PORT [tlspeer client args...]"""
import socket
import subprocess
import sys

node, peer, host, port = sys.argv[1:5]
# NOP, Router Alert (RFC 2113, type 148 len 4 value 0), NOP, NOP, EOL... padded to 8 bytes
opts = bytes([0x01, 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x00])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, opts)
s.connect((host, int(port)))
s.set_inheritable(True)
fd = s.fileno()
rc = subprocess.call([node, peer, 'client', '--fd', str(fd)] + sys.argv[5:], pass_fds=[fd])
s.close()
sys.exit(rc)
