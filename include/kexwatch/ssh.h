/* SPDX-License-Identifier: BSD-2-Clause */
/* ssh.h: SSH version exchange, binary packets and KEXINIT (RFC 4253 sections
 * 4.2, 6, 7.1; RFC 4251 section 6 for algorithm names; RFC 8308 ext-info;
 * OpenSSH PROTOCOL section 1.10 "strict key exchange").
 *
 * Two layers, as for TLS. The message layer (ssh_kexinit.c, ssh_kex.c)
 * parses one version line or one KEXINIT payload into fixed-size structs,
 * classifies key-exchange names and negotiates like RFC 4253 section 7.1.
 * The stream layer (ssh_stream.c) consumes one direction's reassembled bytes
 * in arbitrary pieces: it finds the version line (skipping the lines a
 * server may send before it), then walks the unencrypted binary packets up
 * to NEWKEYS, hands the first KEXINIT over (in place when it lies whole in
 * one piece, else assembled in a pool buffer) and skips every other packet
 * without buffering it.
 *
 * Nothing here counts or logs: the stream records why it stopped in `err`
 * (enum kx_ssh_err) and the caller counts that.
 */
#ifndef KEXWATCH_SSH_H
#define KEXWATCH_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/bufpool.h"
#include "kexwatch/hs.h"

#define KX_SSH_MSG_DISCONNECT 1
#define KX_SSH_MSG_IGNORE 2
#define KX_SSH_MSG_UNIMPLEMENTED 3
#define KX_SSH_MSG_DEBUG 4
#define KX_SSH_MSG_KEXINIT 20
#define KX_SSH_MSG_NEWKEYS 21
/* RFC 5656 section 7.1 (ECDH), RFC 8731 (curve25519/448), and the hybrid
 * methods of draft-ietf-sshm-mlkem-hybrid-kex and sntrup761x25519, which
 * reuse the numbers: Q_C and Q_S are the (concatenated) public values. */
#define KX_SSH_MSG_KEX_ECDH_INIT 30
#define KX_SSH_MSG_KEX_ECDH_REPLY 31

#define KX_SSH_NAME_MAX 64       /* RFC 4251 section 6: names are at most 64 characters */
#define KX_SSH_LINE_MAX 255      /* RFC 4253 section 4.2: version line incl. CR LF */
/* Lines before the version line (RFC 4253 section 4.2): OpenSSH's client
 * takes up to 1024 of them (SSH_MAX_PRE_BANNER_LINES), each up to 8 KiB
 * (SSH_MAX_BANNER_LEN). kexwatch takes as many lines, each as long, but no
 * more than 64 KiB in all up to the end of the version line: a notice of a
 * few KB passes, a peer that never sends a version line costs a bounded
 * scan and no memory beyond one line. */
#define KX_SSH_PRE_LINES_MAX 1024
#define KX_SSH_LINE_BYTES_MAX 8192
#define KX_SSH_PRE_BYTES_MAX 65536
#define KX_SSH_MAX_PACKET 35000  /* default assembly cap (RFC 4253 section 6.1) */
#define KX_SSH_PACKET_HARD_MAX (256u * 1024) /* OpenSSH PACKET_MAX_SIZE: no packet is larger */
#define KX_SSH_LIST_NAMES 64     /* names kept per name-list */
#define KX_SSH_TEXT_MAX 3072     /* bytes of kept names for all ten lists */
#define KX_SSH_KEX_TEXT 1024     /* of which the kex list may use, */
#define KX_SSH_HOSTKEY_TEXT 1024 /* the host key list (every type OpenSSH knows: 581), */
#define KX_SSH_LIST_TEXT 512     /* and each other list */

/* Why a stream stopped short. KX_SSH_OK while it runs and after a normal end. */
enum kx_ssh_err {
	KX_SSH_OK = 0,
	KX_SSH_E_NO_BANNER,   /* no "SSH-" line within the pre-banner bounds */
	KX_SSH_E_BANNER_LONG, /* an "SSH-" line without a line end within 8 KiB */
	KX_SSH_E_BANNER_BAD,  /* "SSH-" line without "protoversion-softwareversion" */
	KX_SSH_E_VERSION,     /* protocol 1.x (not 1.99): no KEXINIT will follow */
	KX_SSH_E_PACKET_BIG,  /* packet_length above the cap */
	KX_SSH_E_PACKET_BAD,  /* packet_length / padding_length inconsistent */
	KX_SSH_E_KEXINIT_BAD, /* KEXINIT fields do not fit its packet */
	KX_SSH_E_UNEXPECTED,  /* before KEXINIT: a message other than IGNORE/DEBUG/... */
	KX_SSH_E_MEMCAP,      /* the pool refused the assembly buffer */
	KX_SSH_E_ECDH_BAD,    /* KEX_ECDH_INIT / REPLY strings do not fit the message */
	KX_SSH_E_MAX
};

/* "ok", "no-banner", "banner-too-long", ... */
const char *kx_ssh_err_name(enum kx_ssh_err e);

/* ---- version line ---- */

struct kx_ssh_banner {
	char line[KX_SSH_LINE_MAX + 1];     /* whole line without CR LF, sanitised */
	char proto[8];                      /* "2.0" or "1.99" */
	char software[KX_SSH_LINE_MAX + 1]; /* softwareversion, sanitised */
	char comments[KX_SSH_LINE_MAX + 1]; /* after the first space, sanitised; may be "" */
	bool lf_only;        /* ended by LF without CR (tolerated, as OpenSSH does) */
	bool too_long;       /* longer than RFC 4253's 255 bytes: only those are kept */
	uint16_t pre_lines;  /* other lines before it */
	uint32_t start_off;  /* stream offset of the "SSH-" */
	uint32_t end_off;    /* stream offset just past the LF */
};

/* Parses one version line: `line` starts with "SSH-", `len` excludes the
 * line end. A line longer than 255 bytes with its CR LF sets too_long and
 * only its first 253 bytes are parsed. Bytes outside printable ASCII are
 * replaced by '?'. Returns KX_SSH_OK, KX_SSH_E_BANNER_BAD or
 * KX_SSH_E_VERSION; *b is filled as far as the line allows in every case. */
enum kx_ssh_err kx_ssh_parse_banner(const uint8_t *line, size_t len, struct kx_ssh_banner *b);

/* True when data starts with "SSH-2.0-" or "SSH-1.99-": a client's first
 * bytes, for protocol detection. Short data never matches. */
bool kx_ssh_looks_like_banner(const uint8_t *data, size_t len);

/* True when data starts with an unencrypted binary packet carrying a
 * KEXINIT (RFC 4253 section 6: packet_length, padding_length >= 4, message
 * 20, a 16-byte cookie, then the first name-list's length): a connection
 * picked up after its version lines. */
bool kx_ssh_looks_like_kexinit(const uint8_t *data, size_t len);
/* True when data could be the lines a server sends before its version line:
 * at least one whole line among its first 512 bytes, all of them printable
 * ASCII, tab, CR or LF. */
bool kx_ssh_looks_like_preamble(const uint8_t *data, size_t len);

/* ---- KEXINIT ---- */

enum kx_ssh_list_id {
	KX_SSH_L_KEX = 0,
	KX_SSH_L_HOSTKEY,
	KX_SSH_L_ENC_C2S,
	KX_SSH_L_ENC_S2C,
	KX_SSH_L_MAC_C2S,
	KX_SSH_L_MAC_S2C,
	KX_SSH_L_COMP_C2S,
	KX_SSH_L_COMP_S2C,
	KX_SSH_L_LANG_C2S,
	KX_SSH_L_LANG_S2C,
	KX_SSH_L_MAX
};

/* One name-list: its kept names sit in kexinit.text at `off`, comma-joined
 * exactly as on the wire and NUL-terminated. Names on the wire that are
 * not kept (past the byte or count budget, or not valid RFC 4251 names:
 * empty, longer than 64, control/space/DEL bytes) set `overflow`; after the
 * first name that does not fit nothing more is kept, so the kept names are
 * always a prefix of the wire list minus invalid names. */
struct kx_ssh_list {
	uint16_t off;
	uint16_t len;      /* bytes of kept text, excluding the NUL */
	uint16_t n;        /* names kept */
	uint16_t n_wire;   /* names on the wire, saturating at 65535 */
	bool overflow;
};

struct kx_ssh_kexinit {
	struct kx_ssh_list list[KX_SSH_L_MAX];
	char text[KX_SSH_TEXT_MAX];
	uint8_t cookie[16];
	bool first_kex_follows;
	bool kex_offers_pq;  /* a hybrid or draft PQ kex anywhere on the wire list, kept or not */
	bool ext_info;       /* ext-info-c / ext-info-s (RFC 8308) */
	bool strict;         /* kex-strict-c-v00@openssh.com / kex-strict-s-v00@openssh.com */
	bool overflow;       /* some list has overflow set */
	uint16_t bad_names;  /* names that are not valid RFC 4251 names (saturating) */
	/* HASSH over the wire lists (whatever was kept): md5 of
	 * "kex;enc;mac;comp", client-to-server lists (a client's HASSH) and
	 * server-to-client lists (a server's HASSHServer). "" on failure. */
	char hassh_c2s[33];
	char hassh_s2c[33];
	uint32_t packet_len; /* binary packet incl. its 4-byte length field */
	uint32_t payload_len;
	uint32_t start_off;  /* stream offset of the packet's length field */
	uint32_t end_off;    /* stream offset just past the packet */
};

/* Parses a KEXINIT payload (starting with the message number 20). Returns
 * KX_SSH_OK or KX_SSH_E_KEXINIT_BAD (a name-list or the trailing fields
 * do not fit); on error *k is zeroed but for what was parsed, and every list
 * accessor still returns a valid string. Bytes after the reserved field are
 * ignored (RFC 4253 leaves no room for them; OpenSSH ignores them too).
 * The offsets and packet_len are the caller's. */
enum kx_ssh_err kx_ssh_parse_kexinit(const uint8_t *payload, size_t len, struct kx_ssh_kexinit *k);

/* A list's kept names, comma-joined, "" when empty. */
const char *kx_ssh_list_str(const struct kx_ssh_kexinit *k, enum kx_ssh_list_id id);

/* Walks a comma-joined list: copies the next name into `name` and advances
 * *pos; false at the end. Start with *pos = kx_ssh_list_str(...). */
bool kx_ssh_list_next(const char **pos, char name[KX_SSH_NAME_MAX + 1]);

/* ---- classification and negotiation ---- */

enum kx_ssh_class {
	KX_SSH_KEX_UNKNOWN = 0,
	KX_SSH_KEX_CLASSICAL,   /* curve25519, ecdh-sha2-*, diffie-hellman-*, gss-*, rsa*-sha* */
	KX_SSH_KEX_HYBRID,      /* sntrup761x25519, mlkem768x25519, mlkem768nistp256, mlkem1024nistp384 */
	KX_SSH_KEX_HYBRID_DRAFT,/* pre-standard PQ: Kyber round 3, OQS names, sntrup4591761 */
	KX_SSH_KEX_PSEUDO,      /* ext-info-*, kex-strict-*: signals, never negotiated */
	KX_SSH_KEX_CLASS_MAX
};

enum kx_ssh_class kx_ssh_kex_class(const char *name);

/* "unknown", "classical", "hybrid", "hybrid-draft", "pseudo". */
const char *kx_ssh_class_name(enum kx_ssh_class c);

struct kx_ssh_result {
	char kex[KX_SSH_NAME_MAX + 1];     /* "" when no kex algorithm is common */
	char hostkey[KX_SSH_NAME_MAX + 1]; /* "" when none is common */
	char enc_c2s[KX_SSH_NAME_MAX + 1];
	char enc_s2c[KX_SSH_NAME_MAX + 1];
	char mac_c2s[KX_SSH_NAME_MAX + 1]; /* "" also for AEAD ciphers (implicit MAC) */
	char mac_s2c[KX_SSH_NAME_MAX + 1];
	enum kx_ssh_class kex_class;
	bool client_offers_pq;
	bool server_offers_pq;
	bool strict;          /* both sides announced strict key exchange */
	bool overflow;        /* a list lost names: the choice was made among the kept ones */
	bool no_common_kex;
	enum kx_verdict verdict; /* hybrid, hybrid-draft, classical, unknown or incomplete */
	enum kx_reason reason;   /* client-no-pq / server-declined for classical, else none */
};

/* Negotiates from the client's and the server's KEXINIT as RFC 4253 section
 * 7.1 says: for each list, the first client name that the server also lists,
 * pseudo-algorithms skipped. (The host-key capability condition on the kex
 * choice is not applied: no kex in use today needs an encryption-capable or
 * a particular host key.) Returns true when a kex algorithm was agreed;
 * false sets no_common_kex with verdict incomplete. *ret is always filled. */
bool kx_ssh_negotiate(const struct kx_ssh_kexinit *c, const struct kx_ssh_kexinit *s,
		      struct kx_ssh_result *ret);

/* Sizes in bytes of Q_C and Q_S for methods whose public values have a
 * fixed size (curve25519 32/32, ecdh-sha2-nistp256 65/65,
 * mlkem768x25519-sha256 1216/1120, sntrup761x25519-sha512 1190/1071, ...).
 * False for the others (diffie-hellman-* send mpints, gss-* tokens). */
bool kx_ssh_kex_share_sizes(const char *kex, uint32_t *q_c, uint32_t *q_s);

/* Parses the payload of SSH_MSG_KEX_ECDH_INIT (string Q_C) or
 * SSH_MSG_KEX_ECDH_REPLY (string K_S, string Q_S, string signature) and
 * returns the size of Q_C / Q_S. KX_SSH_OK or KX_SSH_E_ECDH_BAD. */
enum kx_ssh_err kx_ssh_parse_ecdh(const uint8_t *payload, size_t len, uint32_t *ret_q_len);

/* "client-no-pq", "server-declined", "no-common-kex" or "". */
const char *kx_ssh_reason_text(const struct kx_ssh_result *r);

/* ---- stream layer ---- */

/* A binary packet other than the first KEXINIT, up to and including NEWKEYS.
 * Its payload is kept only for the first KEX_ECDH_INIT / REPLY after the
 * KEXINIT (up to max_packet bytes; else NULL). */
struct kx_ssh_packet {
	uint8_t msg;          /* message number (first payload byte) */
	const uint8_t *payload; /* payload_len bytes from the message number on, or NULL */
	uint32_t packet_len;  /* incl. the 4-byte length field */
	uint32_t payload_len;
	uint32_t start_off;
	uint32_t end_off;
};

/* Callbacks return true to stop consuming this direction. Each may be NULL.
 * The structs they get live only for the call: copy what you keep. */
typedef bool (*kx_ssh_banner_fn)(void *ctx, const struct kx_ssh_banner *b);
typedef bool (*kx_ssh_kexinit_fn)(void *ctx, const struct kx_ssh_kexinit *k);
typedef bool (*kx_ssh_packet_fn)(void *ctx, const struct kx_ssh_packet *p);

struct kx_ssh_env {
	struct kx_bufpool *pool;
	kx_ssh_banner_fn on_banner;
	kx_ssh_kexinit_fn on_kexinit;
	kx_ssh_packet_fn on_packet;
	void *ctx;
};

enum kx_ssh_state {
	KX_SSH_S_BANNER = 0, /* looking for the version line */
	KX_SSH_S_PACKETS,    /* binary packets before NEWKEYS */
	KX_SSH_S_END,        /* NEWKEYS, DISCONNECT or a callback's stop: nothing more */
	KX_SSH_S_FAILED      /* see err */
};

struct kx_ssh_stream {
	uint32_t off;          /* stream bytes consumed */
	uint32_t max_packet;   /* largest packet assembled */
	uint8_t state;         /* enum kx_ssh_state */
	uint8_t err;           /* enum kx_ssh_err when failed */
	bool copy_always;      /* no in-place parsing: assemble the KEXINIT always */
	bool seen_kexinit;
	bool seen_ecdh;        /* the first KEX_ECDH_INIT / REPLY was handed over */
	bool disconnected;     /* a DISCONNECT ended the stream */
	/* version line */
	uint16_t pre_lines;
	uint32_t pre_bytes;    /* bytes of the lines before the version line */
	uint32_t line_len;     /* bytes of the current line so far (at most 255 kept) */
	uint32_t line_start;
	bool line_cr;          /* the last byte of the line so far was a CR */
	/* binary packet */
	uint8_t hdr[6];        /* packet_length, padding_length, message number */
	uint8_t hdr_have;
	uint8_t msg;
	bool keep;             /* this packet is assembled (the KEXINIT) */
	uint16_t n_packets;    /* packets walked */
	uint32_t pkt_len;      /* packet_length field */
	uint32_t pkt_have;     /* bytes after the length field consumed */
	uint32_t pkt_start;
	uint8_t *buf;          /* assembly buffer from the pool (a split line or KEXINIT) */
	uint32_t buf_cap;
};

/* max_packet: largest KEXINIT assembled (0: KX_SSH_MAX_PACKET); clamped to
 * KX_SSH_PACKET_HARD_MAX, which also bounds the packets that are skipped. */
void kx_ssh_stream_init(struct kx_ssh_stream *s, uint32_t max_packet);

/* Consumes the next `len` stream bytes. Returns true when the stream should
 * stop: a callback asked, it ended (NEWKEYS, DISCONNECT), or it failed
 * (state KX_SSH_S_FAILED, reason in err). Borrows `data` for the call only. */
bool kx_ssh_stream_feed(struct kx_ssh_stream *s, const struct kx_ssh_env *env,
			const uint8_t *data, uint32_t len);

/* Returns the assembly buffer to the pool; the stream may be fed no more.
 * Accepts a stream that never held a buffer. */
void kx_ssh_stream_release(struct kx_ssh_stream *s, struct kx_bufpool *pool);

#endif
