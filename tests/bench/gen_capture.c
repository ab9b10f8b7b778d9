/* SPDX-License-Identifier: BSD-2-Clause */
/* gen_capture.c: seeded generator of large benchmark captures.
 *
 * Writes a classic pcap (Ethernet, microsecond timestamps, little-endian) of
 * many interleaved TCP connections carrying TLS 1.3, and a TSV of the rows
 * kexwatch should store for it. No network is involved. The handshake bytes
 * are real: the ClientHello and ServerHello records are read at start-up
 * from the captures in pcaps/, and only what identifies one connection
 * (random, session id, SNI) is rewritten per flow; offered groups and key
 * shares are kept byte for byte. After the handshake each flow carries TLS
 * application_data records of random bytes in full-size frames. The plain30
 * profile makes 30 % of its flows plaintext HTTP/1.1 sessions on port 80
 * instead (request and response headers as a client and server write them,
 * a body of random bytes); they go to the --sessions TSV, not the rows'.
 *
 *   gen_capture --profile bulk|dense|plain30 --seed N --out F.pcap --expected F.tsv
 *               [--sessions F.tsv] [--scale F] [--templates DIR] [--concurrency N]
 *               [--gap-us N] [-q]
 *
 * The same options always give the same bytes (xoshiro256** seeded by
 * splitmix64 from --seed).
 */
/* libpcap's headers use the BSD u_char/u_int types. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>

#ifndef KX_BENCH_PCAP_DIR
#define KX_BENCH_PCAP_DIR "pcaps"
#endif

#define PREFIX_MAX 6144      /* handshake bytes kept per direction of a template */
#define STREAM_MAX 65536     /* bytes of a template direction reassembled */
#define OUTBUF_SIZE (16u << 20)
#define FRAME_MAX 1514       /* 1500-byte MTU plus Ethernet */
#define REC_MAX_BODY 16401   /* 16 KiB of plaintext, content type and AEAD tag */
#define IDLE_TIMEOUT_US 60000000ull /* kexwatch's default --idle-timeout */
#define EPOCH_2026 1767225600u

/* ---- random numbers ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1p-53;
}

static void rng_fill(struct rng *r, uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t v = rng_next(r);
		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = rng_next(r);
		memcpy(p, &v, n);
	}
}

/* Pareto with scale xm and shape alpha, capped: heavy-tailed flow sizes. */
static uint64_t rng_pareto(struct rng *r, double xm, double alpha, double cap)
{
	double u = 1.0 - rng_unit(r); /* (0, 1] */
	double x = xm / pow(u, 1.0 / alpha);
	return (uint64_t)(x < cap ? x : cap);
}

/* ---- byte helpers ---- */

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Internet checksum: native-order words summed into 64 bits and folded at
 * the end; the one's-complement sum does not depend on byte order, so the
 * folded result is stored back with memcpy. Every part but the last must
 * have an even length. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		sum += (uint64_t)a + b;
		p += 8;
		n -= 8;
	}
	while (n >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;
		memcpy(&w, last, 2);
		sum += w;
	}
	return sum;
}

static void csum_store(uint8_t *dst, uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t v = (uint16_t)~sum;
	memcpy(dst, &v, 2);
}

/* ---- TLS templates from the real captures ---- */

enum variant {
	V_HYBRID = 0,   /* X25519MLKEM768 offered and selected */
	V_DECLINED,     /* PQ offered, classical selected */
	V_NOPQ,         /* client offered no PQ group */
	V_HRR,          /* HelloRetryRequest to the hybrid group */
	V_SILENT,       /* ClientHello never answered, connection never closed */
	V_RST,          /* ClientHello answered by a reset */
	V_HTTP,         /* plaintext HTTP/1.1 on port 80: a session, not a handshake */
	V_MAX
};

static const char *const variant_names[V_MAX] = {
	"hybrid", "server-declined", "client-no-pq", "hrr", "silent", "rst", "http",
};

enum tmpl_id { T_HYBRID = 0, T_DECLINED, T_NOPQ, T_HRR, T_MAX };

static const char *const tmpl_files[T_MAX] = {
	"tls13-x25519mlkem768.pcap",
	"tls13-server-declined.pcap",
	"tls13-client-no-pq.pcap",
	"tls13-hrr-x25519mlkem768.pcap",
};

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

struct tmpl {
	bool loaded;
	bool hrr;
	bool offers_pq;       /* some ClientHello offers a hybrid/PQ group or share */
	uint16_t group;       /* selected by the final ServerHello */
	uint16_t hrr_group;
	uint8_t sid_len;      /* legacy_session_id length of the ClientHello */
	/* Client: [0, cli_cut) is the first ClientHello record, [cli_cut,
	 * cli_len) what the client sends after an HRR (CCS, second ClientHello).
	 * Server: [0, srv_cut) is the HRR (+CCS) when there is one, then the
	 * ServerHello record and the CCS that follows it. */
	uint8_t cli[PREFIX_MAX];
	uint32_t cli_len, cli_cut;
	uint8_t srv[PREFIX_MAX];
	uint32_t srv_len, srv_cut;
};

/* Reassembles the first bytes of each direction of the one TCP connection in
 * a capture. Good enough for the clean captures in pcaps/: segments are
 * placed at their offset from the SYN, retransmissions overwrite in place. */
static int load_streams(const char *path, uint8_t *st[2], uint32_t len[2], char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, ebuf);
	if (!p) {
		snprintf(err, errlen, "%s", ebuf);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "link type %d, want Ethernet", pcap_datalink(p));
		pcap_close(p);
		return -1;
	}
	uint8_t caddr[16] = { 0 };
	uint16_t cport = 0;
	uint32_t isn[2] = { 0, 0 };
	bool have_isn[2] = { false, false };
	struct pcap_pkthdr *h;
	const u_char *d;
	len[0] = len[1] = 0;
	while (pcap_next_ex(p, &h, &d) == 1) {
		size_t n = h->caplen, off = 14;
		if (n < 14)
			continue;
		uint16_t et = get_be16(d + 12);
		if (et == 0x8100 && n >= 18) {
			et = get_be16(d + 16);
			off = 18;
		}
		const uint8_t *src;
		size_t l4;
		if (et == 0x0800 && n >= off + 20 && d[off + 9] == 6) {
			src = d + off + 12;
			l4 = off + (size_t)(d[off] & 15) * 4;
			size_t tot = get_be16(d + off + 2);
			if (off + tot < n)
				n = off + tot;
		} else if (et == 0x86dd && n >= off + 40 && d[off + 6] == 6) {
			src = d + off + 8;
			l4 = off + 40;
			size_t pl = get_be16(d + off + 4);
			if (off + 40 + pl < n)
				n = off + 40 + pl;
		} else {
			continue;
		}
		if (n < l4 + 20)
			continue;
		const uint8_t *t = d + l4;
		size_t thl = (size_t)(t[12] >> 4) * 4;
		if (thl < 20 || l4 + thl > n)
			continue;
		uint16_t sport = get_be16(t);
		uint8_t flags = t[13];
		uint32_t seq = get_be32(t + 4);
		size_t alen = et == 0x0800 ? 4 : 16;
		if ((flags & 0x12) == 0x02) { /* SYN without ACK: the client */
			memcpy(caddr, src, alen);
			cport = sport;
		}
		if (!cport)
			continue;
		int dir = (memcmp(src, caddr, alen) == 0 && sport == cport) ? 0 : 1;
		if (flags & 0x02) {
			isn[dir] = seq + 1;
			have_isn[dir] = true;
			continue;
		}
		size_t plen = n - l4 - thl;
		if (!plen || !have_isn[dir])
			continue;
		uint32_t at = seq - isn[dir];
		if (at >= STREAM_MAX)
			continue;
		if (plen > STREAM_MAX - at)
			plen = STREAM_MAX - at;
		if (at > len[dir]) /* a hole: the prefix ends before it */
			continue;
		memcpy(st[dir] + at, t + thl, plen);
		if (at + plen > len[dir])
			len[dir] = (uint32_t)(at + plen);
	}
	pcap_close(p);
	if (!len[0] || !len[1]) {
		snprintf(err, errlen, "no TCP payload in both directions");
		return -1;
	}
	return 0;
}

static bool group_is_pq(uint16_t g)
{
	return (g >= 0x11eb && g <= 0x11ee) || (g >= 0x0200 && g <= 0x0202) ||
	       g == 0x6399 || g == 0x639a;
}

/* Body of a ClientHello (after the 4-byte handshake header): offsets of the
 * fields rewritten per flow, and whether a PQ group is offered. */
struct ch_layout {
	size_t sid_off, sid_len;
	size_t ext_off, ext_len; /* the extension list, without its length */
	bool offers_pq;
};

static int parse_ch(const uint8_t *b, size_t n, struct ch_layout *lo)
{
	size_t o = 2 + 32;
	memset(lo, 0, sizeof(*lo));
	if (n < o + 1)
		return -1;
	lo->sid_len = b[o];
	lo->sid_off = o + 1;
	o += 1 + lo->sid_len;
	if (lo->sid_len > 32 || n < o + 2)
		return -1;
	o += 2 + get_be16(b + o);
	if (n < o + 1)
		return -1;
	o += 1 + b[o];
	if (n < o + 2)
		return -1;
	lo->ext_len = get_be16(b + o);
	lo->ext_off = o + 2;
	if (lo->ext_off + lo->ext_len != n)
		return -1;
	for (size_t e = lo->ext_off; e < n;) {
		if (n - e < 4 || n - e - 4 < get_be16(b + e + 2))
			return -1;
		uint16_t type = get_be16(b + e), el = get_be16(b + e + 2);
		const uint8_t *v = b + e + 4;
		if (type == 10 && el >= 2) { /* supported_groups */
			for (size_t i = 2; i + 2 <= el; i += 2)
				lo->offers_pq |= group_is_pq(get_be16(v + i));
		} else if (type == 51 && el >= 2) { /* key_share: group, len, bytes */
			for (size_t i = 2; i + 4 <= el; i += 4u + get_be16(v + i + 2))
				lo->offers_pq |= group_is_pq(get_be16(v + i));
		}
		e += 4u + el;
	}
	return 0;
}

/* Rebuilds a ClientHello record with a new random, session id and SNI;
 * every other extension is copied in order, and the extension list,
 * handshake and record lengths are recomputed. Returns the record length,
 * 0 when the template does not parse or the result does not fit. */
static size_t build_ch(const uint8_t *rec, size_t rec_len, const char *sni,
		       const uint8_t random[32], const uint8_t *sid, uint8_t *out, size_t cap)
{
	struct ch_layout lo;
	if (rec_len < 9 || rec[0] != 22 || rec[5] != 1)
		return 0;
	const uint8_t *b = rec + 9;
	size_t n = rec_len - 9;
	if (get_be24(rec + 6) != n || parse_ch(b, n, &lo) < 0)
		return 0;
	size_t sni_len = strlen(sni);
	if (cap < rec_len + sni_len + 9)
		return 0;
	/* Everything up to the extension list, with the new random and id. */
	memcpy(out, rec, 9 + lo.ext_off);
	memcpy(out + 9 + 2, random, 32);
	memcpy(out + 9 + lo.sid_off, sid, lo.sid_len);
	size_t o = 9 + lo.ext_off;
	for (size_t e = lo.ext_off; e < n;) {
		uint16_t type = get_be16(b + e), el = get_be16(b + e + 2);
		if (type == 0) { /* server_name: list(name_type 0, length, name) */
			if (o + 9 + sni_len > cap)
				return 0;
			put_be16(out + o, 0);
			put_be16(out + o + 2, (uint16_t)(5 + sni_len));
			put_be16(out + o + 4, (uint16_t)(3 + sni_len));
			out[o + 6] = 0;
			put_be16(out + o + 7, (uint16_t)sni_len);
			memcpy(out + o + 9, sni, sni_len);
			o += 9 + sni_len;
		} else {
			if (o + 4 + el > cap)
				return 0;
			memcpy(out + o, b + e, 4u + el);
			o += 4u + el;
		}
		e += 4u + el;
	}
	size_t body = o - 9;
	if (o - 5 > 16384 || o - 9 - lo.ext_off > 0xffff)
		return 0;
	put_be16(out + 9 + lo.ext_off - 2, (uint16_t)(o - 9 - lo.ext_off));
	out[6] = (uint8_t)(body >> 16);
	put_be16(out + 7, (uint16_t)body);
	put_be16(out + 3, (uint16_t)(o - 5));
	return o;
}

/* The selected group of a ServerHello/HRR body (after the handshake header):
 * the first two bytes of its key_share. */
static int sh_group(const uint8_t *b, size_t n, uint16_t *group)
{
	size_t o = 2 + 32;
	if (n < o + 1)
		return -1;
	o += 1 + b[o];
	o += 2 + 1; /* cipher suite, compression */
	if (n < o + 2)
		return -1;
	size_t end = o + 2 + get_be16(b + o);
	if (end > n)
		return -1;
	for (o += 2; o + 4 <= end;) {
		uint16_t type = get_be16(b + o), el = get_be16(b + o + 2);
		if (o + 4 + el > end)
			return -1;
		if (type == 51 && el >= 2) {
			*group = get_be16(b + o + 4);
			return 0;
		}
		o += 4u + el;
	}
	return -1;
}

/* Walks the records of a direction; returns the end offset of the `want`-th
 * record (1-based) that is a handshake message of type `hs_type`, extended
 * over a ChangeCipherSpec record right after it when `with_ccs`, or 0. */
static uint32_t find_hello(const uint8_t *s, uint32_t len, uint8_t hs_type, int want,
			   bool with_ccs, uint32_t *rec_off)
{
	uint32_t o = 0;
	int seen = 0;
	while (o + 5 <= len) {
		uint32_t end = o + 5 + get_be16(s + o + 3);
		if (end > len)
			return 0;
		if (s[o] == 22 && end - o >= 9 && s[o + 5] == hs_type && ++seen == want) {
			if (get_be24(s + o + 6) != end - o - 9)
				return 0; /* not one whole message per record: not handled */
			*rec_off = o;
			if (with_ccs && end + 5 <= len && s[end] == 20 &&
			    end + 5 + get_be16(s + end + 3) <= len)
				end += 5 + get_be16(s + end + 3);
			return end;
		}
		o = end;
	}
	return 0;
}

static int load_template(struct tmpl *t, const char *path, char *err, size_t errlen)
{
	static uint8_t raw[2][STREAM_MAX];
	uint8_t *st[2] = { raw[0], raw[1] };
	uint32_t len[2];
	uint32_t off, off2, hoff;
	memset(t, 0, sizeof(*t));
	if (load_streams(path, st, len, err, errlen) < 0)
		return -1;
	uint32_t ch1 = find_hello(raw[0], len[0], 1, 1, false, &off);
	uint32_t sh1 = find_hello(raw[1], len[1], 2, 1, true, &hoff);
	if (!ch1 || off != 0 || !sh1) {
		snprintf(err, errlen, "no ClientHello/ServerHello record at the stream starts");
		return -1;
	}
	struct ch_layout lo;
	if (parse_ch(raw[0] + 9, ch1 - 9, &lo) < 0) {
		snprintf(err, errlen, "ClientHello does not parse");
		return -1;
	}
	t->sid_len = (uint8_t)lo.sid_len;
	t->offers_pq = lo.offers_pq;
	const uint8_t *shb = raw[1] + hoff + 9;
	size_t shn = get_be24(raw[1] + hoff + 6);
	t->hrr = shn >= 34 && memcmp(shb + 2, hrr_random, 32) == 0;
	t->cli_cut = t->cli_len = ch1;
	t->srv_len = sh1;
	if (t->hrr) {
		if (sh_group(shb, shn, &t->hrr_group) < 0)
			t->hrr_group = 0;
		uint32_t ch2 = find_hello(raw[0], len[0], 1, 2, false, &off2);
		uint32_t sh2 = find_hello(raw[1], len[1], 2, 2, true, &hoff);
		if (!ch2 || !sh2) {
			snprintf(err, errlen, "HRR without a second ClientHello/ServerHello");
			return -1;
		}
		if (parse_ch(raw[0] + off2 + 9, ch2 - off2 - 9, &lo) < 0) {
			snprintf(err, errlen, "second ClientHello does not parse");
			return -1;
		}
		t->offers_pq |= lo.offers_pq;
		t->cli_len = ch2;
		t->srv_cut = sh1;
		t->srv_len = sh2;
		shb = raw[1] + hoff + 9;
		shn = get_be24(raw[1] + hoff + 6);
	}
	if (sh_group(shb, shn, &t->group) < 0) {
		snprintf(err, errlen, "ServerHello without a key share");
		return -1;
	}
	/* Room for a longer SNI in each ClientHello. */
	if (t->cli_len + 2 * 128 > PREFIX_MAX || t->srv_len > PREFIX_MAX) {
		snprintf(err, errlen, "handshake larger than %d bytes", PREFIX_MAX - 256);
		return -1;
	}
	memcpy(t->cli, raw[0], t->cli_len);
	memcpy(t->srv, raw[1], t->srv_len);
	t->loaded = true;
	return 0;
}

/* ---- flows ---- */

enum op {
	OP_SYN, OP_SYNACK, OP_ACK,
	OP_CH1,      /* client: first ClientHello */
	OP_HRR,      /* server: HelloRetryRequest (+CCS) */
	OP_CH2,      /* client: CCS + second ClientHello */
	OP_SFLIGHT,  /* server: ServerHello (+CCS) and the encrypted flight */
	OP_CFIN,     /* client: CCS (unless sent before) + Finished */
	OP_REQ,      /* client: request, or an upload */
	OP_RESP,     /* server: response */
	OP_FIN_C, OP_FIN_S, OP_FIN_A,
	OP_RST,      /* server: RST after the ClientHello */
	OP_DROP,     /* the flow falls silent for the rest of the capture */
	OP_HREQ,     /* client: HTTP request */
	OP_HRESP,    /* server: HTTP response header and body */
	OP_DONE,
};

static const uint8_t prog_full[] = { OP_SYN, OP_SYNACK, OP_ACK, OP_CH1, OP_SFLIGHT, OP_CFIN,
				     OP_REQ, OP_RESP, OP_FIN_C, OP_FIN_S, OP_FIN_A, OP_DONE };
static const uint8_t prog_hrr[] = { OP_SYN, OP_SYNACK, OP_ACK, OP_CH1, OP_HRR, OP_CH2,
				    OP_SFLIGHT, OP_CFIN, OP_REQ, OP_RESP, OP_FIN_C, OP_FIN_S,
				    OP_FIN_A, OP_DONE };
static const uint8_t prog_silent[] = { OP_SYN, OP_SYNACK, OP_ACK, OP_CH1, OP_DROP };
static const uint8_t prog_rst[] = { OP_SYN, OP_SYNACK, OP_ACK, OP_CH1, OP_RST, OP_DONE };
static const uint8_t prog_http[] = { OP_SYN, OP_SYNACK, OP_ACK, OP_HREQ, OP_HRESP, OP_FIN_C,
				     OP_FIN_S, OP_FIN_A, OP_DONE };

struct endpoint {
	uint8_t v6;
	uint8_t pq;          /* server selects the hybrid group when offered */
	uint8_t ip[16];
	uint16_t port;       /* server port, or next ephemeral port of a client */
	uint32_t uses;
};

/* What the expected TSV says about one handshake, or (V_HTTP) what the
 * sessions TSV says about one plaintext session. */
struct row {
	uint32_t client, server;
	uint16_t cport, sport;
	uint8_t variant, tmpl;
	uint16_t ch_segs, ch2_segs;
	uint64_t pkt_first_ch, pkt_sh, ts_first, last_us;
	uint64_t bytes;      /* V_HTTP: payload bytes both ways */
	uint64_t end_us;     /* V_HTTP: the FIN that closes it for kexwatch */
};

struct flow {
	const uint8_t *prog;
	uint8_t pc;
	uint8_t variant, tmpl;
	bool done, post;
	uint32_t client, server;
	uint16_t cport;
	uint16_t sport;      /* the server's port: its endpoint's, or 80 for V_HTTP */
	uint16_t mss;
	bool raw;            /* the synthetic part of the send is raw bytes, not TLS records */
	bool same_client;    /* V_HTTP: client chosen by choose_variant */
	uint64_t plain_bytes, end_us; /* V_HTTP: payload sent, time of the second FIN */
	uint32_t seq[2];     /* next sequence number per direction: 0 client, 1 server */
	uint32_t ts_base[2];
	uint16_t ipid[2];
	uint32_t flow_label;
	uint64_t last_us;
	/* The send in progress: prefix bytes first, then synthetic records. */
	bool job;
	uint8_t job_dir, job_op;
	const uint8_t *src;
	uint32_t src_left, job_off;
	uint64_t syn_left;
	uint32_t rec_max, rec_body_left;
	uint8_t rhdr[5], rhdr_off;
	uint8_t unacked;
	uint8_t weight;       /* relative rate: how often the flow is picked */
	bool ack_due;
	uint64_t up, down;   /* request and response stream bytes */
	/* Bookkeeping for the expected row. */
	uint32_t sh_first;   /* offset of the final ServerHello in its send */
	uint64_t pkt_first_ch, pkt_sh, ts_first;
	uint16_t ch_segs, ch2_segs;
	uint8_t cbuf[PREFIX_MAX];
	uint32_t clen, ccut;
	uint8_t sbuf[PREFIX_MAX];
	uint32_t slen, scut;
};

struct profile {
	const char *name;
	double bytes;          /* file size at --scale 1 */
	unsigned concurrency;
	double resp_xm, resp_alpha, resp_cap;
	double upload_share;   /* flows whose bulk goes client -> server */
	double est_flow_bytes; /* for sizing the endpoint pools */
	unsigned max_weight;   /* an elephant is picked up to this much more often */
	double plain_share;    /* flows that are plaintext HTTP instead of TLS */
};

static const struct profile profiles[] = {
	/* About 95% of the bytes after the handshake: elephants and mice. */
	{ "bulk", 1.5e9, 1000, 30000, 1.2, 64e6, 0.1, 150e3, 32, 0.0 },
	/* Short flows: the handshakes are most of the work. */
	{ "dense", 200e6, 1000, 400, 1.5, 64e3, 0.0, 9e3, 1, 0.0 },
	/* dense with 30 % of the flows plaintext HTTP/1.1: sessions, not rows. */
	{ "plain30", 200e6, 1000, 400, 1.5, 64e3, 0.0, 8e3, 1, 0.30 },
};

struct gen {
	struct rng rng;
	const struct profile *prof;
	double target, planned, resp_cap;
	struct tmpl tm[T_MAX];
	struct endpoint *servers, *clients4, *clients6;
	uint32_t n_servers, n_clients4, n_clients6;
	struct flow *slots;
	uint32_t *free_slots, n_free;
	uint32_t *active, n_active, concurrency;
	struct row *rows;
	size_t n_rows, cap_rows;
	FILE *out;
	uint8_t *buf;
	size_t buf_used;
	uint64_t start_us, now_us, pkts, bytes, post_bytes, flows;
	uint64_t per_variant[V_MAX];
	uint32_t forced;
	uint64_t http_flows;
	uint32_t http_client, http_server; /* of the last HTTP flow */
	uint32_t gap_us;     /* mean time between packets */
	bool quiet;
};

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gen_capture: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void flush_out(struct gen *g)
{
	if (g->buf_used && fwrite(g->buf, 1, g->buf_used, g->out) != g->buf_used)
		die("write failed: %s", strerror(errno));
	g->buf_used = 0;
}

static void sni_of(uint32_t server, char *out, size_t len)
{
	snprintf(out, len, "srv%u.bench.kx.test", server);
}

static const struct endpoint *client_of(const struct gen *g, const struct flow *f)
{
	const struct endpoint *s = &g->servers[f->server];
	return s->v6 ? &g->clients6[f->client] : &g->clients4[f->client];
}

/* Writes one frame of the flow in direction dir (0: client to server) with
 * plen payload bytes, taken from the send in progress. */
static void emit(struct gen *g, struct flow *f, int dir, uint8_t flags, uint32_t plen)
{
	const struct endpoint *srv = &g->servers[f->server];
	const struct endpoint *cli = client_of(g, f);
	bool v6 = srv->v6;
	bool syn = flags & 0x02;
	uint32_t optlen = syn ? 20 : 12;
	uint32_t l3 = v6 ? 40 : 20;
	uint32_t tcp_len = 20 + optlen + plen;
	uint32_t frame = 14 + l3 + tcp_len;

	if (OUTBUF_SIZE - g->buf_used < 16 + FRAME_MAX + 64)
		flush_out(g);
	g->now_us += 1 + rng_below(&g->rng, 2 * g->gap_us);
	uint8_t *rec = g->buf + g->buf_used;
	put_le32(rec, (uint32_t)(g->now_us / 1000000));
	put_le32(rec + 4, (uint32_t)(g->now_us % 1000000));
	put_le32(rec + 8, frame);
	put_le32(rec + 12, frame);

	uint8_t *eth = rec + 16;
	static const uint8_t router[6] = { 0x02, 0x6b, 0x78, 0x00, 0x00, 0x01 };
	uint8_t cmac[6] = { 0x02, 0x6b, 0x78, v6 ? 0x06 : 0x04, (uint8_t)(f->client >> 8),
			    (uint8_t)f->client };
	memcpy(eth, dir ? cmac : router, 6);
	memcpy(eth + 6, dir ? router : cmac, 6);
	put_be16(eth + 12, v6 ? 0x86dd : 0x0800);

	uint8_t *ip = eth + 14;
	const uint8_t *sa = dir ? srv->ip : cli->ip, *da = dir ? cli->ip : srv->ip;
	uint8_t *tcp = ip + l3;
	uint64_t sum;
	if (v6) {
		put_be32(ip, 0x60000000u | f->flow_label);
		put_be16(ip + 4, (uint16_t)tcp_len);
		ip[6] = 6;
		ip[7] = dir ? 52 : 64;
		memcpy(ip + 8, sa, 16);
		memcpy(ip + 24, da, 16);
		uint8_t ph[8] = { 0, 0, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len, 0, 0, 0, 6 };
		sum = csum_add(csum_add(0, ip + 8, 32), ph, 8);
	} else {
		ip[0] = 0x45;
		ip[1] = 0;
		put_be16(ip + 2, (uint16_t)(20 + tcp_len));
		put_be16(ip + 4, f->ipid[dir]++);
		put_be16(ip + 6, 0x4000); /* DF */
		ip[8] = dir ? 52 : 64;
		ip[9] = 6;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, sa, 4);
		memcpy(ip + 16, da, 4);
		csum_store(ip + 10, csum_add(0, ip, 20));
		uint8_t ph[4] = { 0, 6, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len };
		sum = csum_add(csum_add(0, ip + 12, 8), ph, 4);
	}

	uint16_t sport = dir ? f->sport : f->cport, dport = dir ? f->cport : f->sport;
	put_be16(tcp, sport);
	put_be16(tcp + 2, dport);
	put_be32(tcp + 4, f->seq[dir]);
	put_be32(tcp + 8, (flags & 0x10) ? f->seq[!dir] : 0);
	tcp[12] = (uint8_t)((20 + optlen) / 4) << 4;
	tcp[13] = flags;
	put_be16(tcp + 14, syn ? (dir ? 65160 : 64240) : (dir ? 501 : 502));
	tcp[16] = tcp[17] = 0;
	tcp[18] = tcp[19] = 0;
	uint8_t *o = tcp + 20;
	uint32_t tsval = f->ts_base[dir] + (uint32_t)(g->now_us / 1000);
	uint32_t tsecr = (flags & 0x10) ? f->ts_base[!dir] + (uint32_t)(g->now_us / 1000) - 1 : 0;
	if (syn) {
		/* Linux's SYN options: MSS, SACK permitted, timestamps, window scale. */
		o[0] = 2;
		o[1] = 4;
		put_be16(o + 2, (uint16_t)(f->mss + 12));
		o[4] = 4;
		o[5] = 2;
		o[6] = 8;
		o[7] = 10;
		put_be32(o + 8, tsval);
		put_be32(o + 12, tsecr);
		o[16] = 1;
		o[17] = 3;
		o[18] = 3;
		o[19] = 7;
	} else {
		o[0] = o[1] = 1;
		o[2] = 8;
		o[3] = 10;
		put_be32(o + 4, tsval);
		put_be32(o + 8, tsecr);
	}
	uint8_t *pl = o + optlen;

	/* Payload: the rest of the prefix, then synthetic application_data. */
	uint32_t n = plen, at = 0;
	if (plen) {
		uint32_t k = f->src_left < n ? f->src_left : n;
		if (k) {
			memcpy(pl, f->src, k);
			f->src += k;
			f->src_left -= k;
			at = k;
		}
		if (f->raw && at < n) {
			rng_fill(&g->rng, pl + at, n - at);
			f->syn_left -= n - at;
			at = n;
		}
		while (at < n) {
			if (f->rhdr_off == 5 && f->rec_body_left == 0) {
				uint64_t left = f->syn_left;
				uint32_t body = left - 5 > f->rec_max ? f->rec_max : (uint32_t)(left - 5);
				uint64_t rest = left - 5 - body;
				if (rest > 0 && rest < 6)
					body -= 6; /* leave room for one more record */
				f->rhdr[0] = 23;
				f->rhdr[1] = 3;
				f->rhdr[2] = 3;
				put_be16(f->rhdr + 3, (uint16_t)body);
				f->rhdr_off = 0;
				f->rec_body_left = body;
			}
			if (f->rhdr_off < 5) {
				uint32_t h = 5u - f->rhdr_off;
				if (h > n - at)
					h = n - at;
				memcpy(pl + at, f->rhdr + f->rhdr_off, h);
				f->rhdr_off = (uint8_t)(f->rhdr_off + h);
				at += h;
				f->syn_left -= h;
				continue;
			}
			uint32_t b = f->rec_body_left < n - at ? f->rec_body_left : n - at;
			rng_fill(&g->rng, pl + at, b);
			f->rec_body_left -= b;
			f->syn_left -= b;
			at += b;
		}
	}
	sum = csum_add(sum, tcp, tcp_len);
	csum_store(tcp + 16, sum);

	f->seq[dir] += plen + (syn ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
	f->last_us = g->now_us;
	f->plain_bytes += plen;
	g->buf_used += 16 + frame;
	g->pkts++;
	g->bytes += 16 + frame;
	if (f->post)
		g->post_bytes += 16 + frame;
}

static void start_job(struct flow *f, int dir, uint8_t op, const uint8_t *src, uint32_t n,
		      uint64_t syn, uint32_t rec_max)
{
	f->job = true;
	f->job_dir = (uint8_t)dir;
	f->job_op = op;
	f->src = src;
	f->src_left = n;
	f->job_off = 0;
	f->syn_left = syn;
	f->rec_max = rec_max;
	f->rec_body_left = 0;
	f->rhdr_off = 5;
	f->unacked = 0;
	f->raw = false;
}

/* Segments of a send starting at a segment boundary that overlap [a, b). */
static uint16_t segs_over(uint32_t a, uint32_t b, uint32_t mss)
{
	return (uint16_t)((b + mss - 1) / mss - a / mss);
}

static void job_segment(struct gen *g, struct flow *f)
{
	uint64_t left = f->src_left + f->syn_left;
	uint32_t n = left < f->mss ? (uint32_t)left : f->mss;
	int dir = f->job_dir;
	uint64_t pkt = g->pkts + 1;
	emit(g, f, dir, (uint8_t)(0x10 | (n == left ? 0x08 : 0)), n);
	if (f->job_op == OP_CH1 && f->job_off == 0) {
		f->pkt_first_ch = pkt;
		f->ts_first = g->now_us;
	}
	/* kexwatch's evidence is the segment where the ServerHello begins. */
	if (f->job_op == OP_SFLIGHT && f->sh_first >= f->job_off && f->sh_first < f->job_off + n)
		f->pkt_sh = pkt;
	f->job_off += n;
	if (n == left)
		f->job = false;
	/* Delayed ACK: every second full segment, and at the end of a send. */
	if (++f->unacked >= 2 || !f->job)
		f->ack_due = true;
}

static const uint8_t ccs_record[6] = { 20, 3, 3, 0, 1, 1 };

/* Emits the flow's next packet. */
static void step(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;
	if (f->ack_due) {
		f->ack_due = false;
		f->unacked = 0;
		emit(g, f, !f->job_dir, 0x10, 0);
		return;
	}
	if (f->job) {
		job_segment(g, f);
		return;
	}
	uint8_t op = f->prog[f->pc++];
	switch (op) {
	case OP_SYN:
		emit(g, f, 0, 0x02, 0);
		if (f->variant == V_HTTP) { /* a session's evidence is its first packet */
			f->pkt_first_ch = g->pkts;
			f->ts_first = g->now_us;
		}
		break;
	case OP_SYNACK:
		emit(g, f, 1, 0x12, 0);
		break;
	case OP_ACK:
	case OP_FIN_A:
		emit(g, f, 0, 0x10, 0);
		if (op == OP_FIN_A)
			f->done = true;
		break;
	case OP_CH1:
		start_job(f, 0, op, f->cbuf, f->ccut, 0, 0);
		job_segment(g, f);
		break;
	case OP_HRR:
		start_job(f, 1, op, f->sbuf, f->scut, 0, 0);
		job_segment(g, f);
		break;
	case OP_CH2:
		start_job(f, 0, op, f->cbuf + f->ccut, f->clen - f->ccut, 0, 0);
		job_segment(g, f);
		break;
	case OP_SFLIGHT:
		/* EncryptedExtensions, Certificate, CertificateVerify, Finished. */
		start_job(f, 1, op, f->sbuf + f->scut, f->slen - f->scut, 1500 + rng_below(r, 3500),
			  400 + rng_below(r, 2600));
		job_segment(g, f);
		break;
	case OP_CFIN:
		f->post = true;
		if (f->variant == V_HRR)
			start_job(f, 0, op, NULL, 0, 5 + 53, REC_MAX_BODY);
		else
			start_job(f, 0, op, ccs_record, sizeof(ccs_record), 5 + 53, REC_MAX_BODY);
		job_segment(g, f);
		break;
	case OP_REQ:
		start_job(f, 0, op, NULL, 0, f->up, REC_MAX_BODY);
		job_segment(g, f);
		break;
	case OP_RESP:
		start_job(f, 1, op, NULL, 0, f->down, REC_MAX_BODY);
		job_segment(g, f);
		break;
	case OP_HREQ:
		start_job(f, 0, op, f->cbuf, f->clen, 0, 0);
		job_segment(g, f);
		break;
	case OP_HRESP:
		/* The header, then Content-Length bytes of body. */
		start_job(f, 1, op, f->sbuf, f->slen, f->down, 0);
		f->raw = true;
		job_segment(g, f);
		break;
	case OP_FIN_C:
		emit(g, f, 0, 0x11, 0);
		break;
	case OP_FIN_S:
		emit(g, f, 1, 0x11, 0);
		f->end_us = g->now_us; /* both FINs seen: kexwatch ends the session here */
		break;
	case OP_RST:
		emit(g, f, 1, 0x14, 0);
		f->done = true;
		break;
	case OP_DROP:
	case OP_DONE:
	default:
		f->done = true;
		break;
	}
}

static uint32_t pick_server(struct gen *g, int want_pq)
{
	/* Popularity skewed towards low indices; want_pq >= 0 asks for a kind. */
	for (int tries = 0;; tries++) {
		double u = rng_unit(&g->rng);
		uint32_t i = (uint32_t)(u * u * g->n_servers);
		if (i >= g->n_servers)
			i = g->n_servers - 1;
		if (want_pq < 0 || g->servers[i].pq == want_pq || tries > 64)
			return i;
	}
}

static bool tmpl_ok(const struct gen *g, int t)
{
	return g->tm[t].loaded;
}

/* Chooses the variant and the template its bytes come from. */
static void choose_variant(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;
	int v;
	/* Only a profile with plaintext flows draws for them, so bulk and dense
	 * keep their bytes. */
	bool plain = g->prof->plain_share > 0;
	if (g->forced < (plain ? V_MAX : V_HTTP)) {
		/* The first flows cover every variant, so tiny captures test them all. */
		v = (int)g->forced++;
		f->server = pick_server(g, v == V_HYBRID || v == V_HRR ? 1 : v == V_DECLINED ? 0 : -1);
	} else if (plain && rng_unit(r) < g->prof->plain_share) {
		v = V_HTTP;
		/* A browser opens several connections for one page: a third of
		 * the HTTP flows go from the last HTTP client to the same server
		 * (kexwatch adds them up in one sessions row). */
		if (g->http_flows && rng_unit(r) < 1.0 / 3) {
			f->server = g->http_server;
			f->client = g->http_client;
			f->same_client = true;
		} else {
			f->server = pick_server(g, -1);
		}
	} else {
		f->server = pick_server(g, -1);
		double u = rng_unit(r);
		bool client_pq = rng_unit(r) < 0.75;
		if (u < 0.01)
			v = V_SILENT;
		else if (u < 0.02)
			v = V_RST;
		else if (!client_pq)
			v = V_NOPQ;
		else if (!g->servers[f->server].pq)
			v = V_DECLINED;
		else
			v = rng_unit(r) < 0.08 ? V_HRR : V_HYBRID;
	}
	if (v == V_HTTP) { /* no TLS template */
		f->variant = (uint8_t)v;
		f->tmpl = T_HYBRID;
		return;
	}
	int t;
	switch (v) {
	case V_HYBRID: t = T_HYBRID; break;
	case V_DECLINED: t = T_DECLINED; break;
	case V_NOPQ: t = T_NOPQ; break;
	case V_HRR: t = T_HRR; break;
	default: t = rng_below(r, 4) ? T_HYBRID : T_NOPQ; break;
	}
	/* A missing template: fall back on one that was loaded. */
	if (!tmpl_ok(g, t)) {
		static const int order[] = { T_HYBRID, T_DECLINED, T_NOPQ, T_HRR };
		for (unsigned i = 0; i < 4; i++) {
			if (tmpl_ok(g, order[i])) {
				t = order[i];
				break;
			}
		}
		if (v < V_SILENT)
			v = t == T_HYBRID ? V_HYBRID : t == T_DECLINED ? V_DECLINED :
			    t == T_NOPQ ? V_NOPQ : V_HRR;
	}
	f->variant = (uint8_t)v;
	f->tmpl = (uint8_t)t;
}

static uint32_t pick_client(struct gen *g, bool v6)
{
	struct endpoint *pool = v6 ? g->clients6 : g->clients4;
	uint32_t n = v6 ? g->n_clients6 : g->n_clients4;
	for (;;) {
		uint32_t i = rng_below(&g->rng, n);
		/* Each client's ports are unique in the file: the expected rows
		 * are keyed by the four-tuple. */
		if (pool[i].uses < 28000)
			return i;
	}
}

/* The flow's pick weight from its size (bytes both ways). */
static void set_weight(const struct gen *g, struct flow *f)
{
	/* Big flows run faster, as on a real link: otherwise the elephants
	 * would be left alone at the end of the file, uninterleaved. */
	uint64_t w = 1 + (f->up + f->down) / 131072;
	f->weight = (uint8_t)(w < g->prof->max_weight ? w : g->prof->max_weight);
}

/* A plaintext HTTP/1.1 exchange on port 80: a GET for a static file and a
 * 200 response whose body is Content-Length random bytes. */
static void http_init(struct gen *g, struct flow *f)
{
	static const char *const agents[] = {
		"curl/7.88.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Wget/1.21.3",
		"python-requests/2.28.1",
	};
	static const char *const kinds[][2] = {
		{ "js", "application/javascript" }, { "css", "text/css" }, { "png", "image/png" },
		{ "json", "application/json" },     { "bin", "application/octet-stream" },
	};
	struct rng *r = &g->rng;
	const struct profile *p = g->prof;
	char host[64], date[64];
	sni_of(f->server, host, sizeof(host));
	f->sport = 80;
	f->prog = prog_http;
	g->http_flows++;
	g->http_client = f->client;
	g->http_server = f->server;
	f->down = rng_pareto(r, p->resp_xm, p->resp_alpha, g->resp_cap);
	uint32_t kind = rng_below(r, sizeof(kinds) / sizeof(kinds[0]));
	uint32_t object = (uint32_t)rng_next(r);
	const char *agent = agents[rng_below(r, sizeof(agents) / sizeof(agents[0]))];
	int n = snprintf((char *)f->cbuf, sizeof(f->cbuf),
			 "GET /static/%08x.%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			 "Accept: */*\r\n\r\n",
			 object, kinds[kind][0], host, agent);
	if (n < 0 || (size_t)n >= sizeof(f->cbuf))
		die("%s", "HTTP request too long");
	f->clen = f->ccut = (uint32_t)n;
	time_t sec = (time_t)(g->now_us / 1000000u);
	struct tm tm;
	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm))
		die("%s", "cannot format the Date header");
	n = snprintf((char *)f->sbuf, sizeof(f->sbuf),
		     "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: %s\r\n"
		     "Content-Type: %s\r\nContent-Length: %llu\r\nConnection: keep-alive\r\n"
		     "ETag: \"%08x-%llx\"\r\nAccept-Ranges: bytes\r\n\r\n",
		     date, kinds[kind][1], (unsigned long long)f->down, object,
		     (unsigned long long)f->down);
	if (n < 0 || (size_t)n >= sizeof(f->sbuf))
		die("%s", "HTTP response header too long");
	f->slen = (uint32_t)n;
	f->up = f->clen;
	/* Handshake and teardown packets, then payload and its headers. */
	g->planned += 1200 + (double)(f->clen + f->slen + f->down) * 1.07;
	set_weight(g, f);
	g->flows++;
	g->per_variant[f->variant]++;
}

/* Sets up a new flow in slot f: endpoints, handshake bytes, sizes. */
static void flow_init(struct gen *g, struct flow *f)
{
	struct rng *r = &g->rng;
	const struct profile *p = g->prof;
	memset(f, 0, offsetof(struct flow, cbuf));
	choose_variant(g, f);
	const struct tmpl *t = &g->tm[f->tmpl];
	const struct endpoint *srv = &g->servers[f->server];
	if (!f->same_client || (srv->v6 ? g->clients6 : g->clients4)[f->client].uses >= 28000)
		f->client = pick_client(g, srv->v6);
	struct endpoint *cli = srv->v6 ? &g->clients6[f->client] : &g->clients4[f->client];
	f->cport = cli->port;
	cli->port = cli->port >= 60999 ? 32768 : (uint16_t)(cli->port + 1);
	cli->uses++;
	f->mss = srv->v6 ? 1428 : 1448;
	f->seq[0] = (uint32_t)rng_next(r);
	f->seq[1] = (uint32_t)rng_next(r);
	f->ts_base[0] = (uint32_t)rng_next(r);
	f->ts_base[1] = (uint32_t)rng_next(r);
	f->ipid[0] = (uint16_t)rng_next(r);
	f->ipid[1] = (uint16_t)rng_next(r);
	f->flow_label = (uint32_t)rng_next(r) & 0xfffff;
	f->rhdr_off = 5;
	switch (f->variant) {
	case V_HRR: f->prog = prog_hrr; break;
	case V_SILENT: f->prog = prog_silent; break;
	case V_RST: f->prog = prog_rst; break;
	default: f->prog = prog_full; break;
	}
	f->sport = srv->port;
	if (f->variant == V_HTTP) {
		http_init(g, f);
		return;
	}

	/* Client bytes: each ClientHello rebuilt with this flow's random,
	 * session id and SNI; a record between them (CCS) copied. */
	char sni[64];
	uint8_t rnd[32], sid[32];
	sni_of(f->server, sni, sizeof(sni));
	rng_fill(r, rnd, sizeof(rnd));
	rng_fill(r, sid, sizeof(sid));
	size_t n = build_ch(t->cli, t->cli_cut, sni, rnd, sid, f->cbuf, sizeof(f->cbuf));
	if (!n)
		die("%s: cannot rebuild the ClientHello", tmpl_files[f->tmpl]);
	f->ccut = (uint32_t)n;
	f->clen = f->ccut;
	f->ch_segs = segs_over(0, f->ccut, f->mss);
	bool hrr = f->variant == V_HRR;
	if (hrr) {
		uint32_t o = t->cli_cut;
		while (o < t->cli_len) {
			uint32_t rl = 5u + get_be16(t->cli + o + 3);
			if (t->cli[o] == 22 && t->cli[o + 5] == 1) {
				n = build_ch(t->cli + o, rl, sni, rnd, sid, f->cbuf + f->clen,
					     sizeof(f->cbuf) - f->clen);
				if (!n)
					die("%s: cannot rebuild the second ClientHello", tmpl_files[f->tmpl]);
				f->ch2_segs = segs_over(f->clen - f->ccut, f->clen - f->ccut + (uint32_t)n,
							f->mss);
				f->clen += (uint32_t)n;
			} else {
				memcpy(f->cbuf + f->clen, t->cli + o, rl);
				f->clen += rl;
			}
			o += rl;
		}
	}

	/* Server bytes: HRR (only in the HRR variant) and ServerHello, with the
	 * session id echoed and a fresh random (not in the HRR, whose random is
	 * the fixed marker). */
	f->scut = hrr ? t->srv_cut : 0;
	f->slen = hrr ? t->srv_len : t->srv_len - t->srv_cut;
	memcpy(f->sbuf, t->srv + (hrr ? 0 : t->srv_cut), f->slen);
	for (uint32_t o = 0; o + 5 <= f->slen;) {
		uint32_t rl = 5u + get_be16(f->sbuf + o + 3);
		if (f->sbuf[o] == 22 && f->sbuf[o + 5] == 2 && rl >= 9 + 35) {
			uint8_t *b = f->sbuf + o + 9;
			if (memcmp(b + 2, hrr_random, 32) != 0)
				rng_fill(r, b + 2, 32);
			if (b[34] == t->sid_len && rl >= 9 + 35u + b[34])
				memcpy(b + 35, sid, t->sid_len);
			if (o >= f->scut)
				f->sh_first = o - f->scut;
		}
		o += rl;
	}

	/* Sizes: a request and a heavy-tailed response, or an upload. */
	f->up = 150 + rng_below(r, 700);
	f->down = rng_pareto(r, p->resp_xm, p->resp_alpha, g->resp_cap);
	if (f->down < 6)
		f->down = 6;
	if (p->upload_share > 0 && rng_unit(r) < p->upload_share) {
		uint64_t tmp = f->up;
		f->up = f->down < 6 ? 6 : f->down;
		f->down = tmp;
	}
	if (f->variant == V_SILENT || f->variant == V_RST)
		g->planned += 3000;
	else
		g->planned += 7000 + (double)(f->up + f->down) * 1.07;
	set_weight(g, f);
	g->flows++;
	g->per_variant[f->variant]++;
}

static void flow_retire(struct gen *g, struct flow *f)
{
	if (g->n_rows == g->cap_rows) {
		g->cap_rows = g->cap_rows ? 2 * g->cap_rows : 4096;
		g->rows = realloc(g->rows, g->cap_rows * sizeof(*g->rows));
		if (!g->rows)
			die("%s", "out of memory");
	}
	struct row *w = &g->rows[g->n_rows++];
	w->client = f->client;
	w->server = f->server;
	w->cport = f->cport;
	w->sport = f->sport;
	w->variant = f->variant;
	w->tmpl = f->tmpl;
	w->ch_segs = f->ch_segs;
	w->ch2_segs = f->ch2_segs;
	w->pkt_first_ch = f->pkt_first_ch;
	w->pkt_sh = f->pkt_sh;
	w->ts_first = f->ts_first;
	w->last_us = f->last_us;
	w->bytes = f->plain_bytes;
	w->end_us = f->end_us;
}

/* ---- expected rows ---- */

static void ip_text(const struct endpoint *e, char *out, size_t len)
{
	if (!inet_ntop(e->v6 ? AF_INET6 : AF_INET, e->ip, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return x->pkt_first_ch < y->pkt_first_ch ? -1 : x->pkt_first_ch > y->pkt_first_ch;
}

static void write_expected(struct gen *g, const char *path, const char *header)
{
	FILE *o = fopen(path, "w");
	if (!o)
		die("cannot create the expected file: %s", strerror(errno));
	qsort(g->rows, g->n_rows, sizeof(*g->rows), cmp_rows);
	fprintf(o, "# %s\n", header);
	fprintf(o, "client_ip\tclient_port\tserver_ip\tserver_port\tsni\tverdict\treason\t"
		   "group_code\thrr\thrr_group\tch_segments\tch2_segments\tpkt_first_ch\tpkt_sh\t"
		   "ts_first_us\n");
	for (size_t i = 0; i < g->n_rows; i++) {
		const struct row *w = &g->rows[i];
		if (w->variant == V_HTTP)
			continue; /* in the sessions file */
		const struct endpoint *srv = &g->servers[w->server];
		const struct endpoint *cli = srv->v6 ? &g->clients6[w->client] : &g->clients4[w->client];
		const struct tmpl *t = &g->tm[w->tmpl];
		char cip[INET6_ADDRSTRLEN], sip[INET6_ADDRSTRLEN], sni[64];
		char group[8] = "", hrr_group[8] = "", ch2[8] = "", pkt_sh[24] = "";
		const char *verdict, *reason = "";
		ip_text(cli, cip, sizeof(cip));
		ip_text(srv, sip, sizeof(sip));
		sni_of(w->server, sni, sizeof(sni));
		bool hrr = w->variant == V_HRR;
		if (w->variant == V_SILENT) {
			verdict = "incomplete";
			/* kexwatch ends a silent flow after --idle-timeout of capture time. */
			reason = g->now_us > w->last_us + IDLE_TIMEOUT_US ? "timeout" : "end-of-capture";
		} else if (w->variant == V_RST) {
			verdict = "incomplete";
			reason = "rst";
		} else {
			uint16_t gc = t->group;
			snprintf(group, sizeof(group), "%u", gc);
			snprintf(pkt_sh, sizeof(pkt_sh), "%llu", (unsigned long long)w->pkt_sh);
			if ((gc >= 0x11eb && gc <= 0x11ee))
				verdict = "hybrid";
			else if (gc >= 0x0200 && gc <= 0x0202)
				verdict = "pq";
			else if (gc == 0x6399 || gc == 0x639a)
				verdict = "hybrid-draft";
			else {
				verdict = "classical";
				reason = t->offers_pq ? "server-declined" : "client-no-pq";
			}
		}
		if (hrr) {
			snprintf(hrr_group, sizeof(hrr_group), "%u", t->hrr_group);
			snprintf(ch2, sizeof(ch2), "%u", w->ch2_segs);
		}
		fprintf(o, "%s\t%u\t%s\t%u\t%s\t%s\t%s\t%s\t%d\t%s\t%u\t%s\t%llu\t%s\t%llu\n",
			cip, w->cport, sip, w->sport, sni, verdict, reason, group, hrr ? 1 : 0,
			hrr_group, w->ch_segs, ch2, (unsigned long long)w->pkt_first_ch, pkt_sh,
			(unsigned long long)w->ts_first);
	}
	if (fclose(o) != 0)
		die("cannot write the expected file: %s", strerror(errno));
}

/* One line per plaintext session, in the order of their first packets
 * (write_expected sorted the rows). kexwatch stores them aggregated per
 * hour and endpoint pair; check_rows.py adds these lines up the same way.
 * ts_end_us is the packet that completes the FINs: kexwatch's ts_last_us
 * lies within its flow table's one-second touch resolution before it. */
static void write_sessions(struct gen *g, const char *path, const char *header)
{
	FILE *o = fopen(path, "w");
	if (!o)
		die("cannot create the sessions file: %s", strerror(errno));
	fprintf(o, "# %s\n", header);
	fprintf(o, "client_ip\tclient_port\tserver_ip\tserver_port\ttransport\tapp\tverdict\t"
		   "reason\tip_version\tbytes\tpkt_first\tts_first_us\tts_end_us\n");
	for (size_t i = 0; i < g->n_rows; i++) {
		const struct row *w = &g->rows[i];
		if (w->variant != V_HTTP)
			continue;
		const struct endpoint *srv = &g->servers[w->server];
		const struct endpoint *cli = srv->v6 ? &g->clients6[w->client] : &g->clients4[w->client];
		char cip[INET6_ADDRSTRLEN], sip[INET6_ADDRSTRLEN];
		ip_text(cli, cip, sizeof(cip));
		ip_text(srv, sip, sizeof(sip));
		fprintf(o, "%s\t%u\t%s\t%u\ttcp\thttp\tplaintext\tno-tls\t%d\t%llu\t%llu\t%llu\t%llu\n",
			cip, w->cport, sip, w->sport, srv->v6 ? 6 : 4, (unsigned long long)w->bytes,
			(unsigned long long)w->pkt_first_ch, (unsigned long long)w->ts_first,
			(unsigned long long)w->end_us);
	}
	if (fclose(o) != 0)
		die("cannot write the sessions file: %s", strerror(errno));
}

/* ---- main ---- */

static void make_endpoints(struct gen *g, double est_flows)
{
	struct rng *r = &g->rng;
	static const uint16_t ports[] = { 443, 443, 443, 443, 443, 443, 443, 443, 8443, 4433,
					  9443, 10443, 443, 443, 443, 8443 };
	g->n_servers = (uint32_t)(est_flows / 8);
	if (g->n_servers < 32)
		g->n_servers = 32;
	if (g->n_servers > 60000)
		g->n_servers = 60000;
	g->n_clients4 = 4096;
	g->n_clients6 = 2048;
	g->servers = calloc(g->n_servers, sizeof(*g->servers));
	g->clients4 = calloc(g->n_clients4, sizeof(*g->clients4));
	g->clients6 = calloc(g->n_clients6, sizeof(*g->clients6));
	if (!g->servers || !g->clients4 || !g->clients6)
		die("%s", "out of memory");
	for (uint32_t i = 0; i < g->n_servers; i++) {
		struct endpoint *e = &g->servers[i];
		uint32_t id = i + 1;
		e->v6 = rng_unit(r) < 0.3;
		e->pq = rng_unit(r) < 0.55;
		e->port = ports[rng_below(r, sizeof(ports) / sizeof(ports[0]))];
		if (e->v6) {
			static const uint8_t pre[6] = { 0xfd, 0x00, 0x00, 0x5e, 0, 0 };
			memcpy(e->ip, pre, 6);
			put_be32(e->ip + 12, id);
		} else {
			put_be32(e->ip, (10u << 24) | (200u << 16) | id);
		}
	}
	for (uint32_t i = 0; i < g->n_clients4; i++) {
		put_be32(g->clients4[i].ip, (10u << 24) | (1u << 16) | (i + 1));
		g->clients4[i].port = (uint16_t)(32768 + rng_below(r, 28232));
	}
	for (uint32_t i = 0; i < g->n_clients6; i++) {
		static const uint8_t pre[6] = { 0xfd, 0x00, 0x00, 0xc1, 0, 0 };
		memcpy(g->clients6[i].ip, pre, 6);
		put_be32(g->clients6[i].ip + 12, i + 1);
		g->clients6[i].v6 = 1;
		g->clients6[i].port = (uint16_t)(32768 + rng_below(r, 28232));
	}
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: gen_capture --profile bulk|dense|plain30 --seed N --out FILE.pcap\n"
		"                   --expected FILE.tsv [--sessions FILE.tsv] [--scale F]\n"
		"                   [--templates DIR] [--concurrency N] [--gap-us N] [-q]\n"
		"\n"
		"  --profile P       bulk (~1.5 GB, long flows), dense (~200 MB, short flows)\n"
		"                    or plain30 (dense, 30 %% of the flows plaintext HTTP)\n"
		"  --seed N          random seed (default: 1)\n"
		"  --out FILE        pcap to write\n"
		"  --expected FILE   TSV of the handshake rows kexwatch should store\n"
		"  --sessions FILE   TSV of the plaintext sessions it should count (needed\n"
		"                    when the profile has any)\n"
		"  --scale F         multiplies the size (default: 1)\n"
		"  --templates DIR   captures the TLS records come from (default: %s)\n"
		"  --concurrency N   flows active at once (default: per profile)\n"
		"  --gap-us N        mean microseconds between packets (default: 3); with a\n"
		"                    capture longer than 60 s silent flows end by timeout\n"
		"  -q, --quiet       no summary on stderr\n",
		KX_BENCH_PCAP_DIR);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "expected", required_argument, NULL, 'e' },
		{ "sessions", required_argument, NULL, 'S' },
		{ "scale", required_argument, NULL, 'x' },
		{ "templates", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct gen g;
	const char *profile = NULL, *out = NULL, *expected = NULL, *sessions = NULL;
	const char *tdir = KX_BENCH_PCAP_DIR;
	unsigned long long seed = 1;
	double scale = 1.0;
	unsigned long conc = 0, gap = 3;
	char *end;
	int c;
	while ((c = getopt_long(argc, argv, "qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'p': profile = optarg; break;
		case 's':
			errno = 0;
			seed = strtoull(optarg, &end, 0);
			if (errno || *end)
				die("bad --seed: %s", optarg);
			break;
		case 'o': out = optarg; break;
		case 'e': expected = optarg; break;
		case 'S': sessions = optarg; break;
		case 'x':
			scale = strtod(optarg, &end);
			if (*end || !(scale > 0) || scale > 1000)
				die("bad --scale: %s", optarg);
			break;
		case 't': tdir = optarg; break;
		case 'g':
			gap = strtoul(optarg, &end, 0);
			if (*end || gap < 1 || gap > 10000000)
				die("bad --gap-us: %s", optarg);
			break;
		case 'c':
			conc = strtoul(optarg, &end, 0);
			if (*end || conc < 1 || conc > 100000)
				die("bad --concurrency: %s", optarg);
			break;
		case 'q': g.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!profile || !out || !expected || optind != argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, profile) == 0)
			g.prof = &profiles[i];
	if (!g.prof)
		die("unknown profile '%s' (bulk, dense, plain30)", profile);
	if (g.prof->plain_share > 0 && !sessions)
		die("profile %s has plaintext sessions: name their file with --sessions", profile);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rng_seed(&g.rng, seed);
	int n_loaded = 0;
	for (int i = 0; i < T_MAX; i++) {
		char path[4096], err[512];
		snprintf(path, sizeof(path), "%s/%s", tdir, tmpl_files[i]);
		if (load_template(&g.tm[i], path, err, sizeof(err)) < 0)
			fprintf(stderr, "gen_capture: warning: template skipped: %s: %s\n", path, err);
		else
			n_loaded++;
	}
	if (!n_loaded)
		die("no usable template capture in %s", tdir);
	if (g.tm[T_HRR].loaded && !g.tm[T_HRR].hrr) {
		fprintf(stderr, "gen_capture: warning: %s has no HelloRetryRequest\n", tmpl_files[T_HRR]);
		g.tm[T_HRR].loaded = false;
	}

	g.target = g.prof->bytes * scale;
	g.resp_cap = g.prof->resp_cap;
	if (g.resp_cap > g.target / 100)
		g.resp_cap = g.target / 100 > 1e6 ? g.target / 100 : 1e6;
	if (g.resp_cap > g.prof->resp_cap)
		g.resp_cap = g.prof->resp_cap;
	make_endpoints(&g, g.target / g.prof->est_flow_bytes);
	g.concurrency = conc ? (uint32_t)conc : g.prof->concurrency;
	g.gap_us = (uint32_t)gap;
	g.slots = calloc(g.concurrency, sizeof(*g.slots));
	g.free_slots = calloc(g.concurrency, sizeof(*g.free_slots));
	g.active = calloc(g.concurrency, sizeof(*g.active));
	g.buf = malloc(OUTBUF_SIZE);
	if (!g.slots || !g.free_slots || !g.active || !g.buf)
		die("%s", "out of memory");
	for (uint32_t i = 0; i < g.concurrency; i++)
		g.free_slots[g.n_free++] = g.concurrency - 1 - i;

	g.out = fopen(out, "wb");
	if (!g.out)
		die("cannot create the capture: %s", strerror(errno));
	/* Classic pcap, microseconds, written little-endian whatever the host. */
	uint8_t gh[24];
	put_le32(gh, 0xa1b2c3d4);
	put_le16(gh + 4, 2);
	put_le16(gh + 6, 4);
	put_le32(gh + 8, 0);
	put_le32(gh + 12, 0);
	put_le32(gh + 16, 262144);
	put_le32(gh + 20, 1);
	memcpy(g.buf, gh, sizeof(gh));
	g.buf_used = sizeof(gh);
	g.bytes = sizeof(gh);
	g.now_us = (uint64_t)EPOCH_2026 * 1000000u + (seed % 86400) * 1000000u;
	g.start_us = g.now_us;

	/* Random interleaving: the next packet comes from a random active flow;
	 * a finished flow is replaced while the size budget lasts. */
	for (;;) {
		while (g.n_free && g.planned < g.target) {
			uint32_t s = g.free_slots[--g.n_free];
			flow_init(&g, &g.slots[s]);
			g.active[g.n_active++] = s;
		}
		if (!g.n_active)
			break;
		uint32_t i;
		struct flow *f;
		do { /* rejection sampling: flow i is picked in proportion to its weight */
			i = rng_below(&g.rng, g.n_active);
			f = &g.slots[g.active[i]];
		} while (f->weight < g.prof->max_weight &&
			 rng_below(&g.rng, g.prof->max_weight) >= f->weight);
		step(&g, f);
		if (f->done) {
			flow_retire(&g, f);
			g.free_slots[g.n_free++] = g.active[i];
			g.active[i] = g.active[--g.n_active];
		}
	}
	flush_out(&g);
	if (fclose(g.out) != 0)
		die("cannot write the capture: %s", strerror(errno));

	char header[256];
	snprintf(header, sizeof(header), "gen_capture profile=%s seed=%llu scale=%g packets=%llu",
		 g.prof->name, seed, scale, (unsigned long long)g.pkts);
	write_expected(&g, expected, header);
	if (sessions)
		write_sessions(&g, sessions, header);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!g.quiet) {
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		fprintf(stderr,
			"gen_capture: %s: %llu packets, %.1f MB, %llu flows (%u at once), "
			"%.1f%% of bytes after the handshake, %.2f s of capture, written in %.2f s\n",
			out, (unsigned long long)g.pkts, (double)g.bytes / 1e6,
			(unsigned long long)g.flows, g.concurrency,
			g.bytes ? 100.0 * (double)g.post_bytes / (double)g.bytes : 0.0,
			(double)(g.now_us - g.start_us) / 1e6,
			secs);
		fprintf(stderr, "gen_capture: flows by variant:");
		for (int v = 0; v < V_MAX; v++)
			fprintf(stderr, " %s %llu", variant_names[v], (unsigned long long)g.per_variant[v]);
		fputc('\n', stderr);
	}
	return 0;
}
