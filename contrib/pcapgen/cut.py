#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Cut a real capture so that it starts after a point of its handshake, as a
sensor that came up late would have recorded it. The cut is one
`editcap -r IN OUT N-LAST` (frames N to the end, bytes unchanged); this script
only finds N with tshark and checks that what must stay visible does.

  after-ch      IN OUT   N = the frame after the last one that carries
                         ClientHello bytes (TLS over TCP, one connection);
                         the ServerHello must begin after it
  after-client-kexinit IN OUT
                         N = the frame after the last one that carries the
                         client's SSH KEXINIT; the server's KEXINIT must
                         begin after it
  quic-short    IN OUT   N = the frame after the last one that carries a
                         QUIC long-header packet: only short-header (1-RTT)
                         packets remain, in both directions

Prints N and the number of frames kept.
"""
import subprocess
import sys


def tshark(path, fields, flt, prefs=()):
    cmd = ['tshark', '-n', '-r', path, *prefs, '-Y', flt, '-T', 'fields', '-E', 'occurrence=a']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         text=True).stdout
    return [(line.split('\t') + [''] * len(fields))[:len(fields)] for line in out.splitlines()]


def frames_of(rows):
    """frame.number + every frame in tcp.segment of each row"""
    out = []
    for fno, segs in rows:
        out.append(int(fno))
        out += [int(s) for s in segs.split(',') if s]
    return out


REASM = ['-o', 'tcp.reassemble_out_of_order:TRUE', '-o', 'tcp.desegment_tcp_streams:TRUE',
         '-o', 'tls.desegment_ssl_records:TRUE']


def after_ch(path):
    ch = frames_of(tshark(path, ['frame.number', 'tcp.segment'], 'tls.handshake.type == 1', REASM))
    sh = [int(r[0]) for r in tshark(path, ['frame.number'], 'tls.handshake.type == 2', REASM)]
    if not ch or not sh:
        sys.exit(f'{path}: no ClientHello or no ServerHello')
    n = max(ch) + 1
    # the ServerHello record's first segment must stay
    sh_first = frames_of(tshark(path, ['frame.number', 'tcp.segment'], 'tls.handshake.type == 2', REASM))
    if min(sh_first) < n:
        sys.exit(f'{path}: the ServerHello begins in frame {min(sh_first)}, before the cut at {n}')
    return n


def after_client_kexinit(path):
    syn = tshark(path, ['tcp.srcport'], 'tcp.flags.syn == 1 && tcp.flags.ack == 0')
    if len(syn) != 1:
        sys.exit(f'{path}: want one SYN')
    client_port = syn[0][0]
    rows = tshark(path, ['frame.number', 'tcp.segment', 'tcp.srcport'], 'ssh.message_code == 20',
                  REASM)
    cli = frames_of([(f, s) for f, s, p in rows if p == client_port])
    srv = frames_of([(f, s) for f, s, p in rows if p != client_port])
    if not cli or not srv:
        sys.exit(f'{path}: want both KEXINITs')
    n = max(cli) + 1
    if min(srv) < n:
        sys.exit(f'{path}: the server KEXINIT begins in frame {min(srv)}, before the cut at {n}')
    return n


def quic_short(path):
    rows = tshark(path, ['frame.number', 'udp.payload'], 'udp')
    n = None
    for fno, payload in rows:
        if int(payload[:2], 16) & 0x80:
            n = int(fno) + 1
    if n is None:
        sys.exit(f'{path}: no long-header packet')
    return n


def main():
    mode, src, dst = sys.argv[1:4]
    n = {'after-ch': after_ch, 'after-client-kexinit': after_client_kexinit,
         'quic-short': quic_short}[mode](src)
    total = len(tshark(src, ['frame.number'], 'frame'))
    subprocess.run(['editcap', '-F', 'pcap', '-r', src, dst, f'{n}-{total}'], check=True)
    print(f'{dst}: frames {n}-{total} of {src} ({total - n + 1} kept)')


if __name__ == '__main__':
    main()
