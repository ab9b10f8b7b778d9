#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Derive the expected handshake rows of pcaps/starttls-*.pcap with tshark and
write pcaps/expected-starttls.tsv: the columns of pcaps/expected.tsv plus a
last column `starttls` naming the cleartext protocol that upgraded.

tshark decodes the TLS after each upgrade itself (its smtp, imap, pop, ftp,
ldap, xmpp, pgsql and mysql dissectors follow STARTTLS on their well-known
ports); a port outside that list is mapped with -d through DECODE_AS. The
rows come from expected.py's reader, so the rules (verdicts, segment counts,
frames) are the same as for pcaps/expected.tsv.

Cross-checks, per capture: exactly one handshake; the verdict the generator
intended (INTENT); and, read from the raw TCP payloads, the first client and
server segments after the cleartext phase start with a TLS handshake record
(0x16 0x03) and are the frames tshark places the ClientHello / ServerHello
(or HelloRetryRequest) in.

With --transcripts it also writes tests/unit/test_starttls_captures.h (each
capture's cleartext exchange and first TLS bytes, for test_starttls.c) and
seeds tests/fuzz/corpus/starttls/ (format in tests/fuzz/fuzz_starttls.c).

plaintext-postgres.pcap (plaintext.sh) is read here too: of its three
connections only the sslmode=require one upgrades.

usage: expected_starttls.py [--pcaps DIR] [--transcripts] [FILE...]
"""
import argparse
import glob
import os
import subprocess
import sys
from collections import OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import expected  # noqa: E402

# file -> (starttls protocol, intended verdict, side that speaks first)
INTENT = OrderedDict([
    ('starttls-smtp.pcap', ('smtp', 'hybrid', 'server')),
    ('starttls-smtp-s-client.pcap', ('smtp', 'classical/client-no-pq', 'server')),
    ('starttls-imap.pcap', ('imap', 'classical/client-no-pq', 'server')),
    ('starttls-pop3.pcap', ('pop3', 'classical/client-no-pq', 'server')),
    ('starttls-ftp.pcap', ('ftp', 'classical/client-no-pq', 'server')),
    ('starttls-ldap.pcap', ('ldap', 'classical/client-no-pq', 'client')),
    ('starttls-xmpp.pcap', ('xmpp', 'classical/client-no-pq', 'client')),
    ('starttls-postgres.pcap', ('postgres', 'classical/client-no-pq', 'client')),
    ('starttls-mysql.pcap', ('mysql', 'classical/client-no-pq', 'server')),
    # plaintext.sh: the sslmode=require connection among plaintext ones (their
    # values are in expected-sessions.tsv); the cross-checks read its stream only
    ('plaintext-postgres.pcap', ('postgres', 'classical/client-no-pq', 'client')),
])
DECODE_AS = {587: 'smtp'}
PROTO_ENUM = {'smtp': 'KX_ST_SMTP', 'imap': 'KX_ST_IMAP', 'pop3': 'KX_ST_POP3', 'ftp': 'KX_ST_FTP',
              'ldap': 'KX_ST_LDAP', 'xmpp': 'KX_ST_XMPP', 'postgres': 'KX_ST_POSTGRES',
              'mysql': 'KX_ST_MYSQL'}
TLS_KEEP = 48  # bytes of the first TLS segment kept in a transcript


def segments(path, port):
    """Data segments of the connection with this client port, in capture order:
    (frame, from_client, payload), one copy per sequence number; the client is
    the side that sent the SYN."""
    out = subprocess.run(['tshark', '-n', '-r', path, '-Y', f'tcp.port == {port}', '-T', 'fields',
                          '-e', 'frame.number',
                          '-e', 'tcp.srcport', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.ack', '-e', 'tcp.seq_raw',
                          '-e', 'tcp.payload'],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True).stdout
    client_port = None
    seen = set()
    segs = []
    for line in out.splitlines():
        cols = line.split('\t') + [''] * 6
        fno, sport, syn, ack, seq, payload = cols[:6]
        syn = syn in ('1', 'True')
        ack = ack in ('1', 'True')
        if syn and not ack and client_port is None:
            client_port = sport
        if not payload:
            continue
        if (sport, seq) in seen:
            continue
        seen.add((sport, seq))
        segs.append((int(fno), sport == client_port, bytes.fromhex(payload.replace(':', ''))))
    return segs


def transcript(segs):
    """Cleartext segments of both sides and each side's first TLS segment."""
    msgs = []
    started = {True: None, False: None}
    for fno, client, data in segs:
        if started[client] is not None:
            continue
        tls = len(data) >= 2 and data[0] == 0x16 and data[1] == 0x03
        if tls:
            started[client] = fno
            data = data[:TLS_KEEP]
        msgs.append((client, data, tls))
    return msgs, started


def rows(path):
    prefs = list(expected.TSHARK_PREFS)
    for port, proto in DECODE_AS.items():
        prefs += ['-d', f'tcp.port=={port},{proto}']
    expected.TSHARK_PREFS = prefs
    return expected.rows_for(path)


def c_string(b):
    s = ''.join(f'\\x{c:02x}' for c in b)
    # split long literals so the header stays readable
    return '\n\t  '.join(f'"{s[i:i + 96]}"' for i in range(0, len(s), 96)) or '""'


def write_transcripts(cases):
    hdr = os.path.join(REPO, 'tests', 'unit', 'test_starttls_captures.h')
    corpus = os.path.join(REPO, 'tests', 'fuzz', 'corpus', 'starttls')
    os.makedirs(corpus, exist_ok=True)
    lines = ['/* Generated by contrib/pcapgen/expected_starttls.py --transcripts from',
             ' * pcaps/starttls-*.pcap: per capture, the cleartext segments of both sides',
             ' * in capture order and the first TLS segment of each side (cut to',
             f' * {TLS_KEEP} bytes), where TLS is expected to start. Do not edit. */',
             'struct capture_case {', '\tconst char *name;', '\tconst struct msg *msgs;', '\tsize_t n;',
             '\tint proto;', '\tint orders;', '};', '']
    table = []
    for name, proto, first, msgs in cases:
        ident = 'cap_' + name.replace('starttls-', '').replace('.pcap', '').replace('-', '_')
        lines.append(f'static const struct msg {ident}[] = {{')
        for client, data, tls in msgs:
            lines.append(f'\t{{ {"CLI" if client else "SRV"}, {c_string(data)},\n\t  {len(data)}, '
                         f'{0 if tls else -1} }},')
        lines.append('};')
        lines.append('')
        orders = 'ORD_SERVER' if first == 'server' else 'ORD_CLIENT'
        table.append(f'\t{{ "{name}", {ident}, sizeof({ident}) / sizeof({ident}[0]), '
                     f'{PROTO_ENUM[proto]}, {orders} }},')
        # fuzz seed: port byte 0, then chunks of at most 128 bytes
        seed = bytearray([0])
        for client, data, _ in msgs:
            for i in range(0, len(data), 128):
                k = data[i:i + 128]
                seed.append(((len(k) - 1) << 1) | (1 if client else 0))
                seed += k
        with open(os.path.join(corpus, 'cap-' + name.replace('.pcap', '')), 'wb') as f:
            f.write(seed)
    lines.append('static const struct capture_case capture_cases[] = {')
    lines += table
    lines.append('};')
    lines.append('#define CAPTURE_CASES (sizeof(capture_cases) / sizeof(capture_cases[0]))')
    with open(hdr, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pcaps', default=os.path.join(REPO, 'pcaps'))
    ap.add_argument('--transcripts', action='store_true')
    ap.add_argument('files', nargs='*')
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(a.pcaps, 'starttls-*.pcap')) +
                              [os.path.join(a.pcaps, f) for f in INTENT if not f.startswith('starttls-') and
                               os.path.exists(os.path.join(a.pcaps, f))])
    problems = []
    out = []
    cases = []
    for path in files:
        name = os.path.basename(path)
        if name not in INTENT:
            problems.append(f'{name}: not in INTENT')
            continue
        proto, verdict, first = INTENT[name]
        rs = rows(path)
        if len(rs) != 1:
            problems.append(f'{name}: {len(rs)} handshakes, want 1')
            continue
        r = rs[0]
        if r['expected_verdict'] != verdict:
            problems.append(f'{name}: verdict {r["expected_verdict"]}, intended {verdict}')
        msgs, started = transcript(segments(path, r['client_port']))
        ch_frame = int(r['first_ch_frame'].split(';')[0])
        if started[True] != ch_frame:
            problems.append(f'{name}: first client TLS segment in frame {started[True]}, '
                            f'tshark ClientHello in {ch_frame}')
        first_srv = r['_hrr']['segs'][0] if r.get('_hrr') else int(r['sh_frame'])
        if started[False] != first_srv:
            problems.append(f'{name}: first server TLS segment in frame {started[False]}, '
                            f'tshark ServerHello in {first_srv}')
        row = [str(r[c]) for c in expected.COLUMNS] + [proto]
        out.append('\t'.join(row))
        if name.startswith('starttls-'):
            cases.append((name, proto, first, msgs))
    if problems:
        for p in problems:
            print('expected_starttls: ' + p, file=sys.stderr)
        sys.exit(1)
    tsv = os.path.join(a.pcaps, 'expected-starttls.tsv')
    with open(tsv, 'w') as f:
        f.write('\t'.join(expected.COLUMNS + ['starttls']) + '\n')
        f.write('\n'.join(out) + '\n')
    print(f'wrote {tsv} ({len(out)} rows)', file=sys.stderr)
    if a.transcripts:
        write_transcripts(cases)
        print('wrote tests/unit/test_starttls_captures.h and tests/fuzz/corpus/starttls/cap-*',
              file=sys.stderr)


if __name__ == '__main__':
    main()
