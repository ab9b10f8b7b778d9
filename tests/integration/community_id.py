# SPDX-License-Identifier: BSD-2-Clause
"""Community ID v1 (Corelight's published spec), written from the spec for
the tests, independently of kexwatch's C: SHA-1 over seed (2 bytes), the
two addresses, protocol, a zero pad byte and the two ports, the lesser
(address, port) endpoint first; base64; "1:" before it."""
import base64
import hashlib
import ipaddress
import struct


def community_id(saddr, daddr, proto, sport, dport, seed=0):
    s, d = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    if (s, sport) > (d, dport):
        s, d, sport, dport = d, s, dport, sport
    data = struct.pack("!H", seed) + s + d + struct.pack("!BB", proto, 0) + struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


if __name__ == "__main__":
    # The spec's own examples (community-id-spec baseline): TCP 128.232.110.120:34855 -> 66.35.250.204:80
    print(community_id("128.232.110.120", "66.35.250.204", 6, 34855, 80))
