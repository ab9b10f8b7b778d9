/* SPDX-License-Identifier: BSD-2-Clause */
/* flow_table.c: fixed-capacity bidirectional flow table (see flow.h). */
#include "kexwatch/flow.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

struct kx_flow_table {
	struct kx_flow *slots;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t cap;
	uint32_t used;       /* slots ever handed out; beyond it memory is untouched */
	uint32_t free_head;  /* recycled slots, linked through hnext */
	uint32_t count;
	uint32_t lru_head, lru_tail;
	uint64_t seed;
};

static void advise_huge(void *p, size_t len)
{
	/* Only the whole 2 MiB pages inside the block; advice is best effort. */
	uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
}

struct kx_flow_table *kx_flow_table_new(uint32_t max_flows)
{
	if (max_flows == 0 || max_flows > (1u << 30))
		return NULL;
	struct kx_flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	uint32_t nb = 1;
	while (nb < max_flows)
		nb <<= 1;
	/* calloc of large blocks maps zero pages: untouched slots cost nothing. */
	t->slots = calloc(max_flows, sizeof(*t->slots));
	t->buckets = malloc((size_t)nb * sizeof(*t->buckets));
	if (!t->slots || !t->buckets) {
		kx_flow_table_free(t);
		return NULL;
	}
	/* Lookups land anywhere in these arrays: on 4 KiB pages nearly every
	 * one missed the TLB too (measured: a third of kx_flow_find's time). */
	advise_huge(t->slots, (size_t)max_flows * sizeof(*t->slots));
	advise_huge(t->buckets, (size_t)nb * sizeof(*t->buckets));
	memset(t->buckets, 0xff, (size_t)nb * sizeof(*t->buckets));
	t->mask = nb - 1;
	t->cap = max_flows;
	t->free_head = KX_NONE;
	t->lru_head = t->lru_tail = KX_NONE;
	/* A secret seed keeps crafted traffic from piling into one bucket. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)t;
	return t;
}

void kx_flow_table_free(struct kx_flow_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->buckets);
	free(t);
}

/* Any total order makes the key canonical; two word compares are cheaper
 * than the memcmp call (2 % of the samples on the dense benchmark). */
static inline int addr_order(const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;
	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	return a1 < b1 ? -1 : a1 > b1;
}

void kx_flow_key_from_pkt(const struct kx_pkt *p, struct kx_flow_key *k, int *ret_dir)
{
	int c = addr_order(p->src, p->dst);
	int from_b = c > 0 || (c == 0 && p->sport > p->dport);
	if (!from_b) {
		memcpy(k->a, p->src, 16);
		memcpy(k->b, p->dst, 16);
		k->pa = p->sport;
		k->pb = p->dport;
	} else {
		memcpy(k->a, p->dst, 16);
		memcpy(k->b, p->src, 16);
		k->pa = p->dport;
		k->pb = p->sport;
	}
	k->vlan = p->vlan;
	k->ip_version = p->ip_version;
	k->proto = p->proto;
	memcpy(&k->tunnel_id, &p->tunnel_id, 8); /* and tunnel: one copy */
	*ret_dir = from_b;
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v * 0xff51afd7ed558ccdull;
	h = (h << 31 | h >> 33) * 0xc4ceb9fe1a85ec53ull;
	return h;
}

uint32_t kx_flow_hash(const struct kx_flow_table *t, const struct kx_flow_key *k)
{
	uint64_t w[6];
	memcpy(w, k, sizeof(w));
	uint64_t h = t->seed;
	for (int i = 0; i < 6; i++)
		h = mix(h, w[i]);
	h ^= h >> 29;
	return (uint32_t)h & t->mask;
}

_Static_assert(sizeof(struct kx_flow_key) == 48, "flow key is hashed as six words");
_Static_assert(offsetof(struct kx_flow_key, tunnel) == offsetof(struct kx_flow_key, tunnel_id) + 4 &&
		       offsetof(struct kx_pkt, tunnel) == offsetof(struct kx_pkt, tunnel_id) + 4,
	       "tunnel_id and tunnel are copied together");
_Static_assert(sizeof(struct kx_flow) == 104, "a flow slot is 104 bytes (112 with its bucket share)");

static inline bool key_eq(const struct kx_flow_key *a, const struct kx_flow_key *b)
{
	/* Six word compares, inlined: a memcmp call per lookup showed in profiles. */
	uint64_t x[6], y[6];
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) |
		(x[5] ^ y[5])) == 0;
}

struct kx_flow *kx_flow_find_hashed(struct kx_flow_table *t, const struct kx_flow_key *k,
				    uint32_t hash)
{
	for (uint32_t i = t->buckets[hash]; i != KX_NONE; i = t->slots[i].hnext)
		if (key_eq(&t->slots[i].key, k))
			return &t->slots[i];
	return NULL;
}

struct kx_flow *kx_flow_find(struct kx_flow_table *t, const struct kx_flow_key *k)
{
	return kx_flow_find_hashed(t, k, kx_flow_hash(t, k));
}

void kx_flow_prefetch_bucket(const struct kx_flow_table *t, uint32_t hash)
{
	__builtin_prefetch(&t->buckets[hash & t->mask]);
}

void kx_flow_prefetch_flow(const struct kx_flow_table *t, uint32_t hash)
{
	uint32_t i = t->buckets[hash & t->mask];
	if (i != KX_NONE)
		__builtin_prefetch(&t->slots[i]);
}

static void lru_unlink(struct kx_flow_table *t, struct kx_flow *f)
{
	if (f->lru_prev != KX_NONE)
		t->slots[f->lru_prev].lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next != KX_NONE)
		t->slots[f->lru_next].lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
}

static void lru_push_head(struct kx_flow_table *t, struct kx_flow *f)
{
	uint32_t i = (uint32_t)(f - t->slots);
	f->lru_prev = KX_NONE;
	f->lru_next = t->lru_head;
	if (t->lru_head != KX_NONE)
		t->slots[t->lru_head].lru_prev = i;
	t->lru_head = i;
	if (t->lru_tail == KX_NONE)
		t->lru_tail = i;
}

struct kx_flow *kx_flow_insert(struct kx_flow_table *t, const struct kx_flow_key *k,
			       uint64_t now_us)
{
	uint32_t i;
	if (t->free_head != KX_NONE) {
		i = t->free_head;
		t->free_head = t->slots[i].hnext;
	} else if (t->used < t->cap) {
		i = t->used++;
	} else {
		return NULL;
	}
	struct kx_flow *f = &t->slots[i];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	/* first_us: the time of a session without a handshake (its hourly row
	 * and the store's capture-span check). */
	f->first_us = f->last_us = now_us;
	f->sess = KX_NONE;
	f->client = 2;
	uint32_t b = kx_flow_hash(t, k);
	f->hnext = t->buckets[b];
	t->buckets[b] = i;
	lru_push_head(t, f);
	t->count++;
	return f;
}

void kx_flow_touch(struct kx_flow_table *t, struct kx_flow *f, uint64_t now_us)
{
	/* The LRU order is kept at TOUCH_GRANULARITY: a flow seen again within
	 * it is not moved, which saves the neighbours' cache lines on every bulk
	 * packet. Idle expiry becomes late by at most that much. */
	if (now_us < f->last_us + KX_FLOW_TOUCH_US)
		return;
	f->last_us = now_us;
	if (t->lru_head == (uint32_t)(f - t->slots))
		return;
	lru_unlink(t, f);
	lru_push_head(t, f);
}

void kx_flow_remove(struct kx_flow_table *t, struct kx_flow *f)
{
	uint32_t i = (uint32_t)(f - t->slots);
	uint32_t *link = &t->buckets[kx_flow_hash(t, &f->key)];
	while (*link != KX_NONE && *link != i)
		link = &t->slots[*link].hnext;
	if (*link == i)
		*link = f->hnext;
	lru_unlink(t, f);
	f->hnext = t->free_head;
	t->free_head = i;
	t->count--;
}

struct kx_flow *kx_flow_oldest(struct kx_flow_table *t)
{
	return t->lru_tail == KX_NONE ? NULL : &t->slots[t->lru_tail];
}

struct kx_flow *kx_flow_newer(struct kx_flow_table *t, const struct kx_flow *f)
{
	return f->lru_prev == KX_NONE ? NULL : &t->slots[f->lru_prev];
}

uint32_t kx_flow_count(const struct kx_flow_table *t)
{
	return t->count;
}

uint32_t kx_flow_capacity(const struct kx_flow_table *t)
{
	return t->cap;
}
