/* SPDX-License-Identifier: BSD-2-Clause */
/* quic.h: QUIC Initial packets: long headers, Initial keys, header and
 * payload protection, CRYPTO frames (RFC 9000 sections 12.2, 17.2, 19;
 * RFC 9001 sections 5.2-5.4; QUIC v2 RFC 9369 section 3; compatible version
 * negotiation RFC 9368 section 2.3).
 *
 * A passive observer can read the TLS ClientHello and ServerHello of a QUIC
 * connection because Initial packets are protected with keys derived from
 * public values only: the Destination Connection ID of the client's first
 * Initial and a per-version salt. This module derives those keys, walks the
 * coalesced packets of one UDP datagram, removes the protection of the
 * Initial ones and hands out their CRYPTO frames. Reassembling CRYPTO bytes
 * by offset (kx_reasm fits: offsets are a 62-bit stream, the handshake needs
 * the first few KB) and parsing the TLS messages are the caller's.
 *
 * Crypto comes from libgcrypt, not OpenSSL's libcrypto: libndpi links
 * libgcrypt already (its own QUIC dissector uses it) and Debian's
 * libndpi-dev depends on libgcrypt20-dev, so it adds no package, no second
 * crypto library in the process and no OpenSSL version coupling.
 *
 * Nothing here allocates per packet. One struct kx_quic_ctx per packet
 * thread holds the cipher handles and the decryption buffer.
 */
#ifndef KEXWATCH_QUIC_H
#define KEXWATCH_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KX_QUIC_V1         0x00000001u /* RFC 9000 */
#define KX_QUIC_V2         0x6b3343cfu /* RFC 9369 */
#define KX_QUIC_V2_DRAFT   0x709a50c4u /* draft-ietf-quic-v2-01..08 (ngtcp2 0.12 "v2draft") */
#define KX_QUIC_DRAFT29    0xff00001du /* draft-ietf-quic-transport-29, still seen in the wild */

#define KX_QUIC_CID_MAX    20          /* RFC 9000 section 17.2, versions 1 and 2 */
#define KX_QUIC_MIN_CLIENT_DATAGRAM 1200 /* RFC 9000 section 14.1 */
/* Largest datagram kx_quic_datagram() takes: the largest UDP payload
 * without IPv6 jumbograms (65535 - 8). */
#define KX_QUIC_MAX_DATAGRAM 65527

struct kx_quic_keys {
	uint8_t key[16]; /* AEAD_AES_128_GCM key */
	uint8_t iv[12];
	uint8_t hp[16];  /* header protection key (AES-128-ECB) */
};

/* Initial keys of one connection for one version, plus the connection ID
 * they came from, so that the keys of another version can be derived when
 * the server switches versions (compatible version negotiation). */
struct kx_quic_secrets {
	uint32_t version;
	uint8_t odcid[KX_QUIC_CID_MAX];
	uint8_t odcid_len;
	struct kx_quic_keys client, server;
};

/* Initialises libgcrypt (version check, no secure memory) once. Safe to call
 * more than once and from several threads; call it from main before the
 * first packet. Returns 0, or -1 when libgcrypt is too old. */
int kx_quic_init(void);

/* True for the versions whose Initial packets can be opened (the four above). */
bool kx_quic_version_known(uint32_t version);

/* Derives the client and server Initial keys of `version` from the
 * Destination Connection ID of the client's first Initial packet (or, after a
 * Retry, of the client's Initial that follows it). RFC 9001 section 5.2;
 * version 2 salt and labels RFC 9369 sections 3.3.1-3.3.2. Returns 0, or -1
 * for an unknown version or a connection ID longer than 20 bytes. */
int kx_quic_derive_initial(uint32_t version, const uint8_t *dcid, size_t dcid_len,
			   struct kx_quic_secrets *ret);

/* Per-thread state: libgcrypt cipher handles (opening them allocates, so
 * they are opened once) and a buffer for one decrypted datagram. */
struct kx_quic_ctx;

/* Returns NULL when out of memory or when kx_quic_init() failed. */
struct kx_quic_ctx *kx_quic_ctx_new(void);
void kx_quic_ctx_free(struct kx_quic_ctx *qc); /* NULL is fine */

/* One CRYPTO frame of a decrypted Initial packet. `data` points into the
 * context's buffer and is valid only during the call. `offset + len` never
 * exceeds 2^62 - 1. Return true to stop walking the datagram. */
typedef bool (*kx_quic_crypto_fn)(void *ctx, uint64_t offset, const uint8_t *data, uint32_t len);

enum kx_quic_rc {
	KX_QUIC_OK = 0,         /* at least one Initial packet opened, all frames valid */
	KX_QUIC_NOT_QUIC,       /* does not start with a long header of a known version */
	KX_QUIC_NO_INITIAL,     /* well-formed, but no Initial packet (Handshake, 0-RTT,
				 * Retry, Version Negotiation, 1-RTT only) */
	KX_QUIC_MALFORMED,      /* lengths that cannot be, or a frame not allowed in an
				 * Initial (RFC 9000 section 17.2.2) */
	KX_QUIC_DECRYPT_FAILED, /* an Initial did not authenticate with these keys */
};

struct kx_quic_datagram_info {
	uint32_t version;          /* of the first packet (0: Version Negotiation) */
	uint8_t dcid[KX_QUIC_CID_MAX], scid[KX_QUIC_CID_MAX]; /* of the first packet */
	uint8_t dcid_len, scid_len;
	bool first_is_initial;
	bool retry;                /* the datagram is a Retry: the client's next Initial
				    * goes to scid, and keys must be derived from it */
	bool version_switched;     /* keys were re-derived for another version (RFC 9368) */
	uint64_t first_pn;         /* packet number of the first Initial opened */
	unsigned initials;         /* Initial packets seen */
	unsigned decrypted;        /* Initial packets opened */
	unsigned skipped;          /* packets not opened: Handshake, 0-RTT, Retry, Version
				    * Negotiation, 1-RTT, another connection ID */
	unsigned crypto_frames;    /* CRYPTO frames handed to the callback */
};

/* Walks every coalesced packet of one UDP datagram (RFC 9000 section 12.2).
 * Initial packets are opened with the client keys (from_client) or the
 * server keys: header protection (RFC 9001 section 5.4, AES-128-ECB), then
 * AES-128-GCM with the packet-number nonce. `cb` gets every CRYPTO frame;
 * PADDING, PING, ACK (with ECN counts) and CONNECTION_CLOSE are skipped, and
 * any other frame makes the packet malformed. Other packet types are counted
 * in info->skipped. When a packet carries another known version than `s`,
 * the keys of that version are derived from s->odcid and stored in *s.
 *
 * Packet numbers are not reconstructed against the largest one seen (RFC
 * 9000 section A.3): the truncated value is used in the nonce. That is the
 * full number for the first 2^(8*pn_length - 1) Initial packets of a
 * connection, which covers any real handshake; a packet beyond that fails to
 * authenticate and is reported, never misread.
 *
 * Packets are independent: the callback may already have run for an earlier
 * packet when a later one is malformed or fails. The result is OK when an
 * Initial opened and nothing failed, else the first failure (MALFORMED,
 * DECRYPT_FAILED), else NO_INITIAL / NOT_QUIC. `info` may be NULL. */
enum kx_quic_rc kx_quic_datagram(struct kx_quic_ctx *qc, const uint8_t *p, size_t len,
				 bool from_client, struct kx_quic_secrets *s,
				 kx_quic_crypto_fn cb, void *cb_ctx,
				 struct kx_quic_datagram_info *info);

/* Walks the frames of one already decrypted Initial payload, as
 * kx_quic_datagram() does after opening a packet: `data` in the callback
 * points into `payload`. For tests and fuzzing (AEAD keeps mutated packets
 * from ever reaching the frame walker through kx_quic_datagram()). Returns
 * OK or MALFORMED; `ret_crypto_frames` (may be NULL) gets the CRYPTO frames
 * handed out. */
enum kx_quic_rc kx_quic_initial_frames(const uint8_t *payload, size_t len,
				       kx_quic_crypto_fn cb, void *cb_ctx,
				       unsigned *ret_crypto_frames);

/* A Retry packet (RFC 9000 section 17.2.5): the server's new connection ID
 * (scid), which the client's next Initials carry as their DCID and from
 * which both directions' Initial keys are then derived. */
struct kx_quic_retry {
	uint32_t version;
	uint8_t dcid[KX_QUIC_CID_MAX], scid[KX_QUIC_CID_MAX];
	uint8_t dcid_len, scid_len;
	uint32_t token_len;
};

/* Parses the Retry packet that makes up datagram p and checks its Retry
 * Integrity Tag (RFC 9001 section 5.8; version 2 key and nonce RFC 9369
 * section 3.3.3; the v2 draft's and draft-29's from their drafts) against
 * the Destination Connection ID of the client's first Initial. Returns OK
 * (the tag verifies), DECRYPT_FAILED (it does not: a client discards such
 * a Retry), MALFORMED (too short for a tag, a connection ID over 20 bytes,
 * an empty token, which a client must also discard) or NOT_QUIC (not a
 * Retry of a known version). *ret is filled from OK and DECRYPT_FAILED. */
enum kx_quic_rc kx_quic_retry(struct kx_quic_ctx *qc, const uint8_t *p, size_t len,
			      const uint8_t *odcid, size_t odcid_len, struct kx_quic_retry *ret);

/* Cheap check for flow creation: does this UDP payload start with a client's
 * first Initial of a known version? Checks the long header, the version, a
 * Destination Connection ID of 8..20 bytes (RFC 9000 section 7.2), the token
 * and Length fields against the bytes present and the 1200-byte minimum of
 * client datagrams. Decrypts nothing. Fills version, dcid and scid of info
 * (may be NULL). */
bool kx_quic_looks_like_initial(const uint8_t *p, size_t len,
				struct kx_quic_datagram_info *info);

const char *kx_quic_rc_name(enum kx_quic_rc rc);

#endif
