/* SPDX-License-Identifier: BSD-2-Clause */
/* quic_initial.c: one UDP datagram of QUIC: coalesced long-header packets,
 * removal of Initial packet protection, and the frames an Initial may carry
 * (RFC 9000 sections 12.2, 12.4, 17.2, 19.3, 19.6, 19.19; RFC 9001 sections
 * 5.3-5.4; RFC 9369 section 3.2).
 *
 * Long header (RFC 9000 section 17.2):
 *
 *   1 | fixed | type(2) | reserved(2) | pn length(2)    low 4 bits protected
 *   version (32)
 *   DCID length (8), DCID (0..20 bytes)
 *   SCID length (8), SCID (0..20 bytes)
 *   Initial only: token length (varint), token
 *   all but Retry: Length (varint) = packet number + protected payload
 *   packet number (1..4 bytes, protected)
 *   payload: AES-128-GCM ciphertext, 16-byte tag
 *
 * Header protection hides the packet-number length, so the mask is taken
 * from a sample that starts 4 bytes after the packet number field begins,
 * whatever the real length is (RFC 9001 section 5.4.2).
 */
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "kexwatch/quic.h"
#include "kexwatch/rd.h"

#define SAMPLE_LEN 16
#define TAG_LEN 16
#define PN_MAX_LEN 4
#define MAX_CRYPTO_OFFSET ((UINT64_C(1) << 62) - 1) /* RFC 9000 section 19.6 */

#define FT_PADDING 0x00
#define FT_PING 0x01
#define FT_ACK 0x02
#define FT_ACK_ECN 0x03
#define FT_CRYPTO 0x06
#define FT_CONNECTION_CLOSE 0x1c /* transport close; 0x1d is not allowed in an Initial */

struct kx_quic_ctx {
	gcry_cipher_hd_t ecb;
	gcry_cipher_hd_t gcm;
	uint8_t ecb_key[16], gcm_key[16]; /* the keys last set, to skip re-keying */
	bool ecb_keyed, gcm_keyed;
	uint8_t buf[KX_QUIC_MAX_DATAGRAM];
};

struct kx_quic_ctx *kx_quic_ctx_new(void)
{
	if (kx_quic_init() < 0)
		return NULL;
	struct kx_quic_ctx *qc = calloc(1, sizeof(*qc));
	if (!qc)
		return NULL;
	if (gcry_cipher_open(&qc->ecb, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 0)) {
		free(qc);
		return NULL;
	}
	if (gcry_cipher_open(&qc->gcm, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0)) {
		gcry_cipher_close(qc->ecb);
		free(qc);
		return NULL;
	}
	return qc;
}

void kx_quic_ctx_free(struct kx_quic_ctx *qc)
{
	if (!qc)
		return;
	gcry_cipher_close(qc->ecb);
	gcry_cipher_close(qc->gcm);
	free(qc);
}

static int set_key(gcry_cipher_hd_t hd, uint8_t cached[16], bool *keyed, const uint8_t key[16])
{
	/* Client and server keys alternate, but a run of packets from one side
	 * is common and AES-GCM key setup is the costly part. */
	if (*keyed && memcmp(cached, key, 16) == 0)
		return 0;
	*keyed = false;
	if (gcry_cipher_setkey(hd, key, 16))
		return -1;
	memcpy(cached, key, 16);
	*keyed = true;
	return 0;
}

static int hp_mask(struct kx_quic_ctx *qc, const uint8_t hp[16], const uint8_t *sample,
		   uint8_t mask[SAMPLE_LEN])
{
	if (set_key(qc->ecb, qc->ecb_key, &qc->ecb_keyed, hp) < 0)
		return -1;
	return gcry_cipher_encrypt(qc->ecb, mask, SAMPLE_LEN, sample, SAMPLE_LEN) ? -1 : 0;
}

/* AEAD_AES_128_GCM open: plaintext to `out`; -1 when the tag does not match. */
static int gcm_open(struct kx_quic_ctx *qc, const uint8_t key[16], const uint8_t nonce[12],
		    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
		    const uint8_t *tag, uint8_t *out)
{
	gcry_cipher_hd_t hd = qc->gcm;
	if (set_key(hd, qc->gcm_key, &qc->gcm_keyed, key) < 0)
		return -1;
	gcry_cipher_reset(hd);
	if (gcry_cipher_setiv(hd, nonce, 12) || gcry_cipher_authenticate(hd, aad, aad_len))
		return -1;
	gcry_cipher_final(hd);
	if (ct_len && gcry_cipher_decrypt(hd, out, ct_len, ct, ct_len))
		return -1;
	return gcry_cipher_checktag(hd, tag, TAG_LEN) ? -1 : 0;
}

enum pkt_type { PT_INITIAL, PT_0RTT, PT_HANDSHAKE, PT_RETRY };

static enum pkt_type packet_type(uint32_t version, uint8_t b0)
{
	unsigned t = (b0 >> 4) & 3;
	/* Version 2 rotates the codes: 01 Initial, 10 0-RTT, 11 Handshake,
	 * 00 Retry (RFC 9369 section 3.2), so that v1 middleboxes do not ossify. */
	if (version == KX_QUIC_V2 || version == KX_QUIC_V2_DRAFT)
		t = (t + 3) & 3;
	return (enum pkt_type)t;
}

struct lhdr {
	uint8_t b0;             /* first byte, still protected */
	uint32_t version;
	enum pkt_type type;
	const uint8_t *dcid, *scid;
	uint8_t dcid_len, scid_len;
	size_t hdr_len;         /* bytes before the packet number */
	uint64_t length;        /* the Length field */
};

enum hdr_rc {
	H_OK,
	H_SHORT,        /* short header (1-RTT), or bytes that are not QUIC */
	H_NO_VERSION,   /* too short to hold a version */
	H_VN,           /* Version Negotiation: the rest of the datagram */
	H_UNKNOWN,      /* version whose header layout past the CIDs is unknown */
	H_RETRY,        /* no Length field: the rest of the datagram */
	H_BAD,          /* lengths that do not fit */
};

/* Reads the long header at the start of r without consuming it. */
static enum hdr_rc read_long_header(struct kx_rd r, struct lhdr *h)
{
	size_t total = kx_rd_left(&r);
	memset(h, 0, sizeof(*h));
	h->b0 = kx_rd_u8(&r);
	if (!(h->b0 & 0x80))
		return H_SHORT;
	h->version = kx_rd_u32(&r);
	if (r.bad)
		return H_NO_VERSION;
	if (h->version == 0)
		return H_VN;
	if (!kx_quic_version_known(h->version))
		return H_UNKNOWN;
	h->dcid_len = kx_rd_u8(&r);
	if (h->dcid_len > KX_QUIC_CID_MAX)
		return H_BAD;
	h->dcid = kx_rd_take(&r, h->dcid_len);
	h->scid_len = kx_rd_u8(&r);
	if (h->scid_len > KX_QUIC_CID_MAX)
		return H_BAD;
	h->scid = kx_rd_take(&r, h->scid_len);
	if (r.bad)
		return H_BAD;
	h->type = packet_type(h->version, h->b0);
	if (h->type == PT_RETRY)
		return H_RETRY;
	if (h->type == PT_INITIAL) {
		uint64_t token_len = kx_rd_varint(&r);
		if (token_len > kx_rd_left(&r))
			return H_BAD;
		kx_rd_skip(&r, (size_t)token_len);
	}
	h->length = kx_rd_varint(&r);
	if (r.bad || h->length > kx_rd_left(&r))
		return H_BAD;
	h->hdr_len = total - kx_rd_left(&r);
	return H_OK;
}

static bool same_cid(const uint8_t *a, uint8_t a_len, const uint8_t *b, uint8_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* Walks the frames of a decrypted Initial payload (RFC 9000 section 17.2.2:
 * only PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE may appear). */
static enum kx_quic_rc walk_frames(struct kx_rd f, kx_quic_crypto_fn cb, void *cb_ctx,
				   struct kx_quic_datagram_info *info, bool *stop)
{
	/* A packet without frames is a protocol violation (RFC 9000 section 12.4). */
	if (!kx_rd_left(&f))
		return KX_QUIC_MALFORMED;
	while (kx_rd_left(&f)) {
		uint64_t type = kx_rd_varint(&f);
		switch (type) {
		case FT_PADDING:
		case FT_PING:
			break;
		case FT_ACK:
		case FT_ACK_ECN: {
			kx_rd_varint(&f); /* largest acknowledged */
			kx_rd_varint(&f); /* ACK delay */
			uint64_t ranges = kx_rd_varint(&f);
			kx_rd_varint(&f); /* first ACK range */
			/* Every range takes at least two bytes, so a huge count
			 * ends when the bytes do. */
			for (uint64_t i = 0; i < ranges && !f.bad; i++) {
				kx_rd_varint(&f); /* gap */
				kx_rd_varint(&f); /* range length */
			}
			if (type == FT_ACK_ECN) {
				kx_rd_varint(&f); /* ECT(0) */
				kx_rd_varint(&f); /* ECT(1) */
				kx_rd_varint(&f); /* ECN-CE */
			}
			break;
		}
		case FT_CRYPTO: {
			uint64_t off = kx_rd_varint(&f);
			uint64_t n = kx_rd_varint(&f);
			if (f.bad || n > kx_rd_left(&f) || off > MAX_CRYPTO_OFFSET - n)
				return KX_QUIC_MALFORMED;
			const uint8_t *data = kx_rd_take(&f, (size_t)n);
			info->crypto_frames++;
			/* n is below KX_QUIC_MAX_DATAGRAM, so it fits. */
			if (cb && cb(cb_ctx, off, data, (uint32_t)n)) {
				*stop = true;
				return KX_QUIC_OK;
			}
			break;
		}
		case FT_CONNECTION_CLOSE: {
			kx_rd_varint(&f); /* error code */
			kx_rd_varint(&f); /* frame type */
			uint64_t reason = kx_rd_varint(&f);
			if (f.bad || reason > kx_rd_left(&f))
				return KX_QUIC_MALFORMED;
			kx_rd_skip(&f, (size_t)reason);
			break;
		}
		default:
			return KX_QUIC_MALFORMED;
		}
		if (f.bad)
			return KX_QUIC_MALFORMED;
	}
	return KX_QUIC_OK;
}

/* Removes header and payload protection of the Initial packet in `pkt`
 * (exactly hdr_len + length bytes) and walks its frames. */
static enum kx_quic_rc open_initial(struct kx_quic_ctx *qc, struct kx_rd pkt, const struct lhdr *h,
				    bool from_client, struct kx_quic_secrets *s,
				    struct kx_quic_datagram_info *info, kx_quic_crypto_fn cb,
				    void *cb_ctx, bool *stop)
{
	/* The sample must lie inside the packet (RFC 9001 section 5.4.2); a
	 * 4-byte packet number then leaves at least the tag. */
	if (h->length < PN_MAX_LEN + SAMPLE_LEN)
		return KX_QUIC_MALFORMED;
	if (h->version != s->version) {
		/* Compatible version negotiation (RFC 9368 section 2.3): the
		 * Initials of the new version use keys from the same DCID. */
		if (kx_quic_derive_initial(h->version, s->odcid, s->odcid_len, s) < 0)
			return KX_QUIC_DECRYPT_FAILED;
		info->version_switched = true;
	}
	const struct kx_quic_keys *k = from_client ? &s->client : &s->server;

	const uint8_t *hdr = kx_rd_take(&pkt, h->hdr_len);
	struct kx_rd sr = pkt;
	kx_rd_skip(&sr, PN_MAX_LEN);
	const uint8_t *sample = kx_rd_take(&sr, SAMPLE_LEN);
	if (!hdr || !sample)
		return KX_QUIC_MALFORMED;
	uint8_t mask[SAMPLE_LEN];
	if (hp_mask(qc, k->hp, sample, mask) < 0)
		return KX_QUIC_DECRYPT_FAILED;

	/* The unprotected header is the AEAD's associated data, so it is
	 * rebuilt in the buffer, followed by the plaintext. The packet fits in
	 * the datagram and the datagram in the buffer. */
	uint8_t *buf = qc->buf;
	uint8_t b0 = (uint8_t)(h->b0 ^ (mask[0] & 0x0f));
	size_t pn_len = (size_t)(b0 & 3) + 1;
	memcpy(buf, hdr, h->hdr_len);
	buf[0] = b0;
	struct kx_rd pr = kx_rd_sub(&pkt, pn_len);
	uint64_t pn = 0;
	for (size_t i = 0; i < pn_len; i++) {
		uint8_t v = (uint8_t)(kx_rd_u8(&pr) ^ mask[1 + i]);
		buf[h->hdr_len + i] = v;
		pn = pn << 8 | v;
	}
	size_t ct_len = (size_t)h->length - pn_len - TAG_LEN;
	const uint8_t *ct = kx_rd_take(&pkt, ct_len);
	const uint8_t *tag = kx_rd_take(&pkt, TAG_LEN);
	if (pr.bad || !tag || !kx_rd_done(&pkt))
		return KX_QUIC_MALFORMED;

	/* Nonce: the IV with the packet number XORed into its low bytes
	 * (RFC 9001 section 5.3). */
	uint8_t nonce[12];
	memcpy(nonce, k->iv, sizeof(nonce));
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(pn >> (56 - 8 * i));
	uint8_t *plain = buf + h->hdr_len + pn_len;
	if (gcm_open(qc, k->key, nonce, buf, h->hdr_len + pn_len, ct, ct_len, tag, plain) < 0)
		return KX_QUIC_DECRYPT_FAILED;
	if (info->decrypted++ == 0)
		info->first_pn = pn;
	/* Reserved bits must be zero once protection is off (RFC 9000 17.2). */
	if (b0 & 0x0c)
		return KX_QUIC_MALFORMED;
	return walk_frames(kx_rd_init(plain, ct_len), cb, cb_ctx, info, stop);
}

enum kx_quic_rc kx_quic_datagram(struct kx_quic_ctx *qc, const uint8_t *p, size_t len,
				 bool from_client, struct kx_quic_secrets *s,
				 kx_quic_crypto_fn cb, void *cb_ctx,
				 struct kx_quic_datagram_info *info)
{
	struct kx_quic_datagram_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (len > KX_QUIC_MAX_DATAGRAM)
		return KX_QUIC_MALFORMED;
	struct kx_rd r = kx_rd_init(p, len);
	enum kx_quic_rc fail = KX_QUIC_OK;
	bool first = true, stop = false;
	while (!stop && kx_rd_left(&r) > 0) {
		struct lhdr h;
		enum hdr_rc hr = read_long_header(r, &h);
		if (first) {
			if (hr == H_SHORT || hr == H_NO_VERSION || hr == H_UNKNOWN)
				return KX_QUIC_NOT_QUIC;
			info->version = h.version;
			if (hr == H_VN) {
				info->skipped++;
				break;
			}
			if (hr == H_BAD)
				return KX_QUIC_MALFORMED;
			memcpy(info->dcid, h.dcid, h.dcid_len);
			memcpy(info->scid, h.scid, h.scid_len);
			info->dcid_len = h.dcid_len;
			info->scid_len = h.scid_len;
			info->first_is_initial = hr == H_OK && h.type == PT_INITIAL;
			first = false;
			if (hr == H_RETRY) {
				info->retry = true;
				info->skipped++;
				break;
			}
		} else if (hr == H_BAD) {
			if (fail == KX_QUIC_OK)
				fail = KX_QUIC_MALFORMED;
			break;
		} else if (hr != H_OK ||
			   !same_cid(h.dcid, h.dcid_len, info->dcid, info->dcid_len)) {
			/* The rest cannot be delimited (1-RTT, Retry, unknown
			 * version, trailing bytes), or belongs to another
			 * connection, which receivers ignore (RFC 9000 12.2). */
			info->skipped++;
			break;
		}
		struct kx_rd pkt = kx_rd_sub(&r, h.hdr_len + (size_t)h.length);
		if (h.type != PT_INITIAL) {
			info->skipped++;
			continue;
		}
		info->initials++;
		enum kx_quic_rc rc = open_initial(qc, pkt, &h, from_client, s, info, cb, cb_ctx, &stop);
		if (rc != KX_QUIC_OK && fail == KX_QUIC_OK)
			fail = rc;
	}
	if (fail != KX_QUIC_OK)
		return fail;
	return info->decrypted ? KX_QUIC_OK : KX_QUIC_NO_INITIAL;
}

/* Retry Integrity Tag key and nonce per version: RFC 9001 section 5.8
 * (v1), RFC 9369 section 3.3.3 (v2), draft-ietf-quic-v2-01 (its draft
 * version), draft-ietf-quic-tls-29. */
struct retry_secret {
	uint32_t version;
	uint8_t key[16], nonce[12];
};

static const struct retry_secret retry_secrets[] = {
	{ KX_QUIC_V1,
	  { 0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e },
	  { 0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb } },
	{ KX_QUIC_V2,
	  { 0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92 },
	  { 0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a } },
	{ KX_QUIC_V2_DRAFT,
	  { 0xba, 0x85, 0x8d, 0xc7, 0xb4, 0x3d, 0xe5, 0xdb, 0xf8, 0x76, 0x17, 0xff, 0x4a, 0xb2, 0x53, 0xdb },
	  { 0x14, 0x1b, 0x99, 0xc2, 0x39, 0xb0, 0x3e, 0x78, 0x5d, 0x6a, 0x2e, 0x9f } },
	{ KX_QUIC_DRAFT29,
	  { 0xcc, 0xce, 0x18, 0x7e, 0xd0, 0x9a, 0x09, 0xd0, 0x57, 0x28, 0x15, 0x5a, 0x6c, 0xb9, 0x6b, 0xe1 },
	  { 0xe5, 0x49, 0x30, 0xf9, 0x7f, 0x21, 0x36, 0xf0, 0x53, 0x0a, 0x8c, 0x1c } },
};

enum kx_quic_rc kx_quic_retry(struct kx_quic_ctx *qc, const uint8_t *p, size_t len,
			      const uint8_t *odcid, size_t odcid_len, struct kx_quic_retry *ret)
{
	struct lhdr h;
	struct kx_rd r = kx_rd_init(p, len);
	memset(ret, 0, sizeof(*ret));
	enum hdr_rc hr = read_long_header(r, &h);
	if (hr == H_BAD && packet_type(h.version, h.b0) == PT_RETRY)
		return KX_QUIC_MALFORMED; /* connection IDs that do not fit */
	if (hr != H_RETRY)
		return KX_QUIC_NOT_QUIC;
	const struct retry_secret *rs = NULL;
	for (size_t i = 0; i < sizeof(retry_secrets) / sizeof(retry_secrets[0]); i++)
		if (retry_secrets[i].version == h.version)
			rs = &retry_secrets[i];
	/* read_long_header knows only the four versions listed here. */
	if (!rs || odcid_len > KX_QUIC_CID_MAX)
		return KX_QUIC_NOT_QUIC;
	/* 1 + 4 + 1 + dcid + 1 + scid bytes of header, then the token, then the tag. */
	size_t hdr_len = 7u + h.dcid_len + h.scid_len;
	kx_rd_skip(&r, hdr_len);
	if (kx_rd_left(&r) < TAG_LEN)
		return KX_QUIC_MALFORMED;
	size_t token_len = kx_rd_left(&r) - TAG_LEN;
	kx_rd_skip(&r, token_len);
	const uint8_t *tag = kx_rd_take(&r, TAG_LEN);
	if (!tag || len - TAG_LEN + 1 + odcid_len > sizeof(qc->buf))
		return KX_QUIC_MALFORMED;
	ret->version = h.version;
	memcpy(ret->dcid, h.dcid, h.dcid_len);
	memcpy(ret->scid, h.scid, h.scid_len);
	ret->dcid_len = h.dcid_len;
	ret->scid_len = h.scid_len;
	ret->token_len = (uint32_t)token_len;
	/* The tag is AES-128-GCM over nothing, with the Retry Pseudo-Packet
	 * (original DCID, length-prefixed, then the Retry without its tag) as
	 * associated data. */
	uint8_t *pseudo = qc->buf;
	pseudo[0] = (uint8_t)odcid_len;
	if (odcid_len)
		memcpy(pseudo + 1, odcid, odcid_len);
	memcpy(pseudo + 1 + odcid_len, p, len - TAG_LEN);
	if (gcm_open(qc, rs->key, rs->nonce, pseudo, 1 + odcid_len + len - TAG_LEN, NULL, 0, tag,
		     NULL) < 0)
		return KX_QUIC_DECRYPT_FAILED;
	/* RFC 9000 section 17.2.5.2: a client discards a Retry without a token. */
	return token_len ? KX_QUIC_OK : KX_QUIC_MALFORMED;
}

enum kx_quic_rc kx_quic_initial_frames(const uint8_t *payload, size_t len,
				       kx_quic_crypto_fn cb, void *cb_ctx,
				       unsigned *ret_crypto_frames)
{
	struct kx_quic_datagram_info info;
	memset(&info, 0, sizeof(info));
	bool stop = false;
	enum kx_quic_rc rc = walk_frames(kx_rd_init(payload, len), cb, cb_ctx, &info, &stop);
	if (ret_crypto_frames)
		*ret_crypto_frames = info.crypto_frames;
	return rc;
}

bool kx_quic_looks_like_initial(const uint8_t *p, size_t len, struct kx_quic_datagram_info *info)
{
	if (len < KX_QUIC_MIN_CLIENT_DATAGRAM || len > KX_QUIC_MAX_DATAGRAM)
		return false;
	struct lhdr h;
	if (read_long_header(kx_rd_init(p, len), &h) != H_OK || h.type != PT_INITIAL)
		return false;
	/* A client's first DCID is at least 8 unpredictable bytes (RFC 9000
	 * section 7.2); the packet must hold a header-protection sample. */
	if (h.dcid_len < 8 || h.length < PN_MAX_LEN + SAMPLE_LEN)
		return false;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->version = h.version;
		memcpy(info->dcid, h.dcid, h.dcid_len);
		memcpy(info->scid, h.scid, h.scid_len);
		info->dcid_len = h.dcid_len;
		info->scid_len = h.scid_len;
		info->first_is_initial = true;
	}
	return true;
}

const char *kx_quic_rc_name(enum kx_quic_rc rc)
{
	switch (rc) {
	case KX_QUIC_OK: return "ok";
	case KX_QUIC_NOT_QUIC: return "not-quic";
	case KX_QUIC_NO_INITIAL: return "no-initial";
	case KX_QUIC_MALFORMED: return "malformed";
	case KX_QUIC_DECRYPT_FAILED: return "decrypt-failed";
	}
	return "?";
}
