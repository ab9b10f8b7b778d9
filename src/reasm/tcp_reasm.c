/* SPDX-License-Identifier: BSD-2-Clause */
/* tcp_reasm.c: first-bytes TCP reassembly (see reasm.h). Sequence numbers
 * use serial arithmetic (RFC 1982 style): offsets are `seq - isn` in 32 bits,
 * so wraparound needs no special case. */
#include "kexwatch/reasm.h"

#include <string.h>

void kx_reasm_start(struct kx_reasm *r, uint32_t isn)
{
	memset(r, 0, sizeof(*r));
	r->isn = isn;
	r->started = true;
}

void kx_reasm_release(struct kx_reasm *r, struct kx_bufpool *pool)
{
	kx_buf_put(pool, r->ooo, r->ooo_cap);
	memset(r, 0, sizeof(*r));
}

static void drop_range(struct kx_reasm *r, unsigned i)
{
	memmove(&r->range[i], &r->range[i + 1], (r->n_ranges - i - 1) * sizeof(r->range[0]));
	r->n_ranges--;
}

/* Delivers held bytes that now continue the stream. */
static bool drain(struct kx_reasm *r, const struct kx_reasm_env *env, kx_reasm_deliver_fn deliver,
		  void *ctx)
{
	while (r->n_ranges && r->range[0].start <= r->next) {
		uint32_t end = r->range[0].end;
		drop_range(r, 0);
		if (end <= r->next)
			continue;
		const uint8_t *d = r->ooo + (r->next - r->ooo_base);
		uint32_t n = end - r->next;
		r->next = end;
		if (deliver(ctx, d, n))
			return true;
	}
	if (!r->n_ranges && r->ooo) {
		kx_buf_put(env->pool, r->ooo, r->ooo_cap);
		r->ooo = NULL;
		r->ooo_cap = 0;
	}
	return false;
}

/* Copies [start, end) into the hold buffer; the first copy of a byte wins. */
static void hold(struct kx_reasm *r, const struct kx_reasm_env *env, uint32_t start, uint32_t end,
		 const uint8_t *data)
{
	env->c->reasm_ooo_segments++;
	if (!r->ooo)
		r->ooo_base = r->next;
	if (kx_buf_grow(env->pool, &r->ooo, &r->ooo_cap, end - r->ooo_base,
			r->ooo ? r->ooo_cap : 0) < 0) {
		env->c->reasm_memcap_hits++;
		env->c->reasm_ooo_dropped++;
		return;
	}
	/* Compare with the bytes already held, fill the uncovered parts. */
	uint32_t pos = start;
	for (unsigned i = 0; i < r->n_ranges && pos < end; i++) {
		uint32_t rs = r->range[i].start, re = r->range[i].end;
		if (re <= pos)
			continue;
		if (rs >= end)
			break;
		if (rs > pos) {
			memcpy(r->ooo + (pos - r->ooo_base), data + (pos - start), rs - pos);
			r->last_new = true;
			pos = rs;
		}
		uint32_t ov_end = re < end ? re : end;
		if (memcmp(r->ooo + (pos - r->ooo_base), data + (pos - start), ov_end - pos) != 0)
			env->c->reasm_overlap_conflicts++;
		pos = ov_end;
	}
	if (pos < end) {
		memcpy(r->ooo + (pos - r->ooo_base), data + (pos - start), end - pos);
		r->last_new = true;
	}
	if (!r->last_new)
		return; /* a duplicate of held bytes */

	/* Insert [start, end) into the sorted range list, merging neighbours. */
	unsigned i = 0;
	while (i < r->n_ranges && r->range[i].end < start)
		i++;
	unsigned j = i;
	uint32_t ns = start, ne = end;
	while (j < r->n_ranges && r->range[j].start <= end) {
		if (r->range[j].start < ns)
			ns = r->range[j].start;
		if (r->range[j].end > ne)
			ne = r->range[j].end;
		j++;
	}
	if (j == i && r->n_ranges == KX_REASM_MAX_RANGES) {
		/* Too fragmented to track: the bytes stay in the buffer but unreferenced,
		 * and the retransmission will bring them again. */
		env->c->reasm_ooo_dropped++;
		return;
	}
	unsigned removed = j - i;
	if (removed == 0) {
		memmove(&r->range[i + 1], &r->range[i], (r->n_ranges - i) * sizeof(r->range[0]));
		r->n_ranges++;
	} else if (removed > 1) {
		memmove(&r->range[i + 1], &r->range[j], (r->n_ranges - j) * sizeof(r->range[0]));
		r->n_ranges -= (uint8_t)(removed - 1);
	}
	r->range[i].start = ns;
	r->range[i].end = ne;
}

bool kx_reasm_push(struct kx_reasm *r, const struct kx_reasm_env *env, uint32_t seq,
		   const uint8_t *data, uint32_t len, kx_reasm_deliver_fn deliver, void *ctx)
{
	r->last_new = false;
	if (len == 0 || r->depth_reached)
		return false;
	int32_t rel = (int32_t)(seq - r->isn);
	if (rel < 0) {
		/* Starts before the stream: keep only what lies inside it. */
		if ((uint32_t)-(int64_t)rel >= len) {
			env->c->reasm_retransmits++;
			return false;
		}
		data += (uint32_t)-(int64_t)rel;
		len -= (uint32_t)-(int64_t)rel;
		rel = 0;
	}
	uint64_t start = (uint32_t)rel;
	uint64_t end = start + len;
	if (end > env->max_stream_bytes) {
		if (start >= env->max_stream_bytes) {
			if (!r->depth_reached)
				env->c->reasm_depth_reached++;
			r->depth_reached = true;
			return false;
		}
		end = env->max_stream_bytes;
	}
	if (start > r->next) {
		hold(r, env, (uint32_t)start, (uint32_t)end, data);
		return false;
	}
	if (end <= r->next) {
		env->c->reasm_retransmits++;
		return false;
	}
	if (env->copy_always) {
		/* Reference path for the benchmark: hold, then deliver from the buffer. */
		uint32_t from = start > r->next ? (uint32_t)start : r->next;
		hold(r, env, from, (uint32_t)end, data + (from - start));
		env->c->reasm_ooo_segments--; /* not out of order, only copied */
		return drain(r, env, deliver, ctx);
	}
	r->last_new = true;
	/* Deliver [next, end): packet bytes where nothing is held, held bytes
	 * (the first copy) where a range already covers them. */
	while (r->next < end) {
		if (r->n_ranges && r->range[0].start <= r->next) {
			uint32_t re = r->range[0].end < end ? r->range[0].end : (uint32_t)end;
			if (re > r->next &&
			    memcmp(r->ooo + (r->next - r->ooo_base), data + (r->next - start),
				   re - r->next) != 0)
				env->c->reasm_overlap_conflicts++;
			if (drain(r, env, deliver, ctx))
				return true;
			continue;
		}
		uint32_t lim = (uint32_t)end;
		if (r->n_ranges && r->range[0].start < lim)
			lim = r->range[0].start;
		const uint8_t *d = data + (r->next - start);
		uint32_t n = lim - r->next;
		r->next = lim;
		if (deliver(ctx, d, n))
			return true;
	}
	return drain(r, env, deliver, ctx);
}
