/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tls.c: hello parsers and the streaming record layer, on records taken
 * from tls13-x25519mlkem768.pcap (Node 24 / OpenSSL 3.5) and on built ones. */
#include <stdlib.h>

#include "kexwatch/tls.h"
#include "tap.h"

static size_t load(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("Bail out! cannot open %s\n", path);
		exit(1);
	}
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* A tiny writer for hand-built messages. */
struct wr {
	uint8_t b[4096];
	size_t n;
};
static void put8(struct wr *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void put16(struct wr *w, unsigned v) { put8(w, v >> 8); put8(w, v); }
static void putn(struct wr *w, const void *p, size_t n) { memcpy(w->b + w->n, p, n); w->n += n; }
static void patch16(struct wr *w, size_t at, size_t v) { w->b[at] = (uint8_t)(v >> 8); w->b[at + 1] = (uint8_t)v; }

/* ServerHello body: HRR when hrr, with a key_share of `group`. */
static void build_sh(struct wr *w, int hrr, uint16_t group)
{
	static const uint8_t hrr_rand[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
		0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
	};
	uint8_t rnd[32];
	memset(rnd, 0x42, sizeof(rnd));
	w->n = 0;
	put16(w, 0x0303);
	putn(w, hrr ? hrr_rand : rnd, 32);
	put8(w, 0);        /* session id */
	put16(w, 0x1301);
	put8(w, 0);
	size_t ext = w->n;
	put16(w, 0);
	put16(w, 43); put16(w, 2); put16(w, 0x0304);
	put16(w, 51);
	if (hrr) {
		put16(w, 2); put16(w, group);
	} else {
		put16(w, 6); put16(w, group); put16(w, 2); put16(w, 0xabcd);
	}
	patch16(w, ext, w->n - ext - 2);
}

struct seen {
	int n_ch, n_sh, n_other;
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	struct kx_server_hello sh;
	uint32_t ch_start, ch_end;
};

static bool on_msg(void *ctx, const struct kx_tls_msg *m)
{
	struct seen *s = ctx;
	if (m->content_type != KX_TLS_HANDSHAKE) {
		s->n_other++;
		return false;
	}
	if (m->hs_type == KX_HS_CLIENT_HELLO && m->body) {
		s->n_ch++;
		kx_tls_parse_client_hello(m->body, m->len, &s->ch, &s->ex);
		s->ch_start = m->start_off;
		s->ch_end = m->end_off;
	} else if (m->hs_type == KX_HS_SERVER_HELLO && m->body) {
		s->n_sh++;
		kx_tls_parse_server_hello(m->body, m->len, &s->sh);
	}
	return false;
}

/* Feeds `data` to a fresh stream in pieces of `piece` bytes (0: split once at `split`). */
static int feed(const uint8_t *data, size_t len, size_t split, size_t piece, struct seen *s,
		struct kx_bufpool *pool, struct kx_counters *c)
{
	struct kx_tls_stream st;
	kx_tls_stream_init(&st, (1u << 1) | (1u << 2), 65536);
	struct kx_tls_env env = { pool, c, on_msg, s };
	memset(s, 0, sizeof(*s));
	if (piece) {
		for (size_t off = 0; off < len; off += piece)
			kx_tls_stream_feed(&st, &env, data + off,
					   (uint32_t)(len - off < piece ? len - off : piece));
	} else {
		kx_tls_stream_feed(&st, &env, data, (uint32_t)split);
		kx_tls_stream_feed(&st, &env, data + split, (uint32_t)(len - split));
	}
	int failed = st.failed;
	kx_tls_stream_release(&st, pool);
	return failed;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data";
	static uint8_t chrec[4096], shrec[4096];
	size_t chlen = load(dir, "ch-x25519mlkem768.bin", chrec, sizeof(chrec));
	size_t shlen = load(dir, "sh-x25519mlkem768.bin", shrec, sizeof(shrec));
	CHECK_EQ(chlen, 1591, "ClientHello record size");

	/* Direct parse: record header 5 + handshake header 4. */
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	CHECK_EQ(kx_tls_parse_client_hello(chrec + 9, chlen - 9, &ch, &ex), KX_PARSE_OK, "parse CH");
	const uint16_t want_groups[] = { 0x11ec, 29, 23, 30, 24, 25, 256, 257 };
	CHECK_EQ(ch.n_groups, 8, "offered group count");
	CHECK(memcmp(ch.groups, want_groups, sizeof(want_groups)) == 0, "offered groups in order");
	CHECK(ch.n_shares == 2 && ch.shares[0] == 0x11ec && ch.shares[1] == 29,
	      "key shares X25519MLKEM768, x25519");
	CHECK(ch.n_versions == 2 && ch.versions[0] == 0x0304 && ch.versions[1] == 0x0303,
	      "supported_versions 1.3, 1.2");
	CHECK_STR(ex.sni, "hybrid.kx.test", "SNI");
	CHECK_EQ(ch.legacy_version, 0x0303, "legacy version");
	CHECK(ch.n_sigalgs > 10 && !ch.overflow, "signature algorithms kept");
	CHECK_EQ(ch.psk_modes, 2, "psk_dhe_ke only");

	struct kx_server_hello sh;
	CHECK_EQ(kx_tls_parse_server_hello(shrec + 9, shlen - 9, &sh), KX_PARSE_OK, "parse SH");
	CHECK(sh.version == 0x0304 && sh.has_key_share && sh.group == 0x11ec && !sh.is_hrr,
	      "ServerHello selects X25519MLKEM768 in TLS 1.3");
	CHECK_EQ(sh.cipher_suite, 0x1302, "TLS_AES_256_GCM_SHA384");

	/* Every truncation of the ClientHello body is rejected, never read past;
	 * the one exception is the cut right before the extensions block, which
	 * is a valid extension-less (TLS 1.0-1.2 style) hello. */
	size_t no_ext = 2 + 32 + 1 + chrec[9 + 34];
	no_ext += 2 + (size_t)(chrec[9 + no_ext] << 8 | chrec[9 + no_ext + 1]);
	no_ext += 1 + chrec[9 + no_ext];
	int bad = 0;
	for (size_t n = 0; n < chlen - 9; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, chrec + 9, n);
		enum kx_parse_rc rc = kx_tls_parse_client_hello(copy, n, &ch, &ex);
		if ((rc == KX_PARSE_OK) != (n == no_ext))
			bad++;
		free(copy);
	}
	CHECK(bad == 0, "all %zu truncations of the CH body fail to parse but the one at %zu (%d wrong)",
	      chlen - 9, no_ext, bad);

	/* Stream layer: the same record split at every offset, and byte by byte. */
	struct kx_bufpool *pool = kx_bufpool_new(1 << 20);
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct seen s;
	int mismatches = 0;
	for (size_t split = 1; split < chlen; split++) {
		feed(chrec, chlen, split, 0, &s, pool, &c);
		if (s.n_ch != 1 || s.ch.n_groups != 8 || s.ch.n_shares != 2 ||
		    strcmp(s.ex.sni, "hybrid.kx.test") != 0 || s.ch_start != 5 || s.ch_end != chlen)
			mismatches++;
	}
	CHECK(mismatches == 0, "CH found identically at all %zu split points (%d differ)", chlen - 1, mismatches);
	feed(chrec, chlen, 0, 1, &s, pool, &c);
	CHECK(s.n_ch == 1 && s.ch.n_groups == 8, "CH found when fed one byte at a time");
	CHECK_EQ(kx_bufpool_in_use(pool), 0, "assembly buffers returned to the pool");

	/* The ClientHello re-framed as three records: handshake fragmentation. */
	static uint8_t frag[4096];
	size_t body = chlen - 5, fo = 0, cut[] = { 100, 1000 };
	size_t from = 0;
	for (int i = 0; i < 3; i++) {
		size_t to = i < 2 ? cut[i] : body;
		frag[fo++] = 22; frag[fo++] = 3; frag[fo++] = 1;
		frag[fo++] = (uint8_t)((to - from) >> 8); frag[fo++] = (uint8_t)(to - from);
		memcpy(frag + fo, chrec + 5 + from, to - from);
		fo += to - from;
		from = to;
	}
	feed(frag, fo, 0, 700, &s, pool, &c);
	CHECK(s.n_ch == 1 && s.ch.n_shares == 2 && s.ch.shares[0] == 0x11ec,
	      "CH split over three records is reassembled");

	/* Server flight: SH then CCS, in one piece. */
	static uint8_t flight[4096];
	memcpy(flight, shrec, shlen);
	const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	memcpy(flight + shlen, ccs, sizeof(ccs));
	feed(flight, shlen + sizeof(ccs), 0, 4096, &s, pool, &c);
	CHECK(s.n_sh == 1 && s.sh.group == 0x11ec && s.n_other == 1, "SH parsed in place, CCS seen");

	/* Bare handshake messages (a QUIC CRYPTO stream): the record body alone,
	 * in pieces, gives the same ClientHello. */
	{
		struct kx_tls_stream st;
		kx_tls_stream_init(&st, (1u << 1) | (1u << 2), 65536);
		kx_tls_stream_bare(&st);
		struct kx_tls_env env = { pool, &c, on_msg, &s };
		memset(&s, 0, sizeof(s));
		for (size_t off = 5; off < chlen; off += 1200)
			kx_tls_stream_feed(&st, &env, chrec + off,
					   (uint32_t)(chlen - off < 1200 ? chlen - off : 1200));
		CHECK(s.n_ch == 1 && s.ch.n_groups == 8 && s.ch_start == 0 && s.ch_end == chlen - 5,
		      "CH from a bare handshake stream in 1200-byte pieces");
		kx_tls_stream_release(&st, pool);
	}

	/* HelloRetryRequest. */
	struct wr w;
	build_sh(&w, 1, 0x11ec);
	CHECK(kx_tls_parse_server_hello(w.b, w.n, &sh) == KX_PARSE_OK && sh.is_hrr &&
		      sh.group == 0x11ec && sh.version == 0x0304,
	      "HRR detected by its random, selected_group 0x11ec");
	build_sh(&w, 0, 29);
	CHECK(kx_tls_parse_server_hello(w.b, w.n, &sh) == KX_PARSE_OK && !sh.is_hrr && sh.group == 29,
	      "ordinary SH with x25519");
	w.b[w.n - 1] ^= 0; w.n -= 1;
	CHECK_EQ(kx_tls_parse_server_hello(w.b, w.n, &sh), KX_PARSE_MALFORMED,
		 "SH with a truncated extension block");

	/* Garbage and record validation. */
	CHECK(kx_tls_looks_like_hello(chrec, chlen), "real CH looks like a hello");
	CHECK(kx_tls_looks_like_hello(shrec, shlen), "real SH looks like a hello");
	uint8_t junk[64];
	memset(junk, 0, sizeof(junk));
	junk[0] = 0x16;
	CHECK(!kx_tls_looks_like_hello(junk, sizeof(junk)), "0x16 then zeros is not a hello");
	junk[1] = 3; junk[2] = 3; junk[3] = 0; junk[4] = 50; junk[5] = 1;
	CHECK(!kx_tls_looks_like_hello(junk, sizeof(junk)), "hello length 0 is not a hello");
	CHECK(!kx_tls_looks_like_hello(chrec, 9), "too short to judge");

	const uint8_t badrec[] = { 22, 3, 3, 0xff, 0xff, 1, 0, 0, 0 };
	feed(badrec, sizeof(badrec), 0, 64, &s, pool, &c);
	CHECK(c.tls_malformed == 1 && s.n_ch == 0, "record longer than 2^14+2048 is malformed");

	/* A ClientHello that declares 2^24-1 bytes is refused by the size cap. */
	const uint8_t huge[] = { 22, 3, 3, 0x40, 0x00, 1, 0xff, 0xff, 0xff, 3, 3 };
	uint64_t before = c.tls_hello_too_big;
	feed(huge, sizeof(huge), 0, 64, &s, pool, &c);
	CHECK_EQ(c.tls_hello_too_big, before + 1, "16 MiB ClientHello refused by the cap");
	kx_bufpool_free(pool);
	return tap_done();
}
