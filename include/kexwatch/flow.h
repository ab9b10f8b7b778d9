/* SPDX-License-Identifier: BSD-2-Clause */
/* flow.h: the bidirectional flow table.
 *
 * Fixed capacity (max_flows slots, allocated once, pages touched only as
 * slots are used), chained buckets of slot indices with a seeded hash, and an
 * intrusive LRU list. Because packets arrive in time order, the LRU tail is
 * also the flow idle the longest, so idle expiry is "look at the tail",
 * exact and O(1) per packet instead of a periodic sweep. When the table is
 * full the tail is recycled: the oldest flow is the one least likely to
 * still produce a handshake.
 */
#ifndef KEXWATCH_FLOW_H
#define KEXWATCH_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "kexwatch/decode.h"

#define KX_NONE UINT32_MAX

/* Canonical key: endpoint "a" is the lower (address, port) of the two, so both
 * directions of a connection find the same entry. The outermost tunnel and
 * its id keep tenants with the same inner addresses apart (two VXLAN VNIs);
 * its kind has a word of its own because a GRE key uses all 32 bits of the
 * id (kx_pkt lays the two out alike: one copy). MPLS is the exception:
 * labels are chosen per direction by the next hop (RFC 3031 section 3.4),
 * so its id stays out of the key (0) and only the flow remembers it
 * (tunnel_tag). */
struct kx_flow_key {
	uint8_t a[16], b[16];
	uint16_t pa, pb;
	uint16_t vlan;
	uint8_t ip_version, proto;
	uint32_t tunnel_id;
	uint32_t tunnel;    /* enum kx_tunnel; a word, so no padding needs zeroing */
};

enum kx_flow_state {
	KX_FLOW_NEW = 0,     /* no payload yet */
	KX_FLOW_ACTIVE,      /* handshake being followed */
	KX_FLOW_BYPASS,      /* handshake final or flow not interesting: count only */
	KX_FLOW_PLAIN,       /* a session without a visible handshake: bytes counted
			      * until it ends, then one session record (plain.h) */
};

struct kx_flow {
	struct kx_flow_key key;
	uint8_t state;
	uint8_t client;     /* 0: "a" is the client, 1: "b", 2: not known yet */
	uint8_t syn_mask;   /* bit d: SYN seen from side d */
	uint8_t fin_mask;   /* bit d: FIN seen from side d */
	uint32_t tunnel_tag; /* tunnel id of the packet that opened the flow: with
			      * key.tunnel, the row's label (kx_tunnel_label) */
	uint64_t first_us, last_us;
	uint32_t hnext;     /* next slot in the bucket chain */
	uint32_t lru_prev, lru_next;
	uint32_t sess;      /* handshake context (engine's pool), KX_NONE if none */
	union {
		uint32_t isn[2];    /* per side: sequence number of the first payload byte */
		uint32_t bytes[2];  /* KX_FLOW_PLAIN: payload bytes per side (saturating) */
	};
	uint32_t first_pkt; /* packet number of the flow's first packet (evidence) */
	uint8_t pmask;      /* bit d: payload seen from side d */
	uint8_t outcome;    /* what the flow became, for the ledger (engine.c) */
	uint8_t app;        /* KX_FLOW_PLAIN: enum kx_app */
	uint8_t preason;    /* KX_FLOW_PLAIN: enum kx_reason */
};

struct kx_flow_table;

/* Returns NULL on allocation failure. */
struct kx_flow_table *kx_flow_table_new(uint32_t max_flows);
void kx_flow_table_free(struct kx_flow_table *t);

/* Builds the canonical key; *ret_dir is 0 when the packet comes from "a". */
void kx_flow_key_from_pkt(const struct kx_pkt *p, struct kx_flow_key *ret_key, int *ret_dir);

struct kx_flow *kx_flow_find(struct kx_flow_table *t, const struct kx_flow_key *k);

/* The same lookup in steps, so that a batch of packets can have its memory
 * loads in flight together: the table's hash of a key (seeded: the same
 * only within one table), a prefetch of the bucket, then of the bucket's
 * first flow (this one reads the bucket), then the lookup itself. A flow
 * table larger than the caches misses on nearly every packet otherwise. */
uint32_t kx_flow_hash(const struct kx_flow_table *t, const struct kx_flow_key *k);
void kx_flow_prefetch_bucket(const struct kx_flow_table *t, uint32_t hash);
void kx_flow_prefetch_flow(const struct kx_flow_table *t, uint32_t hash);
struct kx_flow *kx_flow_find_hashed(struct kx_flow_table *t, const struct kx_flow_key *k,
				    uint32_t hash);

/* Inserts a new flow; returns NULL when the table is full (the caller evicts
 * kx_flow_oldest() first). The flow starts zeroed, at the LRU head. */
struct kx_flow *kx_flow_insert(struct kx_flow_table *t, const struct kx_flow_key *k,
			       uint64_t now_us);

/* LRU resolution: a flow touched again within this many microseconds stays put. */
#define KX_FLOW_TOUCH_US 1000000u

/* Records activity: moves the flow to the LRU head, at most once per
 * KX_FLOW_TOUCH_US (last_us has that resolution too). */
void kx_flow_touch(struct kx_flow_table *t, struct kx_flow *f, uint64_t now_us);

void kx_flow_remove(struct kx_flow_table *t, struct kx_flow *f);

/* The least recently seen flow, or NULL when empty. */
struct kx_flow *kx_flow_oldest(struct kx_flow_table *t);

/* The flow seen just after f in LRU order (towards the newest), or NULL. */
struct kx_flow *kx_flow_newer(struct kx_flow_table *t, const struct kx_flow *f);

uint32_t kx_flow_count(const struct kx_flow_table *t);
uint32_t kx_flow_capacity(const struct kx_flow_table *t);

#endif
