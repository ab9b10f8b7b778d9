/* SPDX-License-Identifier: BSD-2-Clause */
/* dtls.h: DTLS over UDP (RFC 4347 DTLS 1.0, RFC 6347 DTLS 1.2, RFC 9147
 * DTLS 1.3): the record layer of one datagram and the handshake message
 * reassembly of one direction.
 *
 * A DTLS record carries an epoch and a 48-bit sequence number besides the
 * TLS fields; handshake messages are fragmented by the sender to fit the
 * path MTU, each fragment repeating the message type, the full length, a
 * message_seq and its own fragment_offset / fragment_length. Datagrams may be
 * lost, duplicated and reordered, and a whole flight is retransmitted when
 * the peer does not answer, possibly fragmented differently.
 *
 * The stream below delivers complete handshake messages in message_seq
 * order, each once: a message that lies whole in one fragment at the next
 * expected sequence number is handed over in place; others are assembled in
 * a pool buffer (wanted types) or only have their coverage tracked (the rest,
 * e.g. a certificate chain), in a fixed number of slots. Fragments of
 * messages already delivered are retransmissions and are ignored. Records of
 * later epochs, DTLS 1.3 unified-header records and connection-ID records are
 * encrypted: recognised and skipped. The message bodies are the TLS ones
 * except the ClientHello's cookie (see kx_tls_parse_dtls_client_hello in
 * tls.h) and HelloVerifyRequest, which TLS does not have.
 */
#ifndef KEXWATCH_DTLS_H
#define KEXWATCH_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/bufpool.h"
#include "kexwatch/counters.h"
#include "kexwatch/rd.h"
#include "kexwatch/tls.h"

#define KX_DTLS_V10 0xfeffu /* RFC 4347 */
#define KX_DTLS_V12 0xfefdu /* RFC 6347 */
#define KX_DTLS_V13 0xfefcu /* RFC 9147, only in supported_versions */

#define KX_DTLS_RECORD_HEADER 13 /* type, version, epoch, sequence_number(48), length */
#define KX_DTLS_HS_HEADER 12     /* type, length, message_seq, fragment_offset, fragment_length */
#define KX_DTLS_ACK 26           /* RFC 9147 section 7 */
#define KX_DTLS_TLS12_CID 25     /* RFC 9146: the header carries a connection ID */

#define KX_HS_HELLO_VERIFY_REQUEST 3

/* One record of a datagram. */
struct kx_dtls_record {
	uint8_t type;          /* content type; 0 for a unified header */
	uint16_t version;      /* legacy record version */
	uint16_t epoch;        /* unified header: the 2 low bits only */
	uint64_t seq;          /* 48-bit sequence number (unified header: 8 or 16 low bits) */
	bool unified;          /* DTLS 1.3 DTLSCiphertext (RFC 9147 section 4) */
	bool encrypted;        /* epoch > 0, unified header or connection ID: not readable */
	const uint8_t *body;   /* the fragment (NULL when the length is not known) */
	uint32_t len;
};

enum kx_dtls_rec_rc {
	KX_DTLS_REC_OK = 0,
	KX_DTLS_REC_END,       /* nothing left in the datagram */
	KX_DTLS_REC_INVALID,   /* not a record, or a length past the datagram */
};

/* Reads the next record of a datagram from r. A record whose length cannot
 * be known (a connection ID of negotiated length, a unified header without
 * the length bit) takes the rest of the datagram. On INVALID the rest of the
 * datagram is to be discarded (RFC 6347 section 4.1.2.7). */
enum kx_dtls_rec_rc kx_dtls_record_next(struct kx_rd *r, struct kx_dtls_record *rec);

/* One handshake fragment inside a record. */
struct kx_dtls_frag {
	uint8_t type;
	uint32_t msg_len;      /* length of the whole message */
	uint16_t msg_seq;
	uint32_t off, len;     /* fragment_offset, fragment_length */
	const uint8_t *data;
};

/* Reads the next fragment from a handshake record's body. Returns false when
 * the header or data is cut, or the fragment lies outside its message. */
bool kx_dtls_frag_next(struct kx_rd *r, struct kx_dtls_frag *f);

/* True when the datagram starts with a plaintext DTLS handshake record of
 * epoch 0 carrying (a fragment of) a ClientHello: version 0xfeff or 0xfefd,
 * consistent lengths and, for the first fragment, a DTLS client_version. */
bool kx_dtls_looks_like_client_hello(const uint8_t *data, size_t len);

/* The first transmission of a new association's first ClientHello: the
 * above with record sequence number 0, message_seq 0, fragment offset 0. A
 * resend has a new record sequence number (RFC 6347 section 4.2.4), so on a
 * flow whose handshake is over this is a new association on the same
 * address/port quartet (section 4.2.8), not the old one's retransmission. */
bool kx_dtls_is_first_client_hello(const uint8_t *data, size_t len);

/* A virtual stream offset for a handshake byte, so that fragments can be
 * logged and counted like TCP segments: message_seq in the top 12 bits,
 * the offset in the message (capped) in the low 20. */
static inline uint32_t kx_dtls_voff(uint16_t msg_seq, uint32_t off)
{
	return (uint32_t)(msg_seq & 0xfffu) << 20 | (off < 0xfffffu ? off : 0xfffffu);
}

/* HelloVerifyRequest body (RFC 6347 section 4.2.1): server_version and a
 * cookie<0..2^8-1> the client must echo in its next ClientHello. */
enum kx_parse_rc kx_dtls_parse_hello_verify_request(const uint8_t *body, size_t len,
						     uint16_t *ret_version, uint8_t *ret_cookie_len);

/* ---- one direction's handshake stream ---- */

#define KX_DTLS_SLOTS 6   /* messages assembled at the same time */
#define KX_DTLS_RANGES 6  /* disjoint byte ranges held per message */
#define KX_DTLS_AHEAD 32  /* message_seq further ahead than this: dropped */

struct kx_dtls_slot {
	bool used;
	bool want;             /* assembled in buf; else only coverage is tracked */
	uint8_t type;
	uint8_t n_ranges;
	uint16_t seq;
	uint32_t len;
	uint8_t *buf;
	uint32_t cap;
	struct { uint32_t start, end; } range[KX_DTLS_RANGES];
};

/* A fragment that brought bytes not seen before: the caller logs it for
 * segment counts and evidence (voff = kx_dtls_voff(seq, off)). */
typedef void (*kx_dtls_frag_fn)(void *ctx, uint8_t type, uint32_t voff, uint32_t len);

struct kx_dtls_env {
	struct kx_bufpool *pool;
	struct kx_counters *c;
	kx_tls_msg_fn on_msg;   /* messages and non-handshake records, as from tls.h */
	kx_dtls_frag_fn on_frag;
	void *ctx;
};

struct kx_dtls_stream {
	uint32_t want_mask;     /* bit n: assemble handshake type n */
	uint32_t opt_mask;      /* of those, skipped (not fatal) when over max_msg or the memcap */
	uint32_t max_msg;
	uint16_t next_seq;      /* next message_seq to deliver */
	bool have_base;         /* next_seq is known */
	bool failed;            /* a message over max_msg or the memory cap */
	bool copy_always;       /* no in-place delivery */
	struct kx_dtls_slot slot[KX_DTLS_SLOTS];
};

void kx_dtls_stream_init(struct kx_dtls_stream *s, uint32_t want_mask, uint32_t max_msg,
			 bool copy_always);

/* Consumes one datagram. Returns true when the stream should stop (the
 * callback asked, or s->failed). */
bool kx_dtls_stream_feed(struct kx_dtls_stream *s, const struct kx_dtls_env *env,
			 const uint8_t *data, size_t len);

/* Forgets the expected message_seq: the next fragment of a hello
 * (ClientHello, ServerHello, HelloVerifyRequest) sets it again. For the
 * server's direction after a HelloVerifyRequest or HelloRetryRequest: a
 * stateless server may number its ServerHello 0 or 1. */
void kx_dtls_stream_rebase(struct kx_dtls_stream *s);

void kx_dtls_stream_release(struct kx_dtls_stream *s, struct kx_bufpool *pool);

#endif
