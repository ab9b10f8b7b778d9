/* SPDX-License-Identifier: BSD-2-Clause */
/* fingerprint.h: which software made a handshake, and what it can sign with.
 *
 * - JA4 / JA4S (FoxIO's published specification, BSD-3: technical_details/
 *   JA4.md and JA4S.md of FoxIO-LLC/ja4): computed while the hellos are
 *   parsed, so a row keeps only the 36- and 25-character strings.
 * - The key-exchange suffix JA4 cannot see (supported_groups and key_share
 *   groups, GREASE removed) is formatted from the lists kx_client_hello
 *   already keeps.
 * - HASSH / HASSHServer (MD5 of an SSH KEXINIT's kex;enc;mac;compression
 *   name-lists, as the HASSH method defines it) from the wire lists.
 * - Signature readiness: names of TLS SignatureScheme code points (IANA,
 *   with ML-DSA 0x0904-0x0906) and the leaf certificate of a TLS 1.2 /
 *   DTLS 1.2 server, read with the bounds-checked DER reader (der.c).
 */
#ifndef KEXWATCH_FINGERPRINT_H
#define KEXWATCH_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/rd.h"

#define KX_JA4_LEN 36      /* t13d1516h2_8daaf6152771_b186095e22b6 */
#define KX_JA4S_LEN 25     /* t120400_c030_4e8089b08790 */
#define KX_HASSH_LEN 32    /* MD5 in lower-case hex */
#define KX_JA4_LIST_MAX 512 /* ciphers, extensions or signature algorithms taken into a JA4 */

/* RFC 8701 GREASE: 0x0A0A, 0x1A1A, ... 0xFAFA. */
static inline bool kx_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Makes sure libgcrypt is set up (thread-safe, once). 0 or -1. */
int kx_fp_init(void);

/* What a ClientHello gives JA4, gathered by the parser in wire order. The
 * pointers borrow the message body for the duration of kx_ja4(); the two
 * vectors are passed as sent (big-endian code points, GREASE included) so
 * a stack seen before costs a comparison, not a parse. */
struct kx_ja4_ch {
	char proto;               /* 't' TLS over TCP, 'q' QUIC, 'd' DTLS */
	uint16_t legacy_version;
	uint16_t best_version;    /* newest non-GREASE supported_versions entry, 0 if none */
	bool has_sni;             /* server_name extension present */
	const uint8_t *alpn;      /* first ALPN protocol id, NULL when none */
	size_t alpn_len;
	const uint8_t *suites;    /* cipher_suites vector contents, as sent */
	size_t suites_len;
	const uint8_t *sigalgs;   /* signature_algorithms vector contents, as sent (NULL: none) */
	size_t sigalgs_len;
	uint16_t exts[KX_JA4_LIST_MAX];
	unsigned n_exts;          /* GREASE removed; SNI and ALPN included */
	bool overflow;            /* more than KX_JA4_LIST_MAX extensions: no JA4 */
};

/* Writes the 36-character JA4 and a NUL into out; "" when a list holds
 * more than KX_JA4_LIST_MAX entries (GREASE removed). */
void kx_ja4(const struct kx_ja4_ch *in, char out[KX_JA4_LEN + 1]);

#define KX_JA4S_EXT_MAX 64
struct kx_ja4s_sh {
	char proto;
	uint16_t version;         /* supported_versions when present, else legacy */
	uint16_t cipher;
	const uint8_t *alpn;      /* the protocol id the server chose, NULL when none */
	size_t alpn_len;
	uint16_t exts[KX_JA4S_EXT_MAX];
	unsigned n_exts;          /* all of them, in wire order */
	bool overflow;
};

/* Writes the 25-character JA4S and a NUL into out; "" when in->overflow. */
void kx_ja4s(const struct kx_ja4s_sh *in, char out[KX_JA4S_LEN + 1]);

/* The two version characters of JA4/JA4S ("13", "d2", "s3", "00"). */
void kx_ja4_version(uint16_t v, char out[2]);
/* The two ALPN characters ("h2", "h1", "00", hex rule for other bytes). */
void kx_ja4_alpn(const uint8_t *alpn, size_t len, char out[2]);

/* The key-exchange suffix: "11ec,001d,0017_11ec,001d" (supported_groups
 * "_" key_share groups, 4 lower-case hex digits, GREASE removed). Returns
 * the length it needs (snprintf rule). */
size_t kx_fp_kx(const uint16_t *groups, unsigned n_groups, const uint16_t *shares,
		unsigned n_shares, char *buf, size_t len);

/* HASSH of one KEXINIT: MD5 over "kex;enc;mac;comp" where the four lists
 * are the wire name-lists (the client's client-to-server lists for HASSH,
 * the server's server-to-client lists for HASSHServer). Each list is given
 * as bytes and length. Writes 32 hex characters and a NUL; "" on failure. */
void kx_hassh(const uint8_t *const list[4], const size_t len[4], char out[KX_HASSH_LEN + 1]);

/* ---- signature schemes ---- */

/* IANA TLS SignatureScheme name ("ecdsa_secp256r1_sha256", "mldsa65"), or
 * NULL when unknown. */
const char *kx_sigscheme_name(uint16_t code);
/* ML-DSA (0x0904 mldsa44, 0x0905 mldsa65, 0x0906 mldsa87). */
static inline bool kx_sigscheme_is_mldsa(uint16_t code)
{
	return code >= 0x0904 && code <= 0x0906;
}

/* ---- DER (X.690) reader over rd.h cursors ---- */

/* Reads one TLV: a single-byte tag (high-tag-number form refused), a
 * definite length (short form, or long form of 1-4 bytes), and returns a
 * child reader over the contents; the parent moves past them. On any
 * error both fail (sticky, as rd.h). */
struct kx_rd kx_der_tlv(struct kx_rd *r, uint8_t *tag);
/* Reads a TLV that must have tag `want`, else fails. */
struct kx_rd kx_der_expect(struct kx_rd *r, uint8_t want);
/* Writes the dotted form of an OID's contents ("1.2.840.10045.3.1.7");
 * false (and "") when malformed or longer than the buffer. */
bool kx_der_oid_str(struct kx_rd oid, char *buf, size_t len);

/* ---- the leaf certificate ---- */

enum kx_cert_key {
	KX_CERT_KEY_NONE = 0,   /* not seen */
	KX_CERT_KEY_RSA,
	KX_CERT_KEY_RSA_PSS,
	KX_CERT_KEY_EC,
	KX_CERT_KEY_ED25519,
	KX_CERT_KEY_ED448,
	KX_CERT_KEY_DSA,
	KX_CERT_KEY_MLDSA44,
	KX_CERT_KEY_MLDSA65,
	KX_CERT_KEY_MLDSA87,
	KX_CERT_KEY_OTHER,
	KX_CERT_KEY_MAX
};

enum kx_cert_sig {
	KX_CERT_SIG_NONE = 0,
	KX_CERT_SIG_RSA_MD5,
	KX_CERT_SIG_RSA_SHA1,
	KX_CERT_SIG_RSA_SHA224,
	KX_CERT_SIG_RSA_SHA256,
	KX_CERT_SIG_RSA_SHA384,
	KX_CERT_SIG_RSA_SHA512,
	KX_CERT_SIG_RSA_PSS,
	KX_CERT_SIG_ECDSA_SHA1,
	KX_CERT_SIG_ECDSA_SHA224,
	KX_CERT_SIG_ECDSA_SHA256,
	KX_CERT_SIG_ECDSA_SHA384,
	KX_CERT_SIG_ECDSA_SHA512,
	KX_CERT_SIG_ED25519,
	KX_CERT_SIG_ED448,
	KX_CERT_SIG_DSA_SHA1,
	KX_CERT_SIG_DSA_SHA256,
	KX_CERT_SIG_MLDSA44,
	KX_CERT_SIG_MLDSA65,
	KX_CERT_SIG_MLDSA87,
	KX_CERT_SIG_OTHER,
	KX_CERT_SIG_MAX
};

enum kx_cert_curve {
	KX_CERT_CURVE_NONE = 0,
	KX_CERT_CURVE_P256,
	KX_CERT_CURVE_P384,
	KX_CERT_CURVE_P521,
	KX_CERT_CURVE_BP256,
	KX_CERT_CURVE_BP384,
	KX_CERT_CURVE_BP512,
	KX_CERT_CURVE_OTHER,
	KX_CERT_CURVE_MAX
};

/* Whether the server's certificate could be looked at. */
enum kx_cert_status {
	KX_CERT_UNSEEN = 0,     /* no Certificate message (yet): resumed, PSK, anonymous, lost */
	KX_CERT_SEEN,           /* the leaf parsed */
	KX_CERT_ENCRYPTED,      /* TLS 1.3 / DTLS 1.3 / QUIC: the certificate is encrypted */
	KX_CERT_MALFORMED,      /* a Certificate message whose leaf did not parse */
	KX_CERT_TOO_BIG,        /* the leaf reaches past the bytes kexwatch assembles */
	KX_CERT_STATUS_MAX
};

struct kx_cert_info {
	uint8_t status;         /* enum kx_cert_status */
	uint8_t key;            /* enum kx_cert_key */
	uint8_t curve;          /* enum kx_cert_curve, EC keys only */
	uint8_t sig;            /* enum kx_cert_sig: the issuer's signature on the leaf */
	uint16_t key_bits;      /* RSA/DSA modulus bits, EC/EdDSA field size, ML-DSA: 0 */
};

/* Parses a TLS Certificate message body (RFC 5246 section 7.4.2:
 * certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>) and reads the first
 * (leaf) certificate. `len` may be a prefix of the message (`full_len`
 * bytes on the wire): a leaf that reaches past it gives KX_CERT_TOO_BIG.
 * An empty list (RFC 5246 allows it for clients only) is KX_CERT_MALFORMED. */
void kx_cert_parse_tls(const uint8_t *body, size_t len, size_t full_len,
		       struct kx_cert_info *ci);

/* Parses one DER X.509 certificate (RFC 5280 section 4.1). */
void kx_cert_parse_der(const uint8_t *der, size_t len, struct kx_cert_info *ci);

const char *kx_cert_key_name(enum kx_cert_key k);     /* "rsa", "ec", "ed25519", "mldsa65", ... "" */
const char *kx_cert_sig_name(enum kx_cert_sig s);     /* "sha256WithRSAEncryption", ... "" */
const char *kx_cert_curve_name(enum kx_cert_curve c); /* "secp256r1", ... "" */
const char *kx_cert_status_name(enum kx_cert_status s); /* "unseen", "seen", "encrypted", ... */

#endif
