/* SPDX-License-Identifier: BSD-2-Clause */
/* test_fingerprint.c: JA4 / JA4S from the specification's rules and
 * examples (FoxIO technical_details/JA4.md, JA4S.md), QUIC and DTLS
 * included; the key-exchange suffix; HASSH; signature scheme names; the
 * DER reader and the leaf certificate (real certificates made with
 * Debian's OpenSSL 3.0 in tests/data/certs, an ML-DSA one built here by
 * hand since no Debian tool makes one); the TLS 1.2 ServerKeyExchange
 * signature; the SSH ECDH messages.
 *
 * The expected hashes were computed with Python's hashlib from the
 * strings the specification defines, e.g.
 *   sha256("00ff,c02b,c02f")[:12] = 0e67c0ef781e. */
#include <stdlib.h>

#include "kexwatch/bufpool.h"
#include "kexwatch/fingerprint.h"
#include "kexwatch/ssh.h"
#include "kexwatch/tls.h"
#include "tap.h"

/* A byte builder for hand-made messages. */
struct w {
	uint8_t b[8192];
	size_t n;
};

static void u8(struct w *w, unsigned v)
{
	w->b[w->n++] = (uint8_t)v;
}

static void u16(struct w *w, unsigned v)
{
	u8(w, v >> 8);
	u8(w, v & 0xff);
}

static void u24(struct w *w, unsigned v)
{
	u8(w, v >> 16);
	u16(w, v & 0xffff);
}

static void put(struct w *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* Back-patches a length of `bytes` bytes at `at` to cover what followed. */
static void patch(struct w *w, size_t at, int bytes)
{
	size_t v = w->n - at - (size_t)bytes;
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		w->b[at + (size_t)i] = (uint8_t)v;
}

static void spec_examples(void)
{
	static const uint16_t ciphers[] = { 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
					    0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
					    0x009d, 0x002f, 0x0035 };
	static const uint16_t exts[] = { 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017,
					 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b,
					 0xff01, 0x000b, 0x000a, 0x0015 };
	static const uint16_t sigs[] = { 0x0403, 0x0804, 0x0401, 0x0503,
					 0x0805, 0x0501, 0x0806, 0x0601 };
	static struct kx_ja4_ch in;
	static uint8_t cw[2 * 200], sw[2 * 8];
	char out[KX_JA4_LEN + 1];

	/* The two vectors as a ClientHello carries them: big-endian. */
	for (size_t i = 0; i < 15; i++)
		cw[2 * i] = (uint8_t)(ciphers[i] >> 8), cw[2 * i + 1] = (uint8_t)ciphers[i];
	for (size_t i = 0; i < 8; i++)
		sw[2 * i] = (uint8_t)(sigs[i] >> 8), sw[2 * i + 1] = (uint8_t)sigs[i];
	memset(&in, 0, sizeof(in));
	in.proto = 't';
	in.legacy_version = 0x0303;
	in.best_version = 0x0304;
	in.has_sni = true;
	in.alpn = (const uint8_t *)"h2";
	in.alpn_len = 2;
	in.suites = cw;
	in.suites_len = 30;
	memcpy(in.exts, exts, sizeof(exts));
	in.n_exts = 16;
	in.sigalgs = sw;
	in.sigalgs_len = 16;
	kx_ja4(&in, out);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_e5627efa2ab1", "JA4: the specification's example");
	kx_ja4(&in, out);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_e5627efa2ab1", "the same again (remembered)");
	in.sigalgs_len = 0;
	kx_ja4(&in, out);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_6d807ffa2a79",
		  "JA4 without signature algorithms: no '_' in the hashed text");
	in.sigalgs_len = 16;
	/* The extensions in another order (a shuffling client): the same JA4,
	 * the remembered digest of the sorted list. */
	uint16_t shuffled[16];
	for (size_t i = 0; i < 16; i++)
		shuffled[i] = exts[(i * 7) % 16];
	memcpy(in.exts, shuffled, sizeof(shuffled));
	kx_ja4(&in, out);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_e5627efa2ab1", "shuffled extensions: same JA4");
	memcpy(in.exts, exts, sizeof(exts));
	/* GREASE in the vectors as sent is ignored, remembered or not. */
	static uint8_t cg[2 * 16], sg[2 * 9];
	cg[0] = 0x3a, cg[1] = 0x3a;
	memcpy(cg + 2, cw, 30);
	memcpy(sg, sw, 8);
	sg[8] = 0x8a, sg[9] = 0x8a;
	memcpy(sg + 10, sw + 8, 8);
	in.suites = cg, in.suites_len = 32;
	in.sigalgs = sg, in.sigalgs_len = 18;
	kx_ja4(&in, out);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_e5627efa2ab1", "GREASE suite and sigalg: same JA4");
	in.suites = cw, in.suites_len = 30;
	in.sigalgs = sw, in.sigalgs_len = 16;
	in.proto = 'q';
	kx_ja4(&in, out);
	CHECK_STR(out, "q13d1516h2_8daaf6152771_e5627efa2ab1", "JA4 over QUIC: 'q'");
	in.proto = 'd';
	in.best_version = 0;
	in.legacy_version = 0xfefd;
	kx_ja4(&in, out);
	CHECK_STR(out, "dd2d1516h2_8daaf6152771_e5627efa2ab1",
		  "JA4 over DTLS 1.2 without supported_versions: 'd', version d2");
	in.best_version = 0xfefc;
	kx_ja4(&in, out);
	CHECK_STR(out, "dd3d1516h2_8daaf6152771_e5627efa2ab1", "DTLS 1.3: d3");
	in.proto = 't';
	in.best_version = 0x7f1c;
	kx_ja4(&in, out);
	CHECK_STR(out, "t00d1516h2_8daaf6152771_e5627efa2ab1", "unknown version: 00");
	in.best_version = 0x0304;
	in.has_sni = false;
	in.alpn = NULL;
	in.suites_len = 0;
	kx_ja4(&in, out);
	CHECK_STR(out, "t13i001600_000000000000_e5627efa2ab1",
		  "no SNI 'i', no ALPN '00', no ciphers 000000000000");
	in.exts[0] = 0x0000, in.exts[1] = 0x0010;
	in.n_exts = 2; /* only SNI and ALPN: the sorted list is empty */
	kx_ja4(&in, out);
	CHECK_STR(out, "t13i000200_000000000000_000000000000", "no extensions left: 000000000000");
	for (unsigned i = 0; i < 120; i++)
		in.exts[i] = (uint16_t)(0x1000 + i);
	in.n_exts = 120;
	for (size_t i = 0; i < 200; i++)
		cw[2 * i] = 0x10, cw[2 * i + 1] = (uint8_t)i;
	in.suites_len = 2 * 200;
	kx_ja4(&in, out);
	CHECK(strncmp(out, "t13i9999", 8) == 0, "counts stop at 99: %s", out);
	in.overflow = true;
	kx_ja4(&in, out);
	CHECK_STR(out, "", "a list longer than kept: no JA4");

	/* ALPN characters, the specification's cases. */
	static const struct {
		const char *v;
		size_t n;
		const char *want;
	} alpn[] = {
		{ "h2", 2, "h2" },         { "http/1.1", 8, "h1" },     { "h", 1, "hh" },
		{ "\xab", 1, "ab" },       { "\xab\xcd", 2, "ad" },     { "\x30\xab", 2, "3b" },
		{ "\x30\x31\xab\xcd", 4, "3d" }, { "\x30\xab\xcd\x31", 4, "01" }, { "", 0, "00" },
	};
	for (size_t i = 0; i < sizeof(alpn) / sizeof(alpn[0]); i++) {
		char c[3] = { 0 };
		kx_ja4_alpn((const uint8_t *)alpn[i].v, alpn[i].n, c);
		CHECK(strcmp(c, alpn[i].want) == 0, "ALPN case %zu: %s, want %s", i, c, alpn[i].want);
	}
	static const struct {
		uint16_t v;
		const char *want;
	} vers[] = { { 0x0304, "13" }, { 0x0303, "12" }, { 0x0302, "11" }, { 0x0301, "10" },
		     { 0x0300, "s3" }, { 0x0002, "s2" }, { 0xfeff, "d1" }, { 0xfefd, "d2" },
		     { 0xfefc, "d3" }, { 0x0a0a, "00" } };
	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		char c[3] = { 0 };
		kx_ja4_version(vers[i].v, c);
		CHECK(strcmp(c, vers[i].want) == 0, "version 0x%04x: %s", vers[i].v, c);
	}

	/* JA4S: the specification's example. */
	struct kx_ja4s_sh sh;
	char s[KX_JA4S_LEN + 1];
	memset(&sh, 0, sizeof(sh));
	sh.proto = 't';
	sh.version = 0x0303;
	sh.cipher = 0xc030;
	sh.exts[0] = 0x0005, sh.exts[1] = 0x0017, sh.exts[2] = 0xff01, sh.exts[3] = 0x0000;
	sh.n_exts = 4;
	kx_ja4s(&sh, s);
	CHECK_STR(s, "t120400_c030_4e8089b08790", "JA4S: the specification's example");
	sh.proto = 'q';
	sh.version = 0x0304;
	sh.cipher = 0x1301;
	sh.exts[0] = 0x0033, sh.exts[1] = 0x002b;
	sh.n_exts = 2;
	sh.alpn = (const uint8_t *)"h3";
	sh.alpn_len = 2;
	kx_ja4s(&sh, s);
	CHECK_STR(s, "q1302h3_1301_234ea6891581", "JA4S over QUIC, ALPN chosen, order kept");
	sh.n_exts = 0;
	sh.proto = 'd';
	sh.version = 0xfefd;
	sh.alpn = NULL;
	kx_ja4s(&sh, s);
	CHECK_STR(s, "dd20000_1301_000000000000", "JA4S over DTLS without extensions");
}

/* A DTLS ClientHello built by hand and parsed: GREASE everywhere. */
static void dtls_hello(void)
{
	struct w w = { .n = 0 };
	u16(&w, 0xfefd);
	for (int i = 0; i < 32; i++)
		u8(&w, i);
	u8(&w, 0);        /* session_id */
	u8(&w, 0);        /* cookie */
	u16(&w, 8);
	u16(&w, 0x2a2a), u16(&w, 0xc02b), u16(&w, 0xc02f), u16(&w, 0x00ff);
	u8(&w, 1), u8(&w, 0);
	size_t exts = w.n;
	u16(&w, 0);
	u16(&w, 0x3a3a), u16(&w, 0);                          /* GREASE extension */
	u16(&w, 0x000a), u16(&w, 6), u16(&w, 4), u16(&w, 0x11ec), u16(&w, 29);
	u16(&w, 0x0010), u16(&w, 9), u16(&w, 7), u8(&w, 6), put(&w, "webrtc", 6);
	u16(&w, 0x002b), u16(&w, 7), u8(&w, 6), u16(&w, 0x1a1a), u16(&w, 0xfefc), u16(&w, 0xfefd);
	u16(&w, 0x000d), u16(&w, 8), u16(&w, 6), u16(&w, 0x0403), u16(&w, 0x4a4a), u16(&w, 0x0905);
	u16(&w, 0x0033), u16(&w, 2 + 4 + 32), u16(&w, 4 + 32), u16(&w, 29), u16(&w, 32);
	for (int i = 0; i < 32; i++)
		u8(&w, 9);
	patch(&w, exts, 2);
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	CHECK(kx_tls_parse_dtls_client_hello(w.b, w.n, &ch, &ex) == KX_PARSE_OK, "DTLS hello parses");
	/* 3 ciphers, 5 extensions, newest version DTLS 1.3, ALPN "webrtc",
	 * sha256("00ff,c02b,c02f"), sha256("000a,000d,002b,0033_0403,0905"). */
	CHECK_STR(ch.ja4, "dd3i0305wc_0e67c0ef781e_f54f9b695fe3", "DTLS JA4 from the spec's rules");
	CHECK(ch.offers_mldsa, "mldsa65 in signature_algorithms: offers_mldsa");
	CHECK(ch.n_shares == 1 && ch.share_len[0] == 32 && ch.from_wire, "share size kept");
}

/* 600 cipher suites: parsed, counted as overflow for JA4 only. */
static void long_hello(void)
{
	struct w *w = calloc(1, sizeof(*w));
	u16(w, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(w, 0);
	u8(w, 0);
	u16(w, 2 * 600);
	for (unsigned i = 0; i < 600; i++)
		u16(w, 0x1000 + i);
	u8(w, 1), u8(w, 0);
	u16(w, 8);
	u16(w, 0x000a), u16(w, 4), u16(w, 2), u16(w, 29);
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	CHECK(kx_tls_parse_client_hello(w->b, w->n, &ch, &ex) == KX_PARSE_OK && ch.n_suites == 600 &&
		      ch.ja4[0] == '\0' && ch.n_groups == 1,
	      "600 cipher suites: parsed, no JA4 (more than KX_JA4_LIST_MAX)");
	free(w);
}

static void kx_suffix(void)
{
	static const uint16_t g[] = { 0x0a0a, 0x11ec, 29, 23, 24 };
	static const uint16_t sh[] = { 0x0a0a, 0x11ec, 29 };
	char b[64];
	size_t n = kx_fp_kx(g, 5, sh, 3, b, sizeof(b));
	CHECK_STR(b, "11ec,001d,0017,0018_11ec,001d", "kx suffix: wire order, GREASE removed");
	CHECK_EQ(n, strlen("11ec,001d,0017,0018_11ec,001d"), "length");
	n = kx_fp_kx(g, 5, sh, 3, b, 8);
	CHECK(n == 29 && strlen(b) < 8, "short buffer: cut, needed length returned");
	kx_fp_kx(g, 0, sh, 0, b, sizeof(b));
	CHECK_STR(b, "_", "nothing offered: '_'");
}

static void hassh(void)
{
	const uint8_t *l[4] = { (const uint8_t *)"curve25519-sha256", (const uint8_t *)"aes128-ctr",
				(const uint8_t *)"hmac-sha2-256", (const uint8_t *)"none" };
	size_t n[4] = { 17, 10, 13, 4 };
	char out[KX_HASSH_LEN + 1];
	kx_hassh(l, n, out);
	/* md5("curve25519-sha256;aes128-ctr;hmac-sha2-256;none") */
	CHECK_STR(out, "e97d07603350d1111ec2b64bf25413c9", "HASSH of four lists");
}

static void sig_names(void)
{
	CHECK_STR(kx_sigscheme_name(0x0904), "mldsa44", "0x0904");
	CHECK_STR(kx_sigscheme_name(0x0905), "mldsa65", "0x0905");
	CHECK_STR(kx_sigscheme_name(0x0906), "mldsa87", "0x0906");
	CHECK_STR(kx_sigscheme_name(0x0807), "ed25519", "0x0807");
	CHECK_STR(kx_sigscheme_name(0x0403), "ecdsa_secp256r1_sha256", "0x0403");
	CHECK_STR(kx_sigscheme_name(0x0804), "rsa_pss_rsae_sha256", "0x0804");
	CHECK(kx_sigscheme_name(0x0a0a) == NULL, "GREASE has no name");
	CHECK(kx_sigscheme_is_mldsa(0x0905) && !kx_sigscheme_is_mldsa(0x0807), "is_mldsa");
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/certs/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *b = malloc(65536);
	*len = fread(b, 1, 65536, f);
	fclose(f);
	return b;
}

static void der_reader(void)
{
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	struct kx_rd r = kx_rd_init(p256, sizeof(p256));
	char s[64];
	struct kx_rd oid = kx_der_expect(&r, 0x06);
	CHECK(kx_der_oid_str(oid, s, sizeof(s)) && strcmp(s, "1.2.840.10045.3.1.7") == 0,
	      "OID of prime256v1: %s", s);
	static const uint8_t mldsa[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12 };
	CHECK(kx_der_oid_str(kx_rd_init(mldsa, sizeof(mldsa)), s, sizeof(s)) &&
		      strcmp(s, "2.16.840.1.101.3.4.3.18") == 0,
	      "OID of ML-DSA-65: %s", s);
	static const uint8_t unterminated[] = { 0x2a, 0x86 };
	CHECK(!kx_der_oid_str(kx_rd_init(unterminated, 2), s, sizeof(s)), "OID cut mid-arc");
	static const uint8_t long_len[] = { 0x04, 0x82, 0x00, 0x03, 1, 2, 3 };
	uint8_t tag;
	r = kx_rd_init(long_len, sizeof(long_len));
	struct kx_rd c = kx_der_tlv(&r, &tag);
	CHECK(!r.bad && tag == 4 && kx_rd_left(&c) == 3 && kx_rd_left(&r) == 0, "long-form length");
	static const uint8_t indef[] = { 0x30, 0x80, 0, 0 };
	r = kx_rd_init(indef, sizeof(indef));
	kx_der_tlv(&r, &tag);
	CHECK(r.bad, "indefinite length refused");
	static const uint8_t high_tag[] = { 0x1f, 0x81, 0x01, 0x00 };
	r = kx_rd_init(high_tag, sizeof(high_tag));
	kx_der_tlv(&r, &tag);
	CHECK(r.bad, "high tag number refused");
	static const uint8_t too_long[] = { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00 };
	r = kx_rd_init(too_long, sizeof(too_long));
	kx_der_tlv(&r, &tag);
	CHECK(r.bad, "a length past the bytes fails");
}

static void certificates(const char *dir)
{
	static const struct {
		const char *file;
		enum kx_cert_key key;
		unsigned bits;
		enum kx_cert_curve curve;
		enum kx_cert_sig sig;
	} certs[] = {
		{ "cert-rsa2048.der", KX_CERT_KEY_RSA, 2048, KX_CERT_CURVE_NONE, KX_CERT_SIG_RSA_SHA256 },
		{ "cert-rsa3072-sha384.der", KX_CERT_KEY_RSA, 3072, KX_CERT_CURVE_NONE,
		  KX_CERT_SIG_RSA_SHA384 },
		{ "cert-rsapss.der", KX_CERT_KEY_RSA_PSS, 2048, KX_CERT_CURVE_NONE, KX_CERT_SIG_RSA_PSS },
		{ "cert-ec-p384.der", KX_CERT_KEY_EC, 384, KX_CERT_CURVE_P384, KX_CERT_SIG_ECDSA_SHA384 },
		{ "cert-ec-p521.der", KX_CERT_KEY_EC, 521, KX_CERT_CURVE_P521, KX_CERT_SIG_ECDSA_SHA512 },
		{ "cert-ed25519.der", KX_CERT_KEY_ED25519, 256, KX_CERT_CURVE_NONE, KX_CERT_SIG_ED25519 },
		{ "cert-ed448.der", KX_CERT_KEY_ED448, 456, KX_CERT_CURVE_NONE, KX_CERT_SIG_ED448 },
	};
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		size_t len = 0;
		uint8_t *der = slurp(dir, certs[i].file, &len);
		struct kx_cert_info ci;
		if (!der) {
			CHECK(0, "%s missing", certs[i].file);
			continue;
		}
		kx_cert_parse_der(der, len, &ci);
		CHECK(ci.status == KX_CERT_SEEN && ci.key == certs[i].key &&
			      ci.key_bits == certs[i].bits && ci.curve == certs[i].curve &&
			      ci.sig == certs[i].sig,
		      "%s: %s %u %s %s", certs[i].file, kx_cert_key_name(ci.key), ci.key_bits,
		      kx_cert_curve_name(ci.curve), kx_cert_sig_name(ci.sig));
		/* Every truncation is malformed, never a read past the end. */
		unsigned bad = 0;
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			memcpy(copy, der, cut);
			kx_cert_parse_der(copy, cut, &ci);
			bad += ci.status == KX_CERT_MALFORMED;
			free(copy);
		}
		CHECK_EQ(bad, len, "every prefix of the certificate is malformed");
		/* As a TLS Certificate message: a two-certificate chain. */
		struct w *m = calloc(1, sizeof(*m));
		u24(m, 2 * (len + 3));
		u24(m, (unsigned)len), put(m, der, len);
		u24(m, (unsigned)len), put(m, der, len);
		kx_cert_parse_tls(m->b, m->n, m->n, &ci);
		CHECK(ci.status == KX_CERT_SEEN && ci.key == certs[i].key, "in a Certificate message");
		kx_cert_parse_tls(m->b, len / 2, m->n, &ci);
		CHECK(ci.status == KX_CERT_TOO_BIG, "a prefix that cuts the leaf: too-big");
		kx_cert_parse_tls(m->b, m->n - 1, m->n - 1, &ci);
		CHECK(ci.status == KX_CERT_MALFORMED, "list length off by one: malformed");
		free(m);
		free(der);
	}

	/* ML-DSA-65: no Debian tool makes one, so the structure is built here
	 * (RFC 5280 4.1 with the FIPS 204 key and signature sizes). */
	static const uint8_t oid65[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
					 0x03, 0x04, 0x03, 0x12 };
	struct w *c = calloc(1, sizeof(*c));
	u8(c, 0x30), u8(c, 0x82), u16(c, 0);                         /* Certificate */
	size_t cert_at = 2;
	u8(c, 0x30), u8(c, 0x82), u16(c, 0);                         /* TBSCertificate */
	size_t tbs_at = c->n - 2;
	u8(c, 0xa0), u8(c, 3), u8(c, 0x02), u8(c, 1), u8(c, 2);     /* version v3 */
	u8(c, 0x02), u8(c, 1), u8(c, 7);                             /* serial */
	u8(c, 0x30), u8(c, sizeof(oid65)), put(c, oid65, sizeof(oid65));
	u8(c, 0x30), u8(c, 0);                                       /* issuer */
	u8(c, 0x30), u8(c, 0);                                       /* validity */
	u8(c, 0x30), u8(c, 0);                                       /* subject */
	u8(c, 0x30), u8(c, 0x82), u16(c, 0);                         /* SubjectPublicKeyInfo */
	size_t spki_at = c->n - 2;
	u8(c, 0x30), u8(c, sizeof(oid65)), put(c, oid65, sizeof(oid65));
	u8(c, 0x03), u8(c, 0x82), u16(c, 1953), u8(c, 0);
	memset(c->b + c->n, 0x5a, 1952), c->n += 1952;
	patch(c, spki_at, 2);
	patch(c, tbs_at, 2);
	u8(c, 0x30), u8(c, sizeof(oid65)), put(c, oid65, sizeof(oid65));
	u8(c, 0x03), u8(c, 0x82), u16(c, 3310), u8(c, 0);
	memset(c->b + c->n, 0xa5, 3309), c->n += 3309;
	patch(c, cert_at, 2);
	struct kx_cert_info ci;
	kx_cert_parse_der(c->b, c->n, &ci);
	CHECK(ci.status == KX_CERT_SEEN && ci.key == KX_CERT_KEY_MLDSA65 && ci.key_bits == 1952 * 8 &&
		      ci.sig == KX_CERT_SIG_MLDSA65,
	      "ML-DSA-65 by OID: %s %u %s", kx_cert_key_name(ci.key), ci.key_bits,
	      kx_cert_sig_name(ci.sig));
	free(c);
}

/* ---- the Certificate message through the TLS stream layer ---- */

struct cert_seen {
	int n_cert, n_ske;
	bool body;
	uint32_t len, full_len;
	struct kx_cert_info ci;
};

static bool on_cert_msg(void *ctx, const struct kx_tls_msg *m)
{
	struct cert_seen *cs = ctx;
	if (m->content_type != KX_TLS_HANDSHAKE)
		return false;
	if (m->hs_type == KX_HS_CERTIFICATE) {
		cs->n_cert++;
		cs->body = m->body != NULL;
		cs->len = m->len;
		cs->full_len = m->full_len;
		if (m->body)
			kx_cert_parse_tls(m->body, m->len, m->full_len, &cs->ci);
	} else if (m->hs_type == KX_HS_SERVER_KEY_EXCHANGE) {
		cs->n_ske++;
	}
	return false;
}

/* Records of at most 16384 bytes carrying the handshake messages in `hs`. */
static size_t records(const uint8_t *hs, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 16384) {
		size_t k = n - i < 16384 ? n - i : 16384;
		out[o++] = 22, out[o++] = 3, out[o++] = 3;
		out[o++] = (uint8_t)(k >> 8), out[o++] = (uint8_t)k;
		memcpy(out + o, hs + i, k);
		o += k;
	}
	return o;
}

static void certificate_stream(const char *dir)
{
	size_t len = 0;
	uint8_t *der = slurp(dir, "cert-rsa3072-sha384.der", &len);
	if (!der) {
		CHECK(0, "cert missing");
		return;
	}
	/* Certificate: the leaf, then a 30000-byte second certificate, so the
	 * message is larger than KX_TLS_PART_MAX; then a ServerKeyExchange. */
	static uint8_t hs[40000], wire[42000];
	size_t n = 0, big = 30000;
	size_t body = 3 + 3 + len + 3 + big;
	hs[n++] = KX_HS_CERTIFICATE;
	hs[n++] = (uint8_t)(body >> 16), hs[n++] = (uint8_t)(body >> 8), hs[n++] = (uint8_t)body;
	size_t list = body - 3;
	hs[n++] = (uint8_t)(list >> 16), hs[n++] = (uint8_t)(list >> 8), hs[n++] = (uint8_t)list;
	hs[n++] = 0, hs[n++] = (uint8_t)(len >> 8), hs[n++] = (uint8_t)len;
	memcpy(hs + n, der, len), n += len;
	hs[n++] = (uint8_t)(big >> 16), hs[n++] = (uint8_t)(big >> 8), hs[n++] = (uint8_t)big;
	memset(hs + n, 0x30, big), n += big;
	static const uint8_t ske[] = { KX_HS_SERVER_KEY_EXCHANGE, 0, 0, 4, 3, 0, 29, 0 };
	memcpy(hs + n, ske, sizeof(ske)), n += sizeof(ske);
	size_t w = records(hs, n, wire);

	static const size_t pieces[] = { 1, 7, 1448, 20000, 0 };
	for (int copy = 0; copy < 2; copy++) {
		for (size_t pi = 0; pi < sizeof(pieces) / sizeof(pieces[0]); pi++) {
			size_t piece = pieces[pi] ? pieces[pi] : w;
			struct kx_bufpool *pool = kx_bufpool_new(1 << 20);
			struct kx_counters c;
			memset(&c, 0, sizeof(c));
			struct cert_seen cs;
			memset(&cs, 0, sizeof(cs));
			struct kx_tls_stream st;
			kx_tls_stream_init(&st, 1u << KX_HS_SERVER_KEY_EXCHANGE, 65536);
			kx_tls_stream_partial(&st, 1u << KX_HS_CERTIFICATE);
			st.copy_always = copy;
			struct kx_tls_env env = { pool, &c, on_cert_msg, &cs };
			for (size_t off = 0; off < w; off += piece)
				kx_tls_stream_feed(&st, &env, wire + off,
						   (uint32_t)(w - off < piece ? w - off : piece));
			CHECK(cs.n_cert == 1 && cs.body && cs.len == KX_TLS_PART_MAX &&
				      cs.full_len == body && cs.ci.status == KX_CERT_SEEN &&
				      cs.ci.key_bits == 3072 && cs.n_ske == 1 && !st.failed,
			      "%s, pieces of %zu: a 16 KiB prefix of the %zu-byte chain, leaf read, "
			      "stream goes on",
			      copy ? "assembled" : "in place", piece, body);
			kx_tls_stream_release(&st, pool);
			kx_bufpool_free(pool);
		}
	}
	/* No buffer for it (memcap): skipped, not fatal. */
	struct kx_bufpool *pool = kx_bufpool_new(1024);
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct cert_seen cs;
	memset(&cs, 0, sizeof(cs));
	struct kx_tls_stream st;
	kx_tls_stream_init(&st, 1u << KX_HS_SERVER_KEY_EXCHANGE, 65536);
	kx_tls_stream_partial(&st, 1u << KX_HS_CERTIFICATE);
	struct kx_tls_env env = { pool, &c, on_cert_msg, &cs };
	for (size_t off = 0; off < w; off += 1000)
		kx_tls_stream_feed(&st, &env, wire + off, (uint32_t)(w - off < 1000 ? w - off : 1000));
	CHECK(cs.n_cert == 1 && !cs.body && cs.n_ske == 1 && !st.failed && c.reasm_memcap_hits == 1,
	      "memcap: the certificate skipped and counted, the ServerKeyExchange still read");
	kx_tls_stream_release(&st, pool);
	kx_bufpool_free(pool);
	/* --max-message-bytes below the prefix: the prefix follows it. */
	pool = kx_bufpool_new(1 << 20);
	memset(&cs, 0, sizeof(cs));
	kx_tls_stream_init(&st, 1u << KX_HS_SERVER_KEY_EXCHANGE, 600);
	kx_tls_stream_partial(&st, 1u << KX_HS_CERTIFICATE);
	env.pool = pool;
	kx_tls_stream_feed(&st, &env, wire, (uint32_t)w);
	CHECK(cs.n_cert == 1 && cs.len == 600 && cs.ci.status == KX_CERT_TOO_BIG && cs.n_ske == 1,
	      "--max-message-bytes 600: 600 bytes kept, the leaf too big, the stream goes on");
	kx_tls_stream_release(&st, pool);
	kx_bufpool_free(pool);
	free(der);
}

static void server_key_exchange(void)
{
	struct w w = { .n = 0 };
	u8(&w, 3), u16(&w, 23), u8(&w, 65);
	for (int i = 0; i < 65; i++)
		u8(&w, 4);
	u16(&w, 0x0403), u16(&w, 70);
	for (int i = 0; i < 70; i++)
		u8(&w, 0x30);
	struct kx_ske_info ske;
	CHECK(kx_tls_parse_ske(w.b, w.n, 0xc02b, 0x0303, &ske) == KX_PARSE_OK && ske.have_group &&
		      ske.group == 23 && ske.point_len == 65 && ske.have_sig && ske.sig == 0x0403,
	      "TLS 1.2 ECDHE: curve, point size, signature scheme");
	CHECK(kx_tls_parse_ske(w.b, w.n, 0xc02b, 0xfefd, &ske) == KX_PARSE_OK && ske.have_sig,
	      "DTLS 1.2 has the signature scheme too");
	CHECK(kx_tls_parse_ske(w.b, w.n, 0xc02b, 0x0301, &ske) == KX_PARSE_OK && !ske.have_sig,
	      "TLS 1.0: no SignatureAndHashAlgorithm field");
	CHECK(kx_tls_parse_ske(w.b, w.n - 1, 0xc02b, 0x0303, &ske) == KX_PARSE_OK && !ske.have_sig,
	      "a cut signature is not taken");
	CHECK(kx_tls_parse_ske(w.b, 3, 0xc02b, 0x0303, &ske) == KX_PARSE_MALFORMED,
	      "no point: malformed");
}

static void ssh_ecdh(void)
{
	struct w w = { .n = 0 };
	u8(&w, 30), u16(&w, 0), u16(&w, 1216);
	memset(w.b + w.n, 1, 1216), w.n += 1216;
	uint32_t q = 0;
	CHECK(kx_ssh_parse_ecdh(w.b, w.n, &q) == KX_SSH_OK && q == 1216, "KEX_ECDH_INIT Q_C");
	CHECK(kx_ssh_parse_ecdh(w.b, w.n - 1, &q) == KX_SSH_E_ECDH_BAD, "Q_C cut");
	w.n = 0;
	u8(&w, 31);
	u16(&w, 0), u16(&w, 51), memset(w.b + w.n, 2, 51), w.n += 51;      /* K_S */
	u16(&w, 0), u16(&w, 1120), memset(w.b + w.n, 3, 1120), w.n += 1120; /* Q_S */
	u16(&w, 0), u16(&w, 83), memset(w.b + w.n, 4, 83), w.n += 83;      /* signature */
	CHECK(kx_ssh_parse_ecdh(w.b, w.n, &q) == KX_SSH_OK && q == 1120, "KEX_ECDH_REPLY Q_S");
	CHECK(kx_ssh_parse_ecdh(w.b, w.n - 1, &q) == KX_SSH_E_ECDH_BAD, "signature cut");
	w.b[0] = 32;
	CHECK(kx_ssh_parse_ecdh(w.b, w.n, &q) == KX_SSH_E_ECDH_BAD, "another message");
	uint32_t c = 0, s = 0;
	CHECK(kx_ssh_kex_share_sizes("mlkem768x25519-sha256", &c, &s) && c == 1216 && s == 1120,
	      "mlkem768x25519-sha256 1216/1120");
	CHECK(kx_ssh_kex_share_sizes("sntrup761x25519-sha512@openssh.com", &c, &s) && c == 1190 &&
		      s == 1071,
	      "sntrup761x25519 1190/1071");
	CHECK(kx_ssh_kex_share_sizes("ecdh-sha2-nistp256", &c, &s) && c == 65 && s == 65,
	      "nistp256 65/65");
	CHECK(!kx_ssh_kex_share_sizes("diffie-hellman-group14-sha256", &c, &s),
	      "finite-field DH: mpints, not checked");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data";
	spec_examples();
	dtls_hello();
	long_hello();
	kx_suffix();
	hassh();
	sig_names();
	der_reader();
	certificates(dir);
	certificate_stream(dir);
	server_key_exchange();
	ssh_ecdh();
	return tap_done();
}
