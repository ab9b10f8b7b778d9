/* SPDX-License-Identifier: BSD-2-Clause */
/* engine.h: the per-packet pipeline. decode -> defrag -> flow -> reassembly -> TLS ->
 * classify -> emit. Owns the flow table, the handshake contexts, the buffer
 * pool and the nDPI state; everything is bounded by the options below.
 */
#ifndef KEXWATCH_ENGINE_H
#define KEXWATCH_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/capture.h"
#include "kexwatch/counters.h"
#include "kexwatch/hs.h"

struct kx_engine_opts {
	uint32_t max_flows;        /* flow table slots */
	uint32_t max_sessions;     /* handshakes followed at the same time */
	uint32_t max_stream_bytes; /* bytes looked at per direction */
	uint32_t max_msg_bytes;    /* largest handshake message assembled */
	size_t memcap;             /* reassembly + message buffers, bytes */
	uint32_t idle_timeout_s;   /* a flow silent this long is expired */
	bool no_ndpi;              /* skip application labelling */
	bool ndpi_packets;         /* label by nDPI's packet dissection (see dpi.h);
				    * otherwise rows leave with hs.ndpi_pending set
				    * and the sink labels them by name */
	bool no_fastpath;          /* copy every byte, parse nothing in place (reference runs) */
	size_t defrag_memcap;      /* IP fragment bytes held, bytes; 0: no reassembly */
	uint32_t defrag_max_datagrams; /* fragmented datagrams reassembled at once */
	uint32_t defrag_timeout_s; /* a datagram not whole this long after its first fragment is dropped */
	uint8_t plaintext;         /* enum kx_plaintext_mode: which cleartext sessions are recorded */
};

/* --plaintext: sessions without any handshake are recorded (plain.h) for
 * TCP and the listed UDP services (all, the default), TCP only, or not at
 * all. Encrypted sessions whose handshake was not seen are always kept. */
enum kx_plaintext_mode { KX_PLAINTEXT_ALL = 0, KX_PLAINTEXT_TCP, KX_PLAINTEXT_NONE };

#define KX_DEFAULT_MAX_FLOWS 262144u
#define KX_DEFAULT_MAX_SESSIONS 16384u
#define KX_DEFAULT_MAX_STREAM_BYTES (128u * 1024)
#define KX_DEFAULT_MAX_MSG_BYTES (128u * 1024)
#define KX_DEFAULT_MEMCAP ((size_t)64 * 1024 * 1024)
#define KX_DEFAULT_IDLE_TIMEOUT_S 60u
#define KX_DEFAULT_DEFRAG_MEMCAP ((size_t)4 * 1024 * 1024)
#define KX_DEFAULT_DEFRAG_DATAGRAMS 1024u
#define KX_DEFAULT_DEFRAG_TIMEOUT_S 30u /* as Linux (ipfrag_time); RFC 8200 says 60 */

void kx_engine_opts_default(struct kx_engine_opts *o);

/* Receives each finished handshake; the struct is only valid during the call. */
typedef void (*kx_emit_fn)(void *ctx, const struct kx_hs *hs);

struct kx_engine;

struct kx_engine *kx_engine_new(const struct kx_engine_opts *o, struct kx_counters *c,
				kx_emit_fn emit, void *emit_ctx, char *err, size_t errlen);

/* One captured frame of link type `link`, numbered `num` within source `source_id`. */
/* Frames handed over at once (kx_source_next_batch): their flow lookups
 * overlap. The same as kx_engine_packet on each in turn; n <= KX_ENGINE_BATCH. */
#define KX_ENGINE_BATCH 16
void kx_engine_packets(struct kx_engine *e, int link, const struct kx_frame *f, int n,
		       uint64_t first_num, uint32_t source_id);

void kx_engine_packet(struct kx_engine *e, int link, const struct kx_frame *f, uint64_t num,
		      uint32_t source_id);

/* Advances the clock without a packet (live capture on a quiet link), so idle
 * flows still expire and their incomplete handshakes are written. */
void kx_engine_tick(struct kx_engine *e, uint64_t now_us);

/* Ends every flow still open (handshakes without a ServerHello become
 * incomplete with `reason`). Called at the end of input. */
void kx_engine_finish(struct kx_engine *e, enum kx_reason reason);

uint32_t kx_engine_active_flows(const struct kx_engine *e);
/* Bytes of flow table, contexts and buffers, as allocated (upper bound). */
size_t kx_engine_memory(const struct kx_engine *e);
/* Bytes one tracked flow and one handshake context cost (for --help and docs). */
size_t kx_engine_flow_bytes(void);
size_t kx_engine_session_bytes(void);

void kx_engine_free(struct kx_engine *e);

#endif
