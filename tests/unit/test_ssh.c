/* SPDX-License-Identifier: BSD-2-Clause */
/* test_ssh.c: SSH version lines, KEXINIT parsing, negotiation and the
 * streaming packet layer, on both directions of real OpenSSH 9.2 captures
 * (tests/data/ssh-*-{c,s}.bin: each direction's bytes up to NEWKEYS, cut
 * from pcaps/ssh-*.pcap by contrib/pcapgen/expected_ssh.py) and on built
 * and hostile input. */
#include <stdlib.h>

#include "kexwatch/ssh.h"
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

/* ---- a writer for built input ---- */

struct wr {
	uint8_t *b;
	size_t n, cap;
};

static void put8(struct wr *w, unsigned v)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 4096;
		w->b = realloc(w->b, w->cap);
		if (!w->b)
			abort();
	}
	w->b[w->n++] = (uint8_t)v;
}
static void put32(struct wr *w, uint32_t v) { put8(w, v >> 24); put8(w, v >> 16); put8(w, v >> 8); put8(w, v); }
static void putn(struct wr *w, const void *p, size_t n) { for (size_t i = 0; i < n; i++) put8(w, ((const uint8_t *)p)[i]); }
static void puts_(struct wr *w, const char *s) { putn(w, s, strlen(s)); }
static void patch32(struct wr *w, size_t at, uint32_t v)
{
	w->b[at] = (uint8_t)(v >> 24); w->b[at + 1] = (uint8_t)(v >> 16);
	w->b[at + 2] = (uint8_t)(v >> 8); w->b[at + 3] = (uint8_t)v;
}

/* A KEXINIT payload: kex, hostkey, then enc and mac for both directions,
 * "none" compression, empty languages. */
static void kexinit_payload(struct wr *w, const char *kex, const char *hk, const char *enc,
			    const char *mac)
{
	const char *lists[10] = { kex, hk, enc, enc, mac, mac, "none", "none", "", "" };
	put8(w, KX_SSH_MSG_KEXINIT);
	for (int i = 0; i < 16; i++)
		put8(w, 0xa0 + i);
	for (int i = 0; i < 10; i++) {
		put32(w, (uint32_t)strlen(lists[i]));
		puts_(w, lists[i]);
	}
	put8(w, 0);
	put32(w, 0);
}

/* Wraps `payload` into a binary packet with the usual 8-byte alignment. */
static void packet(struct wr *w, const uint8_t *payload, size_t n)
{
	size_t pad = 8 - (5 + n) % 8;
	if (pad < 4)
		pad += 8;
	put32(w, (uint32_t)(1 + n + pad));
	put8(w, (unsigned)pad);
	putn(w, payload, n);
	for (size_t i = 0; i < pad; i++)
		put8(w, 0);
}

static void msg_packet(struct wr *w, uint8_t msg)
{
	uint8_t p[8] = { msg, 0, 0, 0, 0, 0, 0, 0 };
	packet(w, p, sizeof(p));
}

static void build_kexinit(struct kx_ssh_kexinit *k, const char *kex, const char *hk,
			  const char *enc, const char *mac)
{
	struct wr w = { 0 };
	kexinit_payload(&w, kex, hk, enc, mac);
	enum kx_ssh_err rc = kx_ssh_parse_kexinit(w.b, w.n, k);
	if (rc != KX_SSH_OK)
		printf("# built KEXINIT did not parse: %s\n", kx_ssh_err_name(rc));
	free(w.b);
}

/* ---- what a stream reported ---- */

struct seen {
	int n_banner, n_kexinit, n_packets;
	struct kx_ssh_banner banner;
	struct kx_ssh_kexinit kexinit;
	uint8_t msgs[32];
	uint32_t last_end;
	int stop_at_kexinit;
};

static bool on_banner(void *ctx, const struct kx_ssh_banner *b)
{
	struct seen *s = ctx;
	s->n_banner++;
	s->banner = *b;
	return false;
}

static bool on_kexinit(void *ctx, const struct kx_ssh_kexinit *k)
{
	struct seen *s = ctx;
	s->n_kexinit++;
	s->kexinit = *k;
	return s->stop_at_kexinit;
}

static bool on_packet(void *ctx, const struct kx_ssh_packet *p)
{
	struct seen *s = ctx;
	if (s->n_packets < (int)sizeof(s->msgs))
		s->msgs[s->n_packets] = p->msg;
	s->n_packets++;
	s->last_end = p->end_off;
	return false;
}

static int not_sticky; /* stopped streams that took more bytes */

struct run {
	struct seen seen;
	uint8_t state, err;
	uint32_t off;
	bool stopped;    /* feed returned true */
};

/* Feeds `data` to a fresh stream: piece > 0 cuts it into pieces of that
 * size, else it is cut once at `split`. */
static void feed(const uint8_t *data, size_t len, size_t split, size_t piece, bool copy,
		 struct kx_bufpool *pool, uint32_t max_packet, struct run *r)
{
	struct kx_ssh_stream st;
	kx_ssh_stream_init(&st, max_packet);
	st.copy_always = copy;
	memset(r, 0, sizeof(*r));
	struct kx_ssh_env env = { pool, on_banner, on_kexinit, on_packet, &r->seen };
	if (piece) {
		for (size_t off = 0; off < len && !r->stopped; off += piece)
			r->stopped = kx_ssh_stream_feed(&st, &env, data + off,
							(uint32_t)(len - off < piece ? len - off : piece));
	} else {
		r->stopped = kx_ssh_stream_feed(&st, &env, data, (uint32_t)split);
		if (!r->stopped)
			r->stopped = kx_ssh_stream_feed(&st, &env, data + split, (uint32_t)(len - split));
	}
	r->state = st.state;
	r->err = st.err;
	r->off = st.off;
	if (r->stopped && !kx_ssh_stream_feed(&st, &env, (const uint8_t *)"x", 1))
		not_sticky++;
	kx_ssh_stream_release(&st, pool);
}

static bool same_run(const struct run *a, const struct run *b)
{
	return a->state == b->state && a->err == b->err && a->off == b->off &&
	       a->seen.n_banner == b->seen.n_banner && a->seen.n_kexinit == b->seen.n_kexinit &&
	       a->seen.n_packets == b->seen.n_packets &&
	       memcmp(a->seen.msgs, b->seen.msgs, sizeof(a->seen.msgs)) == 0 &&
	       strcmp(a->seen.banner.line, b->seen.banner.line) == 0 &&
	       a->seen.banner.end_off == b->seen.banner.end_off &&
	       a->seen.kexinit.start_off == b->seen.kexinit.start_off &&
	       a->seen.kexinit.end_off == b->seen.kexinit.end_off &&
	       memcmp(&a->seen.kexinit, &b->seen.kexinit, sizeof(a->seen.kexinit)) == 0;
}

/* ---- real captures ---- */

/* Local names: the test links the ssh objects only (no classify/). */
static const char *vname(enum kx_verdict v)
{
	switch (v) {
	case KX_V_HYBRID: return "hybrid";
	case KX_V_HYBRID_DRAFT: return "hybrid-draft";
	case KX_V_CLASSICAL: return "classical";
	case KX_V_INCOMPLETE: return "incomplete";
	case KX_V_UNKNOWN: return "unknown";
	default: return "?";
	}
}

struct capture {
	const char *base;
	const char *kex;          /* negotiated */
	enum kx_verdict verdict;
	const char *reason;
	const char *server_banner;
	uint32_t c_kexinit_len, s_kexinit_len;
	const char *c_msgs;       /* message numbers after the KEXINIT, up to NEWKEYS */
	const char *s_msgs;
};

static const struct capture caps[] = {
	{ "ssh-default-sntrup", "sntrup761x25519-sha512", KX_V_HYBRID, "",
	  "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", 1560, 1136, "\x1e\x15", "\x1f\x15" },
	{ "ssh-client-classical", "curve25519-sha256", KX_V_CLASSICAL, "client-no-pq",
	  "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", 1288, 1136, "\x1e\x15", "\x1f\x15" },
	{ "ssh-server-refuses-pq", "curve25519-sha256", KX_V_CLASSICAL, "server-declined",
	  "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", 1560, 880, "\x1e\x15", "\x1f\x15" },
	{ "ssh-kexinit-2seg", "sntrup761x25519-sha512@openssh.com", KX_V_HYBRID, "",
	  "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", 1768, 1136, "\x1e\x15", "\x1f\x15" },
	{ "ssh-no-common-kex", "", KX_V_INCOMPLETE, "no-common-kex",
	  "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", 1328, 880, "", "" },
	{ "ssh-no-server-kexinit", NULL, KX_V_INCOMPLETE, "",
	  "SSH-2.0-kxfake_1.0 no-kexinit", 1560, 0, "", "" },
};

static const char *default_kex =
	"sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
	"curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
	"diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,"
	"kex-strict-c-v00@openssh.com";

static void test_capture(const char *dir, const struct capture *cp, struct kx_bufpool *pool)
{
	static uint8_t cbuf[8192], sbuf[8192];
	char name[128];
	snprintf(name, sizeof(name), "%s-c.bin", cp->base);
	size_t clen = load(dir, name, cbuf, sizeof(cbuf));
	snprintf(name, sizeof(name), "%s-s.bin", cp->base);
	size_t slen = load(dir, name, sbuf, sizeof(sbuf));

	struct run rc, rs;
	feed(cbuf, clen, clen, 0, false, pool, 0, &rc);
	feed(sbuf, slen, slen, 0, false, pool, 0, &rs);
	const struct kx_ssh_kexinit *ck = &rc.seen.kexinit, *sk = &rs.seen.kexinit;
	CHECK_STR(rc.seen.banner.line, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", cp->base);
	CHECK(rc.seen.n_banner == 1 && strcmp(rc.seen.banner.proto, "2.0") == 0 &&
	      strcmp(rc.seen.banner.software, "OpenSSH_9.2p1") == 0 &&
	      strcmp(rc.seen.banner.comments, "Debian-2+deb12u10") == 0 && !rc.seen.banner.lf_only &&
	      rc.seen.banner.start_off == 0 && rc.seen.banner.end_off == 41,
	      "%s: client banner split into proto/software/comments", cp->base);
	CHECK_STR(rs.seen.banner.line, cp->server_banner, cp->base);
	CHECK(rc.seen.n_kexinit == 1 && ck->packet_len == cp->c_kexinit_len && ck->start_off == 41 &&
	      ck->end_off == 41 + cp->c_kexinit_len && !ck->overflow && ck->bad_names == 0,
	      "%s: client KEXINIT of %u bytes at offset 41 (got %u at %u)", cp->base,
	      cp->c_kexinit_len, ck->packet_len, ck->start_off);
	CHECK(ck->ext_info && ck->strict, "%s: client announces ext-info-c and strict kex", cp->base);

	size_t nm = strlen(cp->c_msgs);
	CHECK(rc.seen.n_packets == (int)nm && memcmp(rc.seen.msgs, cp->c_msgs, nm) == 0,
	      "%s: client packets after KEXINIT (%d)", cp->base, rc.seen.n_packets);
	if (nm)
		CHECK(rc.state == KX_SSH_S_END && rc.stopped && rc.off == clen,
		      "%s: client stream ends at NEWKEYS, offset %zu", cp->base, clen);
	else
		CHECK(rc.state == KX_SSH_S_PACKETS && !rc.stopped && rc.off == clen,
		      "%s: client stream waits for more", cp->base);

	if (cp->kex) {
		CHECK(rs.seen.n_kexinit == 1 && sk->packet_len == cp->s_kexinit_len,
		      "%s: server KEXINIT of %u bytes", cp->base, cp->s_kexinit_len);
		size_t sm = strlen(cp->s_msgs);
		CHECK(rs.seen.n_packets == (int)sm && memcmp(rs.seen.msgs, cp->s_msgs, sm) == 0,
		      "%s: server packets after KEXINIT", cp->base);
		struct kx_ssh_result res;
		bool ok = kx_ssh_negotiate(ck, sk, &res);
		CHECK(ok == (cp->kex[0] != '\0'), "%s: negotiation %s", cp->base, ok ? "agreed" : "failed");
		CHECK_STR(res.kex, cp->kex, cp->base);
		CHECK(res.verdict == cp->verdict && strcmp(kx_ssh_reason_text(&res), cp->reason) == 0,
		      "%s: verdict %s/%s (got %s/%s)", cp->base, vname(cp->verdict),
		      cp->reason, vname(res.verdict), kx_ssh_reason_text(&res));
		CHECK(strcmp(res.hostkey, "ssh-ed25519") == 0 &&
		      strcmp(res.enc_c2s, "chacha20-poly1305@openssh.com") == 0 &&
		      strcmp(res.enc_s2c, "chacha20-poly1305@openssh.com") == 0 &&
		      res.mac_c2s[0] == '\0' && res.strict,
		      "%s: ssh-ed25519, chacha20-poly1305 (no MAC), strict kex", cp->base);
	} else {
		CHECK(rs.seen.n_kexinit == 0 && rs.seen.banner.pre_lines == 2 &&
		      rs.seen.banner.start_off == 46 && rs.state == KX_SSH_S_PACKETS,
		      "%s: server banner after 2 other lines, no KEXINIT", cp->base);
	}

	/* Split at every offset, byte by byte, in odd pieces, and copying. */
	int diff = 0;
	const uint8_t *bufs[2] = { cbuf, sbuf };
	size_t lens[2] = { clen, slen };
	const struct run *ref[2] = { &rc, &rs };
	struct run r;
	for (int d = 0; d < 2; d++) {
		for (size_t split = 0; split <= lens[d]; split++) {
			feed(bufs[d], lens[d], split, 0, false, pool, 0, &r);
			diff += !same_run(&r, ref[d]);
			feed(bufs[d], lens[d], split, 0, true, pool, 0, &r);
			diff += !same_run(&r, ref[d]);
		}
		static const size_t pieces[] = { 1, 2, 3, 5, 7, 41, 42, 100, 1447, 1448, 4096 };
		for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
			feed(bufs[d], lens[d], 0, pieces[i], false, pool, 0, &r);
			diff += !same_run(&r, ref[d]);
		}
	}
	CHECK(diff == 0, "%s: same result at all %zu split points, in pieces, copying (%d differ)",
	      cp->base, clen + slen + 2, diff);
	CHECK_EQ(kx_bufpool_in_use(pool), 0, "assembly buffers returned to the pool");
}

/* ---- built input ---- */

static bool preamble(const char *t)
{
	return kx_ssh_looks_like_preamble((const uint8_t *)t, strlen(t));
}

static void test_banner(void)
{
	CHECK(preamble("Authorised use only.\r\nAll access logged.\r\n") && preamble("+--+\n\tx") &&
	      !preamble("no line end yet") && !preamble("") && !preamble("caf\xc3\xa9\r\n") &&
	      !preamble("\x16\x03\x01\x02\x00\n"),
	      "pre-banner text: printable lines only, one line end at least");
	struct kx_ssh_banner b;
	const char *l = "SSH-2.0-OpenSSH_9.9 FreeBSD-20250219";
	CHECK_EQ(kx_ssh_parse_banner((const uint8_t *)l, strlen(l), &b), KX_SSH_OK, "banner parses");
	CHECK(strcmp(b.proto, "2.0") == 0 && strcmp(b.software, "OpenSSH_9.9") == 0 &&
	      strcmp(b.comments, "FreeBSD-20250219") == 0 && !b.too_long, "proto, software, comments");
	l = "SSH-1.99-Cisco-1.25";
	CHECK(kx_ssh_parse_banner((const uint8_t *)l, strlen(l), &b) == KX_SSH_OK &&
	      strcmp(b.proto, "1.99") == 0 && strcmp(b.software, "Cisco-1.25") == 0 &&
	      b.comments[0] == '\0', "1.99 accepted, software may contain '-' after the first");
	l = "SSH-1.5-OpenSSH_2.0";
	CHECK_EQ(kx_ssh_parse_banner((const uint8_t *)l, strlen(l), &b), KX_SSH_E_VERSION,
		 "protocol 1.5 refused");
	l = "SSH-2.0";
	CHECK_EQ(kx_ssh_parse_banner((const uint8_t *)l, strlen(l), &b), KX_SSH_E_BANNER_BAD,
		 "no '-' after the protocol version");
	l = "SSH--x";
	CHECK_EQ(kx_ssh_parse_banner((const uint8_t *)l, strlen(l), &b), KX_SSH_E_BANNER_BAD,
		 "empty protocol version");
	l = "SSH-2";
	CHECK_EQ(kx_ssh_parse_banner((const uint8_t *)l, 3, &b), KX_SSH_E_BANNER_BAD, "shorter than SSH-");
	const uint8_t ctl[] = "SSH-2.0-ab\x01\xff\x1b[2Jc \x7f\x80z";
	CHECK(kx_ssh_parse_banner(ctl, sizeof(ctl) - 1, &b) == KX_SSH_OK &&
	      strcmp(b.software, "ab???[2Jc") == 0 && strcmp(b.comments, "??z") == 0,
	      "control and 8-bit bytes sanitised (%s / %s)", b.software, b.comments);
	char longl[400];
	memcpy(longl, "SSH-2.0-X ", 10);
	memset(longl + 10, 'c', 290);
	CHECK(kx_ssh_parse_banner((const uint8_t *)longl, 300, &b) == KX_SSH_OK && b.too_long &&
	      strlen(b.line) == 253 && strcmp(b.software, "X") == 0,
	      "300-byte line: kept to 253 bytes, too_long");

	CHECK(kx_ssh_looks_like_banner((const uint8_t *)"SSH-2.0-x", 9), "SSH-2.0- looks like SSH");
	CHECK(kx_ssh_looks_like_banner((const uint8_t *)"SSH-1.99-x", 10), "SSH-1.99- looks like SSH");
	CHECK(kx_ssh_looks_like_banner((const uint8_t *)"SSH-2.0-", 8), "bare prefix is enough");
	CHECK(!kx_ssh_looks_like_banner((const uint8_t *)"SSH-1.99", 8), "SSH-1.99 without '-' is short");
	CHECK(!kx_ssh_looks_like_banner((const uint8_t *)"SSH-1.5-x", 9), "SSH-1.5 is not");
	CHECK(!kx_ssh_looks_like_banner((const uint8_t *)"SSH-2.0", 7), "short data is not");
	CHECK(!kx_ssh_looks_like_banner((const uint8_t *)"\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9),
	      "a TLS record is not");
	CHECK(!kx_ssh_looks_like_banner(NULL, 0), "nothing is not");
}

static void test_class(void)
{
	static const struct {
		const char *name;
		enum kx_ssh_class cls;
	} t[] = {
		{ "mlkem768x25519-sha256", KX_SSH_KEX_HYBRID },
		{ "sntrup761x25519-sha512", KX_SSH_KEX_HYBRID },
		{ "sntrup761x25519-sha512@openssh.com", KX_SSH_KEX_HYBRID },
		{ "mlkem768nistp256-sha256", KX_SSH_KEX_HYBRID },
		{ "mlkem1024nistp384-sha384", KX_SSH_KEX_HYBRID },
		{ "sntrup4591761x25519-sha512@tinyssh.org", KX_SSH_KEX_HYBRID_DRAFT },
		{ "x25519-kyber-512r3-sha256-d00@amazon.com", KX_SSH_KEX_HYBRID_DRAFT },
		{ "ecdh-nistp384-kyber-768r3-sha384-d00@openquantumsafe.org", KX_SSH_KEX_HYBRID_DRAFT },
		{ "frodokem-640-aes-sha256@openquantumsafe.org", KX_SSH_KEX_HYBRID_DRAFT },
		{ "mlkem768x25519-sha256@example.com", KX_SSH_KEX_HYBRID_DRAFT },
		{ "curve25519-sha256", KX_SSH_KEX_CLASSICAL },
		{ "curve25519-sha256@libssh.org", KX_SSH_KEX_CLASSICAL },
		{ "curve448-sha512", KX_SSH_KEX_CLASSICAL },
		{ "ecdh-sha2-nistp256", KX_SSH_KEX_CLASSICAL },
		{ "ecdh-sha2-1.3.132.0.10", KX_SSH_KEX_CLASSICAL },
		{ "diffie-hellman-group1-sha1", KX_SSH_KEX_CLASSICAL },
		{ "diffie-hellman-group-exchange-sha256", KX_SSH_KEX_CLASSICAL },
		{ "diffie-hellman-group14-sha256@ssh.com", KX_SSH_KEX_CLASSICAL },
		{ "gss-curve25519-sha256-toWM5Slw5Ew8Mqkay+al2g==", KX_SSH_KEX_CLASSICAL },
		{ "rsa2048-sha256", KX_SSH_KEX_CLASSICAL },
		{ "ext-info-c", KX_SSH_KEX_PSEUDO },
		{ "ext-info-s", KX_SSH_KEX_PSEUDO },
		{ "ext-info-in-auth@openssh.com", KX_SSH_KEX_PSEUDO },
		{ "kex-strict-c-v00@openssh.com", KX_SSH_KEX_PSEUDO },
		{ "kex-strict-s-v00@openssh.com", KX_SSH_KEX_PSEUDO },
		{ "kex-strict-c-v01@example.org", KX_SSH_KEX_PSEUDO },
		{ "foo@example.com", KX_SSH_KEX_UNKNOWN },
		{ "", KX_SSH_KEX_UNKNOWN },
		{ "curve25519", KX_SSH_KEX_UNKNOWN },
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum kx_ssh_class c = kx_ssh_kex_class(t[i].name);
		if (c != t[i].cls) {
			printf("# %s: %s, want %s\n", t[i].name, kx_ssh_class_name(c),
			       kx_ssh_class_name(t[i].cls));
			bad++;
		}
	}
	CHECK(bad == 0, "classification table (%zu names, %d wrong)", sizeof(t) / sizeof(t[0]), bad);
	CHECK(kx_ssh_kex_class(NULL) == KX_SSH_KEX_UNKNOWN, "NULL name is unknown");
	CHECK_STR(kx_ssh_class_name(KX_SSH_KEX_HYBRID_DRAFT), "hybrid-draft", "class name");
	CHECK_STR(kx_ssh_err_name(KX_SSH_E_KEXINIT_BAD), "kexinit-malformed", "error name");
	CHECK_STR(kx_ssh_err_name((enum kx_ssh_err)99), "?", "out-of-range error name");
}

static void negotiate(const char *ckex, const char *skex, struct kx_ssh_result *r)
{
	static struct kx_ssh_kexinit c, s;
	build_kexinit(&c, ckex, "ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	build_kexinit(&s, skex, "ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	kx_ssh_negotiate(&c, &s, r);
}

static void test_negotiate(void)
{
	struct kx_ssh_result r;
	negotiate("mlkem768x25519-sha256,curve25519-sha256,ext-info-c",
		  "mlkem768x25519-sha256,curve25519-sha256,ext-info-s", &r);
	CHECK(strcmp(r.kex, "mlkem768x25519-sha256") == 0 && r.verdict == KX_V_HYBRID &&
	      r.reason == KX_R_NONE && r.kex_class == KX_SSH_KEX_HYBRID, "ML-KEM hybrid");
	CHECK(strcmp(r.mac_c2s, "hmac-sha2-256") == 0 && strcmp(r.enc_c2s, "aes128-ctr") == 0,
	      "a MAC is chosen for a non-AEAD cipher");

	negotiate("ext-info-c,kex-strict-c-v00@openssh.com,curve25519-sha256",
		  "ext-info-c,kex-strict-c-v00@openssh.com,curve25519-sha256", &r);
	CHECK(strcmp(r.kex, "curve25519-sha256") == 0 && r.verdict == KX_V_CLASSICAL &&
	      r.reason == KX_R_CLIENT_NO_PQ, "common pseudo-algorithms are never chosen");

	negotiate("ext-info-c,kex-strict-c-v00@openssh.com", "ext-info-c,kex-strict-c-v00@openssh.com", &r);
	CHECK(r.no_common_kex && r.kex[0] == '\0' && r.verdict == KX_V_INCOMPLETE,
	      "only pseudo-algorithms in common: no kex");

	negotiate("curve25519-sha256,sntrup761x25519-sha512", "sntrup761x25519-sha512,curve25519-sha256", &r);
	CHECK(strcmp(r.kex, "curve25519-sha256") == 0 && r.reason == KX_R_SERVER_DECLINED,
	      "the client's order decides (classical first, PQ offered: server-declined)");
	CHECK(r.client_offers_pq && r.server_offers_pq, "both offered PQ");

	negotiate("sntrup761x25519-sha512@openssh.com,curve25519-sha256", "curve25519-sha256,ecdh-sha2-nistp256", &r);
	CHECK(r.verdict == KX_V_CLASSICAL && r.reason == KX_R_SERVER_DECLINED &&
	      strcmp(kx_ssh_reason_text(&r), "server-declined") == 0, "server without PQ declines");

	negotiate("diffie-hellman-group14-sha256", "curve25519-sha256", &r);
	CHECK(!r.client_offers_pq && r.no_common_kex && strcmp(kx_ssh_reason_text(&r), "no-common-kex") == 0,
	      "no common kex: incomplete, reason no-common-kex");

	negotiate("x25519-kyber-512r3-sha256-d00@amazon.com,curve25519-sha256",
		  "x25519-kyber-512r3-sha256-d00@amazon.com", &r);
	CHECK(r.verdict == KX_V_HYBRID_DRAFT, "Kyber draft: hybrid-draft");

	negotiate("foo@example.com,curve25519-sha256", "foo@example.com", &r);
	CHECK(r.verdict == KX_V_UNKNOWN && strcmp(r.kex, "foo@example.com") == 0, "unknown kex kept");

	negotiate("curve25519-sha256", "curve25519-sha256@libssh.org", &r);
	CHECK(r.no_common_kex, "names compare exactly");

	negotiate("curve25519-sha256,ext-info-c", "kex-strict-s-v00@openssh.com,curve25519-sha256", &r);
	CHECK(!r.strict, "strict only when both sides announce it");

	struct kx_ssh_kexinit c, s;
	build_kexinit(&c, "curve25519-sha256", "ssh-ed25519,rsa-sha2-512",
		      "aes256-gcm@openssh.com,aes128-ctr", "hmac-sha2-512,hmac-sha2-256");
	build_kexinit(&s, "curve25519-sha256", "rsa-sha2-512", "aes128-ctr,aes256-gcm@openssh.com",
		      "hmac-sha2-256");
	kx_ssh_negotiate(&c, &s, &r);
	CHECK(strcmp(r.hostkey, "rsa-sha2-512") == 0 && strcmp(r.enc_c2s, "aes256-gcm@openssh.com") == 0 &&
	      r.mac_c2s[0] == '\0', "host key and cipher by client order; GCM needs no MAC");
	build_kexinit(&s, "curve25519-sha256", "ssh-dss", "3des-cbc", "hmac-md5");
	kx_ssh_negotiate(&c, &s, &r);
	CHECK(r.hostkey[0] == '\0' && r.enc_c2s[0] == '\0' && r.mac_c2s[0] == '\0' &&
	      r.verdict == KX_V_CLASSICAL, "no common host key or cipher: empty, kex still judged");

	/* kx_ssh_list_next walks what kx_ssh_list_str gives. */
	build_kexinit(&c, "a,bb,ccc", "", "x", "y");
	const char *p = kx_ssh_list_str(&c, KX_SSH_L_KEX);
	char name[KX_SSH_NAME_MAX + 1];
	int n = 0;
	size_t total = 0;
	while (kx_ssh_list_next(&p, name)) {
		n++;
		total += strlen(name);
	}
	CHECK(n == 3 && total == 6 && c.list[KX_SSH_L_KEX].n == 3, "list walk");
	CHECK(strcmp(kx_ssh_list_str(&c, KX_SSH_L_HOSTKEY), "") == 0 && c.list[KX_SSH_L_HOSTKEY].n == 0,
	      "empty list");
	CHECK_STR(kx_ssh_list_str(&c, KX_SSH_L_COMP_S2C), "none", "compression list");
	CHECK_STR(kx_ssh_list_str(&c, (enum kx_ssh_list_id)42), "", "out-of-range list id");
}

/* Streams "SSH-2.0-t\r\n" + packets through a fresh stream in one piece
 * and in 1-byte pieces; both must agree. */
static struct run stream_of(const struct wr *w, struct kx_bufpool *pool, uint32_t max_packet)
{
	struct run a, b;
	feed(w->b, w->n, w->n, 0, false, pool, max_packet, &a);
	feed(w->b, w->n, 0, 1, false, pool, max_packet, &b);
	if (!same_run(&a, &b))
		printf("# whole and byte-wise feeding disagree: err %s / %s\n",
		       kx_ssh_err_name(a.err), kx_ssh_err_name(b.err));
	CHECK(same_run(&a, &b), "%s", "whole and byte-wise feeding agree");
	return a;
}

static void test_hostile(struct kx_bufpool *pool)
{
	struct wr w = { 0 };
	struct wr pl = { 0 };
	struct run r;

	/* packet_length 2^32-1 */
	puts_(&w, "SSH-2.0-t\r\n");
	put32(&w, 0xffffffffu);
	put8(&w, 4);
	put8(&w, KX_SSH_MSG_KEXINIT);
	r = stream_of(&w, pool, 0);
	CHECK(r.state == KX_SSH_S_FAILED && r.err == KX_SSH_E_PACKET_BIG, "packet_length 2^32-1 refused");

	/* A KEXINIT over the assembly cap, while skipped packets may be larger. */
	w.n = 0;
	pl.n = 0;
	kexinit_payload(&pl, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	puts_(&w, "SSH-2.0-t\r\n");
	packet(&w, pl.b, pl.n);
	r = stream_of(&w, pool, 64);
	CHECK(r.err == KX_SSH_E_PACKET_BIG && r.seen.n_kexinit == 0, "KEXINIT above max_packet refused");
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_OK && r.seen.n_kexinit == 1 && r.state == KX_SSH_S_PACKETS,
	      "the same KEXINIT under the default cap");

	/* padding_length below 4, and padding longer than the packet */
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	put32(&w, 12); put8(&w, 3); put8(&w, 20);
	for (int i = 0; i < 10; i++) put8(&w, 0);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_PACKET_BAD, "padding_length 3 refused");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	put32(&w, 12); put8(&w, 11); put8(&w, 20);
	for (int i = 0; i < 10; i++) put8(&w, 0);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_PACKET_BAD, "padding_length past the packet refused");

	/* A name-list length beyond the packet. */
	pl.n = 0;
	kexinit_payload(&pl, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	patch32(&pl, 17, 0x7fffffffu);
	struct kx_ssh_kexinit k;
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_E_KEXINIT_BAD, "name-list past the payload");
	CHECK(strcmp(kx_ssh_list_str(&k, KX_SSH_L_KEX), "") == 0, "failed parse leaves empty lists");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	packet(&w, pl.b, pl.n);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_KEXINIT_BAD && r.seen.n_kexinit == 0, "stream: KEXINIT malformed");
	patch32(&pl, 17, (uint32_t)(pl.n - 21 + 1));
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_E_KEXINIT_BAD,
		 "name-list one byte past the payload");

	/* Every truncation of a KEXINIT payload fails, none reads past. */
	pl.n = 0;
	kexinit_payload(&pl, "sntrup761x25519-sha512,curve25519-sha256", "ssh-ed25519",
			"chacha20-poly1305@openssh.com", "umac-64-etm@openssh.com");
	int bad = 0;
	for (size_t n = 0; n < pl.n; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, pl.b, n);
		bad += kx_ssh_parse_kexinit(copy, n, &k) == KX_SSH_OK;
		free(copy);
	}
	CHECK(bad == 0, "all %zu truncations of a KEXINIT are refused (%d accepted)", pl.n, bad);
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_OK, "the whole one parses");
	put8(&pl, 0xee);
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_OK, "bytes after reserved are ignored");
	pl.b[0] = 21;
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_E_KEXINIT_BAD, "not message 20");

	/* 10,000 names, the PQ one last: counted, not kept, still seen as offered. */
	struct wr many = { 0 };
	for (int i = 0; i < 10000; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "%sdiffie-hellman-g%d", i ? "," : "", i);
		puts_(&many, nm);
	}
	puts_(&many, ",mlkem768x25519-sha256");
	put8(&many, 0);
	pl.n = 0;
	kexinit_payload(&pl, (const char *)many.b, "ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_OK, "10,000-name list parses");
	CHECK(k.list[KX_SSH_L_KEX].n_wire == 10001 && k.list[KX_SSH_L_KEX].n <= KX_SSH_LIST_NAMES &&
	      k.list[KX_SSH_L_KEX].len < KX_SSH_KEX_TEXT && k.list[KX_SSH_L_KEX].overflow && k.overflow,
	      "names counted (%u), kept within bounds (%u names, %u bytes), overflow",
	      k.list[KX_SSH_L_KEX].n_wire, k.list[KX_SSH_L_KEX].n, k.list[KX_SSH_L_KEX].len);
	CHECK(k.kex_offers_pq, "a PQ kex beyond the kept names still counts as offered");
	CHECK_STR(kx_ssh_list_str(&k, KX_SSH_L_HOSTKEY), "ssh-ed25519", "later lists unaffected");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	packet(&w, pl.b, pl.n);
	r = stream_of(&w, pool, 256 * 1024);
	CHECK(r.err == KX_SSH_OK && r.seen.n_kexinit == 1 && r.seen.kexinit.overflow,
	      "stream: a %zu-byte KEXINIT under a raised cap", pl.n);
	free(many.b);

	/* Long lists everywhere: the shared text never overflows. */
	struct wr lng = { 0 };
	for (int i = 0; i < 200; i++) {
		if (i)
			put8(&lng, ',');
		puts_(&lng, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	}
	put8(&lng, 0);
	pl.n = 0;
	const char *L = (const char *)lng.b;
	kexinit_payload(&pl, L, L, L, L);
	CHECK_EQ(kx_ssh_parse_kexinit(pl.b, pl.n, &k), KX_SSH_OK, "every list 13 KB");
	size_t used = 0;
	for (int i = 0; i < KX_SSH_L_MAX; i++)
		used += k.list[i].len + 1u;
	CHECK(used <= KX_SSH_TEXT_MAX && k.list[KX_SSH_L_MAX - 1].n_wire == 0 &&
	      strcmp(kx_ssh_list_str(&k, KX_SSH_L_COMP_C2S), "none") == 0,
	      "text budget held (%zu of %d bytes)", used, KX_SSH_TEXT_MAX);
	free(lng.b);

	/* Invalid names: empty, 65 characters, a space; the rest kept. */
	pl.n = 0;
	kexinit_payload(&pl, "a,,b,"
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,c d,e,",
			"ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	CHECK(kx_ssh_parse_kexinit(pl.b, pl.n, &k) == KX_SSH_OK && k.bad_names == 4 &&
	      k.list[KX_SSH_L_KEX].n_wire == 7 && strcmp(kx_ssh_list_str(&k, KX_SSH_L_KEX), "a,b,e") == 0 &&
	      k.list[KX_SSH_L_KEX].overflow,
	      "invalid names dropped and counted (%u bad, kept '%s')", k.bad_names,
	      kx_ssh_list_str(&k, KX_SSH_L_KEX));

	/* Missing line end: an "SSH-" line, then 9000 bytes without LF. */
	w.n = 0;
	puts_(&w, "SSH-2.0-t");
	for (int i = 0; i < 9000; i++)
		put8(&w, 'A');
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_BANNER_LONG && r.off == KX_SSH_LINE_BYTES_MAX,
	      "no LF: refused after %u bytes", r.off);
	w.n = 0;
	for (int i = 0; i < 9000; i++)
		put8(&w, 0x80);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_NO_BANNER && r.off == KX_SSH_LINE_BYTES_MAX, "binary junk: no banner");
	/* Lines of 4 KB each: within the per-line bound, but 64 KiB in all
	 * is where the version line must have ended. */
	w.n = 0;
	for (int l = 0; l < 20; l++) {
		for (int i = 0; i < 4000; i++)
			put8(&w, 'n');
		puts_(&w, "\r\n");
	}
	puts_(&w, "SSH-2.0-srv\r\n");
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_NO_BANNER && r.off == KX_SSH_PRE_BYTES_MAX && r.seen.n_banner == 0,
	      "20 lines of 4 KB before the version: refused at %u bytes", r.off);

	/* A 300-byte version line: kept to 255, flagged, the stream goes on. */
	w.n = 0;
	puts_(&w, "SSH-2.0-OpenSSH_9.2 ");
	for (int i = 0; i < 280; i++)
		put8(&w, 'c');
	puts_(&w, "\r\n");
	pl.n = 0;
	kexinit_payload(&pl, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256");
	packet(&w, pl.b, pl.n);
	r = stream_of(&w, pool, 0);
	CHECK(r.seen.n_banner == 1 && r.seen.banner.too_long && strlen(r.seen.banner.line) == 253 &&
	      strcmp(r.seen.banner.software, "OpenSSH_9.2") == 0 && r.seen.banner.end_off == 302 &&
	      r.seen.n_kexinit == 1, "300-byte line: too_long, software kept, KEXINIT found");

	/* Lines before the version (server side), LF-only endings. */
	w.n = 0;
	puts_(&w, "Welcome\r\nto a test\nSSH-2.0-srv\n");
	packet(&w, pl.b, pl.n);
	r = stream_of(&w, pool, 0);
	CHECK(r.seen.n_banner == 1 && r.seen.banner.pre_lines == 2 && r.seen.banner.lf_only &&
	      r.seen.banner.start_off == 19 && strcmp(r.seen.banner.software, "srv") == 0 &&
	      r.seen.n_kexinit == 1 && r.seen.kexinit.start_off == 31, "two lines before the version line");
	w.n = 0;
	puts_(&w, "\r\n\n\r\r\nSSH-2.0-x\r\n");
	r = stream_of(&w, pool, 0);
	CHECK(r.seen.n_banner == 1 && r.seen.banner.pre_lines == 3 && r.seen.banner.start_off == 6 &&
	      !r.seen.banner.lf_only && strcmp(r.seen.banner.line, "SSH-2.0-x") == 0,
	      "empty lines (CR LF, LF, CR CR LF) before the version line");
	int diffs = 0;
	struct run r2;
	for (size_t split = 0; split <= w.n; split++) {
		feed(w.b, w.n, split, 0, false, pool, 0, &r2);
		diffs += !same_run(&r, &r2);
	}
	CHECK(diffs == 0, "the same at every split point (%d differ)", diffs);
	w.n = 0;
	for (int i = 0; i < KX_SSH_PRE_LINES_MAX; i++)
		puts_(&w, "hello\r\n");
	puts_(&w, "SSH-2.0-srv\r\n");
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_OK && r.seen.n_banner == 1 &&
	      r.seen.banner.pre_lines == KX_SSH_PRE_LINES_MAX,
	      "%d lines before the version (OpenSSH's client limit): skipped", KX_SSH_PRE_LINES_MAX);
	w.n = 0;
	for (int i = 0; i <= KX_SSH_PRE_LINES_MAX; i++)
		puts_(&w, "hello\r\n");
	puts_(&w, "SSH-2.0-srv\r\n");
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_NO_BANNER && r.seen.n_banner == 0, "too many lines before the version");
	w.n = 0;
	puts_(&w, "SSH-1.5-old\r\n");
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_VERSION, "SSH-1.5: stop");
	w.n = 0;
	puts_(&w, "SSH-2.0\r\n");
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_BANNER_BAD, "malformed version line: stop");

	/* IGNORE before KEXINIT is fine, up to a bound; other messages are not. */
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	msg_packet(&w, KX_SSH_MSG_IGNORE);
	msg_packet(&w, KX_SSH_MSG_DEBUG);
	packet(&w, pl.b, pl.n);
	msg_packet(&w, 30);
	msg_packet(&w, KX_SSH_MSG_NEWKEYS);
	for (int i = 0; i < 50; i++)
		put8(&w, 0x5a); /* encrypted from here on */
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_OK && r.state == KX_SSH_S_END && r.seen.n_kexinit == 1 &&
	      r.seen.n_packets == 4 && r.seen.msgs[0] == 2 && r.seen.msgs[1] == 4 &&
	      r.seen.msgs[2] == 30 && r.seen.msgs[3] == 21 && r.off == w.n - 50,
	      "IGNORE, DEBUG, KEXINIT, 30, NEWKEYS; nothing read after NEWKEYS");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	for (int i = 0; i < 20; i++)
		msg_packet(&w, KX_SSH_MSG_IGNORE);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_UNEXPECTED && r.seen.n_packets == 17, "17 IGNOREs without a KEXINIT: stop");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	msg_packet(&w, 50);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_UNEXPECTED && r.seen.n_packets == 0, "USERAUTH before KEXINIT: stop");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	msg_packet(&w, KX_SSH_MSG_NEWKEYS);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_E_UNEXPECTED, "NEWKEYS before KEXINIT: stop");
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	msg_packet(&w, KX_SSH_MSG_DISCONNECT);
	r = stream_of(&w, pool, 0);
	CHECK(r.err == KX_SSH_OK && r.state == KX_SSH_S_END && r.seen.n_packets == 1,
	      "DISCONNECT ends the stream");

	/* A callback that stops after the KEXINIT. */
	w.n = 0;
	puts_(&w, "SSH-2.0-t\r\n");
	packet(&w, pl.b, pl.n);
	msg_packet(&w, 30);
	{
		struct kx_ssh_stream st;
		struct seen sn;
		memset(&sn, 0, sizeof(sn));
		sn.stop_at_kexinit = 1;
		struct kx_ssh_env env = { pool, on_banner, on_kexinit, on_packet, &sn };
		kx_ssh_stream_init(&st, 0);
		bool stop = kx_ssh_stream_feed(&st, &env, w.b, (uint32_t)w.n);
		CHECK(stop && st.state == KX_SSH_S_END && sn.n_kexinit == 1 && sn.n_packets == 0,
		      "callback stop honoured");
		kx_ssh_stream_release(&st, pool);
	}

	/* NULL callbacks are allowed. */
	{
		struct kx_ssh_stream st;
		struct kx_ssh_env env = { pool, NULL, NULL, NULL, NULL };
		kx_ssh_stream_init(&st, 0);
		bool stop = kx_ssh_stream_feed(&st, &env, w.b, (uint32_t)w.n);
		CHECK(!stop && st.seen_kexinit && st.off == w.n, "no callbacks: walked all the same");
		kx_ssh_stream_release(&st, pool);
	}

	/* The pool refuses: a split KEXINIT cannot be assembled. */
	{
		struct kx_bufpool *tiny = kx_bufpool_new(1024);
		feed(w.b, w.n, 40, 0, false, tiny, 0, &r);
		CHECK(r.err == KX_SSH_E_MEMCAP, "memcap: split KEXINIT refused");
		feed(w.b, w.n, 5, 0, false, tiny, 0, &r);
		CHECK(r.err == KX_SSH_E_MEMCAP, "memcap: split version line refused");
		kx_bufpool_free(tiny);
	}
	free(w.b);
	free(pl.b);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data";
	struct kx_bufpool *pool = kx_bufpool_new(1 << 20);

	test_banner();
	test_class();
	test_negotiate();

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		test_capture(dir, &caps[i], pool);

	/* The default client KEXINIT list, exactly as on the wire. */
	{
		static uint8_t buf[8192];
		size_t n = load(dir, "ssh-default-sntrup-c.bin", buf, sizeof(buf));
		struct run r;
		feed(buf, n, n, 0, false, pool, 0, &r);
		CHECK_STR(kx_ssh_list_str(&r.seen.kexinit, KX_SSH_L_KEX), default_kex, "client kex list");
		CHECK(r.seen.kexinit.kex_offers_pq && r.seen.kexinit.list[KX_SSH_L_HOSTKEY].n == 16 &&
		      !r.seen.kexinit.first_kex_follows, "offers PQ, 16 host key algorithms");
	}

	/* A real server direction with 40 lines (1,603 bytes) before the
	 * sshd's version line (pcaps/ssh-preamble-lines.pcap, a relay in front
	 * of OpenSSH 9.2): the same banner and KEXINIT at every split point. */
	{
		static uint8_t buf[8192];
		size_t n = load(dir, "ssh-preamble-lines-s.bin", buf, sizeof(buf));
		struct run r, r2;
		feed(buf, n, n, 0, false, pool, 0, &r);
		CHECK(r.seen.n_banner == 1 && r.seen.banner.pre_lines == 40 &&
		      r.seen.banner.start_off == 1603 &&
		      strcmp(r.seen.banner.line, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10") == 0 &&
		      r.seen.n_kexinit == 1 && r.seen.kexinit.start_off == 1603 + 41 &&
		      r.seen.kexinit.kex_offers_pq && r.state == KX_SSH_S_END,
		      "server after 40 lines: banner at 1603, KEXINIT after it, NEWKEYS (%u lines, banner at %u)",
		      r.seen.banner.pre_lines, r.seen.banner.start_off);
		int diffs = 0;
		for (size_t split = 0; split <= n; split++) {
			feed(buf, n, split, 0, false, pool, 0, &r2);
			diffs += !same_run(&r, &r2);
			feed(buf, n, split, 0, true, pool, 0, &r2);
			diffs += !same_run(&r, &r2);
		}
		for (size_t piece = 1; piece < 64; piece += 7) {
			feed(buf, n, 0, piece, false, pool, 0, &r2);
			diffs += !same_run(&r, &r2);
		}
		CHECK(diffs == 0, "40 lines before the banner: the same at every split (%d differ)", diffs);
	}

	test_hostile(pool);

	CHECK_EQ(kx_bufpool_in_use(pool), 0, "all buffers returned");
	CHECK_EQ(not_sticky, 0, "a stopped stream stays stopped");
	kx_bufpool_free(pool);
	return tap_done();
}
