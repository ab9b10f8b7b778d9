/* SPDX-License-Identifier: BSD-2-Clause */
/* tls_stream.c: the TLS record layer over one direction's reassembled bytes.
 *
 * RFC 8446 section 5.1 and RFC 5246 section 6.2.1: records of at most 2^14
 * bytes (+2048 for TLS 1.2 ciphertext) carry handshake messages that may be
 * split across records or packed several to a record; records of another
 * content type may not interleave with a fragmented handshake message.
 *
 * Bytes arrive in pieces of any size. A wanted message that lies whole in
 * one piece is handed over in place; one that spans pieces is assembled in
 * a pool buffer; unwanted messages (certificates, ...) are skipped without
 * being stored, so a long certificate chain costs no memory.
 */
#include <string.h>

#include "kexwatch/rd.h"
#include "kexwatch/tls.h"

#define MAX_RECORD (16384 + 2048)

void kx_tls_stream_init(struct kx_tls_stream *s, uint32_t want_mask, uint32_t max_msg)
{
	memset(s, 0, sizeof(*s));
	s->want_mask = want_mask;
	s->max_msg = max_msg;
}

void kx_tls_stream_partial(struct kx_tls_stream *s, uint32_t mask)
{
	s->want_mask |= mask;
	s->part_mask = mask;
}

void kx_tls_stream_bare(struct kx_tls_stream *s)
{
	s->no_records = true;
	s->rec_type = KX_TLS_HANDSHAKE;
	s->rec_left = UINT32_MAX; /* one endless "record" */
}

void kx_tls_stream_release(struct kx_tls_stream *s, struct kx_bufpool *pool)
{
	kx_buf_put(pool, s->buf, s->buf_cap);
	s->buf = NULL;
	s->buf_cap = 0;
}

static bool fail(struct kx_tls_stream *s, const struct kx_tls_env *env)
{
	if (!s->failed)
		env->c->tls_malformed++;
	s->failed = true;
	return true;
}

static bool wanted(const struct kx_tls_stream *s, uint8_t type)
{
	return type < 32 && (s->want_mask >> type & 1u);
}

static bool partial(const struct kx_tls_stream *s, uint8_t type)
{
	return type < 32 && (s->part_mask >> type & 1u);
}

/* Bytes of a partial message kept: at most KX_TLS_PART_MAX and max_msg. */
static uint32_t part_keep(const struct kx_tls_stream *s, uint32_t len)
{
	uint32_t cap = s->max_msg < KX_TLS_PART_MAX ? s->max_msg : KX_TLS_PART_MAX;
	return len < cap ? len : cap;
}

static bool deliver(struct kx_tls_stream *s, const struct kx_tls_env *env, uint8_t type,
		    const uint8_t *body, uint32_t len, uint32_t full_len, uint32_t start)
{
	struct kx_tls_msg m = {
		.content_type = KX_TLS_HANDSHAKE,
		.hs_type = type,
		.body = body,
		.len = len,
		.full_len = full_len,
		.start_off = start,
		.end_off = s->off,
	};
	return env->on_msg(env->ctx, &m);
}

/* Starts a message whose 4-byte header is complete. */
static bool begin_message(struct kx_tls_stream *s, const struct kx_tls_env *env)
{
	struct kx_rd h = kx_rd_init(s->hs_hdr, 4);
	s->hs_type = kx_rd_u8(&h);
	s->hs_len = kx_rd_u24(&h);
	s->hs_have = 0;
	s->hs_skip = !wanted(s, s->hs_type);
	s->hs_keep = s->hs_len;
	if (!s->hs_skip && partial(s, s->hs_type)) {
		s->hs_keep = part_keep(s, s->hs_len);
		if (kx_buf_grow(env->pool, &s->buf, &s->buf_cap, s->hs_keep ? s->hs_keep : 1, 0) < 0) {
			env->c->reasm_memcap_hits++;
			s->hs_skip = true; /* not worth the handshake: skipped */
		}
		return false;
	}
	if (!s->hs_skip) {
		if (s->hs_len > s->max_msg) {
			env->c->tls_hello_too_big++;
			s->failed = true;
			return true;
		}
		if (kx_buf_grow(env->pool, &s->buf, &s->buf_cap, s->hs_len ? s->hs_len : 1, 0) < 0) {
			env->c->reasm_memcap_hits++;
			s->failed = true;
			return true;
		}
	}
	return false;
}

/* Consumes n handshake-content bytes at p (all inside the current record). */
static bool handshake_bytes(struct kx_tls_stream *s, const struct kx_tls_env *env,
			    const uint8_t *p, uint32_t n)
{
	while (n) {
		if (s->hs_hdr_have == 0 && n >= 4 && !s->copy_always) {
			/* Fast path: the whole message is in this piece, parse in place. */
			struct kx_rd h = kx_rd_init(p, 4);
			uint8_t type = kx_rd_u8(&h);
			uint32_t mlen = kx_rd_u24(&h);
			if (mlen <= n - 4) {
				uint32_t start = s->off;
				bool want = wanted(s, type);
				/* A prefix, as the assembling path would give it. */
				uint32_t keep = want && partial(s, type) ? part_keep(s, mlen) : mlen;
				if (want && keep > s->max_msg && !partial(s, type)) {
					env->c->tls_hello_too_big++;
					s->failed = true;
					return true;
				}
				s->off += 4 + mlen;
				s->rec_left -= 4 + mlen;
				if (deliver(s, env, type, want ? p + 4 : NULL, want ? keep : mlen, mlen,
					    start))
					return true;
				p += 4 + mlen;
				n -= 4 + mlen;
				continue;
			}
		}
		if (s->hs_hdr_have < 4) {
			if (s->hs_hdr_have == 0)
				s->hs_start = s->off;
			uint32_t k = 4u - s->hs_hdr_have;
			if (k > n)
				k = n;
			memcpy(s->hs_hdr + s->hs_hdr_have, p, k);
			s->hs_hdr_have = (uint8_t)(s->hs_hdr_have + k);
			s->off += k;
			s->rec_left -= k;
			p += k;
			n -= k;
			if (s->hs_hdr_have < 4)
				return false;
			if (begin_message(s, env))
				return true;
		}
		uint32_t k = s->hs_len - s->hs_have;
		if (k > n)
			k = n;
		if (!s->hs_skip && s->hs_have < s->hs_keep) {
			uint32_t c = s->hs_keep - s->hs_have;
			memcpy(s->buf + s->hs_have, p, c < k ? c : k);
		}
		s->hs_have += k;
		s->off += k;
		s->rec_left -= k;
		p += k;
		n -= k;
		if (s->hs_have == s->hs_len) {
			s->hs_hdr_have = 0;
			if (deliver(s, env, s->hs_type, s->hs_skip ? NULL : s->buf,
				    s->hs_skip ? s->hs_len : s->hs_keep, s->hs_len, s->hs_start))
				return true;
		}
	}
	return false;
}

/* A complete record header is in s->rec_hdr. */
static bool begin_record(struct kx_tls_stream *s, const struct kx_tls_env *env)
{
	struct kx_rd h = kx_rd_init(s->rec_hdr, 5);
	uint8_t type = kx_rd_u8(&h);
	uint16_t version = kx_rd_u16(&h);
	uint16_t len = kx_rd_u16(&h);
	s->rec_hdr_have = 0;
	if (type < KX_TLS_CHANGE_CIPHER_SPEC || type > 24 || (version >> 8) != 3 || len > MAX_RECORD)
		return fail(s, env);
	env->c->tls_records++;
	s->rec_type = type;
	s->rec_left = len;
	s->rec_start = s->off - 5;
	if (type == KX_TLS_HANDSHAKE) {
		if (len == 0)
			return fail(s, env);
		return false;
	}
	/* A non-handshake record may not split a handshake message. */
	if (s->hs_hdr_have)
		return fail(s, env);
	struct kx_tls_msg m = {
		.content_type = type,
		.len = len,
		.start_off = s->rec_start,
		.end_off = s->off + len,
	};
	return env->on_msg(env->ctx, &m);
}

bool kx_tls_stream_feed(struct kx_tls_stream *s, const struct kx_tls_env *env,
			const uint8_t *data, uint32_t len)
{
	if (s->failed || s->encrypted)
		return true;
	if (s->no_records) {
		if (s->rec_left < len)
			s->rec_left = UINT32_MAX; /* 4 GiB of CRYPTO data: keep counting */
		return handshake_bytes(s, env, data, len);
	}
	while (len) {
		if (s->rec_left == 0) {
			uint32_t k = 5u - s->rec_hdr_have;
			if (k > len)
				k = len;
			memcpy(s->rec_hdr + s->rec_hdr_have, data, k);
			s->rec_hdr_have = (uint8_t)(s->rec_hdr_have + k);
			s->off += k;
			data += k;
			len -= k;
			if (s->rec_hdr_have < 5)
				return false;
			if (begin_record(s, env))
				return true;
			continue;
		}
		uint32_t n = s->rec_left < len ? s->rec_left : len;
		if (s->rec_type == KX_TLS_HANDSHAKE) {
			if (handshake_bytes(s, env, data, n))
				return true;
		} else {
			s->off += n;
			s->rec_left -= n;
		}
		data += n;
		len -= n;
	}
	return false;
}
