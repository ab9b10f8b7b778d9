# SPDX-License-Identifier: BSD-2-Clause
"""plaincap.py: a capture of sessions without a handshake, written by the
tests that need one (test_reports.py, test_merge.py).

Until the bundled plaintext captures (recorded from real servers in
network namespaces) are merged, this test writes its own: the TCP
framing is built here, the payloads are real protocol bytes typed from
the specifications (HTTP/1.1 request and response, Redis RESP PING/PONG,
PostgreSQL SSLRequest answered 'N' then a StartupMessage and
AuthenticationOk/ReadyForQuery, TLS 1.3 application_data records).
Deterministic: same bytes every run.
"""

def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    s, d = bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))
    tcp = (sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + seq.to_bytes(4, "big")
           + ack.to_bytes(4, "big") + bytes([5 << 4, flags]) + (65535).to_bytes(2, "big")
           + b"\0\0\0\0")
    c = _csum(s + d + b"\0\x06" + (len(tcp) + len(payload)).to_bytes(2, "big") + tcp + payload)
    tcp = tcp[:16] + c.to_bytes(2, "big") + tcp[18:]
    ip = (b"\x45\0" + (20 + len(tcp) + len(payload)).to_bytes(2, "big") + b"\0\x01\x40\0\x40\x06"
          + b"\0\0" + s + d)
    ip = ip[:10] + _csum(ip).to_bytes(2, "big") + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + tcp + payload


HTTP_REQ = b"GET /status HTTP/1.1\r\nHost: intranet.kx.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
HTTP_RESP = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
PG_SSLREQ = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
PG_STARTUP = b"user\0app\0database\0orders\0\0"
PG_STARTUP = (8 + len(PG_STARTUP)).to_bytes(4, "big") + (196608).to_bytes(4, "big") + PG_STARTUP
PG_READY = b"R\0\0\0\x08\0\0\0\0" + b"Z\0\0\0\x05I"
TLS_DATA = b"\x17\x03\x03\x00\x20" + bytes(range(32))


def plain_capture(path, t0=1795348800, server_hello=None, net="10.20.0",
                  only=("http", "redis", "postgresql", "tls"), tls_server=None):
    """Writes the capture, starting at t0 (default 2026-11-22T12:00:00Z), one
    packet a millisecond; returns {(server, port): [first packet numbers]}.
    The addresses are NET.5 ... NET.9 (clients), NET.79 ... NET.83 (servers);
    only: the sessions to write (http, redis (two), postgresql, tls).
    server_hello: TLS records of a real ServerHello, sent on a connection
    the capture joins after its ClientHello (NET.9 -> NET.83:443).
    tls_server: the address of the TLS session's server instead of NET.82."""
    pkts, firsts = [], {}

    def flow(cli, sport, srv, dport, talk, syn=True):
        firsts.setdefault((srv, dport), []).append(len(pkts) + 1)
        c, s = 1000, 5000
        if syn:
            pkts.append(_frame(cli, srv, sport, dport, c, 0, 0x02))
            pkts.append(_frame(srv, cli, dport, sport, s, c + 1, 0x12))
            c, s = c + 1, s + 1
            pkts.append(_frame(cli, srv, sport, dport, c, s, 0x10))
        for from_client, data in talk:
            if from_client:
                pkts.append(_frame(cli, srv, sport, dport, c, s, 0x18, data))
                c += len(data)
            else:
                pkts.append(_frame(srv, cli, dport, sport, s, c, 0x18, data))
                s += len(data)
        pkts.append(_frame(cli, srv, sport, dport, c, s, 0x11))
        pkts.append(_frame(srv, cli, dport, sport, s, c + 1, 0x11))
        pkts.append(_frame(cli, srv, sport, dport, c + 1, s + 1, 0x10))

    a = lambda host: f"{net}.{host}"
    if "http" in only:
        flow(a(5), 40001, a(80), 80, [(True, HTTP_REQ), (False, HTTP_RESP)])
    if "redis" in only:
        for port in (40002, 40003):
            flow(a(6), port, a(79), 6379, [(True, b"*1\r\n$4\r\nPING\r\n"), (False, b"+PONG\r\n")])
    if "postgresql" in only:
        flow(a(7), 40004, a(81), 5432, [(True, PG_SSLREQ), (False, b"N"), (True, PG_STARTUP), (False, PG_READY)])
    if "tls" in only:
        flow(a(8), 40005, tls_server or a(82), 443, [(True, TLS_DATA), (False, TLS_DATA)])
    if server_hello:
        flow(a(9), 40006, a(83), 443, [(False, server_hello), (True, TLS_DATA)], syn=False)
    with open(path, "wb") as f:
        f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        for i, p in enumerate(pkts):
            f.write((t0 + i // 1000).to_bytes(4, "little") + ((i % 1000) * 1000).to_bytes(4, "little")
                    + len(p).to_bytes(4, "little") * 2 + p)
    return firsts
