#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write pcaps/expected-sessions.tsv: one line per TCP or UDP connection of
every capture in pcaps/ that has no handshake row (none in expected.tsv,
expected-ssh.tsv or expected-starttls.tsv), with what it is: a plaintext
leg, an in-band upgrade never asked for or refused, or a connection whose
handshake is not in the capture.

Two readings must agree, or the script fails:
  * what the generator did (INTENT: per capture, the connections without a
    handshake row, in capture order);
  * what the bytes say: tshark gives each connection's packets (frame,
    endpoints, flags, sequence number, payload), and a small reader here
    looks at the protocol's first messages (PostgreSQL SSLRequest and its
    answer, the MySQL greeting's and response's CLIENT_SSL flag, the SMTP
    EHLO reply and the answer to STARTTLS, an HTTP request line, a RESP
    array, a TLS application-data record, a QUIC short header).
A connection without a handshake row that INTENT does not name fails too.

Columns: file client_ip client_port server_ip server_port transport verdict
reason app first_frame. The client is the SYN sender; without a SYN, the
side with the higher port. first_frame is the connection's first packet
(the SYN when there is one), 1-based in the file. Lines are in file-name
order, then capture order.

usage: expected_sessions.py [--pcaps DIR] [--check-only]
"""
import argparse
import glob
import os
import re
import subprocess
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

COLUMNS = ['file', 'client_ip', 'client_port', 'server_ip', 'server_port', 'transport', 'verdict',
           'reason', 'app', 'first_frame']
HANDSHAKE_TSVS = ['expected.tsv', 'expected-ssh.tsv', 'expected-starttls.tsv']

S1, S2 = '198.18.0.20', '198.18.0.21'
PT = 'plaintext'
# file -> (how it was made, [(server_ip, server_port, verdict, reason, app)] in capture order)
INTENT = OrderedDict([
    ('plaintext-postgres.pcap', (
        'Debian psql 15 -> PostgreSQL 15 (Debian `postgresql`), two clusters of their own '
        '(`initdb` in a temporary directory, trust authentication). 198.18.0.20 has ssl=on: '
        '`sslmode=disable` (a StartupMessage straight away, one query) and `sslmode=require` '
        '(SSLRequest, \'S\', TLS 1.3: its row is in expected-starttls.tsv). 198.18.0.21 has '
        'ssl=off: `sslmode=prefer` sends the SSLRequest, the server answers \'N\' and the session '
        'goes on in cleartext. `gssencmode=disable` on all three',
        [(S1, 5432, PT, 'starttls-not-offered', 'postgresql'),
         (S2, 5432, PT, 'ssl-refused', 'postgresql')])),
    ('plaintext-mysql.pcap', (
        'Debian mariadb client 10.11 -> mariadbd 10.11, two servers with data directories of their '
        'own. 198.18.0.20 has a certificate (its greeting sets CLIENT_SSL): `mariadb --skip-ssl` '
        'logs in without asking for TLS. 198.18.0.21 runs with `--skip-ssl` (no CLIENT_SSL in the '
        'greeting): the client, default options, logs in in cleartext. Two queries each',
        [(S1, 3306, PT, 'starttls-not-offered', 'mysql'),
         (S2, 3306, PT, 'ssl-refused', 'mysql')])),
    ('plaintext-redis.pcap', (
        'Debian redis-cli 7.0 -> redis-server 7.0 (`--protected-mode no`, no persistence): '
        '`PING`, `SET kexwatch:plaintext no-tls`, `GET kexwatch:plaintext`, one connection each '
        '(commands on redis-cli\'s stdin would first fetch 180 KB of COMMAND DOCS)',
        [(S1, 6379, PT, 'no-tls', 'redis')] * 3)),
    ('plaintext-http.pcap', (
        'Debian curl 7.88 `--http1.1` -> `python3 -m http.server --protocol HTTP/1.1` on port 80, '
        'then on port 8080: one GET each',
        [(S1, 80, PT, 'no-tls', 'http'), (S1, 8080, PT, 'no-tls', 'http')])),
    ('plaintext-smtp.pcap', (
        'Debian swaks 20201014 -> contrib/pcapgen/smtp_server.py (SCRIPTED server: EHLO lists '
        'STARTTLS, mail accepted in cleartext, STARTTLS refused with `454 4.7.0`). Port 25: swaks '
        'without `--tls` sends a message and never says STARTTLS. Port 587: `swaks --tls` says '
        'STARTTLS, gets 454 and closes the connection (no QUIT)',
        [(S1, 25, PT, 'starttls-not-offered', 'smtp'), (S1, 587, PT, 'starttls-refused', 'smtp')])),
    ('tls13-handshake-unseen.pcap', (
        'Node 24.11.0 (OpenSSL 3.5.4) client -> Node 24 server (`tlspeer.js --keep`), TLS 1.3 '
        'X25519MLKEM768. The client signals once its handshake is done and waits; tcpdump starts '
        'then (the server\'s session tickets have passed), and the client sends four requests, '
        '200 ms apart, on the same connection. No SYN, no hello: TLS application-data records '
        '(type 23) only, then the close',
        [(S1, 443, 'no-verdict', 'handshake-unseen', 'tls')])),
    ('quic-handshake-unseen.pcap', (
        'CUT: Debian ngtcp2 0.12 `gtlsclient --delay-stream=1s -n 3` -> `gtlsserver` (GnuTLS 3.7), '
        'three requests for a 6000-byte file, captured whole and cut by contrib/pcapgen/cut.py '
        '(`editcap -r`) after the last packet with a long header: only short-header (1-RTT) '
        'packets remain, in both directions',
        [(S1, 443, 'no-verdict', 'handshake-unseen', 'quic')])),
])


def tshark_packets(path):
    """[(frame, proto, src, sport, dst, dport, stream, flags, seq, payload)] of TCP/UDP packets."""
    cmd = ['tshark', '-n', '-r', path, '-Y', '(tcp or udp) and not icmp and not icmpv6', '-T', 'fields',
           '-E', 'occurrence=f']
    for f in ('frame.number', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
              'udp.srcport', 'udp.dstport', 'tcp.stream', 'udp.stream', 'tcp.flags', 'tcp.seq_raw',
              'tcp.payload', 'udp.payload'):
        cmd += ['-e', f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         text=True).stdout
    pkts = []
    for line in out.splitlines():
        (fno, s4, s6, d4, d6, tsp, tdp, usp, udp_, tst, ust, flags, seq, tpl,
         upl) = (line.split('\t') + [''] * 15)[:15]
        proto = 'tcp' if tst else 'udp'
        pkts.append((int(fno), proto, s4 or s6, int(tsp or usp), d4 or d6, int(tdp or udp_),
                     int(tst or ust), int(flags, 16) if flags else 0, int(seq) if seq else 0,
                     bytes.fromhex((tpl or upl).replace(':', ''))))
    return pkts


class Conn:
    def __init__(self, proto, first_frame, a, b):
        self.proto = proto
        self.first_frame = first_frame
        self.ends = (a, b)          # endpoints of the first packet
        self.client = None          # SYN sender
        self.segs = {a: [], b: []}  # per sender: (seq, flags, payload) or datagrams
        self.frames = {a: [], b: []}

    def finish(self):
        a, b = self.ends
        if self.client is None:
            self.client = a if a[1] > b[1] else b
        self.server = b if self.client == a else a

    def stream(self, side):
        """TCP: the side's bytes in sequence order, first copy wins (a SYN's
        data sits one after its sequence number). UDP: datagrams joined."""
        segs = self.segs[side]
        if self.proto == 'udp':
            return b''.join(p for _, _, p in segs)
        data = [(seq + (1 if flags & 0x02 else 0), p) for seq, flags, p in segs if p]
        if not data:
            return b''
        base = data[0][0]
        out = bytearray()
        for seq, p in sorted(data, key=lambda x: (x[0] - base) & 0xffffffff):
            off = (seq - base) & 0xffffffff
            if off > len(out):
                break  # a gap: what follows is not looked at
            out += p[len(out) - off:]
        return bytes(out)

    def datagrams(self):
        return [p for side in self.ends for _, _, p in self.segs[side]]


def connections(path):
    conns = OrderedDict()
    for fno, proto, src, sport, dst, dport, sid, flags, seq, payload in tshark_packets(path):
        c = conns.get((proto, sid))
        if c is None:
            c = conns[(proto, sid)] = Conn(proto, fno, (src, sport), (dst, dport))
        if proto == 'tcp' and flags & 0x02 and not flags & 0x10:
            c.client = (src, sport)
        c.segs[(src, sport)].append((seq, flags, payload))
        c.frames[(src, sport)].append(fno)
    for c in conns.values():
        c.finish()
    return list(conns.values())


# ---- the small reader: protocol -> (verdict, reason, app) ----

def smtp_exchange(cli, srv):
    """client commands (a DATA body is one unit) and server replies (multi-line grouped)."""
    cmds, in_data, body = [], False, []
    for line in cli.decode('latin-1').split('\r\n')[:-1]:
        if in_data:
            if line == '.':
                cmds.append('<body>')
                in_data = False
            continue
        cmds.append(line)
        if line.upper() == 'DATA':
            in_data = True
    replies, cur = [], []
    for line in srv.decode('latin-1').split('\r\n')[:-1]:
        cur.append(line)
        if len(line) < 4 or line[3] != '-':
            replies.append(cur)
            cur = []
    return cmds, replies


def classify(c):
    """(verdict, reason, app) or raises ValueError with what was seen."""
    cli, srv = c.stream(c.client), c.stream(c.server)
    if c.proto == 'udp':
        dg = c.datagrams()
        # short header: form bit clear (the fixed bit may be greased, RFC 9287)
        if dg and all(len(d) > 1 and not d[0] & 0x80 for d in dg):
            return 'no-verdict', 'handshake-unseen', 'quic'
        raise ValueError('UDP, not only QUIC short-header packets')
    if (cli or srv) and all(s[:2] == b'\x17\x03' for s in (cli, srv) if s):
        return 'no-verdict', 'handshake-unseen', 'tls'
    # PostgreSQL: SSLRequest (8 bytes, code 80877103) or a protocol 3.0 StartupMessage
    if cli[:8] == bytes.fromhex('0000000804d2162f'):
        if srv[:1] == b'N':
            return 'plaintext', 'ssl-refused', 'postgresql'
        raise ValueError(f'SSLRequest answered {srv[:1]!r}')
    if len(cli) >= 8 and cli[4:8] == bytes.fromhex('00030000'):
        return 'plaintext', 'starttls-not-offered', 'postgresql'
    # MySQL/MariaDB: greeting (sequence 0, protocol 10), then the client's response (sequence 1)
    if len(srv) > 5 and srv[3] == 0 and srv[4] == 10:
        nul = srv.index(b'\x00', 5)
        caps = int.from_bytes(srv[nul + 1 + 4 + 8 + 1:nul + 1 + 4 + 8 + 3], 'little')
        ccaps = int.from_bytes(cli[4:8], 'little') if len(cli) > 8 and cli[3] == 1 else 0
        if not caps & 0x0800:
            return 'plaintext', 'ssl-refused', 'mysql'
        if not ccaps & 0x0800:
            return 'plaintext', 'starttls-not-offered', 'mysql'
        raise ValueError('MySQL client asked for SSL')
    # SMTP: greeting 220, EHLO reply, STARTTLS and its answer
    if srv[:4] == b'220 ' or srv[:4] == b'220-':
        cmds, replies = smtp_exchange(cli, srv)
        offered = any('STARTTLS' in line[4:].upper() for r in replies for line in r)
        for i, cmd in enumerate(cmds):
            if cmd.upper() == 'STARTTLS':
                answer = replies[i + 1][0][:3] if i + 1 < len(replies) else ''
                if answer.startswith('4') or answer.startswith('5'):
                    return 'plaintext', 'starttls-refused', 'smtp'
                raise ValueError(f'STARTTLS answered {answer!r}')
        if offered:
            return 'plaintext', 'starttls-not-offered', 'smtp'
        raise ValueError('SMTP without STARTTLS offered')
    if re.match(rb'(GET|HEAD|POST|PUT|DELETE|OPTIONS) \S+ HTTP/1\.[01]\r\n', cli):
        return 'plaintext', 'no-tls', 'http'
    if re.match(rb'\*\d+\r\n\$\d+\r\n', cli):
        return 'plaintext', 'no-tls', 'redis'
    raise ValueError(f'client {cli[:16]!r}, server {srv[:16]!r}')


def handshake_keys(pdir):
    keys = set()
    for tsv in HANDSHAKE_TSVS:
        path = os.path.join(pdir, tsv)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                cols = line.rstrip('\n').split('\t')
                if cols[0] in ('file', '') or cols[0].startswith('#'):
                    continue
                a, b = (cols[1], int(cols[2])), (cols[3], int(cols[4]))
                keys.add((cols[0], a, b))
                keys.add((cols[0], b, a))
    return keys


def rows_for(path, keys, failures):
    name = os.path.basename(path)
    rows = []
    for c in connections(path):
        if (name, c.client, c.server) in keys:
            continue
        try:
            verdict, reason, app = classify(c)
        except ValueError as e:
            failures.append(f'{name}: connection {c.client} -> {c.server} (frame {c.first_frame}) '
                            f'has no handshake row and is not understood: {e}')
            continue
        rows.append(OrderedDict(file=name, client_ip=c.client[0], client_port=c.client[1],
                                server_ip=c.server[0], server_port=c.server[1], transport=c.proto,
                                verdict=verdict, reason=reason, app=app, first_frame=c.first_frame))
    want = INTENT.get(name, ('', []))[1]
    got = [(r['server_ip'], r['server_port'], r['verdict'], r['reason'], r['app']) for r in rows]
    if got != want:
        failures.append(f'{name}: connections without a handshake row {got}, intended {want}')
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pcaps', default=os.path.join(REPO, 'pcaps'))
    ap.add_argument('--check-only', action='store_true')
    a = ap.parse_args()
    pdir = os.path.abspath(a.pcaps)
    keys = handshake_keys(pdir)
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(pdir, '*.pcap')) +
                   glob.glob(os.path.join(pdir, '*.pcapng')))
    failures, rows = [], []
    for f in files:
        got = rows_for(os.path.join(pdir, f), keys, failures)
        if got:
            print(f'{f}: ' + ', '.join(f'{r["app"]} {r["verdict"]}/{r["reason"]}' for r in got),
                  file=sys.stderr)
        rows += got
    missing = [f for f in INTENT if f not in files]
    if missing:
        failures.append(f'missing captures: {missing}')
    if failures:
        print('CROSS-CHECK FAILURES:\n  ' + '\n  '.join(failures), file=sys.stderr)
        return 1
    if not a.check_only:
        with open(os.path.join(pdir, 'expected-sessions.tsv'), 'w') as out:
            out.write('\t'.join(COLUMNS) + '\n')
            for r in rows:
                out.write('\t'.join(str(r[c]) for c in COLUMNS) + '\n')
        print(f'wrote expected-sessions.tsv ({len(rows)} connections)', file=sys.stderr)
        import readme
        readme.refresh_sessions(pdir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
