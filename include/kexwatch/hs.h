/* SPDX-License-Identifier: BSD-2-Clause */
/* hs.h: one observed key-exchange handshake, the unit that becomes a database
 * row and a JSON event. Filled by the protocol parsers, classified by
 * classify/, written by store/. Fixed-size: no pointers into packet memory.
 */
#ifndef KEXWATCH_HS_H
#define KEXWATCH_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KX_MAX_GROUPS   64  /* supported_groups entries kept per ClientHello */
#define KX_MAX_SHARES   16  /* key_share entries kept per ClientHello */
#define KX_MAX_SIGALGS  64
#define KX_MAX_VERSIONS 16
#define KX_SNI_MAX      256 /* DNS names are at most 253 bytes */
#define KX_ALPN_MAX     128 /* protocol ids joined by ',' */
#define KX_LABEL_MAX    48  /* nDPI protocol label */

enum kx_verdict {
	KX_V_INCOMPLETE = 0,
	KX_V_HYBRID,
	KX_V_PQ,
	KX_V_HYBRID_DRAFT,
	KX_V_CLASSICAL,
	KX_V_RESUMED,
	KX_V_UNKNOWN, /* a ServerHello selected a code point the registry does not know
		       * (or key exchange claims that do not hold) */
	KX_V_PLAINTEXT, /* a session with application payload and no handshake at all */
	KX_V_NO_VERDICT, /* a session (reason handshake-unseen): encrypted, its handshake
			  * was not captured, so nothing can be said of its key exchange
			  * (schema 10 and earlier stored it as 'unknown') */
	KX_V_MAX
};

enum kx_reason {
	KX_R_NONE = 0,
	KX_R_CLIENT_NO_PQ,      /* classical: the client offered no PQ group */
	KX_R_SERVER_DECLINED,   /* classical: offered, but the server chose classical */
	KX_R_TLS12,             /* classical: TLS 1.2 or lower negotiated */
	KX_R_RST,               /* incomplete: connection reset before the ServerHello */
	KX_R_FIN,               /* incomplete: closed before the ServerHello */
	KX_R_TIMEOUT,           /* incomplete: idle timeout */
	KX_R_EOF,               /* incomplete: end of capture */
	KX_R_EVICTED,           /* incomplete: flow table full, evicted */
	KX_R_GAP,               /* incomplete: lost bytes never retransmitted */
	KX_R_DEPTH,             /* incomplete: stream depth cap reached */
	KX_R_MALFORMED,         /* incomplete: handshake bytes did not parse */
	KX_R_ALERT,             /* incomplete: an alert ended the handshake */
	KX_R_NO_COMMON_KEX,     /* incomplete: SSH peers share no key exchange method */
	KX_R_OFFER_UNSEEN,      /* the ClientHello / client KEXINIT was not captured */
	KX_R_CAPACITY,          /* incomplete: --max-handshakes or --memcap refused the context */
	KX_R_NO_TLS,            /* plaintext: a protocol without in-band upgrade, no TLS */
	KX_R_STARTTLS_NOT_OFFERED, /* plaintext: could upgrade in-band, the client never asked */
	KX_R_STARTTLS_REFUSED,  /* plaintext: the client asked, the server refused */
	KX_R_SSL_REFUSED,       /* plaintext: PostgreSQL 'N' / MySQL greeting without SSL */
	KX_R_HANDSHAKE_UNSEEN,  /* no-verdict: encrypted (TLS records, QUIC short header), no handshake */
	KX_R_SHARE_SIZE,        /* unknown: a key share's size does not fit its group */
	KX_R_NOT_OFFERED,       /* unknown: the server selected a group the client never offered */
	KX_R_SHARE_UNLISTED,    /* unknown: a key share for a group absent from supported_groups */
	KX_R_MAX
};

/* What one ClientHello offered. A HelloRetryRequest exchange has two. */
struct kx_client_hello {
	uint16_t legacy_version;
	uint16_t versions[KX_MAX_VERSIONS]; /* supported_versions, GREASE included */
	uint8_t n_versions;
	uint16_t groups[KX_MAX_GROUPS];     /* supported_groups in order, GREASE included */
	uint8_t n_groups;
	uint16_t shares[KX_MAX_SHARES];     /* key_share groups in order */
	uint16_t share_len[KX_MAX_SHARES];  /* their key_exchange sizes in bytes */
	uint8_t n_shares;
	bool from_wire;   /* set by the parser: the checks of classify/ apply (hand-built
			  * rows of tests and fixtures leave it false) */
	uint16_t sigalgs[KX_MAX_SIGALGS];
	uint8_t n_sigalgs;
	uint16_t n_suites;
	bool overflow;   /* some list was longer than kept: counted, not hidden */
	bool has_psk;    /* pre_shared_key offered */
	bool has_ech;    /* encrypted_client_hello present */
	bool has_early_data;
	uint8_t psk_modes; /* bit0 psk_ke, bit1 psk_dhe_ke */
	uint8_t session_id_len;
	bool has_ticket; /* TLS 1.2 session_ticket extension with data */
	bool offers_mldsa; /* signature_algorithms lists ML-DSA (0x0904-0x0906) */
	uint32_t bytes;  /* handshake message length incl. 4-byte header */
	uint16_t segments; /* TCP segments (or QUIC packets) that carried it */
	char ja4[37];    /* JA4 (fingerprint.h), "" when none could be made */
};

/* Key-exchange claims that do not hold (kx_hs.anomalies): the handshake is
 * judged unknown, whatever group it names. */
#define KX_ANOM_CLIENT_SHARE_SIZE 0x01 /* a client key share of the wrong size */
#define KX_ANOM_SERVER_SHARE_SIZE 0x02 /* the server's share of the wrong size */
#define KX_ANOM_NOT_OFFERED       0x04 /* selected (or HRR-requested) group not offered (RFC 8446 4.2.8) */
#define KX_ANOM_SHARE_UNLISTED    0x08 /* client share for a group absent from supported_groups */

/* The server's certificate, TLS 1.2 / DTLS 1.2 only (fingerprint.h enums). */
struct kx_hs_cert {
	uint8_t status;         /* enum kx_cert_status */
	uint8_t key;            /* enum kx_cert_key */
	uint8_t curve;          /* enum kx_cert_curve */
	uint8_t sig;            /* enum kx_cert_sig */
	uint16_t key_bits;
	bool have_ske_sig;
	uint16_t ske_sig;       /* ServerKeyExchange SignatureScheme (TLS 1.2) */
};

/* SSH: the key exchange is named, not numbered (RFC 4253 section 7.1). */
#define KX_SSH_SW_MAX 256
#define KX_KEX_LIST_MAX 512
struct kx_hs_ssh {
	char client_banner[KX_SSH_SW_MAX]; /* "SSH-2.0-OpenSSH_9.2p1 ..." */
	char server_banner[KX_SSH_SW_MAX];
	char kex_client[KX_KEX_LIST_MAX];  /* kex_algorithms as sent, comma-separated */
	char kex_server[KX_KEX_LIST_MAX];
	char kex[65];                      /* negotiated; "" when none */
	char hostkey[65];
	bool client_offers_pq;
	char hassh[33];                    /* client KEXINIT: HASSH, "" when unseen */
	char hassh_server[33];             /* server KEXINIT: HASSHServer */
	uint32_t q_c_len, q_s_len;         /* ECDH/hybrid Q_C, Q_S sizes; 0 when unseen */
};

struct kx_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t a[16];  /* IPv4 in the first 4 bytes */
};

struct kx_hs {
	uint64_t ts_first_us;   /* first ClientHello segment */
	uint64_t ts_last_us;    /* final message (ServerHello / ServerKeyExchange) */
	struct kx_addr client_ip, server_ip;
	uint16_t client_port, server_port;
	uint16_t vlan;          /* outermost VLAN id, 0 when untagged */
	char tunnel[32];        /* outermost tunnel, e.g. vxlan:42; "" when none */
	uint8_t transport;      /* IPPROTO_TCP or IPPROTO_UDP */
	char protocol[12];      /* "tls", "quic", "ssh", "dtls" */
	char starttls[12];      /* TLS after an in-band upgrade: "smtp", "postgres", ... */
	char sni[KX_SNI_MAX];
	char alpn[KX_ALPN_MAX]; /* offered ALPN ids joined by ',' */

	struct kx_client_hello ch[2]; /* [1] is the ClientHello after an HRR */
	uint8_t n_ch;           /* 0..2; every n_* list count is <= its KX_MAX_* */

	bool hrr;
	uint16_t hrr_group;     /* 0 when the HRR named none */
	bool have_sh;
	uint16_t version;       /* negotiated: 0x0304 TLS1.3, 0x0303 TLS1.2, 0xfefd DTLS1.2, ... */
	uint16_t cipher_suite;
	bool have_group;
	uint16_t group;         /* selected key-share group / TLS 1.2 ECDHE curve */
	uint8_t tls12_kx;       /* KX_KX_* for TLS <= 1.2 */
	bool psk_selected;      /* TLS 1.3 ServerHello carried pre_shared_key */
	bool resumed;           /* PSK or TLS 1.2 abbreviated handshake */
	uint16_t server_share_len; /* ServerHello key_share / ECDHE point size */
	bool server_share_seen; /* server_share_len was read from the wire */
	uint8_t anomalies;      /* KX_ANOM_* */
	char ja4s[26];          /* JA4S of the ServerHello, "" when none */
	char ja4s_hrr[26];      /* JA4S of the HelloRetryRequest, "" when none */
	struct kx_hs_cert cert;

	enum kx_verdict verdict;
	enum kx_reason reason;

	int64_t ch_to_sh_us;    /* -1 when no ServerHello */
	char ndpi_label[KX_LABEL_MAX];
	/* 1 + enum kx_dpi_proto when the label is still to be looked up by
	 * name (SNI, server address) by whoever consumes the row (the sink's
	 * writer thread: nDPI's set-up and lookups stay off the packet path);
	 * 0 when ndpi_label is final. */
	uint8_t ndpi_pending;
	uint64_t pkt_first_ch;  /* packet number (1-based, within the source) */
	uint64_t pkt_sh;        /* 0 when no ServerHello */
	uint32_t source_id;     /* index of the capture source within the run */

	/* A session rather than a handshake (verdict plaintext, or unknown with
	 * reason handshake-unseen): kept aggregated per hour in the store. */
	bool is_session;
	bool regression;        /* src/regress noticed a regression in this handshake */
	bool ch_unseen;         /* ServerHello / server KEXINIT without the client's */
	uint8_t iface;          /* capture interface: kx_iface_name() index, 0 none */
	char app[16];           /* sessions: lower-case application ("http", "postgresql") */
	uint64_t bytes;         /* sessions: payload bytes, both directions */

	/* Set when the protocol parser decided verdict/reason itself (SSH). */
	bool preclassified;
	struct kx_hs_ssh ssh;   /* protocol "ssh" only */
};

enum kx_tls12_kx {
	KX_KX_NONE = 0,
	KX_KX_ECDHE,
	KX_KX_DHE,
	KX_KX_RSA,
	KX_KX_PSK,
	KX_KX_OTHER
};

const char *kx_verdict_name(enum kx_verdict v);
const char *kx_reason_name(enum kx_reason r); /* "" for KX_R_NONE */
const char *kx_tls12_kx_name(enum kx_tls12_kx k);
/* "TLS1.3", "TLS1.2", "DTLS1.2", ... or "0x7f1c" style for others; buf >= 8 bytes. */
const char *kx_version_name(uint16_t v, char *buf, size_t len);
/* TLS 1.3 or DTLS 1.3 (or later): the key exchange is in the hellos' key
 * shares. DTLS versions count down (0xfeff 1.0, 0xfefd 1.2, 0xfefc 1.3). */
bool kx_version_is_13(uint16_t v);

/* True when some ClientHello offered a hybrid, pq or draft group (in
 * supported_groups or key_share). */
bool kx_hs_offers_pq(const struct kx_hs *hs);

/* Sets verdict and reason from the other fields (classify/verdict.c). */
void kx_classify(struct kx_hs *hs);

#endif
