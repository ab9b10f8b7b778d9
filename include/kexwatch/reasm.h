/* SPDX-License-Identifier: BSD-2-Clause */
/* reasm.h: reassembly of the first bytes of one TCP direction.
 *
 * Stream offsets count from the first payload byte (SYN seq + 1, or the first
 * segment picked up mid-stream). In-order bytes are handed to the consumer
 * straight from the packet (zero copy); only segments that arrive ahead of a
 * gap are copied, into one buffer from the pool, and delivered once the gap
 * fills. Policy on overlaps: the first copy of a byte wins. Bytes already
 * delivered are final; held bytes that a later segment contradicts are kept
 * and the conflict is counted. Nothing past max_stream_bytes is looked at.
 */
#ifndef KEXWATCH_REASM_H
#define KEXWATCH_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "kexwatch/bufpool.h"
#include "kexwatch/counters.h"

#define KX_REASM_MAX_RANGES 8

struct kx_reasm {
	uint32_t isn;      /* sequence number of stream offset 0 */
	uint32_t next;     /* next stream offset the consumer expects */
	bool started;
	bool depth_reached;
	bool last_new;     /* the last pushed segment brought bytes not seen before */
	uint8_t n_ranges;  /* held out-of-order ranges, sorted, disjoint */
	uint8_t *ooo;      /* buffer for held bytes; offset o lives at ooo[o - ooo_base] */
	uint32_t ooo_cap;
	uint32_t ooo_base;
	struct { uint32_t start, end; } range[KX_REASM_MAX_RANGES];
};

struct kx_reasm_env {
	struct kx_bufpool *pool;
	struct kx_counters *c;
	uint32_t max_stream_bytes;
	bool copy_always;  /* no zero-copy delivery: every byte goes through the buffer */
};

/* Consumer of in-order bytes. Returns true to stop the stream (parser done). */
typedef bool (*kx_reasm_deliver_fn)(void *ctx, const uint8_t *data, uint32_t len);

/* Starts the stream so that `isn` is offset 0. */
void kx_reasm_start(struct kx_reasm *r, uint32_t isn);

/* Feeds one segment. Returns true when the consumer asked to stop. */
bool kx_reasm_push(struct kx_reasm *r, const struct kx_reasm_env *env, uint32_t seq,
		   const uint8_t *data, uint32_t len, kx_reasm_deliver_fn deliver, void *ctx);

/* True when bytes are held behind a gap that never filled. */
static inline bool kx_reasm_has_gap(const struct kx_reasm *r)
{
	return r->n_ranges > 0;
}

/* Returns the buffer to the pool and resets the state. */
void kx_reasm_release(struct kx_reasm *r, struct kx_bufpool *pool);

#endif
