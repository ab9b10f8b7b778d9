#!/usr/bin/env python3
"""Derive the expected per-handshake values of every capture in pcaps/ with
tshark, cross-check them against what each generator intended (MANIFEST in
manifest.py) and write pcaps/expected.tsv and pcaps/README.md.

usage: expected.py [--pcaps DIR] [--check-only] [FILE...]
"""
import os
import struct
import subprocess
import sys
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
        '-Y', 'tls.handshake or tcp.len > 0 or tcp.flags.fin == 1 or tcp.flags.reset == 1', '-T', 'pdml']
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    root = ET.fromstring(out)
    streams = OrderedDict()
    seqs = {}
    for pkt in root.iter('packet'):
        fno = int(first(pkt, 'frame.number'))
        src = first(pkt, 'ip.src') or first(pkt, 'ipv6.src')
        dst = first(pkt, 'ip.dst') or first(pkt, 'ipv6.dst')
        # innermost IP header wins for tunnels; we have none, so the first is fine
        sport = first(pkt, 'tcp.srcport')
        dport = first(pkt, 'tcp.dstport')
        stream = int(first(pkt, 'tcp.stream'))
        segs = [int(f.get('show')) for f in fields(pkt, 'tcp.segment')]
        st = streams.setdefault(stream, {'data_frames': [], 'msgs': [], 'first': (src, sport, dst, dport),
                                         'fin_from': set(), 'rst': False})
        if first(pkt, 'tcp.flags.reset') in ('1', 'True'):
            st['rst'] = True
        if first(pkt, 'tcp.flags.fin') in ('1', 'True'):
            st['fin_from'].add((src, sport))
        tcplen = int(first(pkt, 'tcp.len') or 0)
        if tcplen:
            st['data_frames'].append((fno, src, sport))
            seqs[fno] = int(first(pkt, 'tcp.seq'))
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
    return streams


PQ = {'0x0200', '0x0201', '0x0202'}
HYB = {'0x11eb', '0x11ec', '0x11ed'}
HYB_DRAFT = {'0x6399', '0x639a'}


def is_pq_group(g):
    return g in PQ or g in HYB or g in HYB_DRAFT


def rows_for(path):
    name = os.path.basename(path)
    rows = []
    for sid, st in tshark_handshakes(path).items():
        msgs = st['msgs']
        chs = [m for m in msgs if m['type'] == 1]
        if not chs:
            if st['data_frames']:
                # TCP payload but no decodable ClientHello (e.g. truncated)
                src, sport, dst, dport = st['first']
                f0 = st['data_frames'][0]
                rows.append(OrderedDict(file=name, client_ip=f0[1], client_port=f0[2],
                                        server_ip=dst if src == f0[1] else src,
                                        server_port=dport if src == f0[1] else sport,
                                        sni='', version='', offered_groups='', key_shares='', hrr='0',
                                        hrr_group='', selected_group='', cipher_suite='',
                                        ch_segments='0', first_ch_frame=str(f0[0]), sh_frame='',
                                        expected_verdict='incomplete/gap', _stream=sid, _chs=[], _sh=None))
            continue
        ch0 = chs[0]
        srv = [m for m in msgs if m['type'] == 2]
        hrrs = [m for m in srv if m['random'] == HRR_RANDOM]
        shs = [m for m in srv if m['random'] != HRR_RANDOM]
        sh = shs[0] if shs else None
        hrr = hrrs[0] if hrrs else None
        version = ''
        selected = ''
        cipher = ''
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
        rows.append(OrderedDict(
            file=name, client_ip=ch0['src'], client_port=ch0['sport'], server_ip=ch0['dst'],
            server_port=ch0['dport'], sni=ch0['sni'] or '', version=version,
            offered_groups=','.join(offered), key_shares=';'.join(','.join(c['ks']) for c in chs),
            hrr='1' if hrr else '0', hrr_group=(hrr['ks_selected'][0] if hrr and hrr['ks_selected'] else ''),
            selected_group=selected, cipher_suite=cipher,
            ch_segments=';'.join(str(len(c['segs'])) for c in chs),
            first_ch_frame=';'.join(str(c['segs'][0]) for c in chs),
            sh_frame=str(sh['segs'][0]) if sh else '', expected_verdict=verdict,
            _stream=sid, _chs=chs, _sh=sh, _hrr=hrr))
    return rows


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
        rows = rows_for(path)
        fmt, lt = linktype(path)
        info[f] = (fmt, lt, os.path.getsize(path))
        m = manifest.CAPTURES.get(f)
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
        import readme
        readme.write(pdir, files, allrows, info)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
