/* SPDX-License-Identifier: BSD-2-Clause */
/* test_reasm.c: TCP first-bytes reassembly: order, gaps, overlaps, wraparound, depth. */
#include <stdlib.h>

#include "kexwatch/reasm.h"
#include "tap.h"

struct sinkbuf {
	uint8_t b[8192];
	uint32_t n;
	int calls;
};

static bool deliver(void *ctx, const uint8_t *d, uint32_t len)
{
	struct sinkbuf *s = ctx;
	memcpy(s->b + s->n, d, len);
	s->n += len;
	s->calls++;
	return false;
}

static uint8_t stream[6000];

static void push(struct kx_reasm *r, struct kx_reasm_env *env, struct sinkbuf *s, uint32_t isn,
		 uint32_t off, uint32_t len)
{
	kx_reasm_push(r, env, isn + off, stream + off, len, deliver, s);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 7 + 3);
	struct kx_bufpool *pool = kx_bufpool_new(1 << 20);
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_reasm_env env = { pool, &c, 4096, false };
	struct kx_reasm r;
	struct sinkbuf s;

	/* In order. */
	memset(&s, 0, sizeof(s));
	kx_reasm_start(&r, 1000);
	push(&r, &env, &s, 1000, 0, 1448);
	push(&r, &env, &s, 1000, 1448, 143);
	CHECK(s.n == 1591 && memcmp(s.b, stream, 1591) == 0, "in-order segments delivered whole");
	CHECK_EQ(kx_bufpool_in_use(pool), 0, "in-order data is never copied");

	/* Reordered, duplicated, with a retransmission: the capture in pcaps/. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 5);
	push(&r, &env, &s, 5, 1448, 143);
	CHECK(r.last_new, "a held segment is new");
	push(&r, &env, &s, 5, 1448, 143);
	CHECK(s.n == 0 && kx_reasm_has_gap(&r) && !r.last_new, "segment after a gap is held once");
	push(&r, &env, &s, 5, 0, 1448);
	CHECK(s.n == 1591 && memcmp(s.b, stream, 1591) == 0, "gap filled, stream complete");
	CHECK(!kx_reasm_has_gap(&r) && kx_bufpool_in_use(pool) == 0, "hold buffer released");
	push(&r, &env, &s, 5, 0, 1448);
	CHECK(s.n == 1591 && c.reasm_retransmits == 1, "full retransmission ignored and counted");
	CHECK(!r.last_new, "a retransmission brings nothing new");
	push(&r, &env, &s, 5, 1591, 10);
	CHECK(r.last_new, "the next segment does");

	/* Sequence wraparound: ISN just below 2^32. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	uint32_t isn = 0xffffff00u;
	kx_reasm_start(&r, isn);
	push(&r, &env, &s, isn, 0, 200);
	push(&r, &env, &s, isn, 400, 300);
	push(&r, &env, &s, isn, 200, 200);
	CHECK(s.n == 700 && memcmp(s.b, stream, 700) == 0, "stream crosses 2^32 intact");

	/* Overlapping segments with conflicting bytes: the first copy wins. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 0);
	push(&r, &env, &s, 0, 0, 100);
	push(&r, &env, &s, 0, 300, 100); /* held: bytes 300..399 */
	uint8_t evil[200];
	memset(evil, 0xee, sizeof(evil));
	uint64_t conflicts = c.reasm_overlap_conflicts;
	kx_reasm_push(&r, &env, 250, evil, 100, deliver, &s); /* 250..349, conflicts at 300..349 */
	CHECK_EQ(c.reasm_overlap_conflicts, conflicts + 1, "conflicting overlap counted");
	push(&r, &env, &s, 0, 100, 150);
	CHECK_EQ(s.n, 400, "all 400 bytes delivered");
	CHECK(memcmp(s.b + 300, stream + 300, 100) == 0, "held bytes (first copy) kept at 300..399");
	CHECK(s.b[260] == 0xee, "bytes 250..299 came from the only copy");

	/* In-order segment overlapping held bytes: held (first) copy wins there too. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 0);
	push(&r, &env, &s, 0, 50, 50); /* held 50..99 */
	memset(evil, 0xdd, sizeof(evil));
	conflicts = c.reasm_overlap_conflicts;
	kx_reasm_push(&r, &env, 0, evil, 120, deliver, &s);
	CHECK(s.n == 120 && s.b[10] == 0xdd && memcmp(s.b + 50, stream + 50, 50) == 0 &&
		      s.b[110] == 0xdd,
	      "gap filler used only where nothing was held");
	CHECK_EQ(c.reasm_overlap_conflicts, conflicts + 1, "conflict with held bytes counted");

	/* The reference (copy-always) path gives the same stream for the same
	 * reordered, duplicated segments. */
	struct kx_reasm_env cenv = { pool, &c, 4096, true };
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 77);
	kx_reasm_push(&r, &cenv, 77 + 1448, stream + 1448, 143, deliver, &s);
	kx_reasm_push(&r, &cenv, 77, stream, 1448, deliver, &s);
	kx_reasm_push(&r, &cenv, 77, stream, 1448, deliver, &s);
	kx_reasm_push(&r, &cenv, 77 + 1591, stream + 1591, 409, deliver, &s);
	CHECK(s.n == 2000 && memcmp(s.b, stream, 2000) == 0 && kx_bufpool_in_use(pool) == 0,
	      "copy-always path: same bytes, buffers returned");

	/* Depth cap. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 0);
	push(&r, &env, &s, 0, 0, 4000);
	push(&r, &env, &s, 0, 4000, 1000);
	CHECK(s.n == 4096 && r.depth_reached == false, "delivery stops exactly at the depth");
	push(&r, &env, &s, 0, 5000, 100);
	CHECK(r.depth_reached && c.reasm_depth_reached == 1, "bytes past the depth counted once");

	/* Data before the ISN (e.g. a retransmitted SYN payload) is trimmed. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 100);
	kx_reasm_push(&r, &env, 90, stream, 30, deliver, &s);
	CHECK(s.n == 20 && memcmp(s.b, stream + 10, 20) == 0, "bytes before offset 0 dropped");

	/* Too many holes: extra ranges are dropped, never overflow the list. */
	memset(&s, 0, sizeof(s));
	kx_reasm_release(&r, pool);
	kx_reasm_start(&r, 0);
	for (int i = 0; i < 20; i++)
		push(&r, &env, &s, 0, 100 + (uint32_t)i * 20, 10);
	CHECK(r.n_ranges == KX_REASM_MAX_RANGES && c.reasm_ooo_dropped >= 12,
	      "range list bounded at %d", KX_REASM_MAX_RANGES);
	kx_reasm_release(&r, pool);
	CHECK_EQ(kx_bufpool_in_use(pool), 0, "release returns every buffer");

	/* The memory cap refuses a hold buffer. */
	struct kx_bufpool *tiny = kx_bufpool_new(1024);
	struct kx_reasm_env tenv = { tiny, &c, 4096, false };
	memset(&s, 0, sizeof(s));
	kx_reasm_start(&r, 0);
	uint64_t hits = c.reasm_memcap_hits;
	push(&r, &tenv, &s, 0, 100, 10);
	CHECK(c.reasm_memcap_hits == hits + 1 && !kx_reasm_has_gap(&r), "memcap refusal counted");
	kx_reasm_release(&r, tiny);
	kx_bufpool_free(tiny);
	kx_bufpool_free(pool);
	return tap_done();
}
