/* SPDX-License-Identifier: BSD-2-Clause */
/* tls.h: TLS record layer and hello parsers (RFC 8446 sections 4.1-4.2, 5.1;
 * RFC 5246 section 7.4; RFC 8422 section 5.4).
 *
 * Two layers. The message parsers (tls_hello.c) take one complete handshake
 * message body and fill fixed-size structs. The stream layer (tls_stream.c)
 * consumes one direction's reassembled bytes in arbitrary pieces, walks
 * records, assembles the handshake messages it is asked for (parsing in
 * place when a message sits whole in one piece) and skips the rest without
 * buffering.
 */
#ifndef KEXWATCH_TLS_H
#define KEXWATCH_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/bufpool.h"
#include "kexwatch/counters.h"
#include "kexwatch/hs.h"

enum kx_parse_rc {
	KX_PARSE_OK = 0,
	KX_PARSE_MALFORMED, /* lengths or values that cannot be */
	KX_PARSE_NOT_MINE,  /* not the message we were asked to parse */
};

#define KX_TLS_CHANGE_CIPHER_SPEC 20
#define KX_TLS_ALERT 21
#define KX_TLS_HANDSHAKE 22
#define KX_TLS_APPLICATION_DATA 23

#define KX_HS_CLIENT_HELLO 1
#define KX_HS_SERVER_HELLO 2
#define KX_HS_CERTIFICATE 11
#define KX_HS_SERVER_KEY_EXCHANGE 12
#define KX_HS_SERVER_HELLO_DONE 14

struct kx_server_hello {
	uint16_t legacy_version;
	uint16_t version;       /* supported_versions when present, else legacy */
	uint16_t cipher_suite;
	bool is_hrr;            /* random equals the HelloRetryRequest constant */
	bool has_key_share;
	uint16_t group;         /* key_share group (HRR: selected_group) */
	uint16_t share_len;     /* ServerHello key_exchange size (0 for an HRR) */
	bool has_psk;
	uint8_t session_id_len;
	uint8_t session_id[32];
	char ja4s[26];          /* JA4S with proto 't' ('d' for DTLS); "" when none */
};

/* What a TLS 1.2 ServerKeyExchange says besides the group. */
struct kx_ske_info {
	uint8_t kx;             /* enum kx_tls12_kx */
	bool have_group;
	uint16_t group;         /* ECDHE named curve */
	uint16_t point_len;     /* ECDHE public point size (0 when not ECDHE) */
	bool have_sig;
	uint16_t sig;           /* SignatureScheme of the signature (TLS 1.2; absent before) */
};

/* Extra ClientHello fields that do not live in struct kx_client_hello. */
struct kx_client_hello_extra {
	char sni[KX_SNI_MAX];
	char alpn[KX_ALPN_MAX];
	uint8_t session_id_len;
	uint8_t session_id[32];
	uint8_t cookie_len;     /* DTLS: the cookie echoed after a HelloVerifyRequest */
};

/* Parses a ClientHello body (after the 4-byte handshake header). On OK fills
 * *ch (bytes and segments are the caller's) and *ex; on error leaves them
 * in an unspecified but safe state. */
enum kx_parse_rc kx_tls_parse_client_hello(const uint8_t *body, size_t len,
					   struct kx_client_hello *ch,
					   struct kx_client_hello_extra *ex);

/* Parses a ServerHello or HelloRetryRequest body. */
enum kx_parse_rc kx_tls_parse_server_hello(const uint8_t *body, size_t len,
					   struct kx_server_hello *sh);

/* The same for DTLS (RFC 6347 section 4.2.1, RFC 9147 section 5.3): versions
 * 0xfeff (1.0), 0xfefd (1.2), 0xfefc (1.3, in supported_versions) and a
 * cookie vector after the ClientHello's session_id. */
enum kx_parse_rc kx_tls_parse_dtls_client_hello(const uint8_t *body, size_t len,
						struct kx_client_hello *ch,
						struct kx_client_hello_extra *ex);
enum kx_parse_rc kx_tls_parse_dtls_server_hello(const uint8_t *body, size_t len,
						struct kx_server_hello *sh);

/* Parses a TLS 1.2 ServerKeyExchange: for an ECDHE suite with a named curve
 * sets *ret_group; returns the key exchange kind in *ret_kx. */
enum kx_parse_rc kx_tls_parse_server_key_exchange(const uint8_t *body, size_t len,
						  uint16_t cipher_suite, uint8_t *ret_kx,
						  uint16_t *ret_group);

/* The same with everything the message says: the ECDHE point size and the
 * signature scheme (RFC 5246 section 7.4.3: TLS 1.2 only, `version` is
 * the negotiated one). OK when the parameters parsed; the signature is
 * read when present and well-formed. */
enum kx_parse_rc kx_tls_parse_ske(const uint8_t *body, size_t len, uint16_t cipher_suite,
				  uint16_t version, struct kx_ske_info *ret);

/* True for cipher suites whose ServerKeyExchange carries ECDHE parameters. */
bool kx_tls_suite_is_ecdhe(uint16_t cs);

/* Validates that `data` starts with a plausible TLS handshake record holding a
 * ClientHello or ServerHello: used to pick a stream up mid-flow and to tell
 * TLS from other protocols. A lone 0x16 byte matches 1 in 256 bulk segments,
 * so version, lengths and message type are all checked. */
bool kx_tls_looks_like_hello(const uint8_t *data, size_t len);

/* ---- stream layer ---- */

/* A handshake message or a non-handshake record seen in one direction. */
struct kx_tls_msg {
	uint8_t content_type;   /* KX_TLS_* */
	uint8_t hs_type;        /* handshake type when content_type is handshake */
	const uint8_t *body;    /* message body when wanted, else NULL */
	uint32_t len;           /* body length (record payload length for others) */
	uint32_t full_len;      /* handshake messages: length on the wire; above len
				 * when only a prefix was assembled (partial types) */
	uint32_t start_off;     /* stream offset of the handshake header / record */
	uint32_t end_off;       /* stream offset just past the message */
};

/* Returns true to stop consuming this direction. */
typedef bool (*kx_tls_msg_fn)(void *ctx, const struct kx_tls_msg *m);

struct kx_tls_stream {
	uint32_t off;           /* stream bytes consumed */
	uint32_t want_mask;     /* bit n: assemble handshake type n */
	uint32_t part_mask;     /* bit n: of type n assemble only the first KX_TLS_PART_MAX bytes */
	uint32_t max_msg;       /* largest message assembled */
	uint8_t rec_hdr[5];
	uint8_t rec_hdr_have;
	uint8_t rec_type;
	uint32_t rec_left;      /* payload bytes left in the current record */
	uint32_t rec_start;
	uint8_t hs_hdr[4];
	uint8_t hs_hdr_have;
	uint8_t hs_type;
	bool hs_skip;           /* unwanted message: its bytes are skipped */
	uint32_t hs_len;
	uint32_t hs_keep;       /* bytes of the message assembled (hs_len, or a prefix) */
	uint32_t hs_have;
	uint32_t hs_start;
	uint8_t *buf;           /* assembly buffer from the pool */
	uint32_t buf_cap;
	bool failed;            /* malformed: nothing more is parsed */
	bool copy_always;       /* no in-place parsing: assemble every message */
	bool no_records;        /* bare handshake messages (QUIC CRYPTO streams) */
	bool encrypted;         /* TLS 1.3 after the ServerHello: stop */
};

struct kx_tls_env {
	struct kx_bufpool *pool;
	struct kx_counters *c;
	kx_tls_msg_fn on_msg;
	void *ctx;
};

void kx_tls_stream_init(struct kx_tls_stream *s, uint32_t want_mask, uint32_t max_msg);

/* A certificate chain may be long; its leaf comes first. Messages of a
 * partial type are assembled up to this many bytes, never more, whatever
 * --max-message-bytes says, and one that cannot get a buffer is skipped
 * (delivered without body) instead of failing the stream. */
#define KX_TLS_PART_MAX 16384

/* Wants the handshake types of `mask` as prefixes (see KX_TLS_PART_MAX). */
void kx_tls_stream_partial(struct kx_tls_stream *s, uint32_t mask);

/* Makes the stream carry handshake messages without TLS records, as a QUIC
 * CRYPTO stream does (RFC 9001 section 4). Call right after init. */
void kx_tls_stream_bare(struct kx_tls_stream *s);

/* Consumes the next `len` stream bytes. Returns true when the stream should
 * stop (the callback asked, or the bytes are malformed: see s->failed). */
bool kx_tls_stream_feed(struct kx_tls_stream *s, const struct kx_tls_env *env,
			const uint8_t *data, uint32_t len);

void kx_tls_stream_release(struct kx_tls_stream *s, struct kx_bufpool *pool);

#endif
