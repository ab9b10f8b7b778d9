/* SPDX-License-Identifier: BSD-2-Clause */
/* test_dtls.c: DTLS records, fragment reassembly and the engine's DTLS path,
 * on datagrams of the bundled captures (pcaps/dtls*.pcap: OpenSSL 3.0 and
 * GnuTLS 3.7, and the DTLS 1.3 ones hand-built from RFC 9147) and on built
 * records: fragments split at every offset, reordered, duplicated and cut,
 * the cookie exchange, a DTLS 1.3 HelloRetryRequest, absurd lengths. */
#include <stdlib.h>

#include "kexwatch/capture.h"
#include "kexwatch/decode.h"
#include "kexwatch/dtls.h"
#include "kexwatch/engine.h"
#include "tap.h"

static char pcaps[512];

/* ---- captures ---- */

#define MAX_FRAMES 64
struct cap {
	int link, n;
	struct {
		uint8_t data[2048];
		uint32_t len;
		uint64_t ts;
	} f[MAX_FRAMES];
};

static struct cap *load_cap(const char *name)
{
	char path[600], err[256];
	snprintf(path, sizeof(path), "%s/%s", pcaps, name);
	struct kx_source *src;
	if (kx_source_open_file(path, NULL, &src, err, sizeof(err)) != 0) {
		printf("Bail out! %s: %s\n", path, err);
		exit(1);
	}
	struct cap *c = calloc(1, sizeof(*c));
	struct kx_counters cnt;
	memset(&cnt, 0, sizeof(cnt));
	struct kx_frame fr;
	c->link = kx_source_link(src);
	while (kx_source_next(src, &fr, &cnt) == KX_SRC_PACKET && c->n < MAX_FRAMES) {
		if (fr.caplen > sizeof(c->f[0].data))
			continue;
		memcpy(c->f[c->n].data, fr.data, fr.caplen);
		c->f[c->n].len = fr.caplen;
		c->f[c->n].ts = fr.ts_us;
		c->n++;
	}
	kx_source_close(src);
	return c;
}

/* The UDP payload of frame i (0-based); *from_client by the server port. */
static const uint8_t *udp_payload(const struct cap *c, int i, uint32_t *len, bool *from_client)
{
	struct kx_pkt p;
	struct kx_counters cnt;
	memset(&cnt, 0, sizeof(cnt));
	if (kx_decode(c->link, c->f[i].data, c->f[i].len, &p, &cnt) != KX_DECODE_OK || p.proto != 17)
		return NULL;
	*len = p.payload_len;
	*from_client = p.dport == 4433;
	return p.payload;
}

/* ---- a stream and what it delivered ---- */

#define MAX_MSGS 16
struct msg {
	uint8_t content_type, hs_type;
	bool has_body;
	uint32_t len, start_off;
	uint8_t body[4096];
};
struct got {
	int n, n_frag;
	struct msg m[MAX_MSGS];
	uint32_t frag_voff[64], frag_len[64];
	int stop_after; /* return true from the callback at this message (0: never) */
};

static bool on_msg(void *ctx, const struct kx_tls_msg *m)
{
	struct got *g = ctx;
	if (g->n < MAX_MSGS) {
		struct msg *x = &g->m[g->n];
		x->content_type = m->content_type;
		x->hs_type = m->hs_type;
		x->has_body = m->body != NULL;
		x->len = m->len;
		x->start_off = m->start_off;
		if (m->body && m->len <= sizeof(x->body))
			memcpy(x->body, m->body, m->len);
	}
	g->n++;
	return g->stop_after && g->n == g->stop_after;
}

static void on_frag(void *ctx, uint8_t type, uint32_t voff, uint32_t len)
{
	struct got *g = ctx;
	(void)type;
	if (g->n_frag < 64) {
		g->frag_voff[g->n_frag] = voff;
		g->frag_len[g->n_frag] = len;
	}
	g->n_frag++;
}

struct rig {
	struct kx_bufpool *pool;
	struct kx_counters c;
	struct kx_dtls_stream s;
	struct got g;
	struct kx_dtls_env env;
};

static void rig_init(struct rig *r, size_t memcap, bool copy_always)
{
	memset(r, 0, sizeof(*r));
	r->pool = kx_bufpool_new(memcap);
	kx_dtls_stream_init(&r->s, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12), 131072, copy_always);
	r->env = (struct kx_dtls_env){ r->pool, &r->c, on_msg, on_frag, &r->g };
}

static int rigs_freed, pool_leaks;

static void rig_free(struct rig *r)
{
	kx_dtls_stream_release(&r->s, r->pool);
	rigs_freed++;
	pool_leaks += kx_bufpool_in_use(r->pool) != 0;
	kx_bufpool_free(r->pool);
}

static bool feed(struct rig *r, const void *d, size_t n)
{
	return kx_dtls_stream_feed(&r->s, &r->env, d, n);
}

/* ---- building records ---- */

struct wr {
	uint8_t b[8192];
	size_t n;
};
static void put8(struct wr *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void put16(struct wr *w, unsigned v) { put8(w, v >> 8); put8(w, v); }
static void put24(struct wr *w, uint32_t v) { put8(w, v >> 16); put16(w, v & 0xffff); }
static void putn(struct wr *w, const void *p, size_t n) { if (n) memcpy(w->b + w->n, p, n); w->n += n; }

/* A plaintext handshake record holding one fragment. */
static void frag_record(struct wr *w, uint16_t epoch, uint64_t rseq, uint8_t type, uint32_t msg_len,
			uint16_t mseq, uint32_t off, const uint8_t *data, uint32_t len)
{
	put8(w, 22);
	put16(w, KX_DTLS_V12);
	put16(w, epoch);
	put16(w, (unsigned)(rseq >> 32));
	put16(w, (unsigned)(rseq >> 16) & 0xffff);
	put16(w, (unsigned)rseq & 0xffff);
	put16(w, 12 + len);
	put8(w, type);
	put24(w, msg_len);
	put16(w, mseq);
	put24(w, off);
	put24(w, len);
	putn(w, data, len);
}

/* ---- records and fragment headers ---- */

static void test_records(void)
{
	struct wr w = { .n = 0 };
	put8(&w, 23); put16(&w, KX_DTLS_V12); put16(&w, 0x0102);
	put16(&w, 0xa1b2); put16(&w, 0xc3d4); put16(&w, 0xe5f6);
	put16(&w, 3); put8(&w, 'a'); put8(&w, 'b'); put8(&w, 'c');
	frag_record(&w, 0, 0xffffffffffffull, 14, 0, 4, 0, NULL, 0);
	struct kx_rd r = kx_rd_init(w.b, w.n);
	struct kx_dtls_record rec;
	CHECK_EQ(kx_dtls_record_next(&r, &rec), KX_DTLS_REC_OK, "first record");
	CHECK(rec.type == 23 && rec.version == KX_DTLS_V12 && rec.epoch == 0x0102 &&
	      rec.seq == 0xa1b2c3d4e5f6ull && rec.len == 3 && memcmp(rec.body, "abc", 3) == 0 &&
	      rec.encrypted && !rec.unified, "type, version, epoch, 48-bit sequence, body; epoch 1+ is encrypted");
	CHECK_EQ(kx_dtls_record_next(&r, &rec), KX_DTLS_REC_OK, "second record");
	CHECK(rec.seq == 0xffffffffffffull && rec.epoch == 0 && !rec.encrypted && rec.len == 12,
	      "largest 48-bit sequence number, epoch 0 plaintext");
	CHECK_EQ(kx_dtls_record_next(&r, &rec), KX_DTLS_REC_END, "end of the datagram");

	/* DTLS 1.3 unified headers (RFC 9147 section 4). */
	static const uint8_t u1[] = { 0x2e, 0x12, 0x34, 0x00, 0x02, 0xaa, 0xbb, 0x21, 0x07, 0xcc, 0xdd };
	r = kx_rd_init(u1, sizeof(u1));
	CHECK(kx_dtls_record_next(&r, &rec) == KX_DTLS_REC_OK && rec.unified && rec.encrypted &&
	      rec.epoch == 2 && rec.seq == 0x1234 && rec.len == 2, "unified header: S, L, epoch 2");
	CHECK(kx_dtls_record_next(&r, &rec) == KX_DTLS_REC_OK && rec.unified && rec.epoch == 1 &&
	      rec.seq == 7 && rec.len == 2 && kx_rd_left(&r) == 0,
	      "unified header without a length: 8-bit sequence, the rest of the datagram");
	static const uint8_t u2[] = { 0x3f, 1, 2, 3, 4, 5, 6, 7, 8 };
	r = kx_rd_init(u2, sizeof(u2));
	CHECK(kx_dtls_record_next(&r, &rec) == KX_DTLS_REC_OK && rec.unified && rec.len == 8 &&
	      kx_rd_left(&r) == 0, "unified header with a connection ID: the rest of the datagram");
	static const uint8_t cid[] = { 25, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0xc1, 0xc2, 0, 1, 0 };
	r = kx_rd_init(cid, sizeof(cid));
	CHECK(kx_dtls_record_next(&r, &rec) == KX_DTLS_REC_OK && rec.type == 25 && rec.encrypted &&
	      kx_rd_left(&r) == 0, "tls12_cid record (RFC 9146): the rest of the datagram");
	static const uint8_t u3[] = { 0x2c, 0x00, 0x01, 0x00, 0x10, 0xaa };
	r = kx_rd_init(u3, sizeof(u3));
	CHECK_EQ(kx_dtls_record_next(&r, &rec), KX_DTLS_REC_INVALID, "unified header length past the datagram");

	/* Not DTLS: STUN, RTP, TLS versions, lengths past the datagram. */
	static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0 };
	static const uint8_t rtp[] = { 0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t tls[] = { 22, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t t27[] = { 27, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t longer[] = { 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0 };
	const uint8_t *bad[] = { stun, rtp, tls, t27, longer };
	const char *why[] = { "STUN", "RTP", "TLS version", "content type 27", "length 65535 in 14 bytes" };
	for (int i = 0; i < 5; i++) {
		r = kx_rd_init(bad[i], 14);
		CHECK_EQ(kx_dtls_record_next(&r, &rec), KX_DTLS_REC_INVALID, why[i]);
	}
	/* A record cut at every offset. */
	int ok = 0;
	for (size_t k = 1; k < 28; k++) {
		r = kx_rd_init(w.b, k);
		ok += kx_dtls_record_next(&r, &rec) == KX_DTLS_REC_INVALID;
	}
	r = kx_rd_init(w.b, 0);
	CHECK(ok == 15 && kx_dtls_record_next(&r, &rec) == KX_DTLS_REC_END,
	      "a record cut at each of its 16 offsets is invalid (then complete: %d)", ok);

	/* Fragment headers. */
	struct wr f = { .n = 0 };
	uint8_t body[10] = { 0 };
	put8(&f, 1); put24(&f, 10); put16(&f, 3); put24(&f, 4); put24(&f, 6); putn(&f, body, 6);
	struct kx_rd fr = kx_rd_init(f.b, f.n);
	struct kx_dtls_frag fg;
	CHECK(kx_dtls_frag_next(&fr, &fg) && fg.type == 1 && fg.msg_len == 10 && fg.msg_seq == 3 &&
	      fg.off == 4 && fg.len == 6, "fragment header fields");
	f.n = 0;
	put8(&f, 1); put24(&f, 10); put16(&f, 3); put24(&f, 5); put24(&f, 6); putn(&f, body, 6);
	fr = kx_rd_init(f.b, f.n);
	CHECK(!kx_dtls_frag_next(&fr, &fg), "fragment ending past its message");
	f.n = 0;
	put8(&f, 1); put24(&f, 10); put16(&f, 3); put24(&f, 0xffffff); put24(&f, 0); 
	fr = kx_rd_init(f.b, f.n);
	CHECK(!kx_dtls_frag_next(&fr, &fg), "fragment offset 2^24-1 in a 10-byte message");
	f.n = 0;
	put8(&f, 1); put24(&f, 10); put16(&f, 3); put24(&f, 0); put24(&f, 10); putn(&f, body, 9);
	fr = kx_rd_init(f.b, f.n);
	CHECK(!kx_dtls_frag_next(&fr, &fg), "fragment data cut by the record");
}

static void test_versions(void)
{
	char buf[16];
	CHECK_STR(kx_version_name(0xfefd, buf, sizeof(buf)), "DTLS1.2", "0xfefd");
	CHECK_STR(kx_version_name(0xfefc, buf, sizeof(buf)), "DTLS1.3", "0xfefc");
	CHECK_STR(kx_version_name(0xfeff, buf, sizeof(buf)), "DTLS1.0", "0xfeff");
	CHECK(kx_version_is_13(0xfefc) && kx_version_is_13(0x0304) && !kx_version_is_13(0xfefd) &&
	      !kx_version_is_13(0xfeff) && !kx_version_is_13(0x0303) && !kx_version_is_13(0xfefe),
	      "DTLS versions count down: 1.3 is 0xfefc, below 1.2 (0xfefd)");
	struct kx_hs hs;
	memset(&hs, 0, sizeof(hs));
	hs.have_sh = true;
	hs.have_group = true;
	hs.group = 0x001d;
	hs.version = 0xfefd;
	kx_classify(&hs);
	CHECK(hs.verdict == KX_V_CLASSICAL && hs.reason == KX_R_TLS12, "DTLS 1.2: classical/tls12");
	hs.version = 0xfeff;
	kx_classify(&hs);
	CHECK(hs.verdict == KX_V_CLASSICAL && hs.reason == KX_R_TLS12, "DTLS 1.0: classical/tls12");
	hs.version = 0xfefc;
	hs.group = 0x11ec;
	kx_classify(&hs);
	CHECK(hs.verdict == KX_V_HYBRID && hs.reason == KX_R_NONE, "DTLS 1.3 with 0x11ec: hybrid");
}

/* ---- the stream on real datagrams ---- */

static void test_real_stream(void)
{
	struct cap *c = load_cap("dtls12-openssl.pcap");
	struct rig cl, sv;
	rig_init(&cl, 1 << 20, false);
	rig_init(&sv, 1 << 20, false);
	int looks = 0, n_udp = 0;
	for (int i = 0; i < c->n; i++) {
		uint32_t len;
		bool fc;
		const uint8_t *d = udp_payload(c, i, &len, &fc);
		if (!d)
			continue;
		n_udp++;
		looks += kx_dtls_looks_like_client_hello(d, len);
		feed(fc ? &cl : &sv, d, len);
	}
	CHECK_EQ(looks, 2, "the two ClientHello datagrams look like ClientHellos, nothing else does");
	CHECK(cl.g.n >= 2 && cl.g.m[0].hs_type == 1 && cl.g.m[1].hs_type == 1 &&
	      cl.g.m[0].start_off == kx_dtls_voff(0, 0) && cl.g.m[1].start_off == kx_dtls_voff(1, 0),
	      "client: ClientHello (message_seq 0), ClientHello (message_seq 1)");
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	CHECK(kx_tls_parse_dtls_client_hello(cl.g.m[0].body, cl.g.m[0].len, &ch, &ex) == KX_PARSE_OK &&
	      ex.cookie_len == 0 && ch.n_groups == 5 && ch.groups[0] == 0x001d &&
	      strcmp(ex.sni, "dtls12-openssl.kx.test") == 0 && ch.legacy_version == KX_DTLS_V12,
	      "first ClientHello: no cookie, x25519 first, SNI");
	CHECK(kx_tls_parse_dtls_client_hello(cl.g.m[1].body, cl.g.m[1].len, &ch, &ex) == KX_PARSE_OK &&
	      ex.cookie_len == 20, "second ClientHello echoes the 20-byte cookie");
	CHECK(kx_tls_parse_client_hello(cl.g.m[1].body, cl.g.m[1].len, &ch, &ex) != KX_PARSE_OK,
	      "the TLS parser does not take a DTLS ClientHello");
	static const uint8_t want[] = { 3, 2, 11, 12, 14 };
	bool order = sv.g.n >= 5;
	for (int i = 0; i < 5 && order; i++)
		order = sv.g.m[i].content_type == 22 && sv.g.m[i].hs_type == want[i];
	CHECK(order, "server: HelloVerifyRequest, ServerHello, Certificate, ServerKeyExchange, ServerHelloDone");
	CHECK(!sv.g.m[2].has_body && sv.g.m[2].len > 300 && sv.g.m[3].has_body,
	      "the Certificate (%u bytes, in pieces) is skipped, not assembled", sv.g.m[2].len);
	uint16_t v = 0;
	uint8_t cl_len = 0;
	CHECK(kx_dtls_parse_hello_verify_request(sv.g.m[0].body, sv.g.m[0].len, &v, &cl_len) ==
		      KX_PARSE_OK && v == KX_DTLS_V10 && cl_len == 20, "HelloVerifyRequest: 0xfeff, cookie 20");
	struct kx_server_hello sh;
	CHECK(kx_tls_parse_dtls_server_hello(sv.g.m[1].body, sv.g.m[1].len, &sh) == KX_PARSE_OK &&
	      sh.version == KX_DTLS_V12 && sh.cipher_suite == 0xc02c && !sh.is_hrr,
	      "ServerHello: DTLS 1.2, 0xc02c");
	uint8_t kx = 0;
	uint16_t grp = 0;
	CHECK(kx_tls_parse_server_key_exchange(sv.g.m[3].body, sv.g.m[3].len, sh.cipher_suite, &kx, &grp) ==
		      KX_PARSE_OK && kx == KX_KX_ECDHE && grp == 0x001d,
	      "ServerKeyExchange assembled from two fragments: ECDHE x25519");
	CHECK(sv.c.dtls_records > 0 && sv.c.dtls_encrypted > 0 && sv.c.dtls_invalid == 0,
	      "later epochs counted as encrypted, nothing invalid");

	/* The same datagrams, each twice, the server's after the
	 * HelloVerifyRequest in reverse order; and with every byte copied. */
	for (int mode = 0; mode < 2; mode++) {
		struct rig s2;
		rig_init(&s2, 1 << 20, mode == 1);
		int idx[MAX_FRAMES], k = 0;
		for (int i = 0; i < c->n; i++) {
			uint32_t len;
			bool fc;
			if (udp_payload(c, i, &len, &fc) && !fc)
				idx[k++] = i;
		}
		for (int j = 0; j < k; j++) {
			int i = j == 0 ? idx[0] : idx[k - j];
			uint32_t len;
			bool fc;
			const uint8_t *d = udp_payload(c, i, &len, &fc);
			feed(&s2, d, len);
			feed(&s2, d, len);
		}
		/* Handshake messages only: the alerts at the end now come first. */
		const struct msg *a[MAX_MSGS], *b[MAX_MSGS];
		int na = 0, nb = 0;
		for (int i = 0; i < sv.g.n && i < MAX_MSGS; i++)
			if (sv.g.m[i].content_type == 22)
				a[na++] = &sv.g.m[i];
		for (int i = 0; i < s2.g.n && i < MAX_MSGS; i++)
			if (s2.g.m[i].content_type == 22)
				b[nb++] = &s2.g.m[i];
		bool same = na == nb && na >= 6;
		for (int i = 0; i < na && same; i++)
			same = b[i]->hs_type == a[i]->hs_type && b[i]->len == a[i]->len &&
			       b[i]->has_body == a[i]->has_body &&
			       (!a[i]->has_body || memcmp(b[i]->body, a[i]->body, a[i]->len) == 0);
		CHECK(same && s2.c.dtls_retransmits > 0,
		      "%s: reversed and duplicated datagrams give the same messages once (%d, %" PRIu64
		      " duplicates)", mode ? "copy_always" : "fast path", nb, s2.c.dtls_retransmits);
		rig_free(&s2);
	}
	rig_free(&cl);
	rig_free(&sv);
	free(c);

	/* A ServerHello and a DTLS 1.3 unified-header record in one datagram. */
	c = load_cap("dtls13-hybrid-synthetic.pcap");
	rig_init(&sv, 1 << 20, false);
	for (int i = 0; i < c->n; i++) {
		uint32_t len;
		bool fc;
		const uint8_t *d = udp_payload(c, i, &len, &fc);
		if (d && !fc)
			feed(&sv, d, len);
	}
	CHECK(sv.g.n == 1 && sv.g.m[0].hs_type == 2 && sv.c.dtls_encrypted == 1 && sv.c.dtls_records == 2,
	      "DTLS 1.3: the ServerHello, then an encrypted unified-header record skipped");
	CHECK(kx_tls_parse_dtls_server_hello(sv.g.m[0].body, sv.g.m[0].len, &sh) == KX_PARSE_OK &&
	      sh.version == KX_DTLS_V13 && sh.has_key_share && sh.group == 0x11ec,
	      "its supported_versions 0xfefc, key share X25519MLKEM768");
	rig_free(&sv);
	free(c);
}

/* Every real datagram cut at every offset: nothing is read past the cut. */
static void test_truncation(void)
{
	static const char *caps[] = { "dtls12-openssl.pcap", "dtls12-openssl-fragmented.pcap",
				      "dtls13-hrr-synthetic.pcap", "dtls13-hybrid-synthetic.pcap",
				      "dtls12-gnutls.pcap" };
	int cuts = 0, whole_only = 1;
	for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
		struct cap *c = load_cap(caps[ci]);
		for (int i = 0; i < c->n; i++) {
			uint32_t len;
			bool fc;
			const uint8_t *d = udp_payload(c, i, &len, &fc);
			if (!d)
				continue;
			struct rig full;
			rig_init(&full, 1 << 20, false);
			feed(&full, d, len);
			for (uint32_t k = 0; k < len; k++) {
				/* A copy of exactly k bytes, so ASan sees any read past it. */
				uint8_t *cut = malloc(k ? k : 1);
				memcpy(cut, d, k);
				struct rig r;
				rig_init(&r, 1 << 20, false);
				feed(&r, cut, k);
				kx_dtls_looks_like_client_hello(cut, k);
				if (r.g.n > full.g.n)
					whole_only = 0;
				rig_free(&r);
				free(cut);
				cuts++;
			}
			rig_free(&full);
		}
		free(c);
	}
	CHECK(cuts > 5000 && whole_only, "%d cut datagrams: never more messages than the whole one", cuts);
}

/* ---- built fragments ---- */

static const uint8_t *real_ch(uint32_t *len)
{
	static uint8_t body[2048];
	static uint32_t n;
	if (!n) {
		struct cap *c = load_cap("dtls13-hybrid-synthetic.pcap");
		struct rig r;
		rig_init(&r, 1 << 20, false);
		for (int i = 0; i < c->n; i++) {
			uint32_t l;
			bool fc;
			const uint8_t *d = udp_payload(c, i, &l, &fc);
			if (d && fc)
				feed(&r, d, l);
		}
		if (r.g.n >= 1 && r.g.m[0].hs_type == 1 && r.g.m[0].len <= sizeof(body)) {
			n = r.g.m[0].len;
			memcpy(body, r.g.m[0].body, n);
		}
		rig_free(&r);
		free(c);
	}
	*len = n;
	return body;
}

static void test_splits(void)
{
	uint32_t len;
	const uint8_t *ch = real_ch(&len);
	CHECK(len > 1300, "the DTLS 1.3 hybrid ClientHello: %u bytes", len);
	struct kx_client_hello h;
	struct kx_client_hello_extra ex;
	CHECK(kx_tls_parse_dtls_client_hello(ch, len, &h, &ex) == KX_PARSE_OK && h.n_shares == 2 &&
	      h.shares[0] == 0x11ec && h.n_versions == 2 && h.versions[0] == KX_DTLS_V13,
	      "its key shares X25519MLKEM768 + x25519, supported_versions DTLS 1.3 first");
	int good[4] = { 0, 0, 0, 0 };
	for (uint32_t k = 1; k < len; k++) {
		for (int mode = 0; mode < 4; mode++) {
			/* 0: in order, 1: reversed, 2: copy_always reversed,
			 * 3: three overlapping pieces, the middle one last */
			struct rig r;
			rig_init(&r, 1 << 20, mode == 2);
			struct wr a = { .n = 0 }, b = { .n = 0 }, m = { .n = 0 };
			uint32_t lo = k / 2 + 1, hi = k + 3 < len ? k + 3 : len;
			int want_frags = 2 + (mode == 3 && lo < k);
			if (mode < 3) {
				frag_record(&a, 0, 0, 1, len, 0, 0, ch, k);
				frag_record(&b, 0, 1, 1, len, 0, k, ch + k, len - k);
				feed(&r, mode ? b.b : a.b, mode ? b.n : a.n);
				feed(&r, mode ? a.b : b.b, mode ? a.n : b.n);
			} else {
				frag_record(&a, 0, 0, 1, len, 0, 0, ch, lo);
				frag_record(&b, 0, 1, 1, len, 0, k, ch + k, len - k);
				frag_record(&m, 0, 2, 1, len, 0, lo - 1, ch + lo - 1, hi - lo + 1);
				feed(&r, a.b, a.n);
				feed(&r, b.b, b.n);
				feed(&r, b.b, b.n); /* a duplicate */
				feed(&r, m.b, m.n);
			}
			if (r.g.n == 1 && r.g.m[0].hs_type == 1 && r.g.m[0].len == len && r.g.m[0].has_body &&
			    memcmp(r.g.m[0].body, ch, len) == 0 && r.s.next_seq == 1 &&
			    r.g.n_frag == want_frags && r.c.dtls_conflicts == 0)
				good[mode]++;
			rig_free(&r);
		}
	}
	CHECK_EQ(good[0], len - 1, "split at every offset, in order: one whole ClientHello");
	CHECK_EQ(good[1], len - 1, "split at every offset, second piece first");
	CHECK_EQ(good[2], len - 1, "the same, every byte copied");
	CHECK_EQ(good[3], len - 1, "three overlapping pieces and a duplicate");

	/* One datagram with several records and several fragments per record. */
	struct rig r;
	rig_init(&r, 1 << 20, false);
	struct wr w = { .n = 0 };
	frag_record(&w, 0, 0, 1, len, 0, 0, ch, 100);
	size_t rec2 = w.n;
	frag_record(&w, 0, 1, 1, len, 0, 100, ch + 100, 200);
	/* a second fragment inside the same record */
	struct wr tmp = { .n = 0 };
	put8(&tmp, 1); put24(&tmp, len); put16(&tmp, 0); put24(&tmp, 300); put24(&tmp, len - 300);
	putn(&tmp, ch + 300, len - 300);
	memcpy(w.b + w.n, tmp.b, tmp.n);
	w.n += tmp.n;
	w.b[rec2 + 11] = (uint8_t)((12 + 200 + tmp.n) >> 8);
	w.b[rec2 + 12] = (uint8_t)(12 + 200 + tmp.n);
	feed(&r, w.b, w.n);
	CHECK(r.g.n == 1 && r.g.m[0].len == len && memcmp(r.g.m[0].body, ch, len) == 0,
	      "records and fragments packed in one datagram");
	rig_free(&r);
}

static void test_hostile(void)
{
	uint8_t z[512];
	memset(z, 0x5a, sizeof(z));
	struct rig r;
	struct wr w;

	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 1, 0xffffff, 0, 0, z, 100);
	CHECK(feed(&r, w.b, w.n) && r.s.failed && r.c.tls_hello_too_big == 1 && r.g.n == 0,
	      "a ClientHello of 16 MiB: over the cap, the stream stops");
	rig_free(&r);

	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 2, 60, 0, 0, z, 60);             /* ServerHello sets the base */
	frag_record(&w, 0, 1, 11, 0xffffff, 1, 0, z, 500);     /* a "16 MiB" certificate */
	CHECK(!feed(&r, w.b, w.n) && !r.s.failed && r.g.n == 1 && kx_bufpool_in_use(r.pool) == 0,
	      "an unwanted 16 MiB message costs no buffer, only its ranges");
	w.n = 0;
	frag_record(&w, 0, 2, 12, 40, 40, 0, z, 40);           /* message_seq far ahead */
	feed(&r, w.b, w.n);
	CHECK_EQ(r.c.dtls_fragments_dropped, 1, "message_seq 39 ahead: dropped");
	w.n = 0;
	frag_record(&w, 0, 3, 12, 100, 1, 0, z, 10);           /* same seq, other type */
	feed(&r, w.b, w.n);
	CHECK_EQ(r.c.dtls_conflicts, 1, "a fragment contradicting the message's type and length");
	rig_free(&r);

	/* More disjoint pieces than ranges: the extra one waits for a resend. */
	rig_init(&r, 1 << 20, false);
	for (unsigned i = 0; i < KX_DTLS_RANGES + 1; i++) {
		w.n = 0;
		frag_record(&w, 0, i, 1, 200, 0, 20 * i + 1, z, 10);
		feed(&r, w.b, w.n);
	}
	CHECK_EQ(r.c.dtls_fragments_dropped, 1, "the seventh disjoint piece of a message is dropped");
	w.n = 0;
	frag_record(&w, 0, 9, 1, 200, 0, 0, z, 200);
	feed(&r, w.b, w.n);
	CHECK(r.g.n == 1 && r.g.m[0].len == 200, "a whole copy completes it");
	rig_free(&r);

	/* More messages ahead than slots. */
	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 2, 50, 0, 0, z, 10); /* base 0, incomplete */
	feed(&r, w.b, w.n);
	for (unsigned i = 1; i <= KX_DTLS_SLOTS; i++) {
		w.n = 0;
		frag_record(&w, 0, i, 11, 50, (uint16_t)i, 0, z, 50);
		feed(&r, w.b, w.n);
	}
	CHECK(r.c.dtls_fragments_dropped == 1 && r.g.n == 0,
	      "slots full: the message after them is dropped, nothing delivered out of order");
	w.n = 0;
	frag_record(&w, 0, 9, 2, 50, 0, 0, z, 50);
	feed(&r, w.b, w.n);
	CHECK(r.g.n == KX_DTLS_SLOTS && r.g.m[0].hs_type == 2 && r.g.m[1].hs_type == 11,
	      "the missing piece releases the held messages in order (%d)", r.g.n);
	rig_free(&r);

	/* Lengths that lie. */
	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 1, 100, 0, 0, z, 100);
	w.b[11] = 0xff; /* record length 0xff70: past the datagram */
	feed(&r, w.b, w.n);
	w.n = 0;
	frag_record(&w, 0, 0, 1, 100, 0, 0, z, 100);
	w.b[13 + 9] = 0x7f; /* fragment_length past the record */
	feed(&r, w.b, w.n);
	w.n = 0;
	frag_record(&w, 0, 0, 1, 100, 0, 90, z, 20); /* offset + length past the message */
	feed(&r, w.b, w.n);
	CHECK(r.c.dtls_invalid == 3 && r.g.n == 0 && !r.s.failed,
	      "record, fragment and message lengths that lie: discarded, counted (%" PRIu64 ")",
	      r.c.dtls_invalid);
	rig_free(&r);

	/* The memory cap: a ClientHello in pieces needs a buffer. */
	rig_init(&r, 1024, false);
	w.n = 0;
	frag_record(&w, 0, 0, 1, 3000, 0, 0, z, 100);
	CHECK(feed(&r, w.b, w.n) && r.s.failed && r.c.reasm_memcap_hits == 1,
	      "a buffer the memory cap refuses stops the stream");
	rig_free(&r);

	/* The callback's stop is obeyed, also for held messages. */
	rig_init(&r, 1 << 20, false);
	r.g.stop_after = 1;
	w.n = 0;
	frag_record(&w, 0, 0, 12, 10, 1, 0, z, 10);
	frag_record(&w, 0, 1, 2, 10, 0, 0, z, 10);
	CHECK(feed(&r, w.b, w.n) && r.g.n == 1, "stop after the first message");
	rig_free(&r);
}

/* Message numbering around the cookie exchange and HelloRetryRequest. */
static void test_numbering(void)
{
	uint8_t z[64];
	memset(z, 0x33, sizeof(z));
	struct rig r;
	struct wr w;

	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 3, 23, 0, 0, z, 23);
	feed(&r, w.b, w.n);
	w.n = 0;
	frag_record(&w, 0, 1, 2, 40, 0, 0, z, 40);
	feed(&r, w.b, w.n);
	CHECK(r.g.n == 1 && r.c.dtls_retransmits == 1,
	      "without a rebase a ServerHello numbered 0 after the HelloVerifyRequest is a resend");
	kx_dtls_stream_rebase(&r.s);
	feed(&r, w.b, w.n);
	CHECK(r.g.n == 2 && r.g.m[1].hs_type == 2, "after a rebase it starts the server's numbering again");
	rig_free(&r);

	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 1, 60, 0, 0, z, 30); /* first ClientHello, half of it */
	feed(&r, w.b, w.n);
	w.n = 0;
	frag_record(&w, 0, 1, 1, 60, 1, 0, z, 60); /* the cookie ClientHello, whole */
	feed(&r, w.b, w.n);
	CHECK(r.g.n == 1 && r.g.m[0].start_off == kx_dtls_voff(1, 0) && r.c.dtls_fragments_dropped == 1,
	      "a whole newer ClientHello replaces an older one that never completed");
	rig_free(&r);

	/* Fragments of later messages before any hello: held until one sets the base. */
	rig_init(&r, 1 << 20, false);
	w.n = 0;
	frag_record(&w, 0, 0, 12, 10, 3, 0, z, 10);
	frag_record(&w, 0, 1, 11, 10, 2, 0, z, 10);
	feed(&r, w.b, w.n);
	CHECK_EQ(r.g.n, 0, "nothing delivered before a hello gives the numbering");
	w.n = 0;
	frag_record(&w, 0, 2, 2, 10, 1, 0, z, 10);
	frag_record(&w, 0, 3, 14, 0, 4, 0, z, 0);
	feed(&r, w.b, w.n);
	CHECK(r.g.n == 4 && r.g.m[0].hs_type == 2 && r.g.m[1].hs_type == 11 && r.g.m[2].hs_type == 12 &&
	      r.g.m[3].hs_type == 14 && r.g.m[3].len == 0,
	      "the ServerHello releases Certificate, ServerKeyExchange, ServerHelloDone (empty) in order");
	rig_free(&r);
}

/* ---- the engine ---- */

#define MAX_ROWS 4
struct rows {
	int n;
	struct kx_hs hs[MAX_ROWS];
};

static void emit(void *ctx, const struct kx_hs *hs)
{
	struct rows *r = ctx;
	if (r->n < MAX_ROWS)
		r->hs[r->n] = *hs;
	r->n++;
}

/* Runs the frames order[0..n) (indexes into the capture, frame numbers kept). */
static void run_engine(const struct cap *c, const int *order, int n, bool no_fastpath,
		       struct rows *out, struct kx_counters *cnt)
{
	struct kx_engine_opts o;
	kx_engine_opts_default(&o);
	o.max_flows = 64;
	o.max_sessions = 8;
	o.memcap = 1 << 20;
	o.no_ndpi = true;
	o.no_fastpath = no_fastpath;
	char err[128];
	memset(out, 0, sizeof(*out));
	memset(cnt, 0, sizeof(*cnt));
	struct kx_engine *e = kx_engine_new(&o, cnt, emit, out, err, sizeof(err));
	for (int j = 0; j < n; j++) {
		int i = order[j];
		struct kx_frame f = { c->f[i].data, c->f[i].len, c->f[i].len, c->f[i].ts, c->link, 0 };
		kx_engine_packet(e, c->link, &f, (uint64_t)i + 1, 0);
	}
	kx_engine_finish(e, KX_R_EOF);
	kx_engine_free(e);
}

static int all(const struct cap *c, int *order)
{
	for (int i = 0; i < c->n; i++)
		order[i] = i;
	return c->n;
}

static void test_engine(void)
{
	struct rows rows;
	struct kx_counters cnt;
	int order[2 * MAX_FRAMES], n;
	struct cap *c = load_cap("dtls12-openssl.pcap");

	n = all(c, order);
	run_engine(c, order, n, false, &rows, &cnt);
	const struct kx_hs *h = &rows.hs[0];
	CHECK(rows.n == 1 && strcmp(h->protocol, "dtls") == 0 && h->transport == 17 &&
	      h->client_port != 4433 && h->server_port == 4433, "one row: dtls over udp, client -> 4433");
	CHECK(h->n_ch == 2 && !h->hrr && h->ch[0].segments == 1 && h->ch[1].segments == 1 &&
	      h->ch[0].bytes == h->ch[1].bytes - 20 && h->pkt_first_ch == 3 && cnt.dtls_hello_verify == 1,
	      "cookie exchange: both ClientHellos kept (the second 20 cookie bytes longer), hrr 0, "
	      "first ClientHello frame 3");
	CHECK(h->have_sh && h->version == KX_DTLS_V12 && h->group == 0x001d && h->tls12_kx == KX_KX_ECDHE &&
	      h->verdict == KX_V_CLASSICAL && h->reason == KX_R_TLS12 && h->pkt_sh == 6 &&
	      strcmp(h->sni, "dtls12-openssl.kx.test") == 0,
	      "DTLS 1.2, ECDHE x25519 from the fragmented ServerKeyExchange, classical/tls12, ServerHello frame 6");
	struct kx_hs ref = *h;

	/* Every datagram twice, the server's flight (frames 6-9) reversed. */
	int k = 0;
	for (int i = 0; i < c->n; i++) {
		int j = i >= 5 && i <= 8 ? 13 - i : i;
		order[k++] = j;
		order[k++] = j;
	}
	run_engine(c, order, k, false, &rows, &cnt);
	h = &rows.hs[0];
	CHECK(rows.n == 1 && h->pkt_sh == 6 && h->group == 0x001d && h->n_ch == 2 &&
	      h->ch[0].segments == 1 && h->pkt_first_ch == 3 && cnt.dtls_retransmits > 0,
	      "duplicated and reordered datagrams: the same row (pkt_sh %" PRIu64 ")", h->pkt_sh);
	n = all(c, order);
	run_engine(c, order, n, true, &rows, &cnt);
	h = &rows.hs[0];
	CHECK(rows.n == 1 && h->pkt_sh == ref.pkt_sh && h->group == ref.group &&
	      h->ch[0].bytes == ref.ch[0].bytes && h->ch_to_sh_us == ref.ch_to_sh_us &&
	      h->verdict == ref.verdict, "--no-fastpath: the same row");

	/* A stateless server may number its ServerHello 0 again after the
	 * HelloVerifyRequest: the flight (frames 6-9) renumbered from 0. */
	{
		struct cap *c3 = malloc(sizeof(*c3));
		memcpy(c3, c, sizeof(*c3));
		int renumbered = 0;
		for (int i = 5; i <= 8; i++) {
			uint8_t *d = c3->f[i].data + 42; /* Ethernet + IPv4 + UDP */
			uint32_t left = c3->f[i].len - 42, at = 0;
			while (at + 13 <= left) {
				uint32_t rl = (uint32_t)d[at + 11] << 8 | d[at + 12];
				if (d[at] == 22 && d[at + 3] == 0 && d[at + 4] == 0)
					for (uint32_t q = at + 13; q + 12 <= at + 13 + rl;) {
						d[q + 5]--; /* message_seq, all below 256 here */
						renumbered++;
						q += 12 + ((uint32_t)d[q + 9] << 16 | (uint32_t)d[q + 10] << 8 | d[q + 11]);
					}
				at += 13 + rl;
			}
		}
		n = all(c3, order);
		run_engine(c3, order, n, false, &rows, &cnt);
		h = &rows.hs[0];
		CHECK(renumbered >= 6 && rows.n == 1 && h->pkt_sh == 6 && h->group == 0x001d && h->n_ch == 2 &&
		      h->tls12_kx == KX_KX_ECDHE,
		      "a flight renumbered from 0 after the HelloVerifyRequest: the same row (%d fragments)",
		      renumbered);
		free(c3);
	}

	/* The capture twice, the second time 10 s later: the same quartet
	 * carries a new association (RFC 6347 section 4.2.8), a second row.
	 * A ClientHello resent after the end (record sequence 1) is not one. */
	{
		struct kx_engine_opts o;
		kx_engine_opts_default(&o);
		o.no_ndpi = true;
		char err[128];
		memset(&rows, 0, sizeof(rows));
		memset(&cnt, 0, sizeof(cnt));
		struct kx_engine *e = kx_engine_new(&o, &cnt, emit, &rows, err, sizeof(err));
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < c->n; i++) {
				struct kx_frame f = { c->f[i].data, c->f[i].len, c->f[i].len,
						      c->f[i].ts + (uint64_t)pass * 10000000u, c->link, 0 };
				kx_engine_packet(e, c->link, &f, (uint64_t)i + 1, (uint32_t)pass);
				if (pass == 0 && i == c->n - 1) {
					struct kx_frame again = { c->f[4].data, c->f[4].len, c->f[4].len,
								  c->f[i].ts + 1000, c->link, 0 };
					kx_engine_packet(e, c->link, &again, 99, 0);
				}
			}
		kx_engine_finish(e, KX_R_EOF);
		kx_engine_free(e);
		CHECK(rows.n == 2 && rows.hs[0].verdict == KX_V_CLASSICAL && rows.hs[1].verdict == KX_V_CLASSICAL &&
		      rows.hs[1].ts_first_us == rows.hs[0].ts_first_us + 10000000u && rows.hs[1].source_id == 1,
		      "a new association on the same quartet is a second row, a late resend no row (%d)",
		      rows.n);
	}

	/* Only the first ClientHello, then an alert from the server. */
	static const uint8_t alert_rec[] = { 21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 40 };
	uint8_t fr[256];
	memcpy(fr, c->f[3].data, 42); /* headers of the HelloVerifyRequest frame */
	memcpy(fr + 42, alert_rec, sizeof(alert_rec));
	struct cap *c2 = calloc(1, sizeof(*c2));
	c2->link = c->link;
	c2->n = 2;
	memcpy(&c2->f[0], &c->f[2], sizeof(c->f[0]));
	memcpy(c2->f[1].data, fr, 42 + sizeof(alert_rec));
	c2->f[1].len = 42 + sizeof(alert_rec);
	c2->f[1].ts = c->f[3].ts;
	/* IPv4 total length and UDP length for the new payload; checksums unchecked */
	uint16_t ipl = (uint16_t)(20 + 8 + sizeof(alert_rec)), udl = (uint16_t)(8 + sizeof(alert_rec));
	c2->f[1].data[16] = (uint8_t)(ipl >> 8);
	c2->f[1].data[17] = (uint8_t)ipl;
	c2->f[1].data[38] = (uint8_t)(udl >> 8);
	c2->f[1].data[39] = (uint8_t)udl;
	n = all(c2, order);
	run_engine(c2, order, n, false, &rows, &cnt);
	CHECK(rows.n == 1 && rows.hs[0].verdict == KX_V_INCOMPLETE && rows.hs[0].reason == KX_R_ALERT &&
	      rows.hs[0].n_ch == 1, "a ClientHello answered by an alert: incomplete/alert");
	n = 1;
	run_engine(c2, order, n, false, &rows, &cnt);
	CHECK(rows.n == 1 && rows.hs[0].verdict == KX_V_INCOMPLETE && rows.hs[0].reason == KX_R_EOF &&
	      rows.hs[0].pkt_first_ch == 1, "a lone ClientHello: incomplete/end-of-capture");
	free(c2);
	free(c);

	/* The fragmented ClientHello: lose the second piece of the first one. */
	c = load_cap("dtls12-openssl-fragmented.pcap");
	k = 0;
	for (int i = 0; i < c->n; i++)
		if (i != 3) /* frame 4: the first ClientHello's second fragment */
			order[k++] = i;
	run_engine(c, order, k, false, &rows, &cnt);
	h = &rows.hs[0];
	CHECK(rows.n == 1 && h->n_ch == 1 && h->pkt_first_ch == 6 && h->ch[0].segments == 2 &&
	      h->have_sh && h->group == 0x0019 && cnt.dtls_hello_verify == 0,
	      "first ClientHello never whole: the cookie ClientHello (frame 6, 2 datagrams) is the row's");
	order[0] = 2;
	run_engine(c, order, 1, false, &rows, &cnt);
	h = &rows.hs[0];
	CHECK(rows.n == 1 && h->n_ch == 0 && h->verdict == KX_V_INCOMPLETE && h->reason == KX_R_GAP &&
	      h->pkt_first_ch == 3, "only the first piece of a ClientHello: incomplete/gap at its frame");
	order[0] = 3;
	run_engine(c, order, 1, false, &rows, &cnt);
	CHECK(rows.n == 1 && rows.hs[0].reason == KX_R_GAP && rows.hs[0].pkt_first_ch == 4,
	      "only the second piece: a flow still starts, incomplete/gap");
	free(c);

	/* DTLS 1.3 HelloRetryRequest, the second ClientHello's pieces swapped. */
	c = load_cap("dtls13-hrr-synthetic.pcap");
	for (int swap = 0; swap < 2; swap++) {
		n = all(c, order);
		if (swap) {
			order[2] = 3;
			order[3] = 2;
		}
		run_engine(c, order, n, false, &rows, &cnt);
		h = &rows.hs[0];
		CHECK(rows.n == 1 && h->hrr && h->hrr_group == 0x11ec && h->n_ch == 2 &&
		      h->ch[0].n_shares == 1 && h->ch[0].shares[0] == 0x001d && h->ch[1].n_shares == 1 &&
		      h->ch[1].shares[0] == 0x11ec && h->ch[1].segments == 2 && h->version == KX_DTLS_V13 &&
		      h->group == 0x11ec && h->verdict == KX_V_HYBRID && h->pkt_sh == 5 &&
		      cnt.dtls_hello_verify == 0,
		      "DTLS 1.3 HRR%s: hrr 0x11ec, shares [x25519] then [X25519MLKEM768], hybrid",
		      swap ? " (second ClientHello's pieces swapped)" : "");
	}
	free(c);
	c = load_cap("dtls13-hybrid-synthetic.pcap");
	n = all(c, order);
	order[0] = 1;
	order[1] = 0;
	run_engine(c, order, n, false, &rows, &cnt);
	h = &rows.hs[0];
	CHECK(rows.n == 1 && h->n_ch == 1 && h->ch[0].segments == 2 && h->pkt_first_ch == 1 &&
	      h->ch[0].n_shares == 2 && h->group == 0x11ec && h->verdict == KX_V_HYBRID &&
	      h->version == KX_DTLS_V13,
	      "DTLS 1.3 hybrid, the ClientHello's second piece first: frame 1 still holds its start");
	free(c);
}

int main(int argc, char **argv)
{
	snprintf(pcaps, sizeof(pcaps), "%s/../../pcaps", argc > 1 ? argv[1] : "tests/data");
	test_records();
	test_versions();
	test_real_stream();
	test_truncation();
	test_splits();
	test_hostile();
	test_numbering();
	test_engine();
	CHECK(rigs_freed > 1000 && pool_leaks == 0,
	      "every stream gave its buffers back on release (%d streams)", rigs_freed);
	return tap_done();
}
