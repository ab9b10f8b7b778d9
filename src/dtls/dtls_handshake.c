/* SPDX-License-Identifier: BSD-2-Clause */
/* dtls_handshake.c: handshake message reassembly of one DTLS direction
 * (see dtls.h).
 *
 * RFC 6347 section 4.2.2 / RFC 9147 section 5.2: each side numbers its
 * handshake messages from 0 (message_seq); a receiver buffers messages ahead
 * of the next expected number and discards those already processed, which is
 * how retransmitted flights are recognised. Fragments of one message may
 * overlap and arrive in any order; every fragment repeats the message type
 * and length, and one that contradicts the first is dropped (the first copy
 * wins, as for TCP). Memory: KX_DTLS_SLOTS slots per direction, a pool
 * buffer only for wanted messages that do not arrive whole in one fragment.
 */
#include <string.h>

#include "kexwatch/dtls.h"

void kx_dtls_stream_init(struct kx_dtls_stream *s, uint32_t want_mask, uint32_t max_msg,
			 bool copy_always)
{
	memset(s, 0, sizeof(*s));
	s->want_mask = want_mask;
	s->max_msg = max_msg;
	s->copy_always = copy_always;
}

static void slot_free(struct kx_dtls_slot *sl, struct kx_bufpool *pool)
{
	kx_buf_put(pool, sl->buf, sl->cap);
	memset(sl, 0, sizeof(*sl));
}

void kx_dtls_stream_release(struct kx_dtls_stream *s, struct kx_bufpool *pool)
{
	for (unsigned i = 0; i < KX_DTLS_SLOTS; i++)
		slot_free(&s->slot[i], pool);
}

void kx_dtls_stream_rebase(struct kx_dtls_stream *s)
{
	s->have_base = false;
}

static bool wanted(const struct kx_dtls_stream *s, uint8_t type)
{
	return type < 32 && (s->want_mask >> type & 1u);
}

static bool is_hello(uint8_t type)
{
	return type == KX_HS_CLIENT_HELLO || type == KX_HS_SERVER_HELLO ||
	       type == KX_HS_HELLO_VERIFY_REQUEST;
}

static bool fail(struct kx_dtls_stream *s)
{
	s->failed = true;
	return true;
}

static bool deliver(const struct kx_dtls_env *env, uint8_t type, uint16_t seq,
		    const uint8_t *body, uint32_t len)
{
	uint32_t start = kx_dtls_voff(seq, 0);
	struct kx_tls_msg m = {
		.content_type = KX_TLS_HANDSHAKE,
		.hs_type = type,
		.body = body,
		.len = len,
		.full_len = len,
		.start_off = start,
		.end_off = kx_dtls_voff(seq, len),
	};
	return env->on_msg(env->ctx, &m);
}

static bool complete(const struct kx_dtls_slot *sl)
{
	return sl->len == 0 ||
	       (sl->n_ranges == 1 && sl->range[0].start == 0 && sl->range[0].end == sl->len);
}

static struct kx_dtls_slot *find(struct kx_dtls_stream *s, uint16_t seq)
{
	for (unsigned i = 0; i < KX_DTLS_SLOTS; i++)
		if (s->slot[i].used && s->slot[i].seq == seq)
			return &s->slot[i];
	return NULL;
}

/* After a rebase (the callback may ask for one while messages are held): a
 * hello already held gives the numbering, the lowest one first. */
static bool base_from_held(struct kx_dtls_stream *s)
{
	const struct kx_dtls_slot *h = NULL;
	for (unsigned i = 0; i < KX_DTLS_SLOTS; i++) {
		const struct kx_dtls_slot *c = &s->slot[i];
		if (c->used && is_hello(c->type) && (!h || c->seq < h->seq))
			h = c;
	}
	if (!h)
		return false;
	s->have_base = true;
	s->next_seq = h->seq;
	return true;
}

/* Delivers held messages that are now next in line; frees those behind. */
static bool drain(struct kx_dtls_stream *s, const struct kx_dtls_env *env)
{
	for (;;) {
		if (!s->have_base && !base_from_held(s))
			return false;
		for (unsigned i = 0; i < KX_DTLS_SLOTS; i++) {
			struct kx_dtls_slot *sl = &s->slot[i];
			if (sl->used && (uint16_t)(sl->seq - s->next_seq) >= 0x8000u)
				slot_free(sl, env->pool); /* behind the base */
		}
		struct kx_dtls_slot *sl = find(s, s->next_seq);
		if (sl && complete(sl)) {
			s->next_seq++;
			/* The body stays valid until the callback returns. */
			bool stop = deliver(env, sl->type, sl->seq, sl->want ? sl->buf : NULL,
					    sl->len);
			slot_free(sl, env->pool);
			if (stop)
				return true;
			continue;
		}
		/* A whole hello begins a new flight (a ClientHello sent again
		 * with the cookie, a ServerHello after a HelloVerifyRequest): the
		 * messages before it that never completed are given up. */
		struct kx_dtls_slot *h = NULL;
		for (unsigned i = 0; i < KX_DTLS_SLOTS; i++) {
			struct kx_dtls_slot *c = &s->slot[i];
			if (c->used && is_hello(c->type) && complete(c) &&
			    (!h || (uint16_t)(c->seq - s->next_seq) < (uint16_t)(h->seq - s->next_seq)))
				h = c;
		}
		if (!h)
			return false;
		for (unsigned i = 0; i < KX_DTLS_SLOTS; i++) {
			struct kx_dtls_slot *c = &s->slot[i];
			if (c->used && (uint16_t)(c->seq - s->next_seq) < (uint16_t)(h->seq - s->next_seq)) {
				env->c->dtls_fragments_dropped++;
				slot_free(c, env->pool);
			}
		}
		s->next_seq = h->seq;
	}
}

/* Adds [start, end) to a slot's ranges, copying the bytes not held yet.
 * Returns 1 when new bytes came, 0 for a duplicate, -1 when the range list
 * is full (the fragment is dropped; a retransmission brings it again). */
static int add_range(struct kx_dtls_slot *sl, uint32_t start, uint32_t end, const uint8_t *data,
		     struct kx_counters *c)
{
	bool fresh = false;
	uint32_t pos = start;
	for (unsigned i = 0; i < sl->n_ranges && pos < end; i++) {
		uint32_t rs = sl->range[i].start, re = sl->range[i].end;
		if (re <= pos)
			continue;
		if (rs >= end)
			break;
		if (rs > pos) {
			if (sl->want)
				memcpy(sl->buf + pos, data + (pos - start), rs - pos);
			fresh = true;
			pos = rs;
		}
		uint32_t ov = re < end ? re : end;
		if (sl->want && memcmp(sl->buf + pos, data + (pos - start), ov - pos) != 0)
			c->dtls_conflicts++;
		pos = ov;
	}
	if (pos < end) {
		if (sl->want)
			memcpy(sl->buf + pos, data + (pos - start), end - pos);
		fresh = true;
	}
	if (!fresh)
		return 0;
	/* Merge into the sorted list; ranges that touch become one. */
	unsigned i = 0;
	while (i < sl->n_ranges && sl->range[i].end < start)
		i++;
	unsigned j = i;
	uint32_t ns = start, ne = end;
	while (j < sl->n_ranges && sl->range[j].start <= end) {
		if (sl->range[j].start < ns)
			ns = sl->range[j].start;
		if (sl->range[j].end > ne)
			ne = sl->range[j].end;
		j++;
	}
	unsigned removed = j - i;
	if (removed == 0) {
		if (sl->n_ranges == KX_DTLS_RANGES)
			return -1;
		memmove(&sl->range[i + 1], &sl->range[i], (sl->n_ranges - i) * sizeof(sl->range[0]));
		sl->n_ranges++;
	} else if (removed > 1) {
		memmove(&sl->range[i + 1], &sl->range[j], (sl->n_ranges - j) * sizeof(sl->range[0]));
		sl->n_ranges = (uint8_t)(sl->n_ranges - (removed - 1));
	}
	sl->range[i].start = ns;
	sl->range[i].end = ne;
	return 1;
}

static bool fragment(struct kx_dtls_stream *s, const struct kx_dtls_env *env,
		     const struct kx_dtls_frag *f)
{
	if (!s->have_base && is_hello(f->type)) {
		s->have_base = true;
		s->next_seq = f->msg_seq;
	}
	if (s->have_base) {
		uint16_t ahead = (uint16_t)(f->msg_seq - s->next_seq);
		if (ahead >= 0x8000u) {
			env->c->dtls_retransmits++; /* already delivered */
			return false;
		}
		if (ahead >= KX_DTLS_AHEAD) {
			env->c->dtls_fragments_dropped++;
			return false;
		}
	}
	bool want = wanted(s, f->type);
	/* An optional message (the certificate) too large is skipped, not fatal. */
	if (want && f->msg_len > s->max_msg && (s->opt_mask >> f->type & 1u))
		want = false;
	if (want && f->msg_len > s->max_msg) {
		env->c->tls_hello_too_big++;
		return fail(s);
	}
	struct kx_dtls_slot *sl = find(s, f->msg_seq);
	/* Fast path: the whole message in one fragment, next in line. */
	if (!sl && s->have_base && f->msg_seq == s->next_seq && f->off == 0 &&
	    f->len == f->msg_len && (!want || !s->copy_always)) {
		if (env->on_frag)
			env->on_frag(env->ctx, f->type, kx_dtls_voff(f->msg_seq, 0), f->len);
		s->next_seq++;
		if (deliver(env, f->type, f->msg_seq, want ? f->data : NULL, f->len))
			return true;
		return drain(s, env);
	}
	if (sl && (sl->type != f->type || sl->len != f->msg_len)) {
		env->c->dtls_conflicts++;
		return false;
	}
	if (!sl) {
		for (unsigned i = 0; i < KX_DTLS_SLOTS && !sl; i++)
			if (!s->slot[i].used)
				sl = &s->slot[i];
		if (!sl) {
			env->c->dtls_fragments_dropped++;
			return false;
		}
		if (want && kx_buf_grow(env->pool, &sl->buf, &sl->cap, f->msg_len ? f->msg_len : 1,
					0) < 0) {
			env->c->reasm_memcap_hits++;
			if (!(s->opt_mask >> f->type & 1u))
				return fail(s);
			want = false;
		}
		sl->used = true;
		sl->want = want;
		sl->type = f->type;
		sl->seq = f->msg_seq;
		sl->len = f->msg_len;
	}
	int rc = f->len ? add_range(sl, f->off, f->off + f->len, f->data, env->c) : 0;
	if (rc < 0) {
		env->c->dtls_fragments_dropped++;
		return false;
	}
	if (rc == 0 && f->len) {
		env->c->dtls_retransmits++;
		return false;
	}
	if (rc > 0 && env->on_frag)
		env->on_frag(env->ctx, f->type, kx_dtls_voff(f->msg_seq, f->off), f->len);
	return drain(s, env);
}

bool kx_dtls_stream_feed(struct kx_dtls_stream *s, const struct kx_dtls_env *env,
			 const uint8_t *data, size_t len)
{
	if (s->failed)
		return true;
	struct kx_rd r = kx_rd_init(data, len);
	struct kx_dtls_record rec;
	enum kx_dtls_rec_rc rc;
	while ((rc = kx_dtls_record_next(&r, &rec)) == KX_DTLS_REC_OK) {
		env->c->dtls_records++;
		if (rec.encrypted && rec.type != KX_TLS_ALERT) {
			/* Finished and everything after it; an alert still says
			 * the handshake ended, whatever it says. */
			env->c->dtls_encrypted++;
			continue;
		}
		if (rec.type != KX_TLS_HANDSHAKE) {
			struct kx_tls_msg m = { .content_type = rec.type, .len = rec.len };
			if (env->on_msg(env->ctx, &m))
				return true;
			continue;
		}
		struct kx_rd b = kx_rd_init(rec.body, rec.len);
		while (kx_rd_left(&b)) {
			struct kx_dtls_frag f;
			if (!kx_dtls_frag_next(&b, &f)) {
				env->c->dtls_invalid++;
				break; /* the rest of this record */
			}
			if (fragment(s, env, &f))
				return true;
		}
	}
	if (rc == KX_DTLS_REC_INVALID)
		env->c->dtls_invalid++;
	return false;
}

enum kx_parse_rc kx_dtls_parse_hello_verify_request(const uint8_t *body, size_t len,
						     uint16_t *ret_version, uint8_t *ret_cookie_len)
{
	struct kx_rd r = kx_rd_init(body, len);
	uint16_t version = kx_rd_u16(&r);
	struct kx_rd cookie = kx_rd_vec(&r, 1);
	if (!kx_rd_done(&r))
		return KX_PARSE_MALFORMED;
	if ((version >> 8) != 0xfe)
		return KX_PARSE_NOT_MINE;
	*ret_version = version;
	*ret_cookie_len = (uint8_t)kx_rd_left(&cookie);
	return KX_PARSE_OK;
}
