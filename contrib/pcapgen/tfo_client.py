#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Open a TCP socket with TCP_FASTOPEN_CONNECT (Linux >= 4.11): connect()
returns at once and the kernel sends the SYN with the first bytes written,
carrying them in the SYN when it holds a Fast Open cookie for the server.
The socket is handed to the Node TLS client, whose ClientHello is then the
SYN's data. Node's net module has no Fast Open option of its own.
usage: tfo_client.py NODE TLSPEER HOST PORT [tlspeer client args...]"""
import socket
import subprocess
import sys

TCP_FASTOPEN_CONNECT = getattr(socket, 'TCP_FASTOPEN_CONNECT', 30)

node, peer, host, port = sys.argv[1:5]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
s.connect((host, int(port)))
s.set_inheritable(True)
fd = s.fileno()
rc = subprocess.call([node, peer, 'client', '--fd', str(fd)] + sys.argv[5:], pass_fds=[fd])
s.close()
sys.exit(rc)
