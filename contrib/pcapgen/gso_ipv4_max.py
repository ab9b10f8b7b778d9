#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Set a device's IPv4 GSO/GRO size limits (IPv4 BIG TCP, Linux >= 6.3):
what `ip link set DEV gso_ipv4_max_size N gro_ipv4_max_size N` does with
iproute2 >= 6.3 (Debian 12 ships 6.1, which does not know the attributes).

usage: gso_ipv4_max.py DEV SIZE      (run inside the device's namespace)

One RTM_NEWLINK request with IFLA_GSO_IPV4_MAX_SIZE (63) and
IFLA_GRO_IPV4_MAX_SIZE (64), acknowledged; exits 1 with the kernel's error.
"""
import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE = 63, 64


def attr(kind, value):
    body = struct.pack('=I', value)
    return struct.pack('=HH', 4 + len(body), kind) + body


def main():
    dev, size = sys.argv[1], int(sys.argv[2])
    index = socket.if_nametoindex(dev)
    ifinfo = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, index, 0, 0)
    payload = ifinfo + attr(IFLA_GSO_IPV4_MAX_SIZE, size) + attr(IFLA_GRO_IPV4_MAX_SIZE, size)
    msg = struct.pack('=IHHII', 16 + len(payload), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + payload
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.bind((0, 0))
    s.send(msg)
    reply = s.recv(65536)
    _, kind, _, _, _ = struct.unpack_from('=IHHII', reply)
    if kind != NLMSG_ERROR:
        sys.exit(f'unexpected netlink reply type {kind}')
    err = struct.unpack_from('=i', reply, 16)[0]
    if err:
        sys.exit(f'{dev}: setting the IPv4 GSO/GRO size to {size}: {os.strerror(-err)}')


if __name__ == '__main__':
    main()
