#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Derive the expected per-handshake values of the SSH captures in pcaps/
and write pcaps/expected-ssh.tsv and pcaps/README-ssh.md.

Two independent readings of every capture must agree, and must match what
the generator intended (INTENT below), or the script fails:
  * tshark 4.0's SSH dissector (banners, KEXINIT kex lists, the frames that
    carry each KEXINIT);
  * a small reader here: pcap records -> TCP streams (SYN sender = client)
    -> identification lines and binary packets (RFC 4253 sections 4.2, 6)
    -> KEXINIT name-lists -> the RFC 4253 section 7.1 choice.

usage: expected_ssh.py [--pcaps DIR] [--check-only] [--test-data REPO]
  --test-data REPO  also write REPO/tests/data/ssh-*.bin (each direction's
                    bytes up to NEWKEYS) and REPO/tests/fuzz/corpus/ssh/*
"""
import hashlib
import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))

COLUMNS = ['file', 'client_ip', 'client_port', 'server_ip', 'server_port', 'client_banner',
           'server_banner', 'client_kex', 'server_kex', 'negotiated_kex', 'verdict',
           'first_kexinit_frame', 'server_kexinit_frame', 'client_kexinit_segments',
           'server_kexinit_segments', 'client_kexinit_bytes', 'server_kexinit_bytes',
           'hostkey', 'cipher_c2s', 'cipher_s2c', 'strict_kex']

# What each generator target meant to produce (contrib/pcapgen/ssh.sh).
INTENT = {
    'ssh-default-sntrup.pcap': dict(
        verdict='hybrid', kex='sntrup761x25519-sha512', client_segs=2,
        what='Stock Debian 12 OpenSSH 9.2 client and server (`ssh` / `sshd` with no kex '
             'options). Debian\'s 9.2p1-2+deb12u10 lists the RFC name `sntrup761x25519-sha512` '
             'first and `sntrup761x25519-sha512@openssh.com` second, so the plain name is '
             'negotiated. The client KEXINIT (1,560 bytes) already needs two segments at MSS 1448.'),
    'ssh-client-classical.pcap': dict(
        verdict='classical/client-no-pq', kex='curve25519-sha256', client_segs=1,
        what='Client restricted to `-o KexAlgorithms=curve25519-sha256` (its KEXINIT still '
             'carries the pseudo-algorithms `ext-info-c` and `kex-strict-c-v00@openssh.com`); '
             'stock server, which would have done sntrup761x25519.'),
    'ssh-server-refuses-pq.pcap': dict(
        verdict='classical/server-declined', kex='curve25519-sha256', client_segs=2,
        what='Stock client (offers both sntrup761x25519 names first); sshd_config '
             '`KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256`.'),
    'ssh-kexinit-2seg.pcap': dict(
        verdict='hybrid', kex='sntrup761x25519-sha512@openssh.com', client_segs=2,
        server_segs=2,
        what='Both sides advertise MSS 1000 (`ip route change ... advmss 1000` in each '
             'namespace), so each KEXINIT spans two TCP segments (client 1,768 bytes, server '
             '1,136). The client offers every kex `ssh -Q kex` lists with '
             '`sntrup761x25519-sha512@openssh.com` first, and every host key type, so the '
             '@openssh.com name is the one negotiated.'),
    'ssh-no-common-kex.pcap': dict(
        verdict='incomplete/no-common-kex', kex='',
        what='PQ-only client (`-o KexAlgorithms=sntrup761x25519-sha512,'
             'sntrup761x25519-sha512@openssh.com`) against a classical-only sshd '
             '(`KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256`): both KEXINITs are '
             'sent, nothing is common, sshd logs "no matching key exchange method found" '
             'and both sides close (FIN) without a KEX_ECDH_INIT.'),
    'ssh-no-server-kexinit.pcap': dict(
        verdict='incomplete/fin', kex='', client_segs=2,
        what='Stock client against `ssh_banner_server.py`, which sends two other lines '
             '(RFC 4253 section 4.2 allows them before the identification line), then '
             '`SSH-2.0-kxfake_1.0 no-kexinit`, reads the client KEXINIT and closes (FIN) '
             'without sending its own. tshark does not recognise a server identification '
             'line that follows other lines; the server banner here comes from the reader '
             'in this script only.'),
    # contrib/pcapgen/plaintext.sh
    'ssh-after-client-kexinit.pcap': dict(
        verdict='incomplete/offer-unseen', kex='', server_segs=1, source='ssh-default-sntrup.pcap',
        what='CUT by `contrib/pcapgen/cut.py` (`editcap -r`, target `pt_ssh_after_kexinit` of '
             '`plaintext.sh`) from a capture of stock Debian 12 OpenSSH 9.2 client and server made '
             'as for `ssh-default-sntrup.pcap`: the capture begins with the frame after the last '
             'segment of the client\'s KEXINIT, as if the sensor came up then. No SYN, no banners; '
             'the server\'s KEXINIT (which OpenSSH sent after the client\'s there) is the first '
             'server data, followed by the cleartext KEX_ECDH_INIT / REPLY and NEWKEYS. The '
             'client\'s offer is not seen, so nothing is negotiated: `incomplete`, reason '
             '`offer-unseen`. tshark\'s SSH dissector needs the version exchange and decodes '
             'nothing here; the server KEXINIT must instead equal the one stock sshd sent in '
             '`ssh-default-sntrup.pcap`.'),
    'ssh-preamble-lines.pcap': dict(
        verdict='hybrid', kex='sntrup761x25519-sha512', client_segs=2, pre_lines=40,
        what='Stock client and server, with `ssh_preamble_relay.py` (contrib/pcapgen/fixes.sh) '
             'in the server namespace on port 22 in front of the sshd (port 2222): it writes '
             'a 40-line notice of 1,603 bytes (RFC 4253 section 4.2 allows other lines before '
             'the identification line) and then relays both directions byte for byte, so the '
             'server\'s identification line and KEXINIT are the real sshd\'s. The server\'s '
             'lines span two TCP segments. tshark does not recognise an identification line '
             'that follows other lines, nor the KEXINIT after it; the server values come '
             'from the reader in this script only.'),
    'ssh-preamble-port2022.pcap': dict(
        verdict='hybrid', kex='sntrup761x25519-sha512', client_segs=2, pre_lines=40, port=2022,
        what='As `ssh-preamble-lines.pcap` with the relay on port 2022 (no port hint): the '
             'client\'s identification line comes first on the wire and says SSH.'),
    'ssh-preamble-server-first.pcap': dict(
        verdict='hybrid', kex='sntrup761x25519-sha512', pre_lines=40, port=2022,
        what='As `ssh-preamble-port2022.pcap`, with the client\'s bytes held back 0.3 s by '
             '`ssh_late_client_proxy.py` (an ssh ProxyCommand in the client namespace): the '
             'server\'s 40 lines, identification line and KEXINIT are on the wire before the '
             'client sends anything; its identification line and KEXINIT then leave in one '
             'segment.'),
    'ssh-share-size-crafted.pcap': dict(
        verdict='unknown/share-size', kex='sntrup761x25519-sha512', client_segs=2,
        what='CRAFTED from `ssh-default-sntrup.pcap` by `kx_claims_craft.py` (issue 18): the '
             'client\'s SSH_MSG_KEX_ECDH_INIT says its Q_C is 1186 bytes, not the 1190 '
             'sntrup761x25519 needs (string length - 4, padding_length + 4, packet_length '
             'unchanged), client port 50999, checksums computed again. No client sends that; '
             'the server\'s reply is the real one.'),
}
ORDER = list(INTENT)

# Q_C / Q_S sizes of the methods whose public values have one (RFC 8731,
# RFC 5656, draft-josefsson-ntruprime-ssh, draft-ietf-sshm-mlkem-hybrid-kex):
# a value of another size makes kexwatch's verdict unknown/share-size.
ECDH_SIZES = {'curve25519-sha256': (32, 32), 'curve25519-sha256@libssh.org': (32, 32),
              'curve448-sha512': (56, 56), 'ecdh-sha2-nistp256': (65, 65),
              'ecdh-sha2-nistp384': (97, 97), 'ecdh-sha2-nistp521': (133, 133),
              'sntrup761x25519-sha512': (1190, 1071),
              'sntrup761x25519-sha512@openssh.com': (1190, 1071),
              'mlkem768x25519-sha256': (1216, 1120), 'mlkem768nistp256-sha256': (1249, 1153),
              'mlkem1024nistp384-sha384': (1665, 1665)}


def ecdh_size(stream, packets, msg, strings_before):
    """Size of the public value in the first packet `msg` (30: Q_C, 31: Q_S)."""
    d = bytes(stream.data)
    for m, start, end in packets:
        if m != msg:
            continue
        i = start + 6
        for _ in range(strings_before):
            i += 4 + struct.unpack('!I', d[i:i + 4])[0]
        return struct.unpack('!I', d[i:i + 4])[0]
    return None

PSEUDO_PREFIX = ('ext-info-', 'kex-strict-')
HYBRID = {'mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com',
          'mlkem768nistp256-sha256', 'mlkem1024nistp384-sha384'}
CLASSICAL_PREFIX = ('curve25519-', 'curve448-', 'ecdh-sha2-', 'diffie-hellman-', 'gss-')


def kex_class(name):
    if name in HYBRID:
        return 'hybrid'
    if name.startswith(PSEUDO_PREFIX):
        return 'pseudo'
    if any(m in name for m in ('mlkem', 'kyber', 'sntrup', '@openquantumsafe.org')):
        return 'hybrid-draft'
    if name.startswith(CLASSICAL_PREFIX):
        return 'classical'
    return 'unknown'


# ---- pcap -> TCP streams ----

def read_pcap(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        bo = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        bo = '>'
    else:
        raise SystemExit(f'{path}: not a classic pcap')
    linktype = struct.unpack(bo + 'I', data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f'{path}: linktype {linktype}, want Ethernet')
    off, n = 24, 0
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(bo + 'IIII', data[off:off + 16])
        n += 1
        yield n, data[off + 16:off + 16 + incl]
        off += 16 + incl


def tcp_segments(path):
    """(frame, src, sport, dst, dport, flags, seq, payload) for IPv4/TCP frames."""
    for n, fr in read_pcap(path):
        if len(fr) < 14 or struct.unpack('!H', fr[12:14])[0] != 0x0800:
            continue
        ip = fr[14:]
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack('!H', ip[2:4])[0]
        if ip[9] != 6:
            continue
        tcp = ip[ihl:tot]
        sport, dport, seq = struct.unpack('!HHI', tcp[:8])
        doff = (tcp[12] >> 4) * 4
        flags = tcp[13]
        src = '.'.join(map(str, ip[12:16]))
        dst = '.'.join(map(str, ip[16:20]))
        yield n, src, sport, dst, dport, flags, seq, tcp[doff:]


class Stream:
    """One direction's bytes from SYN+1, and which frame carried each byte."""

    def __init__(self):
        self.isn = None
        self.midstream = False  # no SYN: the stream starts at the first payload
        self.data = bytearray()
        self.frames = []   # (stream offset, frame) per segment, in order

    def add(self, frame, flags, seq, payload):
        if flags & 0x02:
            self.isn = seq
            return
        if payload and self.isn is None:
            self.isn = (seq - 1) & 0xffffffff
            self.midstream = True
        if not payload:
            return
        off = (seq - self.isn - 1) & 0xffffffff
        if off > len(self.data):
            raise SystemExit(f'frame {frame}: gap in the stream (captures are meant to be clean)')
        new = payload[len(self.data) - off:]
        if new:
            self.frames.append((len(self.data), frame))
            self.data += new

    def frames_in(self, start, end):
        """Frames whose new bytes overlap stream range [start, end)."""
        out = []
        for i, (o, f) in enumerate(self.frames):
            nxt = self.frames[i + 1][0] if i + 1 < len(self.frames) else len(self.data)
            if o < end and nxt > start:
                out.append(f)
        return out


def flows(path):
    conns = {}
    for n, src, sport, dst, dport, flags, seq, payload in tcp_segments(path):
        key = tuple(sorted([(src, sport), (dst, dport)]))
        c = conns.setdefault(key, {'client': None, 'dirs': {}})
        if flags & 0x02 and not flags & 0x10:
            c['client'] = (src, sport)
        c['dirs'].setdefault((src, sport), Stream()).add(n, flags, seq, payload)
    for key, c in conns.items():
        cl = c['client']
        if cl is None:  # no SYN: the client is the side not on port 22
            cl = key[0] if key[1][1] == 22 else key[1]
        sv = key[0] if key[1] == cl else key[1]
        yield cl, sv, c['dirs'].get(cl, Stream()), c['dirs'].get(sv, Stream())


# ---- RFC 4253 reader ----

def sanitise(b):
    return ''.join(chr(c) if 0x20 <= c < 0x7f else '?' for c in b)


def parse_side(st):
    """banner line, KEXINIT dict (or None), packets [(msg, start, end)], end offset of NEWKEYS."""
    d = bytes(st.data)
    off, banner = 0, None
    while off < len(d) and not st.midstream:
        nl = d.find(b'\n', off)
        if nl < 0:
            return None, None, [], None
        line = d[off:nl].rstrip(b'\r')
        off = nl + 1
        if line.startswith(b'SSH-'):
            banner = sanitise(line)
            break
    if banner is None and not st.midstream:
        return None, None, [], None
    kexinit, packets, newkeys_end = None, [], None
    while off + 6 <= len(d):
        plen, padlen, msg = struct.unpack('!IBB', d[off:off + 6])
        if plen > 35000 or padlen < 4 or padlen + 2 > plen:
            raise SystemExit(f'bad packet header at stream offset {off}')
        if off + 4 + plen > len(d):
            break
        payload = d[off + 5:off + 4 + plen - padlen]
        if msg == 20 and kexinit is None:
            kexinit = parse_kexinit(payload)
            kexinit['start'], kexinit['end'] = off, off + 4 + plen
        else:
            packets.append((msg, off, off + 4 + plen))
        off += 4 + plen
        if msg == 21:
            newkeys_end = off
            break
    return banner, kexinit, packets, newkeys_end


def parse_kexinit(p):
    assert p[0] == 20
    o = 17
    lists = []
    for _ in range(10):
        n = struct.unpack('!I', p[o:o + 4])[0]
        lists.append(p[o + 4:o + 4 + n].decode('ascii').split(',') if n else [])
        o += 4 + n
    return {'kex': lists[0], 'hostkey': lists[1], 'enc_c2s': lists[2], 'enc_s2c': lists[3]}


def choose(c, s, skip_pseudo=False):
    for n in c:
        if skip_pseudo and n.startswith(PSEUDO_PREFIX):
            continue
        if n in s:
            return n
    return ''


def tshark(path, port=22):
    """Per frame: (src port, ssh.protocol, [kex lists], [msg codes], [tcp.segment frames])."""
    decode = [] if port == 22 else ['-d', f'tcp.port=={port},ssh']
    out = subprocess.run(
        ['tshark', '-r', path, *decode, '-o', 'tcp.desegment_tcp_streams:TRUE', '-Y', 'ssh', '-T', 'fields',
         '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=;',
         '-e', 'frame.number', '-e', 'tcp.srcport', '-e', 'ssh.protocol', '-e', 'ssh.kex_algorithms',
         '-e', 'ssh.message_code', '-e', 'tcp.segment'],
        capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.split('|')
        rows.append(dict(frame=int(f[0]), sport=int(f[1]), protocol=f[2], kex=f[3],
                         msgs=[int(x) for x in f[4].split(';') if x],
                         segs=[int(x) for x in f[5].split(';') if x]))
    return rows


def rows_for(path, failures):
    name = os.path.basename(path)
    port = INTENT.get(name, {}).get('port', 22)
    ts = tshark(path, port)
    out = []
    for (cip, cport), (sip, sport), cs, ss in flows(path):
        if port not in (cport, sport):
            continue
        cb, ck, cpk, _ = parse_side(cs)
        sb, sk, spk, _ = parse_side(ss)
        # tshark's reading of the same connection
        t_banner = {r['sport']: r['protocol'] for r in ts if r['protocol']}
        t_kex = {}
        for r in ts:
            if 20 in r['msgs'] and r['sport'] not in t_kex:
                first = min(r['segs']) if r['segs'] else r['frame']
                t_kex[r['sport']] = (r['kex'], first, len(r['segs']) or 1)
        if t_banner.get(cport) != cb:
            failures.append(f'{name}: client banner {cb!r}, tshark {t_banner.get(cport)!r}')
        if sport in t_banner and t_banner[sport] != sb:
            failures.append(f'{name}: server banner {sb!r}, tshark {t_banner[sport]!r}')
        row = dict(file=name, client_ip=cip, client_port=cport, server_ip=sip, server_port=sport,
                   client_banner=cb or '', server_banner=sb or '')
        for side, k, st, port in (('client', ck, cs, cport), ('server', sk, ss, sport)):
            if k is None:
                row.update({f'{side}_kex': '', f'{side}_kexinit_segments': '',
                            f'{side}_kexinit_bytes': ''})
                if port in t_kex:
                    failures.append(f'{name}: tshark sees a {side} KEXINIT, the reader does not')
                continue
            frames = st.frames_in(k['start'], k['end'])
            row[f'{side}_kex'] = ','.join(k['kex'])
            row[f'{side}_kexinit_segments'] = len(frames)
            row[f'{side}_kexinit_bytes'] = k['end'] - k['start']
            tk = t_kex.get(port)
            if INTENT.get(name, {}).get('source'):
                pass  # tshark reads no SSH here: checked against another capture in main()
            elif tk is None and side == 'server' and INTENT.get(name, {}).get('pre_lines'):
                pass  # tshark 4.0 reads no server packet after other lines (see INTENT)
            elif tk is None:
                failures.append(f'{name}: tshark does not see the {side} KEXINIT')
            else:
                if tk[0] != row[f'{side}_kex']:
                    failures.append(f'{name}: {side} kex list differs from tshark')
                if tk[1] != frames[0] or tk[2] != len(frames):
                    failures.append(f'{name}: {side} KEXINIT frames {frames}, tshark first '
                                    f'{tk[1]} of {tk[2]}')
            row['first_kexinit_frame' if side == 'client' else 'server_kexinit_frame'] = frames[0]
        row.setdefault('first_kexinit_frame', '')
        row.setdefault('server_kexinit_frame', '')
        neg = choose(ck['kex'], sk['kex'], True) if ck and sk else ''
        row['negotiated_kex'] = neg
        row['hostkey'] = choose(ck['hostkey'], sk['hostkey']) if ck and sk else ''
        row['cipher_c2s'] = choose(ck['enc_c2s'], sk['enc_c2s']) if ck and sk else ''
        row['cipher_s2c'] = choose(ck['enc_s2c'], sk['enc_s2c']) if ck and sk else ''
        row['strict_kex'] = int(bool(ck and sk and 'kex-strict-c-v00@openssh.com' in ck['kex'] and
                                     'kex-strict-s-v00@openssh.com' in sk['kex']))
        offers = ck is not None and any(kex_class(n) in ('hybrid', 'hybrid-draft') for n in ck['kex'])
        if ck is None:
            # picked up after the client's KEXINIT: nothing can be negotiated
            verdict = 'incomplete/offer-unseen'
        elif sk is None:
            # The engine's reason for a handshake cut short: here the server's FIN.
            verdict = 'incomplete/fin'
        elif not neg:
            verdict = 'incomplete/no-common-kex'
        else:
            cls = kex_class(neg)
            verdict = {'hybrid': 'hybrid', 'hybrid-draft': 'hybrid-draft',
                       'classical': 'classical/' + ('server-declined' if offers else 'client-no-pq')
                       }.get(cls, 'unknown')
        if neg in ECDH_SIZES and verdict != 'unknown':
            qc = ecdh_size(cs, cpk, 30, 0)
            qs = ecdh_size(ss, spk, 31, 1)
            if (qc is not None and qc != ECDH_SIZES[neg][0]) or \
                    (qs is not None and qs != ECDH_SIZES[neg][1]):
                verdict = 'unknown/share-size'
        row['verdict'] = verdict
        row['_pre_lines'] = bytes(ss.data).count(b'\n', 0, bytes(ss.data).find(b'SSH-')) \
            if b'SSH-' in ss.data else None
        row['_streams'] = (cs, ss, cpk, spk)
        out.append(row)
    return out


def check_intent(row, failures):
    m = INTENT.get(row['file'])
    if m is None:
        failures.append(f'{row["file"]}: not in INTENT')
        return
    if row['verdict'] != m['verdict']:
        failures.append(f'{row["file"]}: verdict {row["verdict"]} != intended {m["verdict"]}')
    if row['negotiated_kex'] != m['kex']:
        failures.append(f'{row["file"]}: kex {row["negotiated_kex"]!r} != intended {m["kex"]!r}')
    if row['_pre_lines'] != m.get('pre_lines', row['_pre_lines']):
        failures.append(f'{row["file"]}: {row["_pre_lines"]} lines before the server banner, '
                        f'intended {m["pre_lines"]}')
    for col, key in (('client_kexinit_segments', 'client_segs'), ('server_kexinit_segments', 'server_segs')):
        if key in m and row[col] != m[key]:
            failures.append(f'{row["file"]}: {col} {row[col]} != intended {m[key]}')


def write_test_data(repo, rows):
    """Each direction's bytes up to NEWKEYS (or all, if there is none)."""
    data = os.path.join(repo, 'tests', 'data')
    corpus = os.path.join(repo, 'tests', 'fuzz', 'corpus', 'ssh')
    os.makedirs(corpus, exist_ok=True)
    for r in rows:
        base = r['file'].replace('.pcap', '')
        cs, ss = r['_streams'][:2]
        parts = []
        for tag, st in (('c', cs), ('s', ss)):
            _, _, _, end = parse_side(st)
            b = bytes(st.data[:end] if end else st.data)
            parts.append(b)
            with open(os.path.join(data, f'{base}-{tag}.bin'), 'wb') as f:
                f.write(b)
        # fuzz_ssh.c input: piece selector, u16 client length, client bytes, server bytes
        for sel in (0, 3, 200):
            blob = bytes([sel]) + struct.pack('!H', len(parts[0])) + parts[0] + parts[1]
            h = hashlib.sha1(blob).hexdigest()
            with open(os.path.join(corpus, h), 'wb') as f:
                f.write(blob)


def write_readme(pdir, rows):
    L = ['# SSH captures', '',
         'Generated by `contrib/pcapgen/ssh.sh` (run as root; `ssh.sh` alone runs every SSH',
         'target, or make-all.sh sources it), expected values derived and cross-checked by',
         '`contrib/pcapgen/expected_ssh.py` and stored in `expected-ssh.tsv`.', '',
         'Real OpenSSH 9.2p1 from Debian 12 (`openssh-client` / `openssh-server`',
         '1:9.2p1-2+deb12u10) in two network namespaces (`kxssh-c` 198.18.0.10, `kxssh-s`',
         '198.18.0.20) joined by a veth pair, MTU 1500, offloads off (ethtool), captured with',
         '`tcpdump -n -U -s 0` on the client veth, Ethernet link type. `sshd -D -e -f <own config>`',
         'runs with fresh host keys (ed25519, ECDSA P-256, RSA 3072) on port 22; the client',
         'is `ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no',
         '-o UserKnownHostsFile=/dev/null` with a throw-away key for root and runs `true`,',
         'so the complete captures hold a full session (encrypted after NEWKEYS).', '',
         'Each direction begins with the identification line, then binary packets: the',
         'KEXINIT (message 20) first. `verdict` follows kexwatch: the kex negotiated as in',
         'RFC 4253 section 7.1 (first client name also on the server list, the',
         'pseudo-algorithms `ext-info-*` / `kex-strict-*` skipped) decides; classical is',
         '`server-declined` when the client offered a hybrid, else `client-no-pq`.',
         'A connection without a server KEXINIT is `incomplete` with the reason the',
         'engine gives any handshake cut short (`fin` here: the server closed); one',
         'whose KEXINITs have no kex in common is `incomplete/no-common-kex`; one picked',
         'up after the client\'s KEXINIT (only the server\'s is seen) is',
         '`incomplete/offer-unseen`, its client columns empty.', '',
         'Columns: `client_banner` / `server_banner` are the whole identification lines',
         'without CR LF; `client_kex` / `server_kex` the kex name-lists as on the wire;',
         '`first_kexinit_frame` / `server_kexinit_frame` the 1-based frames carrying the',
         'first byte of each KEXINIT; `*_kexinit_segments` the TCP segments carrying it;',
         '`*_kexinit_bytes` the binary packet incl. its length field; `hostkey`,',
         '`cipher_c2s`, `cipher_s2c` chosen like the kex; `strict_kex` 1 when both sides',
         'announced OpenSSH strict key exchange.', '']
    for r in rows:
        m = INTENT[r['file']]
        L += [f'## {r["file"]}', '', m['what'], '',
              '| field | value |', '| --- | --- |']
        for c in COLUMNS[1:]:
            v = str(r[c])
            L.append(f'| {c} | {"`" + v + "`" if v else "(none)"} |')
        L.append('')
    L += ['## Not produced', '',
          '* **mlkem768x25519-sha256** (OpenSSH 9.9+ default) and the NIST-curve ML-KEM',
          '  hybrids: no SSH implementation in Debian 12 has them. Covered by unit tests',
          '  (`tests/unit/test_ssh.c`), as are the Kyber/OQS drafts (`hybrid-draft`).',
          '* **Pure post-quantum kex**: SSH has no standard one; nothing maps to `pq`.',
          '* **Pre-banner lines from a server itself**: OpenSSH never sends them; in',
          '  `ssh-no-server-kexinit.pcap` a script sends them, in the `ssh-preamble-*`',
          '  captures a relay in front of the real sshd.', '']
    with open(os.path.join(pdir, 'README-ssh.md'), 'w') as f:
        f.write('\n'.join(L))


def main():
    args = sys.argv[1:]
    pdir = os.path.join(HERE, '..', '..', 'pcaps')
    check_only = False
    repo = None
    if '--pcaps' in args:
        i = args.index('--pcaps'); pdir = args[i + 1]; del args[i:i + 2]
    if '--test-data' in args:
        i = args.index('--test-data'); repo = args[i + 1]; del args[i:i + 2]
    if '--check-only' in args:
        args.remove('--check-only'); check_only = True
    pdir = os.path.abspath(pdir)
    files = args or [f for f in ORDER if os.path.exists(os.path.join(pdir, f))]
    failures, rows = [], []
    for f in files:
        got = rows_for(os.path.join(pdir, f), failures)
        if len(got) != 1:
            failures.append(f'{f}: {len(got)} SSH connections, want 1')
        for r in got:
            check_intent(r, failures)
            src = INTENT.get(f, {}).get('source')
            if src:  # a cut capture: the server KEXINIT is the one the same sshd sent there
                want = rows_for(os.path.join(pdir, src), failures)
                for col in ('server_ip', 'server_port', 'server_kex', 'server_kexinit_bytes'):
                    if want and str(want[0][col]) != str(r[col]):
                        failures.append(f'{f}: {col} {r[col]!r}, {src} has {want[0][col]!r}')
            print(f'{f}: {r["verdict"]} {r["negotiated_kex"]}', file=sys.stderr)
        rows += got
    missing = [f for f in ORDER if f not in files]
    if missing and not args:
        failures.append(f'missing captures: {missing}')
    if failures:
        print('CROSS-CHECK FAILURES:\n  ' + '\n  '.join(failures), file=sys.stderr)
        return 1
    if not check_only:
        with open(os.path.join(pdir, 'expected-ssh.tsv'), 'w') as out:
            out.write('\t'.join(COLUMNS) + '\n')
            for r in rows:
                out.write('\t'.join(str(r[c]) for c in COLUMNS) + '\n')
        write_readme(pdir, rows)
    if repo:
        write_test_data(repo, rows)
    return 0


if __name__ == '__main__':
    sys.exit(main())
