/* SPDX-License-Identifier: BSD-2-Clause */
/* der.c: a bounds-checked DER reader (X.690 section 8 and 10, as X.509
 * uses it) and the leaf certificate of a TLS 1.2 server (RFC 5280 section
 * 4.1, RFC 5246 section 7.4.2).
 *
 * Everything goes through rd.h cursors: a TLV's contents are a child reader,
 * every length is compared with the bytes left, and a failure is sticky, so
 * a truncated or lying certificate ends as "malformed", never as a read
 * outside the message. Only what the row needs is looked at:
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 *   TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
 *                                 issuer, validity, subject, subjectPublicKeyInfo, ... }
 *   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
 *   AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
 *   RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }  (RFC 8017 A.1.1)
 *   Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }             (RFC 3279 2.3.2)
 *
 * OIDs: RFC 8017 (RSA), RFC 5480 / RFC 5758 (EC, ECDSA), RFC 8410 (Ed25519,
 * Ed448), RFC 5639 (brainpool), RFC 3279 / RFC 5758 (DSA), NIST CSOR
 * 2.16.840.1.101.3.4.3.17-19 (ML-DSA-44/65/87, FIPS 204; draft-ietf-lamps-
 * dilithium-certificates).
 */
#include <stdio.h>
#include <string.h>

#include "kexwatch/fingerprint.h"

#define TAG_INTEGER 0x02
#define TAG_BIT_STRING 0x03
#define TAG_OID 0x06
#define TAG_SEQUENCE 0x30
#define TAG_CTX0 0xa0 /* [0] EXPLICIT, constructed */

struct kx_rd kx_der_tlv(struct kx_rd *r, uint8_t *tag)
{
	struct kx_rd bad = { r->end, r->end, true };
	uint8_t t = kx_rd_u8(r);
	uint8_t l0 = kx_rd_u8(r);
	if (r->bad || (t & 0x1f) == 0x1f) { /* high tag numbers: not in X.509 */
		kx_rd_fail(r);
		return bad;
	}
	size_t n;
	if (l0 < 0x80) {
		n = l0;
	} else {
		unsigned k = l0 & 0x7f;
		if (k == 0 || k > 4) { /* indefinite length is BER, not DER */
			kx_rd_fail(r);
			return bad;
		}
		n = 0;
		for (unsigned i = 0; i < k; i++)
			n = n << 8 | kx_rd_u8(r);
		if (r->bad)
			return bad;
	}
	*tag = t;
	return kx_rd_sub(r, n);
}

struct kx_rd kx_der_expect(struct kx_rd *r, uint8_t want)
{
	uint8_t tag = 0;
	struct kx_rd c = kx_der_tlv(r, &tag);
	if (!r->bad && tag != want) {
		kx_rd_fail(r);
		c.p = c.end;
		c.bad = true;
	}
	return c;
}

bool kx_der_oid_str(struct kx_rd oid, char *buf, size_t len)
{
	size_t pos = 0;
	bool first = true;
	if (!len)
		return false;
	buf[0] = '\0';
	if (oid.bad || kx_rd_left(&oid) == 0)
		return false;
	while (kx_rd_left(&oid)) {
		uint64_t v = 0;
		uint8_t b;
		unsigned n = 0;
		do {
			b = kx_rd_u8(&oid);
			if (n == 0 && b == 0x80) /* not minimal */
				return buf[0] = '\0', false;
			if (++n > 9)         /* more than 63 bits */
				return buf[0] = '\0', false;
			v = v << 7 | (b & 0x7f);
		} while ((b & 0x80) && !oid.bad);
		if (oid.bad)
			return buf[0] = '\0', false;
		int w;
		if (first) {
			/* The first subidentifier packs the first two arcs. */
			unsigned a = v < 40 ? 0 : v < 80 ? 1 : 2;
			w = snprintf(buf + pos, len - pos, "%u.%llu", a,
				     (unsigned long long)(v - 40u * a));
			first = false;
		} else {
			w = snprintf(buf + pos, len - pos, ".%llu", (unsigned long long)v);
		}
		if (w < 0 || (size_t)w >= len - pos)
			return buf[0] = '\0', false;
		pos += (size_t)w;
	}
	return true;
}

/* Bits of an unsigned big-endian INTEGER's contents (leading zero bytes skipped). */
static uint16_t int_bits(struct kx_rd v)
{
	while (kx_rd_left(&v) && *v.p == 0)
		kx_rd_skip(&v, 1);
	size_t n = kx_rd_left(&v);
	if (!n)
		return 0;
	unsigned top = *v.p, b = 0;
	while (top) {
		b++;
		top >>= 1;
	}
	size_t bits = (n - 1) * 8 + b;
	return bits > UINT16_MAX ? UINT16_MAX : (uint16_t)bits;
}

struct oid_name {
	const char *oid;
	uint8_t v;
};

static uint8_t lookup(const struct oid_name *t, size_t n, const char *oid, uint8_t other)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].oid, oid) == 0)
			return t[i].v;
	return other;
}

static const struct oid_name key_oids[] = {
	{ "1.2.840.113549.1.1.1", KX_CERT_KEY_RSA },
	{ "1.2.840.113549.1.1.10", KX_CERT_KEY_RSA_PSS },
	{ "1.2.840.10045.2.1", KX_CERT_KEY_EC },
	{ "1.3.101.112", KX_CERT_KEY_ED25519 },
	{ "1.3.101.113", KX_CERT_KEY_ED448 },
	{ "1.2.840.10040.4.1", KX_CERT_KEY_DSA },
	{ "2.16.840.1.101.3.4.3.17", KX_CERT_KEY_MLDSA44 },
	{ "2.16.840.1.101.3.4.3.18", KX_CERT_KEY_MLDSA65 },
	{ "2.16.840.1.101.3.4.3.19", KX_CERT_KEY_MLDSA87 },
};

static const struct oid_name sig_oids[] = {
	{ "1.2.840.113549.1.1.4", KX_CERT_SIG_RSA_MD5 },
	{ "1.2.840.113549.1.1.5", KX_CERT_SIG_RSA_SHA1 },
	{ "1.2.840.113549.1.1.14", KX_CERT_SIG_RSA_SHA224 },
	{ "1.2.840.113549.1.1.11", KX_CERT_SIG_RSA_SHA256 },
	{ "1.2.840.113549.1.1.12", KX_CERT_SIG_RSA_SHA384 },
	{ "1.2.840.113549.1.1.13", KX_CERT_SIG_RSA_SHA512 },
	{ "1.2.840.113549.1.1.10", KX_CERT_SIG_RSA_PSS },
	{ "1.2.840.10045.4.1", KX_CERT_SIG_ECDSA_SHA1 },
	{ "1.2.840.10045.4.3.1", KX_CERT_SIG_ECDSA_SHA224 },
	{ "1.2.840.10045.4.3.2", KX_CERT_SIG_ECDSA_SHA256 },
	{ "1.2.840.10045.4.3.3", KX_CERT_SIG_ECDSA_SHA384 },
	{ "1.2.840.10045.4.3.4", KX_CERT_SIG_ECDSA_SHA512 },
	{ "1.3.101.112", KX_CERT_SIG_ED25519 },
	{ "1.3.101.113", KX_CERT_SIG_ED448 },
	{ "1.2.840.10040.4.3", KX_CERT_SIG_DSA_SHA1 },
	{ "2.16.840.1.101.3.4.3.2", KX_CERT_SIG_DSA_SHA256 },
	{ "2.16.840.1.101.3.4.3.17", KX_CERT_SIG_MLDSA44 },
	{ "2.16.840.1.101.3.4.3.18", KX_CERT_SIG_MLDSA65 },
	{ "2.16.840.1.101.3.4.3.19", KX_CERT_SIG_MLDSA87 },
};

static const struct oid_name curve_oids[] = {
	{ "1.2.840.10045.3.1.7", KX_CERT_CURVE_P256 },
	{ "1.3.132.0.34", KX_CERT_CURVE_P384 },
	{ "1.3.132.0.35", KX_CERT_CURVE_P521 },
	{ "1.3.36.3.3.2.8.1.1.7", KX_CERT_CURVE_BP256 },
	{ "1.3.36.3.3.2.8.1.1.11", KX_CERT_CURVE_BP384 },
	{ "1.3.36.3.3.2.8.1.1.13", KX_CERT_CURVE_BP512 },
};

static const uint16_t curve_bits[KX_CERT_CURVE_MAX] = {
	[KX_CERT_CURVE_P256] = 256, [KX_CERT_CURVE_P384] = 384, [KX_CERT_CURVE_P521] = 521,
	[KX_CERT_CURVE_BP256] = 256, [KX_CERT_CURVE_BP384] = 384, [KX_CERT_CURVE_BP512] = 512,
};

#define N(t) (sizeof(t) / sizeof((t)[0]))

/* AlgorithmIdentifier: the OID's dotted form into buf, parameters into *params. */
static bool alg_id(struct kx_rd *r, char *buf, size_t len, struct kx_rd *params)
{
	struct kx_rd seq = kx_der_expect(r, TAG_SEQUENCE);
	struct kx_rd oid = kx_der_expect(&seq, TAG_OID);
	if (seq.bad || !kx_der_oid_str(oid, buf, len))
		return false;
	*params = seq; /* what follows the OID, maybe empty */
	return true;
}

static void public_key(struct kx_rd spki, struct kx_cert_info *ci)
{
	char oid[64];
	struct kx_rd params;
	if (!alg_id(&spki, oid, sizeof(oid), &params)) {
		ci->status = KX_CERT_MALFORMED;
		return;
	}
	struct kx_rd bits = kx_der_expect(&spki, TAG_BIT_STRING);
	uint8_t unused = kx_rd_u8(&bits);
	if (spki.bad || bits.bad || unused != 0) {
		ci->status = KX_CERT_MALFORMED;
		return;
	}
	ci->key = lookup(key_oids, N(key_oids), oid, KX_CERT_KEY_OTHER);
	switch (ci->key) {
	case KX_CERT_KEY_RSA:
	case KX_CERT_KEY_RSA_PSS: {
		struct kx_rd rsa = kx_der_expect(&bits, TAG_SEQUENCE);
		struct kx_rd n = kx_der_expect(&rsa, TAG_INTEGER);
		if (rsa.bad) {
			ci->status = KX_CERT_MALFORMED;
			return;
		}
		ci->key_bits = int_bits(n);
		break;
	}
	case KX_CERT_KEY_DSA: {
		struct kx_rd dss = kx_der_expect(&params, TAG_SEQUENCE);
		struct kx_rd p = kx_der_expect(&dss, TAG_INTEGER);
		if (!dss.bad)
			ci->key_bits = int_bits(p);
		break;
	}
	case KX_CERT_KEY_EC: {
		char cur[64];
		struct kx_rd named = kx_der_expect(&params, TAG_OID);
		ci->curve = params.bad || !kx_der_oid_str(named, cur, sizeof(cur))
				    ? KX_CERT_CURVE_OTHER
				    : lookup(curve_oids, N(curve_oids), cur, KX_CERT_CURVE_OTHER);
		ci->key_bits = curve_bits[ci->curve];
		break;
	}
	default: {
		/* EdDSA, ML-DSA: the key is the bit string; its size is the key's. */
		size_t n = kx_rd_left(&bits) * 8;
		ci->key_bits = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
		break;
	}
	}
	ci->status = KX_CERT_SEEN;
}

void kx_cert_parse_der(const uint8_t *der, size_t len, struct kx_cert_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->status = KX_CERT_MALFORMED;
	struct kx_rd r = kx_rd_init(der, len);
	struct kx_rd cert = kx_der_expect(&r, TAG_SEQUENCE);
	struct kx_rd tbs = kx_der_expect(&cert, TAG_SEQUENCE);
	char oid[64];
	struct kx_rd params;
	if (cert.bad || !alg_id(&cert, oid, sizeof(oid), &params))
		return;
	uint8_t sig = lookup(sig_oids, N(sig_oids), oid, KX_CERT_SIG_OTHER);

	uint8_t tag = 0;
	struct kx_rd peek = tbs;
	kx_der_tlv(&peek, &tag);
	if (tag == TAG_CTX0)
		kx_der_tlv(&tbs, &tag);          /* version */
	kx_der_expect(&tbs, TAG_INTEGER);        /* serialNumber */
	kx_der_expect(&tbs, TAG_SEQUENCE);       /* signature */
	kx_der_expect(&tbs, TAG_SEQUENCE);       /* issuer */
	kx_der_expect(&tbs, TAG_SEQUENCE);       /* validity */
	kx_der_expect(&tbs, TAG_SEQUENCE);       /* subject */
	struct kx_rd spki = kx_der_expect(&tbs, TAG_SEQUENCE);
	if (tbs.bad)
		return;
	public_key(spki, ci);
	if (ci->status == KX_CERT_SEEN)
		ci->sig = sig;
	else
		ci->key = ci->curve = 0, ci->key_bits = 0;
}

void kx_cert_parse_tls(const uint8_t *body, size_t len, size_t full_len,
		       struct kx_cert_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	struct kx_rd r = kx_rd_init(body, len);
	uint32_t list_len = kx_rd_u24(&r);
	uint32_t leaf_len = kx_rd_u24(&r);
	if (r.bad || list_len + (size_t)3 != full_len || leaf_len == 0 ||
	    (size_t)leaf_len + 3 > list_len) {
		ci->status = r.bad && full_len > len ? KX_CERT_TOO_BIG : KX_CERT_MALFORMED;
		return;
	}
	if (leaf_len > kx_rd_left(&r)) {
		/* The message is longer than kexwatch assembled. */
		ci->status = full_len > len ? KX_CERT_TOO_BIG : KX_CERT_MALFORMED;
		return;
	}
	const uint8_t *leaf = kx_rd_take(&r, leaf_len);
	kx_cert_parse_der(leaf, leaf_len, ci);
}
