/* SPDX-License-Identifier: BSD-2-Clause */
/* defrag.h: IPv4 and IPv6 fragment reassembly, between decode and the flow table.
 *
 * The decoder describes a fragment (KX_DECODE_FRAGMENT, struct kx_frag);
 * kx_defrag_add keeps its bytes and, once a datagram is whole, hands back
 * the reassembled IP packet, which the engine decodes from its IP header
 * like any other (kx_decode_datagram): so fragments inside tunnels and
 * tunnels inside fragmented datagrams both work.
 *
 * Memory is bounded and allocated once: max_datagrams descriptors and a
 * pool of memcap bytes in 1 KiB blocks. A datagram's bytes sit at their
 * offset in its blocks, so fragments arriving in any order cost no copies
 * beyond the one into the pool and the one out when it completes. When the
 * pool or the descriptors run out, the oldest datagram is dropped and
 * counted. A datagram is keyed by addresses, identification, IPv4 protocol,
 * VLAN and outermost tunnel; it is dropped (counted) when not complete
 * timeout_s after its first fragment.
 *
 * Policy for overlapping fragments:
 *  - IPv6: the whole datagram is dropped, and its later fragments with it
 *    (RFC 5722, RFC 8200 section 4.5), unless the new fragment's bytes were
 *    all held already and are the same (an exact duplicate: ignored).
 *  - IPv4: the first copy of a byte wins, as in the TCP reassembler; later
 *    overlapping fragments add only the bytes not held yet and are counted
 *    (defrag_overlaps, and defrag_overlap_conflicts when their bytes differ).
 *    Linux since 4.19 drops such datagrams instead; a conflict count says
 *    when the two views may differ.
 * A fragment that ends past 65535 bytes of datagram drops the datagram.
 * The reassembled packet carries the number and time of the fragment that
 * completed it (the last to arrive, not the one with the highest offset).
 */
#ifndef KEXWATCH_DEFRAG_H
#define KEXWATCH_DEFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/counters.h"
#include "kexwatch/decode.h"

#define KX_DEFRAG_BLOCK 1024u           /* pool block size, bytes */
#define KX_DEFRAG_MAX_HOLES 24          /* disjoint byte ranges held per datagram */
#define KX_DEFRAG_MAX_HDR 512u          /* IPv6 header + unfragmentable extension headers */

struct kx_defrag;

/* Returns NULL when memcap is under one block, max_datagrams 0, or memory
 * cannot be had. */
struct kx_defrag *kx_defrag_new(size_t memcap, uint32_t max_datagrams, uint32_t timeout_s);
void kx_defrag_free(struct kx_defrag *d);

/* Takes fragment p (decoded as KX_DECODE_FRAGMENT; its bytes are copied).
 * Returns true when it completed a datagram: *ret_ip and *ret_len then hold
 * the whole IP packet, valid until the next call. Uses p->ts_us as the clock. */
bool kx_defrag_add(struct kx_defrag *d, const struct kx_pkt *p, struct kx_counters *c,
		   const uint8_t **ret_ip, uint32_t *ret_len);

/* Drops datagrams older than the timeout at now_us (a quiet live link). */
void kx_defrag_expire(struct kx_defrag *d, uint64_t now_us, struct kx_counters *c);

/* Drops every datagram still incomplete (end of input), counted. */
void kx_defrag_flush(struct kx_defrag *d, struct kx_counters *c);

uint32_t kx_defrag_pending(const struct kx_defrag *d);
/* Bytes allocated: descriptors, pool, the output buffer. */
size_t kx_defrag_memory(const struct kx_defrag *d);
/* Bytes of one datagram descriptor (for --help). */
size_t kx_defrag_datagram_bytes(void);

#endif
