/* SPDX-License-Identifier: BSD-2-Clause */
/* dtls_record.c: DTLS records and handshake fragment headers.
 *
 * RFC 6347 section 4.1 (DTLS 1.2, and RFC 4347 for 1.0):
 *   DTLSPlaintext: type(1) version(2) epoch(2) sequence_number(6) length(2) fragment
 * RFC 9146 section 4: tls12_cid records (type 25) put a connection ID of
 *   negotiated length between sequence_number and length.
 * RFC 9147 section 4 (DTLS 1.3): plaintext records keep the header above;
 *   protected ones use the unified header, first byte 001CSLEE: C a
 *   connection ID follows, S a 16-bit (else 8-bit) sequence number, L a
 *   16-bit length follows (else the record takes the rest of the datagram),
 *   EE the low bits of the epoch.
 * RFC 6347 section 4.2.2: handshake header type(1) length(3) message_seq(2)
 *   fragment_offset(3) fragment_length(3).
 * RFC 7983 section 7: on a port shared with STUN/RTP (WebRTC) the first
 *   byte 20-63 is DTLS; anything else here is simply not a record.
 */
#include "kexwatch/dtls.h"

#include <string.h>

#define MAX_RECORD (16384 + 2048)

enum kx_dtls_rec_rc kx_dtls_record_next(struct kx_rd *r, struct kx_dtls_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (kx_rd_left(r) == 0)
		return KX_DTLS_REC_END;
	uint8_t b0 = kx_rd_u8(r);
	if ((b0 & 0xe0) == 0x20) {
		rec->unified = true;
		rec->encrypted = true;
		rec->epoch = b0 & 3;
		if (b0 & 0x10) {
			/* The connection ID's length was negotiated: unknown here. */
			rec->len = (uint32_t)kx_rd_left(r);
			kx_rd_skip(r, rec->len);
			return KX_DTLS_REC_OK;
		}
		rec->seq = (b0 & 0x08) ? kx_rd_u16(r) : kx_rd_u8(r);
		size_t n = kx_rd_left(r);
		if (b0 & 0x04)
			n = kx_rd_u16(r);
		rec->body = kx_rd_take(r, n);
		rec->len = (uint32_t)n;
		return r->bad ? KX_DTLS_REC_INVALID : KX_DTLS_REC_OK;
	}
	if (b0 < KX_TLS_CHANGE_CIPHER_SPEC || b0 > KX_DTLS_ACK)
		return KX_DTLS_REC_INVALID;
	rec->type = b0;
	rec->version = kx_rd_u16(r);
	rec->epoch = kx_rd_u16(r);
	uint64_t hi = kx_rd_u16(r);
	rec->seq = hi << 32 | kx_rd_u32(r);
	if (r->bad || (rec->version >> 8) != 0xfe)
		return KX_DTLS_REC_INVALID;
	if (b0 == KX_DTLS_TLS12_CID) {
		rec->encrypted = true;
		rec->len = (uint32_t)kx_rd_left(r);
		kx_rd_skip(r, rec->len);
		return KX_DTLS_REC_OK;
	}
	uint16_t n = kx_rd_u16(r);
	if (r->bad || n > MAX_RECORD || n > kx_rd_left(r))
		return KX_DTLS_REC_INVALID;
	rec->body = kx_rd_take(r, n);
	rec->len = n;
	rec->encrypted = rec->epoch != 0;
	return KX_DTLS_REC_OK;
}

bool kx_dtls_frag_next(struct kx_rd *r, struct kx_dtls_frag *f)
{
	f->type = kx_rd_u8(r);
	f->msg_len = kx_rd_u24(r);
	f->msg_seq = kx_rd_u16(r);
	f->off = kx_rd_u24(r);
	f->len = kx_rd_u24(r);
	f->data = kx_rd_take(r, f->len);
	if (r->bad)
		return false;
	/* Compared without forming off + len past the message. */
	return f->len <= f->msg_len && f->off <= f->msg_len - f->len;
}

bool kx_dtls_looks_like_client_hello(const uint8_t *data, size_t len)
{
	struct kx_rd r = kx_rd_init(data, len);
	struct kx_dtls_record rec;
	if (kx_dtls_record_next(&r, &rec) != KX_DTLS_REC_OK || rec.type != KX_TLS_HANDSHAKE ||
	    rec.encrypted || (rec.version != KX_DTLS_V10 && rec.version != KX_DTLS_V12))
		return false;
	struct kx_rd b = kx_rd_init(rec.body, rec.len);
	struct kx_dtls_frag f;
	/* 42 bytes: version, random, empty session_id and cookie, one suite,
	 * one compression method. A client's first or post-cookie hello. */
	if (!kx_dtls_frag_next(&b, &f) || f.type != KX_HS_CLIENT_HELLO || f.msg_len < 42 ||
	    f.msg_seq > 2)
		return false;
	if (f.off == 0 && f.len >= 2) {
		struct kx_rd v = kx_rd_init(f.data, f.len);
		uint16_t cv = kx_rd_u16(&v);
		if (cv != KX_DTLS_V10 && cv != KX_DTLS_V12)
			return false;
	}
	return true;
}

bool kx_dtls_is_first_client_hello(const uint8_t *data, size_t len)
{
	struct kx_rd r = kx_rd_init(data, len);
	struct kx_dtls_record rec;
	if (!kx_dtls_looks_like_client_hello(data, len) ||
	    kx_dtls_record_next(&r, &rec) != KX_DTLS_REC_OK || rec.seq != 0)
		return false;
	struct kx_rd b = kx_rd_init(rec.body, rec.len);
	struct kx_dtls_frag f;
	return kx_dtls_frag_next(&b, &f) && f.msg_seq == 0 && f.off == 0;
}
