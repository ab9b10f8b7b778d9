#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Derive the expected per-handshake values of every capture in pcaps/ with
tshark, cross-check them against what each generator intended (MANIFEST in
manifest.py) and write pcaps/expected.tsv, pcaps/expected-tunnel.tsv (the
outermost tunnel of each handshake that has one) and pcaps/README.md.

usage: expected.py [--pcaps DIR] [--check-only] [FILE...]
"""
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import manifest  # noqa: E402

HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c'
TSHARK_PREFS = ['-o', 'tcp.reassemble_out_of_order:TRUE', '-o', 'tcp.desegment_tcp_streams:TRUE',
                '-o', 'tls.desegment_ssl_records:TRUE', '-o', 'tcp.analyze_sequence_numbers:TRUE']
COLUMNS = ['file', 'client_ip', 'client_port', 'server_ip', 'server_port', 'sni', 'version',
           'offered_groups', 'key_shares', 'hrr', 'hrr_group', 'selected_group', 'cipher_suite',
           'ch_segments', 'first_ch_frame', 'sh_frame', 'expected_verdict']

# expected-tunnel.tsv: one line per handshake inside a tunnel (first_ch_frame
# tells apart two tenants with the same ports).
TUNNEL_COLUMNS = ['file', 'first_ch_frame', 'client_port', 'server_port', 'tunnel']

LINKTYPES = {0: 'NULL (BSD loopback, DLT_NULL)', 1: 'EN10MB (Ethernet)', 101: 'RAW (raw IP, DLT_RAW)',
             113: 'LINUX_SLL (cooked v1)', 276: 'LINUX_SLL2 (cooked v2)', 12: 'RAW (raw IP)'}


def hx(v):
    return '0x' + v.lower()


def linktype(path):
    with open(path, 'rb') as f:
        hdr = f.read(64)
    magic = hdr[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        return 'pcap', struct.unpack('<I', hdr[20:24])[0]
    if magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        return 'pcap', struct.unpack('>I', hdr[20:24])[0]
    if magic == b'\x0a\x0d\x0d\x0a':
        # pcapng: walk to the first IDB
        with open(path, 'rb') as f:
            data = f.read(1 << 16)
        bo = '<' if data[8:12] == b'\x4d\x3c\x2b\x1a' else '>'
        off = 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack(bo + 'II', data[off:off + 8])
            if btype == 1:
                return 'pcapng', struct.unpack(bo + 'H', data[off + 8:off + 10])[0]
            off += blen
        return 'pcapng', None
    return '?', None


def fields(elem, name):
    return [f for f in elem.iter('field') if f.get('name') == name]


def first(elem, name, attr='show'):
    for f in elem.iter('field'):
        if f.get('name') == name:
            return f.get(attr)
    return None


def innermost_addrs(pkt):
    """source and destination of the last IP header: the inner one in a tunnel"""
    src = dst = None
    for p in pkt:
        if p.tag == 'proto' and p.get('name') in ('ip', 'ipv6'):
            src, dst = first(p, p.get('name') + '.src'), first(p, p.get('name') + '.dst')
    return src, dst


IP_IN_IP = {('ip', 'ip'): 'ipip', ('ip', 'ipv6'): '6in4', ('ipv6', 'ip'): '4in6', ('ipv6', 'ipv6'): '6in6'}


def tunnel_label(pkt):
    """kexwatch's label of the outermost tunnel in a packet, as tshark decodes it ('' when none)"""
    protos = [p for p in pkt if p.tag == 'proto']
    for i, p in enumerate(protos):
        n = p.get('name')
        nxt = protos[i + 1].get('name') if i + 1 < len(protos) else None
        if n == 'vxlan':
            return f'vxlan:{int(first(p, "vxlan.vni"), 0)}'
        if n == 'geneve':
            return f'geneve:{int(first(p, "geneve.vni"), 0)}'
        if n == 'gre':
            proto, key = first(p, 'gre.proto'), first(p, 'gre.key')
            if proto in ('0x88be', '0x22eb'):
                sid = first(protos[i + 1], 'erspan.spanid') if nxt == 'erspan' else None
                return f'erspan:{int(sid, 0)}' if sid is not None else 'erspan'
            kind = 'gretap' if proto == '0x6558' else 'gre'
            return f'{kind}:key={int(key, 0)}' if key is not None else kind
        if n == 'mpls':
            return f'mpls:{int(first(p, "mpls.label"), 0)}'
        if n == 'pppoes':
            return f'pppoe:0x{int(first(p, "pppoe.session_id"), 0):04x}'
        if (n, nxt) in IP_IN_IP:
            return IP_IN_IP[(n, nxt)]
    return ''


def parse_hs(h):
    """One tls.handshake element -> dict"""
    d = {'type': int(first(h, 'tls.handshake.type') or -1)}
    rnd = first(h, 'tls.handshake.random', 'value')
    d['random'] = rnd
    d['legacy_version'] = first(h, 'tls.handshake.version', 'value')
    d['ciphers'] = [hx(f.get('value')) for f in fields(h, 'tls.handshake.ciphersuite')]
    d['sni'] = first(h, 'tls.handshake.extensions_server_name')
    d['groups'] = [hx(f.get('value')) for f in fields(h, 'tls.handshake.extensions_supported_group')]
    d['ks'] = [hx(f.get('value')) for f in fields(h, 'tls.handshake.extensions_key_share_group')]
    d['ks_selected'] = [hx(f.get('value')) for f in fields(h, 'tls.handshake.extensions_key_share_selected_group')]
    d['ks_len'] = [int(f.get('show')) for f in fields(h, 'tls.handshake.extensions_key_share_key_exchange_length')]
    d['versions'] = [hx(f.get('value')) for f in fields(h, 'tls.handshake.extensions.supported_version')]
    d['ext_types'] = [int(f.get('show')) for f in fields(h, 'tls.handshake.extension.type')]
    d['named_curve'] = first(h, 'tls.handshake.server_named_curve', 'value')
    d['psk_modes'] = [f.get('show') for f in fields(h, 'tls.extension.psk_ke_mode')]
    return d


def distinct_segments(frames, seqs):
    """tshark's tcp.segment list may contain retransmitted/duplicate copies of
    the same bytes: keep one frame per distinct sequence number (the earliest
    in capture order), sorted by sequence number."""
    best = {}
    for f in frames:
        q = seqs.get(f, f)
        if q not in best or f < best[q]:
            best[q] = f
    return [best[q] for q in sorted(best)]


def tshark_handshakes(path):
    cmd = ['tshark', '-n', '-r', path] + TSHARK_PREFS + [
        '-Y', 'tls.handshake or tcp.len > 0 or tcp.flags.fin == 1 or tcp.flags.reset == 1 or tcp.flags.syn == 1',
        '-T', 'pdml']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    root = ET.fromstring(out)
    streams = OrderedDict()
    syn_info = {}
    seqs = {}
    first_tunnel = {}
    for pkt in root.iter('packet'):
        fno = int(first(pkt, 'frame.number'))
        src, dst = innermost_addrs(pkt)   # the inner connection of a tunnel
        sport = first(pkt, 'tcp.srcport')
        dport = first(pkt, 'tcp.dstport')
        stream = int(first(pkt, 'tcp.stream'))
        # kexwatch names a flow by the tunnel of its first packet
        first_tunnel.setdefault(stream, tunnel_label(pkt))
        segs = [int(f.get('show')) for f in fields(pkt, 'tcp.segment')]
        tcplen = int(first(pkt, 'tcp.len') or 0)
        syn = first(pkt, 'tcp.flags.syn') in ('1', 'True')
        if syn:
            si = syn_info.setdefault(stream, {'syn_frames': set(), 'client_syn': None})
            si['syn_frames'].add(fno)
            if first(pkt, 'tcp.flags.ack') not in ('1', 'True'):
                si['client_syn'] = (src, sport)
            if not tcplen:
                continue  # streams keep the order of their first data, FIN or RST
        st = streams.setdefault(stream, {'data_frames': [], 'msgs': [], 'first': (src, sport, dst, dport),
                                         'fin_from': set(), 'rst': False,
                                         'tunnel': first_tunnel[stream]})
        if first(pkt, 'tcp.flags.reset') in ('1', 'True'):
            st['rst'] = True
        if first(pkt, 'tcp.flags.fin') in ('1', 'True'):
            st['fin_from'].add((src, sport))
        if tcplen:
            st['data_frames'].append((fno, src, sport))
            # TCP Fast Open: a SYN's data begins one after its sequence number,
            # where the copy the client sends again when the server ignored it begins
            seqs[fno] = int(first(pkt, 'tcp.seq')) + (1 if syn else 0)
        for proto in pkt.iter('proto'):
            if proto.get('name') != 'tls':
                continue
            for h in proto.iter('field'):
                if h.get('name') != 'tls.handshake':
                    continue
                d = parse_hs(h)
                if d['type'] < 0:
                    continue
                d['frame'] = fno
                d['segs'] = distinct_segments(segs or [fno], seqs)
                d['src'], d['sport'], d['dst'], d['dport'] = src, sport, dst, dport
                st['msgs'].append(d)
    for sid, st in streams.items():
        st.update(syn_info.get(sid, {'syn_frames': set(), 'client_syn': None}))
        # where the client's first captured byte lies (1: the stream's start)
        cl = [seqs[f] for f, src, sport in st['data_frames'] if (src, sport) == st['client_syn']]
        st['client_first_seq'] = min(cl) if cl else None
    return streams


# src/engine/engine.c lost_client_hello(): ports taken for TLS without a hello
TLS_PORTS = {443, 8443, 853, 465, 563, 636, 989, 990, 992, 993, 994, 995, 5061, 6443, 8883}
PQ = {'0x0200', '0x0201', '0x0202'}
HYB = {'0x11eb', '0x11ec', '0x11ed'}
HYB_DRAFT = {'0x6399', '0x639a'}


def is_pq_group(g):
    return g in PQ or g in HYB or g in HYB_DRAFT


# Key share sizes (client / server), issue 18's table (RFC 8446, RFC 7748,
# RFC 7919, FIPS 203 and the ECDHE-MLKEM draft), written out again here
# so the expected verdicts do not come from kexwatch's own table.
SHARE_SIZES = {'0x0017': (65, 65), '0x0018': (97, 97), '0x0019': (133, 133), '0x001d': (32, 32),
               '0x001e': (56, 56), '0x001f': (65, 65), '0x0020': (97, 97), '0x0021': (129, 129),
               '0x0100': (256, 256), '0x0101': (384, 384), '0x0102': (512, 512),
               '0x0103': (768, 768), '0x0104': (1024, 1024), '0x11ec': (1216, 1120),
               '0x11eb': (1249, 1153), '0x11ed': (1665, 1665), '0x11ee': (1249, 1153),
               '0x0200': (800, 768), '0x0201': (1184, 1088), '0x0202': (1568, 1568),
               '0x6399': (1216, 1120), '0x639a': (1249, 1153)}


def is_grease(g):
    v = int(g, 16)
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def kx_claims(chs, sh, hrr, selected):
    """kexwatch's reason for a TLS 1.3 handshake whose key-exchange claims do
    not hold (RFC 8446 4.2.8), or None: a share of the wrong size, a selected
    (or HRR-requested) group the client never offered, a share for a group
    absent from supported_groups."""
    size = offered = unlisted = False
    for c in chs:
        for g, n in zip(c['ks'], c.get('ks_len', [])):
            if is_grease(g):
                continue
            if g in SHARE_SIZES and n != SHARE_SIZES[g][0]:
                size = True
            if c['groups'] and g not in c['groups']:
                unlisted = True
    if sh and sh['ks'] and sh.get('ks_len') and sh['ks'][0] in SHARE_SIZES and \
            sh['ks_len'][0] != SHARE_SIZES[sh['ks'][0]][1]:
        size = True
    if hrr and hrr['ks_selected'] and chs[0]['groups'] and hrr['ks_selected'][0] not in chs[0]['groups']:
        offered = True
    if selected and chs[-1]['groups'] and selected not in chs[-1]['groups']:
        offered = True
    if size:
        return 'unknown/share-size'
    if offered:
        return 'unknown/group-not-offered'
    if unlisted:
        return 'unknown/share-not-in-groups'
    return None


def rows_for(path):
    name = os.path.basename(path)
    rows = []
    streams = tshark_handshakes(path)
    for sid, st in streams.items():
        msgs = st['msgs']
        chs = [m for m in msgs if m['type'] == 1]
        has_sh = any(m['type'] == 2 and m['random'] != HRR_RANDOM for m in msgs)
        if not chs and not has_sh:
            # A client whose ClientHello never showed because the start of its
            # stream was lost is reported as kexwatch does (the SYN seen, the
            # first bytes missing, a TLS port); a plaintext connection or one
            # picked up after its handshake (no SYN) has no row.
            src, sport, dst, dport = st['first']
            server_port = int(dport if (src, sport) == st['client_syn'] else sport)
            if st['client_syn'] and (st['client_first_seq'] or 1) > 1 and server_port in TLS_PORTS:
                f0 = st['data_frames'][0]
                rows.append(OrderedDict(file=name, client_ip=f0[1], client_port=f0[2],
                                        server_ip=dst if src == f0[1] else src,
                                        server_port=dport if src == f0[1] else sport,
                                        sni='', version='', offered_groups='', key_shares='', hrr='0',
                                        hrr_group='', selected_group='', cipher_suite='',
                                        ch_segments='0', first_ch_frame=str(f0[0]), sh_frame='',
                                        expected_verdict='incomplete/gap', _stream=sid, _chs=[], _sh=None))
            continue
        srv = [m for m in msgs if m['type'] == 2]
        hrrs = [m for m in srv if m['random'] == HRR_RANDOM]
        shs = [m for m in srv if m['random'] != HRR_RANDOM]
        sh = shs[0] if shs else None
        hrr = hrrs[0] if hrrs else None
        version, selected, cipher, resumed = server_choice(msgs, sh)
        if not chs:
            if sh:
                rows.append(sh_only_row(name, sid, sh, version, selected, cipher, resumed))
            continue
        ch0 = chs[0]
        offered = ch0['groups']
        if not sh:
            # kexwatch's reason for a handshake without ServerHello, from what
            # ended the connection in the capture.
            if st['rst']:
                verdict = 'incomplete/rst'
            elif len(st['fin_from']) == 2:
                verdict = 'incomplete/fin'
            else:
                verdict = 'incomplete/end-of-capture'
        elif resumed:
            verdict = 'resumed/tls12' if version != '0x0304' else 'resumed'
        elif version != '0x0304':
            verdict = 'classical/tls12'
        elif selected in HYB:
            verdict = 'hybrid'
        elif selected in PQ:
            verdict = 'pq'
        elif selected in HYB_DRAFT:
            verdict = 'hybrid-draft'
        elif any(is_pq_group(g) for g in offered):
            verdict = 'classical/server-declined'
        else:
            verdict = 'classical/client-no-pq'
        if sh and version == '0x0304':
            verdict = kx_claims(chs, sh, hrr, selected) or verdict
        rows.append(OrderedDict(
            file=name, client_ip=ch0['src'], client_port=ch0['sport'], server_ip=ch0['dst'],
            server_port=ch0['dport'], sni=ch0['sni'] or '', version=version,
            offered_groups=','.join(offered), key_shares=';'.join(','.join(c['ks']) for c in chs),
            hrr='1' if hrr else '0', hrr_group=(hrr['ks_selected'][0] if hrr and hrr['ks_selected'] else ''),
            selected_group=selected, cipher_suite=cipher,
            ch_segments=';'.join(str(len(c['segs'])) for c in chs),
            first_ch_frame=';'.join(str(c['segs'][0]) for c in chs),
            sh_frame=str(sh['segs'][0]) if sh else '', expected_verdict=verdict,
            _stream=sid, _chs=chs, _sh=sh, _hrr=hrr, _ch_in_syn=ch0['segs'][0] in st['syn_frames']))
    for r in rows:
        r['tunnel'] = streams[r['_stream']]['tunnel']
    return rows


def split_rows(path, fld, reader):
    """Rows of a capture whose connections tshark cannot tell apart (the same
    inner addresses and ports in two tunnels at once): each value of field
    fld is read from a capture of its own packets, frame numbers mapped back."""
    cmd = ['tshark', '-n', '-r', path, '-T', 'fields', '-e', fld]
    vals = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                          text=True).stdout.splitlines()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for v in sorted({x for x in vals if x}, key=lambda x: int(x, 0)):
            frames = [i + 1 for i, x in enumerate(vals) if x == v]
            sub = os.path.join(tmp, os.path.basename(path))
            subprocess.run(['tshark', '-n', '-r', path, '-Y', f'{fld} == {v}', '-w', sub],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            for r in reader(sub):
                for k in ('first_ch_frame', 'sh_frame'):
                    r[k] = ';'.join(str(frames[int(x) - 1]) for x in r[k].split(';') if x)
                rows.append(r)
    return sorted(rows, key=lambda r: int((r['first_ch_frame'] or r['sh_frame']).split(';')[0]))


def server_choice(msgs, sh):
    """version, selected group, cipher suite, resumed: what the server chose"""
    version = selected = cipher = ''
    resumed = False
    if sh:
        version = sh['versions'][0] if sh['versions'] else hx(sh['legacy_version'])
        cipher = sh['ciphers'][0] if sh['ciphers'] else ''
        if version == '0x0304':
            selected = sh['ks'][0] if sh['ks'] else ''
            if not selected and 41 in sh['ext_types']:
                resumed = True
        else:
            ske = [m for m in msgs if m['type'] == 12 and m['frame'] >= sh['frame']]
            cert = [m for m in msgs if m['type'] == 11 and m['src'] == sh['src']]
            if ske and ske[0]['named_curve']:
                selected = hx(ske[0]['named_curve'])
            if not cert and not ske:
                resumed = True
    return version, selected, cipher, resumed


def sh_only_row(name, sid, sh, version, selected, cipher, resumed):
    """A ServerHello whose ClientHello is not in the capture (the capture began
    after it): the server's choice is known, the client's offer is not. The
    client is the ServerHello's receiver. A hybrid or pq group decides by
    itself; a classical one cannot say whether the client offered PQ."""
    if resumed:
        verdict = 'resumed/tls12' if version != '0x0304' else 'resumed'
    elif version != '0x0304':
        verdict = 'classical/tls12'
    elif selected in HYB:
        verdict = 'hybrid'
    elif selected in PQ:
        verdict = 'pq'
    elif selected in HYB_DRAFT:
        verdict = 'hybrid-draft'
    else:
        verdict = 'classical/offer-unseen'
    return OrderedDict(
        file=name, client_ip=sh['dst'], client_port=sh['dport'], server_ip=sh['src'],
        server_port=sh['sport'], sni='', version=version, offered_groups='', key_shares='', hrr='0',
        hrr_group='', selected_group=selected, cipher_suite=cipher, ch_segments='0', first_ch_frame='',
        sh_frame=str(sh['segs'][0]), expected_verdict=verdict, _stream=sid, _chs=[], _sh=sh, _hrr=None,
        _ch_in_syn=False)


# ---- QUIC (files named quic-*): tshark decrypts Initial packets itself ----
# Per connection (UDP 4-tuple; client = sender of the first Initial): the
# ClientHello / ServerHello that tshark reassembles from Initial CRYPTO
# frames, and per side the CRYPTO frames in capture order. For QUIC
# ch_segments counts the Initial datagrams that brought new bytes (first
# copies; retransmissions not counted) starting inside the ClientHello,
# first_ch_frame is the datagram carrying its first byte (earliest copy),
# sh_frame the datagram carrying the first byte of the ServerHello.

def tshark_quic(path):
    cmd = ['tshark', '-n', '-r', path, '-Y', 'quic', '-T', 'pdml']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    root = ET.fromstring(out)
    conns = OrderedDict()
    for pkt in root.iter('packet'):
        fno = int(first(pkt, 'frame.number'))
        src, dst = innermost_addrs(pkt)
        sport, dport = first(pkt, 'udp.srcport'), first(pkt, 'udp.dstport')
        key = tuple(sorted([(src, sport), (dst, dport)]))
        quics = [p for p in pkt if p.tag == 'proto' and p.get('name') == 'quic']
        crypto = []
        hss = []
        versions = []
        for q in quics:
            versions.append(first(q, 'quic.version'))
            offs = [int(f.get('show')) for f in fields(q, 'quic.crypto.offset')]
            lens = [int(f.get('show')) for f in fields(q, 'quic.crypto.length')]
            crypto += list(zip(offs, lens))
            for proto in q.iter('proto'):
                if proto.get('name') != 'tls':
                    continue
                for h in proto.iter('field'):
                    if h.get('name') != 'tls.handshake':
                        continue
                    d = parse_hs(h)
                    if d['type'] < 0:
                        continue
                    d['len'] = int(first(h, 'tls.handshake.length') or 0)
                    d['frame'] = fno
                    hss.append(d)
        c = conns.get(key)
        if c is None:
            if not crypto:
                continue  # not the start of a connection we can read
            c = conns[key] = {'client': (src, sport), 'server': (dst, dport),
                              'side': {'c': [], 's': []}, 'msgs': {'c': [], 's': []},
                              'versions': set(), 'tunnel': tunnel_label(pkt)}
        side = 'c' if (src, sport) == c['client'] else 's'
        c['versions'].update(v for v in versions if v)
        for off, ln in crypto:
            c['side'][side].append((fno, off, ln))
        c['msgs'][side] += hss
    # A hello seen again with the same random is the same message sent
    # again: tshark starts a new CRYPTO stream for the attempt that follows
    # Version Negotiation, and the client resends its ClientHello there.
    for c in conns.values():
        for side in ('c', 's'):
            seen, keep = set(), []
            for m in c['msgs'][side]:
                if (m['type'], m['random']) not in seen:
                    seen.add((m['type'], m['random']))
                    keep.append(m)
            c['msgs'][side] = keep
    return conns


def quic_pieces(frames):
    """[(frame, lowest new offset)] for datagrams that brought new bytes."""
    have = bytearray()
    pieces = []
    by_frame = OrderedDict()
    for fno, off, ln in frames:
        by_frame.setdefault(fno, []).append((off, ln))
    for fno, rng in by_frame.items():
        lo = None
        for off, ln in rng:
            if off + ln > len(have):
                have.extend(b'\0' * (off + ln - len(have)))
            for o in range(off, off + ln):
                if not have[o]:
                    have[o] = 1
                    lo = o if lo is None or o < lo else lo
        if lo is not None:
            pieces.append((fno, lo))
    return pieces


def quic_covering(frames, o):
    for fno, off, ln in frames:
        if off <= o < off + ln:
            return fno
    return None


# A second, independent reader of QUIC Initials (python3-cryptography), fed
# with the UDP payloads tshark prints: it must agree with tshark wherever both
# read something, and it fills in what tshark 4.0 cannot decrypt (QUIC v2
# draft 0x709a50c4 and RFC 9369 v2, and keys re-derived after compatible
# version negotiation, RFC 9368).
QUIC_VERSIONS = {
    0x00000001: ('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'quic ', False),
    0xff00001d: ('afbfec289993d24c9e9786f19c6111e04390a899', 'quic ', False),
    0x6b3343cf: ('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'quicv2 ', True),
    0x709a50c4: ('a707c203a59b47184a1d62ca570406ea7ae3e5d3', 'quicv2 ', True),
}


def _expand_label(secret, label, n):
    import hmac
    info = struct.pack('>HB', n, 6 + len(label)) + b'tls13 ' + label + b'\0\x01'
    return hmac.new(secret, info, 'sha256').digest()[:n]


def quic_initial_keys(version, dcid, server):
    import hmac
    salt, prefix, _ = QUIC_VERSIONS[version]
    initial = hmac.new(bytes.fromhex(salt), dcid, 'sha256').digest()
    sec = _expand_label(initial, b'server in' if server else b'client in', 32)
    return [_expand_label(sec, (prefix + x).encode(), n) for x, n in (('key', 16), ('iv', 12), ('hp', 16))]


def _varint(b, i):
    n = 1 << (b[i] >> 6)
    v = b[i] & 0x3f
    for k in range(1, n):
        v = v << 8 | b[i + k]
    return v, i + n


# Retry Integrity Tag key and nonce (RFC 9001 5.8, RFC 9369 3.3.3, the v2
# draft's, draft-29's).
RETRY_SECRETS = {
    0x00000001: ('be0c690b9f66575a1d766b54e368c84e', '461599d35d632bf2239825bb'),
    0x6b3343cf: ('8fb4b01b56ac48e260fbcbcead7ccc92', 'd86969bc2d7c6d9990efb04a'),
    0x709a50c4: ('ba858dc7b43de5dbf87617ff4ab253db', '141b99c239b03e785d6a2e9f'),
    0xff00001d: ('ccce187ed09a09d05728155a6cb96be1', 'e54930f97f2136f0530a8c1c'),
}


def quic_is_retry(data):
    if len(data) < 7 or not data[0] & 0x80:
        return False
    version = struct.unpack('>I', data[1:5])[0]
    if version not in QUIC_VERSIONS:
        return False
    ptype = (data[0] >> 4) & 3
    if QUIC_VERSIONS[version][2]:
        ptype = (ptype + 3) & 3
    return ptype == 3


def quic_retry_scid(data, odcid):
    """The Source Connection ID of a Retry a client follows: its integrity
    tag verifies against the original DCID and its token is not empty;
    None otherwise."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    version = struct.unpack('>I', data[1:5])[0]
    j = 6 + data[5]
    scid = data[j + 1:j + 1 + data[j]]
    j += 1 + data[j]
    if len(data) - j <= 16:
        return None
    key, nonce = RETRY_SECRETS[version]
    pseudo = bytes([len(odcid)]) + odcid + data[:-16]
    try:
        AESGCM(bytes.fromhex(key)).decrypt(bytes.fromhex(nonce), data[-16:], pseudo)
    except InvalidTag:
        return None
    return scid


def quic_open_datagram(data, odcid, server):
    """CRYPTO frames [(offset, bytes)] of the Initial packets of one datagram,
    and the versions of its long-header packets."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    out, versions, i = [], [], 0
    while i < len(data) and data[i] & 0x80:
        b0 = data[i]
        version = struct.unpack('>I', data[i + 1:i + 5])[0]
        if version not in QUIC_VERSIONS:
            break
        versions.append(version)
        j = i + 5
        dl = data[j]; j += 1 + dl
        sl = data[j]; j += 1 + sl
        ptype = (b0 >> 4) & 3
        if QUIC_VERSIONS[version][2]:
            ptype = (ptype + 3) & 3
        if ptype == 3:
            break                                  # Retry
        if ptype == 0:
            tl, j = _varint(data, j)
            j += tl
        length, j = _varint(data, j)
        end = j + length
        if ptype != 0:
            i = end
            continue
        key, iv, hp = quic_initial_keys(version, odcid, server)
        enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
        mask = enc.update(data[j + 4:j + 20]) + enc.finalize()
        hb0 = b0 ^ (mask[0] & 0x0f)
        pnl = (hb0 & 3) + 1
        pnb = bytes(data[j + k] ^ mask[1 + k] for k in range(pnl))
        header = bytes([hb0]) + data[i + 1:j] + pnb
        nonce = bytearray(iv)
        pn = int.from_bytes(pnb, 'big')
        for k in range(8):
            nonce[4 + k] ^= (pn >> (56 - 8 * k)) & 0xff
        plain = AESGCM(key).decrypt(bytes(nonce), data[j + pnl:end], header)
        k = 0
        while k < len(plain):
            t, k = _varint(plain, k)
            if t in (0, 1):
                continue
            if t in (2, 3):
                _, k = _varint(plain, k); _, k = _varint(plain, k)
                nr, k = _varint(plain, k); _, k = _varint(plain, k)
                for _r in range(2 * nr + (3 if t == 3 else 0)):
                    _, k = _varint(plain, k)
            elif t == 6:
                off, k = _varint(plain, k)
                ln, k = _varint(plain, k)
                out.append((off, plain[k:k + ln]))
                k += ln
            elif t == 0x1c:
                _, k = _varint(plain, k); _, k = _varint(plain, k)
                rl, k = _varint(plain, k)
                k += rl
            else:
                raise ValueError(f'frame type {t:#x} in an Initial')
        i = end
    return out, versions


def _parse_hello(m):
    """ClientHello / ServerHello body -> the dict parse_hs() gives."""
    d = {'type': m[0], 'len': len(m) - 4, 'sni': None, 'groups': [], 'ks': [], 'ks_selected': [],
         'versions': [], 'ciphers': [], 'ext_types': [], 'named_curve': None, 'psk_modes': []}
    b = m[4:]
    d['legacy_version'] = '%04x' % struct.unpack('>H', b[0:2])[0]
    d['random'] = b[2:34].hex()
    i = 35 + b[34]
    if d['type'] == 1:
        n = struct.unpack('>H', b[i:i + 2])[0]
        d['ciphers'] = ['0x%04x' % struct.unpack('>H', b[i + 2 + k:i + 4 + k])[0] for k in range(0, n, 2)]
        i += 2 + n
        i += 1 + b[i]
    else:
        d['ciphers'] = ['0x%04x' % struct.unpack('>H', b[i:i + 2])[0]]
        i += 3
    end = i + 2 + struct.unpack('>H', b[i:i + 2])[0]
    i += 2
    while i < end:
        et, el = struct.unpack('>HH', b[i:i + 4])
        e = b[i + 4:i + 4 + el]
        d['ext_types'].append(et)
        if et == 0 and d['type'] == 1:
            d['sni'] = e[5:5 + struct.unpack('>H', e[3:5])[0]].decode()
        elif et == 10:
            d['groups'] = ['0x%04x' % struct.unpack('>H', e[2 + k:4 + k])[0] for k in range(0, len(e) - 2, 2)]
        elif et == 43:
            if d['type'] == 1:
                d['versions'] = ['0x%04x' % struct.unpack('>H', e[1 + k:3 + k])[0] for k in range(0, e[0], 2)]
            else:
                d['versions'] = ['0x%04x' % struct.unpack('>H', e[0:2])[0]]
        elif et == 51:
            if d['type'] == 1:
                k = 2
                while k < len(e):
                    g, kl = struct.unpack('>HH', e[k:k + 4])
                    d['ks'].append('0x%04x' % g)
                    k += 4 + kl
            elif len(e) == 2:
                d['ks_selected'] = ['0x%04x' % struct.unpack('>H', e)[0]]
            else:
                d['ks'] = ['0x%04x' % struct.unpack('>H', e[0:2])[0]]
        i += 4 + el
    return d


def _hellos(frames):
    """Handshake messages at the start of a CRYPTO stream [(frame, off, bytes)]."""
    buf = {}
    for _f, off, data in frames:
        for k, byte in enumerate(data):
            buf.setdefault(off + k, byte)
    msgs, at = [], 0
    while all(o in buf for o in range(at, at + 4)):
        n = 4 + (buf[at + 1] << 16 | buf[at + 2] << 8 | buf[at + 3])
        if not all(o in buf for o in range(at, at + n)):
            break
        m = bytes(buf[o] for o in range(at, at + n))
        if m[0] not in (1, 2):
            break
        msgs.append(_parse_hello(m))
        at += n
    return msgs


def py_quic(path):
    cmd = ['tshark', '-n', '-r', path, '-Y', 'udp', '-T', 'fields', '-e', 'frame.number',
           '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst',
           '-e', 'udp.dstport', '-e', 'udp.payload']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True).stdout
    conns = OrderedDict()
    for line in out.splitlines():
        fno, s4, s6, sport, d4, d6, dport, payload = (line.split('\t') + [''] * 8)[:8]
        src, dst = s4 or s6, d4 or d6
        data = bytes.fromhex(payload.replace(':', ''))
        key = tuple(sorted([(src, sport), (dst, dport)]))
        c = conns.get(key)
        if c is None:
            # a client's first Initial: long header, known version, DCID >= 8
            if len(data) < 1200 or not data[0] & 0x80 or \
                    struct.unpack('>I', data[1:5])[0] not in QUIC_VERSIONS or data[5] < 8:
                continue
            c = conns[key] = {'client': (src, sport), 'server': (dst, dport), 'odcid': data[6:6 + data[5]],
                              'side': {'c': [], 's': []}, 'raw': {'c': [], 's': []}, 'versions': set(),
                              'retries': 0, 'retried': False, 'server_open': False}
        side = 'c' if (src, sport) == c['client'] else 's'
        if side == 's' and quic_is_retry(data):
            # RFC 9000 17.2.5.2: the client follows the first valid Retry
            # (keys of both directions from its SCID from then on), and no
            # Retry after another one or after the server's first Initial.
            c['retries'] += 1
            scid = quic_retry_scid(data, c['odcid'])
            if scid is not None and not c['retried'] and not c['server_open']:
                c['odcid'], c['retried'] = scid, True
            continue
        try:
            frames, versions = quic_open_datagram(data, c['odcid'], side == 's')
        except Exception:  # noqa: BLE001 -- not openable with these keys
            # Keys from the datagram's own DCID: a new attempt after Version
            # Negotiation keeps them (before any Retry or server Initial);
            # a client Initial sent before the Retry arrived but captured
            # after it is read with them.
            if side != 'c' or not data[0] & 0x80 or len(data) < 6:
                continue
            try:
                frames, versions = quic_open_datagram(data, data[6:6 + data[5]], False)
            except Exception:  # noqa: BLE001
                continue
            if not c['retried'] and not c['server_open']:
                c['odcid'] = data[6:6 + data[5]]
        if side == 's' and frames:
            c['server_open'] = True
        c['versions'].update('0x%08x' % v for v in versions)
        for off, d in frames:
            c['side'][side].append((int(fno), off, len(d)))
            c['raw'][side].append((int(fno), off, d))
    for c in conns.values():
        c['msgs'] = {'c': _hellos(c['raw']['c']), 's': _hellos(c['raw']['s'])}
    return conns


def _essentials(m):
    return (m['type'], m['len'], m['sni'], m['groups'], m['ks'], m['ks_selected'], m['versions'],
            m['ciphers'], m['random'])


def quic_merge(tc, pc):
    """tshark's view, completed by and checked against the python reader."""
    problems = []
    for key, p in pc.items():
        t = tc.get(key)
        if t is None:
            p['from_python'] = ['c', 's']
            tc[key] = p
            continue
        t['from_python'] = []
        t['versions'] |= p['versions']
        t['retries'] = p['retries']
        for side in ('c', 's'):
            if not t['msgs'][side]:
                t['msgs'][side] = p['msgs'][side]
                t['side'][side] = p['side'][side]
                t['from_python'].append(side)
                continue
            if [_essentials(m) for m in t['msgs'][side]] != [_essentials(m) for m in p['msgs'][side]]:
                problems.append(f'{key} {side}: tshark and the python reader read different hellos')
            if sorted(t['side'][side]) != sorted(p['side'][side]):
                problems.append(f'{key} {side}: tshark and the python reader see different CRYPTO frames')
    return problems


def quic_rows_for(path):
    name = os.path.basename(path)
    rows = []
    conns = tshark_quic(path)
    problems = quic_merge(conns, py_quic(path))
    for key, c in conns.items():
        chs = [m for m in c['msgs']['c'] if m['type'] == 1]
        srv = [m for m in c['msgs']['s'] if m['type'] == 2]
        if not chs:
            continue
        # stream offsets of the messages, in order (only hellos travel in
        # Initial packets, so they are consecutive from 0)
        at = 0
        for m in c['msgs']['c']:
            m['at'] = at
            at += 4 + m['len']
        at = 0
        for m in c['msgs']['s']:
            m['at'] = at
            at += 4 + m['len']
        hrr = next((m for m in srv if m['random'] == HRR_RANDOM), None)
        sh = next((m for m in srv if m['random'] != HRR_RANDOM), None)
        pieces = quic_pieces(c['side']['c'])
        ch0 = chs[0]
        version = selected = cipher = ''
        if sh:
            version = sh['versions'][0] if sh['versions'] else hx(sh['legacy_version'])
            cipher = sh['ciphers'][0] if sh['ciphers'] else ''
            selected = sh['ks'][0] if sh['ks'] else ''
        offered = ch0['groups']
        if not sh:
            verdict = 'incomplete/end-of-capture'
        elif not selected:
            verdict = 'resumed'
        elif selected in HYB:
            verdict = 'hybrid'
        elif selected in PQ:
            verdict = 'pq'
        elif selected in HYB_DRAFT:
            verdict = 'hybrid-draft'
        elif any(is_pq_group(g) for g in offered):
            verdict = 'classical/server-declined'
        else:
            verdict = 'classical/client-no-pq'
        if sh and version == '0x0304':
            verdict = kx_claims(chs, sh, hrr, selected) or verdict
        rows.append(OrderedDict(
            file=name, client_ip=c['client'][0], client_port=c['client'][1], server_ip=c['server'][0],
            server_port=c['server'][1], sni=ch0['sni'] or '', version=version,
            offered_groups=','.join(offered), key_shares=';'.join(','.join(m['ks']) for m in chs),
            hrr='1' if hrr else '0', hrr_group=(hrr['ks_selected'][0] if hrr and hrr['ks_selected'] else ''),
            selected_group=selected, cipher_suite=cipher,
            ch_segments=';'.join(str(sum(1 for _, lo in pieces if m['at'] <= lo < m['at'] + 4 + m['len']))
                                 for m in chs),
            first_ch_frame=';'.join(str(quic_covering(c['side']['c'], m['at'])) for m in chs),
            sh_frame=str(quic_covering(c['side']['s'], sh['at'])) if sh else '',
            expected_verdict=verdict, tunnel=c.get('tunnel', ''), _versions=sorted(c['versions']),
            _retries=c.get('retries', 0),
            _chs=chs, _sh=sh, _hrr=hrr,
            _from_python=c.get('from_python', []), _problems=problems))
    return rows


# ---- DTLS (files named dtls*): datagrams of records ----
# A second reader of its own (below) reassembles the handshake fragments of
# each direction by message_seq from the UDP payloads tshark prints, keeping
# the first copy of every byte; tshark's own DTLS dissection (decode-as on
# the server port: its heuristics skip datagrams that also hold a DTLS 1.3
# unified-header record) must agree with it on every hello both read. Per
# connection (client = sender of the first ClientHello record):
# ch_segments counts the datagrams that brought new bytes of each
# ClientHello (retransmissions not counted), first_ch_frame is the datagram
# with its fragment_offset 0 (earliest copy), sh_frame likewise for the
# ServerHello. A HelloVerifyRequest keeps both ClientHellos, as an HRR does,
# with hrr 0.

def _dtls_records(data):
    """[(type, epoch, body)] of the plaintext records of a datagram; stops at
    a unified header (DTLS 1.3 ciphertext) or a connection-ID record."""
    out, i = [], 0
    while i + 13 <= len(data):
        t = data[i]
        if t < 20 or t > 26 or t == 25 or data[i + 1] != 0xfe:
            break
        epoch = struct.unpack('>H', data[i + 3:i + 5])[0]
        n = struct.unpack('>H', data[i + 11:i + 13])[0]
        if i + 13 + n > len(data):
            break
        out.append((t, epoch, data[i + 13:i + 13 + n]))
        i += 13 + n
    return out


def _dtls_hello(mtype, b):
    """DTLS ClientHello / ServerHello / HelloVerifyRequest body -> dict, as _parse_hello."""
    if mtype == 3:
        return {'type': 3, 'len': len(b), 'version': '0x%04x' % struct.unpack('>H', b[0:2])[0],
                'cookie_len': b[2]}
    # a ClientHello's cookie sits after the session_id: cut it out and
    # reuse the TLS reader
    if mtype == 1:
        sid_end = 35 + b[34]
        b = b[:sid_end] + b[sid_end + 1 + b[sid_end]:]
    d = _parse_hello(bytes([mtype]) + len(b).to_bytes(3, 'big') + b)
    d['len'] = None
    return d


def _dtls_ske_curve(b):
    """named curve of an ECDHE ServerKeyExchange (RFC 8422 section 5.4), or ''"""
    if len(b) >= 4 and b[0] == 3:
        return '0x%04x' % struct.unpack('>H', b[1:3])[0]
    return ''


def py_dtls(path):
    cmd = ['tshark', '-n', '-r', path, '-Y', 'udp', '-T', 'fields', '-e', 'frame.number',
           '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst',
           '-e', 'udp.dstport', '-e', 'udp.payload']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True).stdout
    conns = OrderedDict()
    for line in out.splitlines():
        fno, s4, s6, sport, d4, d6, dport, payload = (line.split('\t') + [''] * 8)[:8]
        src, dst = s4 or s6, d4 or d6
        data = bytes.fromhex(payload.replace(':', ''))
        key = tuple(sorted([(src, sport), (dst, dport)]))
        recs = _dtls_records(data)
        c = conns.get(key)
        if c is None:
            if not (recs and recs[0][0] == 22 and recs[0][1] == 0 and recs[0][2][:1] == b'\x01'):
                continue
            c = conns[key] = {'client': (src, sport), 'server': (dst, dport),
                              'msgs': {'c': {}, 's': {}}, 'ccs': {'c': [], 's': []}}
        side = 'c' if (src, sport) == c['client'] else 's'
        for t, epoch, body in recs:
            if epoch != 0:
                continue
            if t == 20:
                c['ccs'][side].append(int(fno))
            if t != 22:
                continue
            j = 0
            while j + 12 <= len(body):
                mtype = body[j]
                mlen = int.from_bytes(body[j + 1:j + 4], 'big')
                seq = struct.unpack('>H', body[j + 4:j + 6])[0]
                off = int.from_bytes(body[j + 6:j + 9], 'big')
                flen = int.from_bytes(body[j + 9:j + 12], 'big')
                frag = body[j + 12:j + 12 + flen]
                j += 12 + flen
                m = c['msgs'][side].setdefault(seq, {'type': mtype, 'len': mlen, 'seq': seq,
                                                     'buf': bytearray(mlen), 'have': bytearray(mlen),
                                                     'frames': [], 'first': None, 'copies': []})
                new = False
                for k in range(flen):
                    if not m['have'][off + k]:
                        m['have'][off + k] = 1
                        m['buf'][off + k] = frag[k]
                        new = True
                if new and int(fno) not in m['frames']:
                    m['frames'].append(int(fno))
                if int(fno) not in m['copies']:
                    m['copies'].append(int(fno))
                if off == 0 and m['first'] is None:
                    m['first'] = int(fno)
    for c in conns.values():
        for side in ('c', 's'):
            for m in c['msgs'][side].values():
                m['complete'] = all(m['have'])
                m['hello'] = _dtls_hello(m['type'], bytes(m['buf'])) \
                    if m['complete'] and m['type'] in (1, 2, 3) else None
    return conns


def tshark_dtls_hellos(path, ports):
    """Hellos tshark's DTLS dissector reassembles: {(sender, type, message_seq): dict}."""
    cmd = ['tshark', '-n', '-r', path] + sum((['-d', f'udp.port=={p},dtls'] for p in sorted(ports)), []) + [
        '-Y', 'dtls.handshake.type == 1 or dtls.handshake.type == 2 or dtls.handshake.type == 3', '-T', 'pdml']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    got = {}
    for pkt in ET.fromstring(out).iter('packet'):
        src = first(pkt, 'ip.src') or first(pkt, 'ipv6.src')
        sport = first(pkt, 'udp.srcport')
        for h in pkt.iter('field'):
            if h.get('name') != 'dtls.handshake':
                continue
            t = first(h, 'dtls.handshake.type')
            if t is None or (first(h, 'dtls.handshake.fragment_length') or '0') != \
                    (first(h, 'dtls.handshake.length') or '0') and not any(
                        f.get('name') == 'dtls.handshake.extensions_length' for f in h.iter('field')):
                continue  # a fragment tshark did not reassemble here
            def v(name):
                return [hx(f.get('value')) for f in fields(h, name)]
            d = {'type': int(t), 'seq': int(first(h, 'dtls.handshake.message_seq') or -1),
                 'random': first(h, 'dtls.handshake.random', 'value'),
                 'sni': first(h, 'dtls.handshake.extensions_server_name'),
                 'groups': v('dtls.handshake.extensions_supported_group'),
                 'ks': v('dtls.handshake.extensions_key_share_group') +
                       v('dtls.handshake.extensions_key_share_selected_group'),
                 'versions': v('dtls.handshake.extensions.supported_version'),
                 'ciphers': v('dtls.handshake.ciphersuite')}
            if d['type'] == 3 or d['random'] is None:
                continue
            got[((src, sport), d['type'], d['seq'])] = d
    return got


def dtls_rows_for(path):
    name = os.path.basename(path)
    conns = py_dtls(path)
    ts = tshark_dtls_hellos(path, {c['server'][1] for c in conns.values()})
    problems = []
    seen = set()
    for c in conns.values():
        for side, who in (('c', c['client']), ('s', c['server'])):
            for m in c['msgs'][side].values():
                h = m['hello']
                if not h or h['type'] == 3:
                    continue
                k = (who, h['type'], m['seq'])
                seen.add(k)
                t = ts.get(k)
                if t is None:
                    continue
                mine = {x: h[x] for x in ('groups', 'ks', 'versions', 'ciphers')}
                mine['ks'] = h['ks'] + h['ks_selected']
                theirs = {x: t[x] for x in ('groups', 'ks', 'versions', 'ciphers')}
                if mine != theirs or (h['sni'] or None) != (t['sni'] or None):
                    problems.append(f'{k[:2]}: tshark and the python reader read different hellos: '
                                    f'{theirs} != {mine}')
    for k in ts:
        if k not in seen:
            problems.append(f'{k[:2]}: tshark read a hello the python reader did not')
    rows = []
    for c in conns.values():
        cm = [c['msgs']['c'][q] for q in sorted(c['msgs']['c'])]
        sm = [c['msgs']['s'][q] for q in sorted(c['msgs']['s'])]
        chs = [m for m in cm if m['type'] == 1 and m['hello']][:2]
        if not chs:
            continue
        hvr = [m for m in sm if m['type'] == 3 and m['hello']]
        hrr = next((m for m in sm if m['type'] == 2 and m['hello'] and m['hello']['random'] == HRR_RANDOM), None)
        sh = next((m for m in sm if m['type'] == 2 and m['hello'] and m['hello']['random'] != HRR_RANDOM), None)
        version = selected = cipher = ''
        resumed = False
        if sh:
            hs = sh['hello']
            version = hs['versions'][0] if hs['versions'] else hx(hs['legacy_version'])
            cipher = hs['ciphers'][0]
            if version == '0xfefc':
                selected = hs['ks'][0] if hs['ks'] else ''
                resumed = not selected
            else:
                ske = [m for m in sm if m['type'] == 12 and m['seq'] > sh['seq'] and m['complete']]
                cert = [m for m in sm if m['type'] == 11]
                if ske:
                    selected = _dtls_ske_curve(bytes(ske[0]['buf']))
                if not cert and not ske and c['ccs']['s']:
                    resumed = True
        offered = chs[0]['hello']['groups']
        if not sh:
            verdict = 'incomplete/end-of-capture'
        elif resumed:
            verdict = 'resumed/tls12' if version != '0xfefc' else 'resumed'
        elif version != '0xfefc':
            verdict = 'classical/tls12'
        elif selected in HYB:
            verdict = 'hybrid'
        elif selected in PQ:
            verdict = 'pq'
        elif selected in HYB_DRAFT:
            verdict = 'hybrid-draft'
        elif any(is_pq_group(g) for g in offered):
            verdict = 'classical/server-declined'
        else:
            verdict = 'classical/client-no-pq'
        if sh and version == '0x0304':
            verdict = kx_claims(chs, sh, hrr, selected) or verdict
        rows.append(OrderedDict(
            file=name, client_ip=c['client'][0], client_port=c['client'][1], server_ip=c['server'][0],
            server_port=c['server'][1], sni=chs[0]['hello']['sni'] or '', version=version,
            offered_groups=','.join(offered), key_shares=';'.join(','.join(m['hello']['ks']) for m in chs),
            hrr='1' if hrr else '0',
            hrr_group=(hrr['hello']['ks_selected'] or hrr['hello']['ks'] or [''])[0] if hrr else '',
            selected_group=selected, cipher_suite=cipher,
            ch_segments=';'.join(str(len(m['frames'])) for m in chs),
            first_ch_frame=';'.join(str(m['first']) for m in chs),
            sh_frame=str(sh['first']) if sh else '', expected_verdict=verdict,
            _hvr=len(hvr), _resumed=resumed, _problems=problems, _chs=chs, _sh=sh, _server_msgs=sm))
    return rows


def check_fragments(path, count, order):
    """count IP fragments in the capture, every datagram's in `order`
    ('in-order': rising offsets, 'reversed': falling)"""
    cols = ['ip.id', 'ip.frag_offset', 'ip.flags.mf', 'ipv6.fraghdr.ident', 'ipv6.fraghdr.offset',
            'ipv6.fraghdr.more']
    cmd = ['tshark', '-n', '-r', path, '-E', 'occurrence=a', '-T', 'fields'] + \
        [x for c in cols for x in ('-e', c)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True).stdout
    dgrams, n = {}, 0
    for line in out.splitlines():
        v = [x.split(',') if x else [] for x in (line.split('\t') + [''] * 6)[:6]]
        for ids, offs, mfs in ((v[0], v[1], v[2]), (v[3], v[4], v[5])):
            for i, o, mf in zip(ids, offs, mfs):
                if int(o) > 0 or mf in ('1', 'True'):
                    dgrams.setdefault(i, []).append(int(o))
                    n += 1
    if n != count:
        return f'{n} IP fragments, want {count}'
    for i, offs in dgrams.items():
        want = sorted(offs, reverse=order == 'reversed')
        if offs != want:
            return f'fragments of datagram {i} at offsets {offs}: not {order}'


def main():
    args = sys.argv[1:]
    pdir = os.path.join(HERE, '..', '..', 'pcaps')
    check_only = False
    if '--pcaps' in args:
        i = args.index('--pcaps'); pdir = args[i + 1]; del args[i:i + 2]
    if '--check-only' in args:
        args.remove('--check-only'); check_only = True
    pdir = os.path.abspath(pdir)
    files = args or [f for f in manifest.ORDER if os.path.exists(os.path.join(pdir, f))]
    allrows = []
    failures = []
    info = {}
    for f in files:
        path = os.path.join(pdir, f)
        m = manifest.CAPTURES.get(f)
        reader = quic_rows_for if f.startswith('quic-') or (m or {}).get('quic') else \
            dtls_rows_for if f.startswith('dtls') else rows_for
        if (m or {}).get('split'):
            rows = split_rows(path, m['split'], reader)
            for r in rows:
                r['file'] = f
        else:
            rows = reader(path)
        fmt, lt = linktype(path)
        info[f] = (fmt, lt, os.path.getsize(path))
        if m is None:
            failures.append(f'{f}: not in manifest')
        else:
            got = Counter(r['expected_verdict'] for r in rows)
            want = Counter(m['verdicts'])
            if got != want:
                failures.append(f'{f}: verdicts {dict(got)} != intended {dict(want)}')
            for chk in m.get('checks', []):
                try:
                    msg = chk(rows)
                except Exception as e:  # noqa: BLE001
                    msg = f'check raised {e!r}'
                if msg:
                    failures.append(f'{f}: {msg}')
            if m.get('linktype') is not None and lt != m['linktype']:
                failures.append(f'{f}: linktype {lt} != {m["linktype"]}')
            if m.get('frags'):
                msg = check_fragments(path, *m['frags'])
                if msg:
                    failures.append(f'{f}: {msg}')
        allrows.extend(rows)
        print(f'{f}: {len(rows)} handshake(s) ' + ', '.join(f'{k}={v}' for k, v in
              sorted(Counter(r["expected_verdict"] for r in rows).items())), file=sys.stderr)
    if failures:
        print('CROSS-CHECK FAILURES:\n  ' + '\n  '.join(failures), file=sys.stderr)
    if not check_only:
        with open(os.path.join(pdir, 'expected.tsv'), 'w') as out:
            out.write('\t'.join(COLUMNS) + '\n')
            for r in allrows:
                out.write('\t'.join(str(r[c]) for c in COLUMNS) + '\n')
        with open(os.path.join(pdir, 'expected-tunnel.tsv'), 'w') as out:
            out.write('\t'.join(TUNNEL_COLUMNS) + '\n')
            for r in allrows:
                if r.get('tunnel'):
                    out.write('\t'.join(str(r[c]) for c in TUNNEL_COLUMNS) + '\n')
        import readme
        readme.write(pdir, files, allrows, info)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
