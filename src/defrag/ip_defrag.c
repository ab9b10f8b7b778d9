/* SPDX-License-Identifier: BSD-2-Clause */
/* ip_defrag.c: IPv4 and IPv6 fragment reassembly (see defrag.h for the policy).
 *
 * What a fragment is (as the decoder reports it, struct kx_frag):
 *   IPv4, RFC 791: identification(16), flags DF/MF, offset(13) in 8-byte
 *     units; a datagram is (source, destination, protocol, identification).
 *     The reassembled header is the first fragment's, with MF and the offset
 *     cleared, the total length set and the checksum recomputed.
 *   IPv6, RFC 8200 section 4.5: Fragment header next(8) reserved(8)
 *     offset(13) res(2) M(1) identification(32), after the unfragmentable
 *     part; a datagram is (source, destination, identification). The
 *     reassembled packet is the first fragment's unfragmentable part, with
 *     the Next Header that named the Fragment header set to the Fragment
 *     header's next, the payload length set, then the fragmentable parts.
 *   Every fragment but the last carries a multiple of 8 bytes. Atomic
 *   fragments (offset 0, M = 0; RFC 6946) never come here: the decoder
 *   reads them as plain packets.
 *
 * The datagrams are also told apart by VLAN and outermost tunnel, as flows are.
 */
#include "kexwatch/defrag.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define NONE UINT32_MAX
#define BLOCK KX_DEFRAG_BLOCK
#define MAX_IP 65535u                          /* an IP length field's limit */
#define BLOCKS_PER ((MAX_IP + BLOCK - 1) / BLOCK)
#define EXPIRE_BUDGET 8                        /* datagrams timed out per fragment, at most */

struct dkey {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint32_t tunnel_id;
	uint16_t vlan;
	uint8_t ip_version, proto, tunnel; /* proto: IPv4 only, RFC 8200 leaves it out */
	uint8_t pad[3];
};

struct range {
	uint16_t start, end; /* data offsets, end exclusive; ends stay <= MAX_IP */
};

struct dgram {
	struct dkey k;
	uint64_t first_us;
	uint32_t hnext;            /* bucket chain; free list */
	uint32_t older, newer;     /* age list, oldest first */
	uint32_t hdr_block;        /* the first fragment's header, NONE until it came */
	uint32_t end;              /* data length, once the last fragment came */
	uint16_t hdr_len, nh_at;
	uint8_t next_proto;        /* the first fragment's upper protocol */
	uint8_t n_ranges;
	bool have_end;
	bool dead;                 /* IPv6 overlap: its later fragments are dropped too */
	struct range r[KX_DEFRAG_MAX_HOLES]; /* bytes held: sorted, apart */
	uint32_t block[BLOCKS_PER];          /* data offset / BLOCK -> pool block, or NONE */
};

struct kx_defrag {
	struct dgram *g;
	uint32_t *buckets;
	uint32_t mask, max, used, free_head, count;
	uint32_t oldest, newest;
	uint8_t *pool;
	uint32_t *free_blocks;     /* a stack of blocks given back */
	uint32_t n_blocks, n_free;
	uint32_t blocks_used;      /* blocks ever handed out; beyond it memory is untouched */
	uint8_t *out;              /* the reassembled packet */
	uint64_t timeout_us, now_us;
	uint64_t seed;
};

#define OUT_BYTES (KX_DEFRAG_MAX_HDR + MAX_IP)

/* Memory that costs nothing until touched. Not calloc: with MALLOC_PERTURB_
 * glibc fills even fresh mappings, and a 4 MiB pool would be resident at
 * start-up although fragments are rare. */
static void *reserve(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void unreserve(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

struct kx_defrag *kx_defrag_new(size_t memcap, uint32_t max_datagrams, uint32_t timeout_s)
{
	if (memcap < BLOCK || max_datagrams == 0 || max_datagrams > (1u << 24) ||
	    memcap / BLOCK >= NONE)
		return NULL;
	struct kx_defrag *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	uint32_t nb = 1;
	while (nb < max_datagrams)
		nb <<= 1;
	d->n_blocks = (uint32_t)(memcap / BLOCK);
	d->max = max_datagrams;
	d->mask = nb - 1;
	d->g = reserve((size_t)max_datagrams * sizeof(*d->g));
	d->buckets = malloc((size_t)nb * sizeof(*d->buckets));
	d->pool = reserve((size_t)d->n_blocks * BLOCK);
	d->free_blocks = reserve((size_t)d->n_blocks * sizeof(*d->free_blocks));
	d->out = reserve(OUT_BYTES);
	if (!d->g || !d->buckets || !d->pool || !d->free_blocks || !d->out) {
		kx_defrag_free(d);
		return NULL;
	}
	memset(d->buckets, 0xff, (size_t)nb * sizeof(*d->buckets));
	d->free_head = NONE;
	d->oldest = d->newest = NONE;
	d->timeout_us = (uint64_t)timeout_s * 1000000u;
	if (getrandom(&d->seed, sizeof(d->seed), GRND_NONBLOCK) != sizeof(d->seed))
		d->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)d;
	return d;
}

void kx_defrag_free(struct kx_defrag *d)
{
	if (!d)
		return;
	unreserve(d->g, (size_t)d->max * sizeof(*d->g));
	free(d->buckets);
	unreserve(d->pool, (size_t)d->n_blocks * BLOCK);
	unreserve(d->free_blocks, (size_t)d->n_blocks * sizeof(*d->free_blocks));
	unreserve(d->out, OUT_BYTES);
	free(d);
}

size_t kx_defrag_datagram_bytes(void)
{
	return sizeof(struct dgram);
}

size_t kx_defrag_memory(const struct kx_defrag *d)
{
	return (size_t)d->max * sizeof(*d->g) + ((size_t)d->mask + 1) * sizeof(*d->buckets) +
	       (size_t)d->n_blocks * (BLOCK + sizeof(*d->free_blocks)) + OUT_BYTES;
}

uint32_t kx_defrag_pending(const struct kx_defrag *d)
{
	return d->count;
}

/* ---- table ---- */

_Static_assert(sizeof(struct dkey) == 48, "datagram key is hashed as six words");

static uint32_t hash(const struct kx_defrag *d, const struct dkey *k)
{
	uint64_t w[6];
	memcpy(w, k, sizeof(w));
	uint64_t h = d->seed;
	for (int i = 0; i < 6; i++) {
		h ^= w[i] * 0xff51afd7ed558ccdull;
		h = (h << 31 | h >> 33) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 29;
	return (uint32_t)h & d->mask;
}

static uint32_t find(const struct kx_defrag *d, const struct dkey *k, uint32_t b)
{
	for (uint32_t i = d->buckets[b]; i != NONE; i = d->g[i].hnext)
		if (memcmp(&d->g[i].k, k, sizeof(*k)) == 0)
			return i;
	return NONE;
}

static void put_block(struct kx_defrag *d, uint32_t *blk)
{
	if (*blk != NONE) {
		d->free_blocks[d->n_free++] = *blk;
		*blk = NONE;
	}
}

static void drop_blocks(struct kx_defrag *d, struct dgram *g)
{
	for (uint32_t i = 0; i < BLOCKS_PER; i++)
		put_block(d, &g->block[i]);
	put_block(d, &g->hdr_block);
	g->n_ranges = 0;
}

static void release(struct kx_defrag *d, uint32_t gi)
{
	struct dgram *g = &d->g[gi];
	drop_blocks(d, g);
	uint32_t *link = &d->buckets[hash(d, &g->k)];
	while (*link != NONE && *link != gi)
		link = &d->g[*link].hnext;
	if (*link == gi)
		*link = g->hnext;
	if (g->older != NONE)
		d->g[g->older].newer = g->newer;
	else
		d->oldest = g->newer;
	if (g->newer != NONE)
		d->g[g->newer].older = g->older;
	else
		d->newest = g->older;
	g->hnext = d->free_head;
	d->free_head = gi;
	d->count--;
}

/* Drops the oldest datagram other than `keep` for room; false when none. */
static bool evict(struct kx_defrag *d, uint32_t keep, struct kx_counters *c)
{
	uint32_t gi = d->oldest;
	if (gi == keep && gi != NONE)
		gi = d->g[gi].newer;
	if (gi == NONE)
		return false;
	if (!d->g[gi].dead)
		c->defrag_memcap_drops++;
	release(d, gi);
	return true;
}

static void expire(struct kx_defrag *d, uint32_t budget, struct kx_counters *c)
{
	while (budget-- > 0 && d->oldest != NONE) {
		struct dgram *g = &d->g[d->oldest];
		if (g->first_us + d->timeout_us > d->now_us)
			return;
		if (!g->dead)
			c->defrag_incomplete++;
		release(d, d->oldest);
	}
}

static uint32_t create(struct kx_defrag *d, const struct dkey *k, uint32_t b,
		       struct kx_counters *c)
{
	if (d->free_head == NONE && d->used == d->max && !evict(d, NONE, c))
		return NONE;
	uint32_t gi;
	if (d->free_head != NONE) {
		gi = d->free_head;
		d->free_head = d->g[gi].hnext;
	} else {
		gi = d->used++;
	}
	struct dgram *g = &d->g[gi];
	memset(g, 0, offsetof(struct dgram, r));
	memset(g->block, 0xff, sizeof(g->block));
	g->k = *k;
	g->hdr_block = NONE;
	g->first_us = d->now_us;
	g->hnext = d->buckets[b];
	d->buckets[b] = gi;
	g->older = d->newest;
	g->newer = NONE;
	if (d->newest != NONE)
		d->g[d->newest].newer = gi;
	else
		d->oldest = gi;
	d->newest = gi;
	d->count++;
	return gi;
}

/* ---- bytes ---- */

static uint32_t alloc_block(struct kx_defrag *d, uint32_t keep, struct kx_counters *c)
{
	while (d->n_free == 0 && d->blocks_used == d->n_blocks)
		if (!evict(d, keep, c))
			return NONE;
	return d->n_free ? d->free_blocks[--d->n_free] : d->blocks_used++;
}

static uint8_t *block_at(struct kx_defrag *d, uint32_t blk)
{
	return d->pool + (size_t)blk * BLOCK;
}

/* Copies data[from - off, to - off) to datagram offsets [from, to). */
static bool store(struct kx_defrag *d, uint32_t gi, uint32_t off, uint32_t from, uint32_t to,
		  const uint8_t *data, struct kx_counters *c)
{
	while (from < to) {
		uint32_t bi = from / BLOCK, at = from % BLOCK;
		uint32_t n = BLOCK - at < to - from ? BLOCK - at : to - from;
		if (d->g[gi].block[bi] == NONE) {
			uint32_t blk = alloc_block(d, gi, c);
			if (blk == NONE)
				return false;
			d->g[gi].block[bi] = blk;
		}
		memcpy(block_at(d, d->g[gi].block[bi]) + at, data + (from - off), n);
		from += n;
	}
	return true;
}

/* Compares data with the held bytes [from, to). */
static bool same(struct kx_defrag *d, const struct dgram *g, uint32_t off, uint32_t from,
		 uint32_t to, const uint8_t *data)
{
	while (from < to) {
		uint32_t bi = from / BLOCK, at = from % BLOCK;
		uint32_t n = BLOCK - at < to - from ? BLOCK - at : to - from;
		if (memcmp(block_at(d, g->block[bi]) + at, data + (from - off), n) != 0)
			return false;
		from += n;
	}
	return true;
}

/* Stores the bytes of [off, end) not held yet: the first copy wins. */
static bool store_gaps(struct kx_defrag *d, uint32_t gi, uint32_t off, uint32_t end,
		       const uint8_t *data, struct kx_counters *c)
{
	const struct dgram *g = &d->g[gi]; /* store() may evict others, never gi */
	uint32_t at = off;
	for (uint8_t i = 0; i < g->n_ranges && at < end; i++) {
		if (g->r[i].end <= at)
			continue;
		if (g->r[i].start > at &&
		    !store(d, gi, off, at, g->r[i].start < end ? g->r[i].start : end, data, c))
			return false;
		at = g->r[i].end;
	}
	return at >= end || store(d, gi, off, at, end, data, c);
}

/* Bytes of [off, end) held already, and whether they equal data. */
static uint32_t held_bytes(struct kx_defrag *d, const struct dgram *g, uint32_t off,
			   uint32_t end, const uint8_t *data, bool *differ)
{
	uint32_t held = 0;
	*differ = false;
	for (uint8_t i = 0; i < g->n_ranges; i++) {
		uint32_t lo = g->r[i].start > off ? g->r[i].start : off;
		uint32_t hi = g->r[i].end < end ? g->r[i].end : end;
		if (hi <= lo)
			continue;
		held += hi - lo;
		if (!*differ && !same(d, g, off, lo, hi, data))
			*differ = true;
	}
	return held;
}

/* Merges [s, e) into the held ranges; false beyond KX_DEFRAG_MAX_HOLES. */
static bool add_range(struct dgram *g, uint32_t s, uint32_t e)
{
	struct range out[KX_DEFRAG_MAX_HOLES + 1];
	unsigned n = 0;
	bool placed = false;
	if (s == e)
		return true;
	for (unsigned i = 0; i < g->n_ranges; i++) {
		struct range r = g->r[i];
		if (r.end < s) {
			out[n++] = r;
		} else if (r.start > e) {
			if (!placed) {
				out[n++] = (struct range){ (uint16_t)s, (uint16_t)e };
				placed = true;
			}
			out[n++] = r;
		} else { /* overlapping or touching: one range */
			s = r.start < s ? r.start : s;
			e = r.end > e ? r.end : e;
		}
		if (n > KX_DEFRAG_MAX_HOLES)
			return false;
	}
	if (!placed)
		out[n++] = (struct range){ (uint16_t)s, (uint16_t)e };
	if (n > KX_DEFRAG_MAX_HOLES)
		return false;
	memcpy(g->r, out, n * sizeof(out[0]));
	g->n_ranges = (uint8_t)n;
	return true;
}

static void put16(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* The whole packet into d->out; its length. */
static uint32_t assemble(struct kx_defrag *d, const struct dgram *g)
{
	uint8_t *o = d->out;
	memcpy(o, block_at(d, g->hdr_block), g->hdr_len);
	for (uint32_t at = 0; at < g->end; at += BLOCK) {
		uint32_t n = g->end - at < BLOCK ? g->end - at : BLOCK;
		memcpy(o + g->hdr_len + at, block_at(d, g->block[at / BLOCK]), n);
	}
	if (g->k.ip_version == 4) {
		put16(o + 2, g->hdr_len + g->end);
		o[6] &= 0x40; /* DF stays; MF and the offset go */
		o[7] = 0;
		o[10] = o[11] = 0;
		uint32_t sum = 0;
		for (uint32_t i = 0; i + 1 < g->hdr_len; i += 2)
			sum += (uint32_t)o[i] << 8 | o[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(o + 10, ~sum & 0xffff);
	} else {
		put16(o + 4, g->hdr_len - 40u + g->end);
		o[g->nh_at] = g->next_proto;
	}
	return g->hdr_len + g->end;
}

/* ---- fragments ---- */

bool kx_defrag_add(struct kx_defrag *d, const struct kx_pkt *p, struct kx_counters *c,
		   const uint8_t **ret_ip, uint32_t *ret_len)
{
	if (p->ts_us > d->now_us)
		d->now_us = p->ts_us;
	expire(d, EXPIRE_BUDGET, c);
	c->defrag_fragments++;

	const struct kx_frag *f = &p->frag;
	bool v6 = p->ip_version == 6;
	uint32_t off = f->offset, end = off + p->payload_len;
	/* The length field the reassembled packet needs: IPv4 total length,
	 * IPv6 payload length (the extension headers before Fragment count). */
	uint32_t extra = v6 ? f->hdr_len - 40u : f->hdr_len;
	struct dkey k;
	memset(&k, 0, sizeof(k));
	memcpy(k.src, p->src, 16);
	memcpy(k.dst, p->dst, 16);
	k.id = f->id;
	k.tunnel_id = p->tunnel_id;
	k.vlan = p->vlan;
	k.ip_version = p->ip_version;
	k.proto = v6 ? 0 : p->proto;
	k.tunnel = p->tunnel;
	uint32_t b = hash(d, &k);
	uint32_t gi = find(d, &k, b);

	if (end + extra > MAX_IP) {
		c->defrag_too_big++;
		if (gi != NONE && !d->g[gi].dead)
			release(d, gi);
		return false;
	}
	if ((f->more && (p->payload_len == 0 || p->payload_len % 8 != 0)) ||
	    (off == 0 && f->hdr_len > KX_DEFRAG_MAX_HDR)) {
		c->defrag_malformed++;
		return false;
	}
	if (gi == NONE && (gi = create(d, &k, b, c)) == NONE)
		return false;
	struct dgram *g = &d->g[gi];
	if (g->dead)
		return false; /* the rest of a datagram refused for an overlap */

	/* Only the last fragment says where the datagram ends; nothing may lie beyond. */
	uint32_t top = g->n_ranges ? g->r[g->n_ranges - 1].end : 0;
	if ((!f->more && ((g->have_end && g->end != end) || top > end)) ||
	    (f->more && g->have_end && end > g->end)) {
		c->defrag_malformed++;
		release(d, gi);
		return false;
	}

	bool differ;
	uint32_t held = held_bytes(d, g, off, end, p->payload, &differ);
	if (held && held == end - off && !differ) {
		c->defrag_duplicates++;
		return false;
	}
	if (held && v6) {
		c->defrag_ip6_overlaps++;
		drop_blocks(d, g);
		g->dead = true;
		return false;
	}
	if (held) {
		c->defrag_overlaps++;
		if (differ)
			c->defrag_overlap_conflicts++;
		if (held == end - off)
			return false;
	}
	if (!f->more) {
		g->have_end = true;
		g->end = end;
	}
	if (off == 0 && g->hdr_block == NONE) {
		uint32_t blk = alloc_block(d, gi, c);
		if (blk == NONE) {
			c->defrag_memcap_drops++;
			release(d, gi);
			return false;
		}
		g->hdr_block = blk;
		memcpy(block_at(d, blk), p->l3, f->hdr_len);
		g->hdr_len = f->hdr_len;
		g->nh_at = f->nh_at;
		g->next_proto = p->proto;
	}
	if (!store_gaps(d, gi, off, end, p->payload, c) || !add_range(g, off, end)) {
		c->defrag_memcap_drops++;
		release(d, gi);
		return false;
	}

	if (!g->have_end || g->hdr_block == NONE || g->n_ranges != 1 || g->r[0].start != 0 ||
	    g->r[0].end != g->end)
		return false;
	/* The first fragment's header decides the length field's room. */
	if (g->end + (v6 ? g->hdr_len - 40u : g->hdr_len) > MAX_IP) {
		c->defrag_too_big++;
		release(d, gi);
		return false;
	}
	*ret_len = assemble(d, g);
	*ret_ip = d->out;
	release(d, gi);
	c->defrag_reassembled++;
	return true;
}

void kx_defrag_expire(struct kx_defrag *d, uint64_t now_us, struct kx_counters *c)
{
	if (now_us > d->now_us)
		d->now_us = now_us;
	expire(d, UINT32_MAX, c);
}

void kx_defrag_flush(struct kx_defrag *d, struct kx_counters *c)
{
	while (d->oldest != NONE) {
		if (!d->g[d->oldest].dead)
			c->defrag_incomplete++;
		release(d, d->oldest);
	}
}
