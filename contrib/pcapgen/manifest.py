# SPDX-License-Identifier: BSD-2-Clause
"""What each capture is meant to contain.  expected.py compares these
intentions with what tshark decodes from the capture; any mismatch fails.

verdicts: multiset of expected per-handshake verdicts.
checks:   callables(rows) -> None or an error string.
"""

ETH, NULL, RAW, SLL, SLL2 = 1, 0, 101, 113, 276


def sel(*groups):
    """every complete handshake selected one of groups, in this order"""
    def c(rows):
        got = [r['selected_group'] for r in rows]
        if got != list(groups):
            return f'selected groups {got} != {list(groups)}'
    return c


def field(name, *values):
    def c(rows):
        got = [r[name] for r in rows]
        if got != list(values):
            return f'{name} {got} != {list(values)}'
    return c


def min_segments(n, which=0):
    def c(rows):
        for r in rows:
            segs = r['ch_segments'].split(';')
            if r['ch_segments'] and int(segs[which]) < n:
                return f'ClientHello #{which} in {segs[which]} segment(s), want >= {n}'
    return c


def ks(*lists):
    return field('key_shares', *lists)


HYB_DEFAULT_GROUPS = None  # filled from the first capture in README only

CAPTURES = {}
ORDER = []


def cap(name, how, verdicts, checks=(), linktype=ETH, notes='', split=None, frags=None, quic=False):
    """split: a tshark field whose values tell apart connections tshark would mix
    (read one value at a time); frags: (IP fragments in the capture, 'in-order'|'reversed');
    quic: QUIC although not named quic-* (those are read by test_quic's own reader, which
    does not reassemble IP fragments); its name must then end in -quic.pcap"""
    ORDER.append(name)
    CAPTURES[name] = dict(how=how, verdicts=verdicts, checks=list(checks), linktype=linktype, notes=notes,
                          split=split, frags=frags, quic=quic)


N24 = 'Node 24.11.0 (OpenSSL 3.5.4)'
cap('tls13-x25519mlkem768.pcap',
    f'{N24} client, defaults -> {N24} server, defaults',
    ['hybrid'], [sel('0x11ec'), ks('0x11ec,0x001d'), min_segments(2), field('hrr', '0')])
cap('tls13-secp256r1mlkem768.pcap',
    f'{N24} client ecdhCurve SecP256r1MLKEM768 -> {N24} server ecdhCurve SecP256r1MLKEM768',
    ['hybrid'], [sel('0x11eb'), ks('0x11eb')])
cap('tls13-secp384r1mlkem1024.pcap',
    f'{N24} client ecdhCurve SecP384r1MLKEM1024 -> {N24} server ecdhCurve SecP384r1MLKEM1024',
    ['hybrid'], [sel('0x11ed'), ks('0x11ed'), min_segments(2)])
cap('tls13-mlkem768.pcap',
    f'{N24} client ecdhCurve MLKEM768 -> {N24} server ecdhCurve MLKEM768 (pure ML-KEM, no ECDH)',
    ['pq'], [sel('0x0201'), ks('0x0201')])
cap('tls13-server-declined.pcap',
    f'{N24} client, defaults (offers hybrid) -> {N24} server ecdhCurve X25519:P-256',
    ['classical/server-declined'], [sel('0x001d'), ks('0x11ec,0x001d'), field('hrr', '0')])
cap('tls13-server-declined-openssl30.pcap',
    f'{N24} client, defaults -> Debian openssl 3.0 s_server (classical)',
    ['classical/server-declined'], [sel('0x001d')])
cap('tls13-server-declined-gnutls.pcap',
    f'{N24} client, defaults -> Debian gnutls-serv 3.7 (classical)',
    ['classical/server-declined'], [sel('0x001d')])
cap('tls13-client-no-pq.pcap',
    f'Debian openssl 3.0 s_client (classical) -> {N24} server, defaults',
    ['classical/client-no-pq'], [sel('0x001d'), ks('0x001d')])
cap('tls13-gnutls-client.pcap',
    f'Debian gnutls-cli 3.7 (classical) -> {N24} server, defaults',
    ['classical/client-no-pq'])
cap('tls13-hrr-x25519mlkem768.pcap',
    f'{N24} client ecdhCurve X25519:X25519MLKEM768 (share for X25519 only) -> {N24} server ecdhCurve X25519MLKEM768 only',
    ['hybrid'], [sel('0x11ec'), ks('0x001d;0x11ec'), field('hrr', '1'), field('hrr_group', '0x11ec')])
cap('tls12-ecdhe.pcap',
    f'{N24} client maxVersion TLSv1.2 -> {N24} server, defaults (ECDHE-ECDSA, x25519 in ServerKeyExchange)',
    ['classical/tls12'], [sel('0x001d'), field('version', '0x0303')])
cap('tls12-rsa.pcap',
    f'{N24} client maxVersion TLSv1.2, ciphers AES128-GCM-SHA256 -> {N24} server with RSA-2048 cert (static RSA key exchange)',
    ['classical/tls12'], [sel(''), field('cipher_suite', '0x009c')])
cap('tls13-resumption.pcap',
    f'{N24} client -> {N24} server: full handshake, then resumption with the TLS 1.3 ticket (psk_dhe_ke: the resumed ClientHello/ServerHello still carry a hybrid key share, so its verdict is hybrid, not resumed)',
    ['hybrid', 'hybrid'], [sel('0x11ec', '0x11ec')])
cap('tls12-resumption.pcap',
    f'{N24} client maxVersion TLSv1.2 -> {N24} server: full ECDHE handshake, then abbreviated handshake with the session ticket (no Certificate/ServerKeyExchange)',
    ['classical/tls12', 'resumed/tls12'], [sel('0x001d', '')])
cap('tls13-psk-ke.pcap',
    f'{N24} client (secureOptions SSL_OP_ALLOW_NO_DHE_KEX; offers psk_dhe_ke and psk_ke) -> {N24} server with OpenSSL config Options=AllowNoDHEKEX,PreferNoDHEKEX: full hybrid handshake, then psk_ke resumption (ServerHello has pre_shared_key but no key_share)',
    ['hybrid', 'resumed'], [sel('0x11ec', '')])
cap('tls13-midstream.pcap',
    f'{N24} client -> {N24} server; tcpdump started after the TCP 3-way handshake (client connects, waits, then starts TLS): no SYN/SYN-ACK in the capture',
    ['hybrid'], [sel('0x11ec'), field('first_ch_frame', '1')])
cap('tls13-ipv6.pcap',
    f'{N24} client -> {N24} server over IPv6 (ULA fd00:6b78::/64, nodad)',
    ['hybrid'], [sel('0x11ec'), min_segments(2)])
cap('tls13-small-mss-4seg.pcap',
    f'{N24} client -> {N24} server; server route advmss 400 so the SYN-ACK announces MSS 400 and the ClientHello is cut into 5 segments',
    ['hybrid'], [sel('0x11ec'), min_segments(4)])
cap('tls13-sll.pcap', f'{N24} client -> {N24} server; tcpdump -i any -y LINUX_SLL in the client namespace',
    ['hybrid'], [sel('0x11ec')], linktype=SLL)
cap('tls13-sll2.pcap', f'{N24} client -> {N24} server; tcpdump -i any -y LINUX_SLL2 in the client namespace',
    ['hybrid'], [sel('0x11ec')], linktype=SLL2)
cap('tls13-x25519mlkem768.pcapng', f'{N24} client -> {N24} server; captured with dumpcap (pcapng, SHB+IDB+EPB)',
    ['hybrid'], [sel('0x11ec')])
cap('tls13-raw.pcap', 'CONVERTED by contrib/pcapgen/convert.py from tls13-x25519mlkem768.pcap: Ethernet header stripped, ARP frames dropped (LINKTYPE_RAW 101)',
    ['hybrid'], [sel('0x11ec')], linktype=RAW)
cap('tls13-null.pcap', 'CONVERTED by convert.py from tls13-x25519mlkem768.pcap: 4-byte little-endian (file/host order) AF_INET=2 header (LINKTYPE_NULL 0), ARP dropped',
    ['hybrid'], [sel('0x11ec')], linktype=NULL)
cap('tls13-ipv6-raw.pcap', 'CONVERTED by convert.py from tls13-ipv6.pcap (LINKTYPE_RAW 101, IPv6 packets incl. ND/MLD)',
    ['hybrid'], [sel('0x11ec')], linktype=RAW)
cap('tls13-ipv6-null.pcap', 'CONVERTED by convert.py from tls13-ipv6.pcap: LINKTYPE_NULL with AF_INET6=30 (Darwin value; FreeBSD uses 28, Net/OpenBSD 24), little-endian',
    ['hybrid'], [sel('0x11ec')], linktype=NULL)
cap('tls13-ipv4-options.pcap',
    f'{N24} client on a socket opened by python with setsockopt(IP_OPTIONS, NOP+Router-Alert+NOP,NOP,EOL = 8 bytes): every client->server IPv4 packet has IHL=7 (real kernel-generated options, not converted) -> {N24} server (replies without options)',
    ['hybrid'], [sel('0x11ec')])
cap('tls13-incomplete-rst.pcap',
    f'{N24} client -> python server that reads the ClientHello and aborts with RST (SO_LINGER 0)',
    ['incomplete/rst'], [field('selected_group', '')])
cap('tls13-incomplete-silent.pcap',
    f'{N24} client -> python server that reads the ClientHello and never answers; client gives up after 3 s (FIN)',
    ['incomplete/fin'])
cap('tls13-dropped-large-ch.pcap',
    f'{N24} client -> {N24} server; nft rule in the server namespace drops IPv4 packets > 1400 bytes (input hook). The capture (client side) holds the full ClientHello but the first segment never reaches the server stack; the client retransmits it (RTO backoff) until its 5 s timeout',
    ['incomplete/end-of-capture'])

cap('merged-time-jumps.pcap',
    'CONVERTED by contrib/pcapgen/merge_time_jumps.py (merge target): the records of tls13-x25519mlkem768.pcap '
    'as captured, then those of tls13-client-no-pq.pcap with every timestamp 2190 days (~6 years) later, then '
    'those of tls13-server-declined.pcap 1460 days (4 years) earlier than captured, byte for byte otherwise: '
    'between two records the time jumps 6 years forward, later 10 years back, as in captures merged or '
    're-stamped by other tools (libpcap reads them; the reader must not take such a header for a corrupt one)',
    ['hybrid', 'classical/client-no-pq', 'classical/server-declined'], [sel('0x11ec', '0x001d', '0x001d')])

cap('tls13-tso-len0.pcap',
    f'{N24} client -> {N24} server with an 84 KB certificate (4200 subjectAltNames), captured on the SERVER veth '
    'with its offloads ON (tx, sg, tso, gso), IPv4 BIG TCP (gso_ipv4_max_size 185000, set over netlink by '
    'gso_ipv4_max.py; kernel 6.18), server route initcwnd 100, client initrwnd 100 and tcp_rmem 1 MB: the '
    'server\'s first flight (ServerHello ... Finished, ~81 KB, one write) leaves as one TCP segment over 64 KiB, '
    'whose IPv4 total length the sending kernel sets to 0 (real, not converted: tcpdump prints "bad-len 0"). '
    'tcpdump kept 65562 of its 72466 bytes (libpcap sizes its buffer for 64 KiB packets on an interface with '
    'offloads), so the frame is also cut: the ServerHello lies in the captured part, the rest of the flight '
    'after it is missing. The server\'s TCP checksums are the partial ones of checksum offload',
    ['hybrid'], [sel('0x11ec'), ks('0x11ec,0x001d')])


def reordered(rows):
    r = rows[0]
    if r['ch_segments'] != '3':
        return f'ClientHello in {r["ch_segments"]} distinct segments, want 3'
    if not int(r['first_ch_frame']) > 6:
        return 'first ClientHello segment is not after the reordered third one'


cap('tls13-reorder-dup-loss.pcap',
    f'{N24} client -> relay.py (AF_PACKET bridge in a middle namespace) -> {N24} server; server route advmss 600 so the ClientHello is 3 segments s1,s2,s3. The relay holds s1, drops the first copy of s2, forwards s3, then s1 twice (duplicate); the client kernel retransmits s2. Captured on the server interface: order s3, s1, s1(dup), s2(retransmission)',
    ['hybrid'], [sel('0x11ec'), reordered])
cap('tls13-ch-first-segment-lost.pcap',
    f'{N24} client -> relay.py dropping every copy of the first ClientHello segment -> {N24} server; captured at the server: only the ClientHello tail (second segment, ~140 bytes) is ever seen, the ClientHello cannot be reassembled; client gives up after 3 s',
    ['incomplete/gap'], [field('ch_segments', '0')])
cap('tls13-vlan.pcap',
    f'{N24} client -> relay.py -> {N24} server; the relay mirrors every forwarded frame onto a span veth with an 802.1Q tag (TPID 0x8100, VID 100) inserted; captured on the span veth',
    ['hybrid'], [sel('0x11ec')])
cap('tls13-qinq.pcap',
    f'as tls13-vlan.pcap but with stacked tags: outer 802.1ad (TPID 0x88a8, VID 200) + inner 802.1Q (0x8100, VID 100)',
    ['hybrid'], [sel('0x11ec')])


def mixed_check(rows):
    want = {'hybrid': ('hybrid', '0x11ec', '0'), 'declined': ('classical/server-declined', '0x001d', '0'),
            'hrr': ('hybrid', '0x11ec', '1'), 'tls12': ('classical/tls12', '0x001d', '0'),
            'classic': ('classical/client-no-pq', '0x001d', '0'), 'gnutls': ('classical/client-no-pq', '0x001d', '0')}
    for r in rows:
        kind = r['sni'].split('-')[0]
        got = (r['expected_verdict'], r['selected_group'], r['hrr'])
        if want.get(kind) != got:
            return f'{r["sni"]}: {got} != {want.get(kind)}'


MIXED = dict(hybrid=16, declined=8, classic=8, hrr=8, tls12=6, gnutls=4)
cap('tls13-mixed-50.pcap',
    f'50 concurrent connections from one client namespace, captured on the client interface. '
    f'Servers: 198.18.0.20:443 {N24} defaults; 198.18.0.21:8443 {N24} ecdhCurve X25519:P-256; 198.18.0.22:9443 {N24} ecdhCurve X25519MLKEM768 only. '
    f'Clients: 16x {N24} default -> .20:443 (SNI hybrid-NN.mixed.kx.test, hybrid); '
    f'8x {N24} default -> .21:8443 (declined-NN, classical/server-declined); '
    f'8x {N24} ecdhCurve X25519:X25519MLKEM768 -> .22:9443 (hrr-NN, HelloRetryRequest then hybrid); '
    f'6x {N24} maxVersion TLSv1.2 -> .20:443 (tls12-NN, classical/tls12 x25519); '
    f'8x Debian openssl 3.0 s_client -> .20:443 (classic-NN, classical/client-no-pq); '
    f'4x Debian gnutls-cli -> .21:8443 (gnutls-NN, classical/client-no-pq)',
    ['hybrid'] * 24 + ['classical/server-declined'] * 8 + ['classical/tls12'] * 6 + ['classical/client-no-pq'] * 12,
    [mixed_check])
cap('tls13-mlkem512.pcap',
    f'{N24} client ecdhCurve MLKEM512 -> {N24} server ecdhCurve MLKEM512 (pure ML-KEM-512)',
    ['pq'], [sel('0x0200'), ks('0x0200')])
cap('tls13-mlkem1024.pcap',
    f'{N24} client ecdhCurve MLKEM1024 -> {N24} server ecdhCurve MLKEM1024 (pure ML-KEM-1024)',
    ['pq'], [sel('0x0202'), ks('0x0202'), min_segments(2)])
cap('tls13-grease-x25519mlkem768.pcap',
    f'CRAFTED ClientHello (contrib/pcapgen/craft.js, Chrome-like: GREASE cipher 0x3a3a, GREASE extensions 0x9a9a/0xeaea, GREASE group 0x4a4a first in supported_groups and key_share (1-byte share), GREASE version 0x7a7a; real X25519MLKEM768 and X25519 keys) -> real {N24} server, defaults. The client closes after the ServerHello flight, so the handshake is not finished (no client Finished), but the ServerHello is real',
    ['hybrid'], [sel('0x11ec'), ks('0x4a4a,0x11ec,0x001d'), field('offered_groups', '0x4a4a,0x11ec,0x001d,0x0017,0x0018')])
cap('tls13-hybrid-draft-synthetic.pcap',
    'SYNTHETIC on both sides (real TCP, hand-made TLS bytes): craft.js client offering GREASE, X25519Kyber768Draft00 (0x6399), SecP256r1Kyber768Draft00 (0x639a), x25519, secp256r1 with shares for 0x4a4a, 0x6399 (random 1216 bytes), 0x001d -> craft.js fake server answering ServerHello selecting 0x6399 (random 1120-byte share) + ChangeCipherSpec, then both close. No stack available here implements the Kyber drafts',
    ['hybrid-draft'], [sel('0x6399')])

SRC_CLAIMS = 'tls13-x25519mlkem768.pcap (the real Node 24 handshake) with bytes EDITED by contrib/pcapgen/kx_claims_craft.py (same packets and lengths, own client port, checksums computed again)'
cap('tls13-share-size-crafted.pcap',
    f'CRAFTED from {SRC_CLAIMS}: the ClientHello\'s two key share labels swapped, so the share labelled X25519MLKEM768 is 32 bytes and the one labelled x25519 1216 (client port 58901). No stack sends a wrong-sized share on purpose',
    ['unknown/share-size'], [sel('0x11ec'), ks('0x001d,0x11ec')])
cap('tls13-not-offered-crafted.pcap',
    f'CRAFTED from {SRC_CLAIMS}: the ServerHello\'s key_share group 0x11ec changed to 0x6399 (X25519Kyber768Draft00, the same 1120-byte share), a group the client never offered (client port 58902)',
    ['unknown/group-not-offered'], [sel('0x6399'), ks('0x11ec,0x001d')])
cap('tls13-share-unlisted-crafted.pcap',
    f'CRAFTED from {SRC_CLAIMS}: supported_groups\' x25519 (0x001d) changed to ffdhe8192 (0x0104), so the x25519 key share is for a group absent from supported_groups (client port 58903)',
    ['unknown/share-not-in-groups'], [sel('0x11ec'), ks('0x11ec,0x001d'),
     field('offered_groups', '0x11ec,0x0104,0x0017,0x001e,0x0018,0x0019,0x0100,0x0101')])

# issue 18: TLS 1.2, where the server's certificate is visible (contrib/pcapgen/certs.sh)
for _stack, _how in (('openssl', 'Debian openssl 3.0 s_client -tls1_2 -> s_server -tls1_2'),
                     ('gnutls', 'Debian GnuTLS 3.7 gnutls-cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 -> gnutls-serv')):
    for _key, _what in (('rsa', 'RSA-3072 / sha384WithRSAEncryption' if _stack == 'openssl' else 'RSA-2048 / sha256WithRSAEncryption'),
                        ('ecdsa', 'ECDSA P-384 / ecdsa-with-SHA384' if _stack == 'openssl' else 'ECDSA P-256 / ecdsa-with-SHA256'),
                        ('ed25519', 'Ed25519')):
        cap(f'tls12-{_stack}-{_key}.pcap', f'{_how}, self-signed {_what} leaf certificate',
            ['classical/tls12'], [field('version', '0x0303')])

# keep the big one last
ORDER.remove('tls13-mixed-50.pcap')
ORDER.append('tls13-mixed-50.pcap')


# ---- QUIC: expected.py reads these with tshark's own Initial decryption and
# with a second, independent reader (python3-cryptography) that must agree
# with it and fills in what tshark 4.0 cannot decrypt ----
def agree(rows):
    for r in rows:
        if r['_problems']:
            return '; '.join(r['_problems'])


def versions(*want):
    def c(rows):
        for r in rows:
            if r['_versions'] != list(want):
                return f'QUIC versions {r["_versions"]} != {list(want)}'
    return c


CHROMIUM = 'Debian Chromium 156 (BoringSSL)'
NGTCP2 = 'Debian ngtcp2 0.12.1 gtlsserver (GnuTLS 3.7, classical groups)'
cap('quic-chromium-ngtcp2.pcap',
    f'QUIC v1 over IPv4: {CHROMIUM} headless, --origin-to-force-quic-on, one HTTP/3 GET -> {NGTCP2}. '
    'The ClientHello (X25519MLKEM768 + x25519 shares) spans two Initial datagrams with shuffled '
    'CRYPTO frames (Chromium\'s chaos protection); the server answers x25519',
    ['classical/server-declined'], [sel('0x001d'), ks('0x11ec,0x001d'), min_segments(2), agree,
                                    versions('0x00000001')])
cap('quic-chromium-ngtcp2-ipv6.pcap',
    f'as quic-chromium-ngtcp2.pcap over IPv6 (fd00:6b78::10 -> fd00:6b78::20)',
    ['classical/server-declined'], [sel('0x001d'), ks('0x11ec,0x001d'), min_segments(2), agree,
                                    versions('0x00000001')])
cap('quic-ngtcp2-v2draft.pcap',
    'QUIC v1 -> v2 draft (0x709a50c4) by compatible version negotiation (RFC 9368): Debian ngtcp2 0.12.1 '
    'gtlsclient (GnuTLS 3.7, -v v1 --other-versions v2draft,v1) -> gtlsserver --preferred-versions v2draft,v1. '
    'The client\'s Initials are v1, the server\'s v2draft with keys from the same original DCID. tshark 4.0 '
    'decrypts only the v1 ClientHello; the ServerHello values come from the python reader in expected.py',
    ['classical/client-no-pq'], [sel('0x001d'), ks('0x001d,0x0017'), agree,
                                 versions('0x00000001', '0x709a50c4')])
cap('quic-chromium-hybrid-synthetic.pcap',
    f'SYNTHETIC server, real client: {CHROMIUM} (as in quic-chromium-ngtcp2.pcap) -> contrib/pcapgen/quicsh.js '
    '(Node 24.11 / OpenSSL 3.5.4), which opens the client Initials, performs a real X25519MLKEM768 exchange '
    'against Chromium\'s key share (ML-KEM-768 encapsulation + X25519) and answers with one protected server '
    'Initial (ACK + CRYPTO ServerHello, TLS_AES_128_GCM_SHA256, group 0x11ec), then stays silent. Chromium '
    'accepts the ServerHello (it ACKs it and sends Handshake-level probes under the keys derived from the '
    'hybrid secret, no alert) and is stopped a second later. No QUIC server available here selects a hybrid group',
    ['hybrid'], [sel('0x11ec'), ks('0x11ec,0x001d'), min_segments(2), agree, versions('0x00000001')])


# ---- contrib/pcapgen/plaintext.sh: TCP Fast Open, and ServerHellos whose
# ClientHello is not in the capture ----
def ch_in_syn(*flags):
    return field('_ch_in_syn', *flags)


CURL = 'Debian curl 7.88.1 (OpenSSL 3.0, classical)'
cap('tls13-tfo.pcap',
    f'TCP Fast Open (RFC 7413), client namespace net.ipv4.tcp_fastopen=3, server namespace 0x403 (3 + '
    f'TFO_SERVER_WO_SOCKOPT1: Node has no TCP_FASTOPEN option, so every listener gets Fast Open). {N24} '
    f'server, defaults. Five connections: (1) {CURL} `--tcp-fastopen`, no cookie yet: the SYN asks for one '
    f'and carries no data; (2) curl again: its 517-byte ClientHello in the SYN, acknowledged by the SYN-ACK; '
    f'(3) {N24} client (hybrid) on a socket opened by tfo_client.py with TCP_FASTOPEN_CONNECT: the first '
    f'1420 bytes of its ClientHello in the SYN, accepted, the rest in the next segment; then the server '
    f'namespace\'s tcp_fastopen is set to 0, so the same listener ignores SYN data (its SYN-ACK acknowledges '
    f'ISN+1 only) and the clients send the bytes again after the handshake: (4) Node hybrid, (5) curl. '
    f'first_ch_frame is the SYN in (2)-(5); a second copy is not a segment',
    ['classical/client-no-pq', 'classical/client-no-pq', 'hybrid', 'hybrid', 'classical/client-no-pq'],
    [sel('0x001d', '0x001d', '0x11ec', '0x11ec', '0x001d'), ch_in_syn(False, True, True, True, True),
     field('ch_segments', '1', '1', '2', '2', '1')])
cap('tls13-after-clienthello.pcap',
    f'CUT by contrib/pcapgen/cut.py (`editcap -r`) from a capture of {N24} client -> {N24} server, both '
    'defaults (made as tls13-x25519mlkem768.pcap, by plaintext.sh): the capture begins with the frame '
    'after the last ClientHello segment, as if the sensor came up then. The ServerHello selecting '
    'X25519MLKEM768 is on the wire, the ClientHello (and the SYN) are not',
    ['hybrid'], [sel('0x11ec'), field('first_ch_frame', ''), field('ch_segments', '0')])
cap('tls13-after-clienthello-x25519.pcap',
    f'CUT the same way from {N24} client, defaults -> {N24} server ecdhCurve X25519:P-256 (made as '
    'tls13-server-declined.pcap): a ServerHello selecting x25519 without its ClientHello. That the client '
    'offered X25519MLKEM768 (the server declined it) is not in the capture: classical, reason offer-unseen',
    ['classical/offer-unseen'], [sel('0x001d'), field('first_ch_frame', ''), field('ch_segments', '0')])
# ---- QUIC Retry and Version Negotiation (issue 16): the python reader in
# expected.py follows the first Retry whose integrity tag verifies, as a
# client does, and a new attempt after Version Negotiation ----
def retries(n):
    def c(rows):
        for r in rows:
            if r['_retries'] != n:
                return f'{r["_retries"]} Retry packet(s), want {n}'
    return c


GTLS = 'Debian ngtcp2 0.12.1 gtlsclient (GnuTLS 3.7)'
cap('quic-ngtcp2-retry.pcap',
    f'QUIC v1 with address validation: {GTLS} -> gtlsserver -V (--validate-addr), which answers the first '
    'Initial with a Retry (token, new connection ID, integrity tag). The client starts over with the token '
    'to the Retry\'s Source Connection ID, and both directions\' Initial keys come from that ID',
    ['classical/client-no-pq'], [sel('0x001d'), ks('0x001d,0x0017'), agree, versions('0x00000001'), retries(1)])
cap('quic-chromium-ngtcp2-retry.pcap',
    f'{CHROMIUM} -> gtlsserver -V: Chromium\'s ClientHello spans two Initial datagrams and the server answers '
    'EACH with a Retry (two real Retries, different connection IDs, both tags valid). Chromium follows the '
    'first and ignores the second (RFC 9000 17.2.5.2); its ClientHello is sent again after the Retry with '
    'other CRYPTO frame boundaries (first copies count for ch_segments and first_ch_frame)',
    ['classical/server-declined'], [sel('0x001d'), ks('0x11ec,0x001d'), min_segments(2), agree,
                                    versions('0x00000001'), retries(2)])
cap('quic-ngtcp2-retry-v2draft.pcap',
    f'Retry then compatible version negotiation: {GTLS} -v v1 --other-versions v2draft,v1 -> gtlsserver -V '
    '--preferred-versions v2draft,v1. v1 Initial, v1 Retry, v1 Initial to the Retry\'s SCID, then the server '
    'switches to the v2 draft (0x709a50c4) with keys from that SCID. tshark 4.0 reads only the v1 ClientHello',
    ['classical/client-no-pq'], [sel('0x001d'), ks('0x001d,0x0017'), agree,
                                 versions('0x00000001', '0x709a50c4'), retries(1)])
cap('quic-ngtcp2-v2draft-retry.pcap',
    f'{GTLS} -v v2draft -> gtlsserver -V: everything in the v2 draft (0x709a50c4), the Retry with its packet '
    'type bits and integrity tag key. tshark 4.0 reads none of it; the values come from the python reader',
    ['classical/client-no-pq'], [sel('0x001d'), ks('0x001d,0x0017'), agree, versions('0x709a50c4'), retries(1)])
cap('quic-ngtcp2-vn-converted.pcap',
    'CONVERTED by contrib/pcapgen/quic_retry_to_vn.py from quic-ngtcp2-retry.pcap: the Retry datagram replaced '
    'by a Version Negotiation packet (DCID/SCID of the client\'s first Initial swapped, one version, 0x709a50c4; '
    'IPv4/UDP lengths and checksums recomputed), the rest byte for byte. The client\'s next Initial goes to a '
    'new DCID with keys from it, as after Version Negotiation (a real client would not go on in v1 after this '
    'list). No stack here restarts after Version Negotiation: gtlsclient 0.12 gives up (tried with -v 0x1a2a3a4a)',
    ['classical/client-no-pq'], [sel('0x001d'), ks('0x001d,0x0017'), agree, versions('0x00000000', '0x00000001'),
                                 retries(0)])
# ---- DTLS: expected.py reassembles the handshake fragments itself and checks
# every hello tshark's DTLS dissector reads against that ----
def hvr(*counts):
    """HelloVerifyRequests per handshake (the cookie exchange)"""
    def c(rows):
        got = [r['_hvr'] for r in rows]
        if got != list(counts):
            return f'HelloVerifyRequests {got} != {list(counts)}'
    return c


def retransmitted(rows):
    r = rows[0]
    ch1, sh = r['_chs'][0], r['_sh']
    if len(ch1['copies']) < 2:
        return f'first ClientHello in {ch1["copies"]}, want a retransmission'
    cert = [m for m in r['_server_msgs'] if m['type'] == 11]
    if not cert or min(cert[0]['copies']) >= sh['first']:
        return 'no Certificate piece before the first ServerHello copy (first flight not cut)'
    if len(cert[0]['copies']) <= len(cert[0]['frames']):
        return 'Certificate pieces never repeated (no retransmitted flight)'


OPENSSL30 = 'Debian openssl 3.0'
GNUTLS37 = 'Debian GnuTLS 3.7'
cap('dtls12-openssl.pcap',
    f'{OPENSSL30} s_client -dtls1_2 -> s_server -dtls1_2 (contrib/pcapgen/dtls.sh). s_server always does the '
    'cookie exchange: ClientHello, HelloVerifyRequest, ClientHello with the cookie (message_seq 1), then '
    'ServerHello (message_seq 1); the server cannot query the path MTU of its unconnected socket and '
    'fragments its flight into ~256-byte datagrams (Certificate and ServerKeyExchange in pieces)',
    ['classical/tls12'], [sel('0x001d'), field('version', '0xfefd'), field('hrr', '0'), hvr(1),
                          field('ch_segments', '1;1'), agree])
cap('dtls12-openssl-fragmented.pcap',
    f'{OPENSSL30} s_client -dtls1_2 -mtu 256 (OpenSSL\'s minimum) with a long ALPN list and '
    '-groups P-521:P-384:P-256:X25519 -> s_server -dtls1_2 -mtu 500 with an RSA-2048 certificate: both '
    'ClientHellos (before and after the cookie) in two fragments / datagrams each, the Certificate in pieces',
    ['classical/tls12'], [sel('0x0019'), min_segments(2, 0), min_segments(2, 1), hvr(1), agree])
cap('dtls12-openssl-resumption.pcap',
    f'{OPENSSL30} s_client -dtls1_2 -groups P-256 -sess_out, then -sess_in with the saved session -> one '
    's_server -dtls1_2 -naccept 2: a full handshake (secp256r1) and an abbreviated one (ServerHello, '
    'ChangeCipherSpec, Finished: session ticket resumption)',
    ['classical/tls12', 'resumed/tls12'], [sel('0x0017', ''), hvr(1, 1), agree])
cap('dtls12-openssl-retransmit.pcap',
    f'{OPENSSL30} s_client -dtls1_2 -> s_server -dtls1_2 through a router namespace (kxd-m, client and '
    'server on two /28s) whose nft forward chain drops the first HelloVerifyRequest and the first datagram '
    'of the server flight (ServerHello + start of the Certificate) before the client veth where the capture '
    'runs: the client retransmits its first ClientHello after 1 s; the rest of the first flight arrives '
    'without its ServerHello, and the server retransmits the whole flight, fragmented differently (tshark '
    'reports "New fragment overlaps old data"); the client also repeats its second ClientHello',
    ['classical/tls12'], [sel('0x001d'), hvr(1), field('ch_segments', '1;1'), retransmitted, agree])
cap('dtls12-gnutls.pcap',
    f'{GNUTLS37} gnutls-cli --udp -> gnutls-serv --udp (cookie exchange; the server picks secp256r1 from the '
    'client\'s list, unfragmented flight of five datagrams)',
    ['classical/tls12'], [sel('0x0017'), hvr(1), agree])
cap('dtls12-gnutls-nocookie.pcap',
    f'{OPENSSL30} s_client -dtls1_2 -> {GNUTLS37} gnutls-serv --udp --nocookie: no cookie exchange, one ClientHello',
    ['classical/tls12'], [sel('0x001d'), hvr(0), field('ch_segments', '1'), agree])
cap('dtls10-openssl.pcap',
    f'{OPENSSL30} s_client -dtls1 -> s_server -dtls1, both -cipher DEFAULT@SECLEVEL=0 (DTLS 1.0, RFC 4347: '
    'version 0xfeff, ECDHE-ECDSA-AES256-SHA)',
    ['classical/tls12'], [sel('0x001d'), field('version', '0xfeff'), hvr(1), agree])
cap('dtls13-hybrid-synthetic.pcap',
    'HAND-BUILT from RFC 9147 by contrib/pcapgen/dtls13_craft.py (no DTLS 1.3 stack on Debian 12): a '
    'ClientHello (supported_versions 0xfefc, 0xfefd; groups X25519MLKEM768, x25519, secp256r1; shares '
    'X25519MLKEM768 (1216 bytes) and x25519, record version 0xfeff) in two fragments / datagrams; a '
    'ServerHello selecting X25519MLKEM768 (1120-byte share) followed in the same datagram by a DTLS 1.3 '
    'unified-header record (epoch 2); the client\'s unified-header records (one without a length). Key '
    'shares and ciphertext are pseudo-random bytes of the right sizes',
    ['hybrid'], [sel('0x11ec'), ks('0x11ec,0x001d'), field('version', '0xfefc'), min_segments(2), agree])
cap('dtls13-hrr-synthetic.pcap',
    'HAND-BUILT from RFC 9147 by dtls13_craft.py: ClientHello offering x25519 and X25519MLKEM768 with an '
    'x25519 share only; HelloRetryRequest (message_seq 0) selecting X25519MLKEM768 with a cookie; the second '
    'ClientHello (message_seq 1, same random, the cookie echoed, a 1216-byte X25519MLKEM768 share) in two '
    'fragments; ServerHello (message_seq 1) selecting X25519MLKEM768',
    ['hybrid'], [sel('0x11ec'), ks('0x001d;0x11ec'), field('hrr', '1'), field('hrr_group', '0x11ec'),
                 field('ch_segments', '1;2'), agree])


# ---- tunnels and IP fragments (contrib/pcapgen/tunnels.sh); the tunnel
# label each handshake must carry goes to expected-tunnel.tsv ----
def tunnels(*labels):
    def c(rows):
        got = [r.get('tunnel', '') for r in rows]
        if got != list(labels):
            return f'tunnels {got} != {list(labels)}'
    return c


def same_tuple(rows):
    if len({(r['client_ip'], r['client_port'], r['server_ip'], r['server_port']) for r in rows}) != 1:
        return 'the tenants do not share addresses and ports'


UNDER = 'underlay 198.18.1.1 -> 198.18.1.2 (veth, MTU 1500), captured on the client side of it'
ENCAP = ('contrib/pcapgen/tunnel_encap.py on a TUN/TAP device in each namespace (this kernel has no driver for it); '
         'the kernel builds the outer IP headers')
cap('tunnel-vxlan-2tenants.pcap',
    f'Kernel VXLAN (ip link add ... type vxlan dstport 4789), {UNDER}. Two tenants, VNI 42 and VNI 43, each in '
    f'namespaces of their own with the SAME inner addresses (198.18.0.10 -> 198.18.0.20) and ports (client port 40443 '
    f'bound by --local-port); {N24} client -> {N24} server in each, both ClientHellos sent at the same moment, so the '
    f'two connections interleave. tshark mixes them (its TCP conversations ignore the VNI): expected.py reads each VNI '
    f'from a capture of its own packets',
    ['hybrid', 'hybrid'], [sel('0x11ec', '0x11ec'), tunnels('vxlan:42', 'vxlan:43'), same_tuple,
                           field('sni', 'tenant42.kx.test', 'tenant43.kx.test')], split='vxlan.vni')
cap('tunnel-geneve.pcap',
    f'GENEVE (UDP 6081, VNI 7, one option TLV class 0xff01 type 1, Ethernet inside) by {ENCAP} (UDP socket: outer '
    f'IP/UDP by the kernel); {N24} client -> {N24} server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('geneve:7')])
cap('tunnel-gre-key-seq.pcap',
    f'GRE with checksum, key 5 and sequence numbers (RFC 2784/2890), IPv4 inside, by {ENCAP} (raw IP socket, '
    f'protocol 47); {N24} client -> {N24} server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('gre:key=5')])
cap('tunnel-gretap.pcap',
    f'GRE protocol 0x6558 (transparent Ethernet bridging, "gretap"), no options, by {ENCAP}; {N24} client -> {N24} '
    f'server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('gretap')])
cap('tunnel-erspan2.pcap',
    f'ERSPAN type II (GRE 0x88be with sequence numbers, ERSPAN header version 1, session 7), Ethernet inside, both '
    f'directions, as a Linux erspan device would carry them, by {ENCAP}; {N24} client -> {N24} server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('erspan:7')])
cap('tunnel-erspan3.pcap',
    f'ERSPAN type III (GRE 0x22eb, version 2, session 8, timestamps in 100 ns, hardware id 1, direction bit, the '
    f'optional platform-specific subheader: platform id 3, port index 1), Ethernet inside, by {ENCAP}; {N24} client '
    f'-> {N24} server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('erspan:8')])
cap('tunnel-ipip.pcap', f'IPv4 in IPv4 (protocol 4) by {ENCAP}; {N24} client -> {N24} server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('ipip')])
cap('tunnel-6in4.pcap',
    f'IPv6 (fd00:6b78::10 -> ::20) in IPv4 (protocol 41) by {ENCAP}; {N24} client -> {N24} server, {UNDER}',
    ['hybrid'], [sel('0x11ec'), tunnels('6in4')])
cap('tunnel-4in6.pcap',
    f'IPv4 in IPv6 (next header 4; underlay fd00:6b78:1::1 -> ::2) by {ENCAP}; {N24} client -> {N24} server',
    ['hybrid'], [sel('0x11ec'), tunnels('4in6')])
cap('tunnel-6in6.pcap',
    f'IPv6 in IPv6 (next header 41; underlay fd00:6b78:1::1 -> ::2) by {ENCAP}; {N24} client -> {N24} server',
    ['hybrid'], [sel('0x11ec'), tunnels('6in6')])
cap('tunnel-mpls.pcap',
    f'MPLS (ethertype 0x8847), two-label stack: client -> server 100 over 200, server -> client 101 over 201 '
    f'(labels are per direction), IPv4 inside. Frames built whole (Ethernet too) by contrib/pcapgen/tunnel_encap.py '
    f'and sent with an AF_PACKET socket on the underlay veth (no outer IP); {N24} client -> {N24} server. The row '
    f'is named by the label of the packet that opened the flow (the SYN)',
    ['hybrid'], [sel('0x11ec'), tunnels('mpls:100')])
cap('tunnel-pppoe.pcap',
    f'PPPoE session stage (ethertype 0x8864, session 0x1234, PPP protocol 0x0021), IPv4 inside; frames built whole '
    f'by contrib/pcapgen/tunnel_encap.py on an AF_PACKET socket, no discovery stage (the session is taken as set '
    f'up); {N24} client -> {N24} server',
    ['hybrid'], [sel('0x11ec'), tunnels('pppoe:0x1234')])
cap('frag-ipv4-router.pcap',
    f'{N24} client (net.ipv4.ip_no_pmtu_disc=1: DF clear) -> router namespace -> 576-MTU link -> {N24} server '
    f'198.18.3.20 (MTU 576, route advmss 1460, so the client sends 1448-byte segments). The router\'s kernel '
    f'fragments the first ClientHello segment into 3 fragments, in order. Captured at the server',
    ['hybrid'], [sel('0x11ec'), field('ch_segments', '2')], frags=(3, 'in-order'))
cap('frag-ipv4-reordered.pcap',
    f'as frag-ipv4-router.pcap, with contrib/pcapgen/relay.py (--mangle reverse-frags) between the router and the '
    f'server: every fragmented datagram\'s fragments are sent last first, so the fragment at offset 0 completes it',
    ['hybrid'], [sel('0x11ec'), field('ch_segments', '2')], frags=(3, 'reversed'))
cap('frag-ipv6-quic.pcap',
    f'QUIC v1 over IPv6 fragments made by the sending kernel: {CHROMIUM} -> contrib/pcapgen/udp_relay6.py in the '
    f'client namespace (its upstream socket: IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DONT and an 8-byte hop-by-hop '
    f'header, IPV6_HOPOPTS) -> 1280-MTU veth -> {NGTCP2}. Chromium\'s two 1238-byte Initials become 1286-byte '
    f'packets: each is sent as 2 fragments, the Fragment header after the hop-by-hop header. The relay does not '
    f'touch the datagrams\' bytes; the server sees the relay\'s port',
    ['classical/server-declined'], [sel('0x001d'), ks('0x11ec,0x001d'), min_segments(2), agree,
                                    versions('0x00000001')], frags=(4, 'in-order'), quic=True)
cap('frag-vxlan-outer.pcap',
    f'a tunnel inside fragments: kernel VXLAN (VNI 44) with device MTU 1500 on the 1500-MTU underlay and inner '
    f'DF clear (ip_no_pmtu_disc=1): full-size inner frames do not fit with the 50 bytes of VXLAN, so the kernel '
    f'fragments the outer UDP packets; {N24} client -> {N24} server',
    ['hybrid'], [sel('0x11ec'), tunnels('vxlan:44')], frags=(4, 'in-order'))
cap('frag-in-gre.pcap',
    f'fragments inside a tunnel: {N24} client (DF clear) -> router namespace whose GRE tunnel device (key 5, '
    f'sequence numbers; {ENCAP}) has MTU 576: the router\'s kernel fragments the ClientHello segment to fit and each '
    f'fragment travels in a GRE packet of its own -> tunnel end and {N24} server 198.18.3.20. Captured on the '
    f'router\'s underlay interface',
    ['hybrid'], [sel('0x11ec'), tunnels('gre:key=5')], frags=(3, 'in-order'))
