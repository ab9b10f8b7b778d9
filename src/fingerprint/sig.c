/* SPDX-License-Identifier: BSD-2-Clause */
/* sig.c: names for signature schemes and certificate fields.
 *
 * TLS SignatureScheme: IANA "TLS SignatureScheme" registry (RFC 8446
 * section 4.2.3, RFC 8998 for SM2, RFC 9367 for GOST, RFC 8734 for the
 * brainpool TLS 1.3 schemes, draft-ietf-tls-mldsa for 0x0904-0x0906); the
 * TLS 1.2 hash/signature pairs of RFC 5246 section 7.4.1.4.1 that have no
 * TLS 1.3 name are named hash-first as OpenSSL does.
 */
#include "kexwatch/fingerprint.h"

struct scheme {
	uint16_t code;
	const char *name;
};

/* Sorted by code: binary search. */
static const struct scheme schemes[] = {
	{ 0x0101, "rsa_pkcs1_md5" },
	{ 0x0201, "rsa_pkcs1_sha1" },
	{ 0x0202, "dsa_sha1" },
	{ 0x0203, "ecdsa_sha1" },
	{ 0x0301, "rsa_pkcs1_sha224" },
	{ 0x0302, "dsa_sha224" },
	{ 0x0303, "ecdsa_sha224" },
	{ 0x0401, "rsa_pkcs1_sha256" },
	{ 0x0402, "dsa_sha256" },
	{ 0x0403, "ecdsa_secp256r1_sha256" },
	{ 0x0420, "rsa_pkcs1_sha256_legacy" },
	{ 0x0501, "rsa_pkcs1_sha384" },
	{ 0x0502, "dsa_sha384" },
	{ 0x0503, "ecdsa_secp384r1_sha384" },
	{ 0x0520, "rsa_pkcs1_sha384_legacy" },
	{ 0x0601, "rsa_pkcs1_sha512" },
	{ 0x0602, "dsa_sha512" },
	{ 0x0603, "ecdsa_secp521r1_sha512" },
	{ 0x0620, "rsa_pkcs1_sha512_legacy" },
	{ 0x0704, "eccsi_sha256" },
	{ 0x0705, "iso_ibs1" },
	{ 0x0706, "iso_ibs2" },
	{ 0x0707, "iso_chinese_ibs" },
	{ 0x0708, "sm2sig_sm3" },
	{ 0x0709, "gostr34102012_256a" },
	{ 0x070a, "gostr34102012_256b" },
	{ 0x070b, "gostr34102012_256c" },
	{ 0x070c, "gostr34102012_256d" },
	{ 0x070d, "gostr34102012_512a" },
	{ 0x070e, "gostr34102012_512b" },
	{ 0x070f, "gostr34102012_512c" },
	{ 0x0804, "rsa_pss_rsae_sha256" },
	{ 0x0805, "rsa_pss_rsae_sha384" },
	{ 0x0806, "rsa_pss_rsae_sha512" },
	{ 0x0807, "ed25519" },
	{ 0x0808, "ed448" },
	{ 0x0809, "rsa_pss_pss_sha256" },
	{ 0x080a, "rsa_pss_pss_sha384" },
	{ 0x080b, "rsa_pss_pss_sha512" },
	{ 0x081a, "ecdsa_brainpoolP256r1tls13_sha256" },
	{ 0x081b, "ecdsa_brainpoolP384r1tls13_sha384" },
	{ 0x081c, "ecdsa_brainpoolP512r1tls13_sha512" },
	{ 0x0904, "mldsa44" },
	{ 0x0905, "mldsa65" },
	{ 0x0906, "mldsa87" },
};

const char *kx_sigscheme_name(uint16_t code)
{
	size_t lo = 0, hi = sizeof(schemes) / sizeof(schemes[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (schemes[mid].code == code)
			return schemes[mid].name;
		if (schemes[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *const key_names[KX_CERT_KEY_MAX] = {
	[KX_CERT_KEY_NONE] = "", [KX_CERT_KEY_RSA] = "rsa", [KX_CERT_KEY_RSA_PSS] = "rsa-pss",
	[KX_CERT_KEY_EC] = "ec", [KX_CERT_KEY_ED25519] = "ed25519", [KX_CERT_KEY_ED448] = "ed448",
	[KX_CERT_KEY_DSA] = "dsa", [KX_CERT_KEY_MLDSA44] = "mldsa44",
	[KX_CERT_KEY_MLDSA65] = "mldsa65", [KX_CERT_KEY_MLDSA87] = "mldsa87",
	[KX_CERT_KEY_OTHER] = "other",
};

static const char *const sig_names[KX_CERT_SIG_MAX] = {
	[KX_CERT_SIG_NONE] = "",
	[KX_CERT_SIG_RSA_MD5] = "md5WithRSAEncryption",
	[KX_CERT_SIG_RSA_SHA1] = "sha1WithRSAEncryption",
	[KX_CERT_SIG_RSA_SHA224] = "sha224WithRSAEncryption",
	[KX_CERT_SIG_RSA_SHA256] = "sha256WithRSAEncryption",
	[KX_CERT_SIG_RSA_SHA384] = "sha384WithRSAEncryption",
	[KX_CERT_SIG_RSA_SHA512] = "sha512WithRSAEncryption",
	[KX_CERT_SIG_RSA_PSS] = "rsassaPss",
	[KX_CERT_SIG_ECDSA_SHA1] = "ecdsa-with-SHA1",
	[KX_CERT_SIG_ECDSA_SHA224] = "ecdsa-with-SHA224",
	[KX_CERT_SIG_ECDSA_SHA256] = "ecdsa-with-SHA256",
	[KX_CERT_SIG_ECDSA_SHA384] = "ecdsa-with-SHA384",
	[KX_CERT_SIG_ECDSA_SHA512] = "ecdsa-with-SHA512",
	[KX_CERT_SIG_ED25519] = "ED25519",
	[KX_CERT_SIG_ED448] = "ED448",
	[KX_CERT_SIG_DSA_SHA1] = "dsaWithSHA1",
	[KX_CERT_SIG_DSA_SHA256] = "dsa_with_SHA256",
	[KX_CERT_SIG_MLDSA44] = "ML-DSA-44",
	[KX_CERT_SIG_MLDSA65] = "ML-DSA-65",
	[KX_CERT_SIG_MLDSA87] = "ML-DSA-87",
	[KX_CERT_SIG_OTHER] = "other",
};

static const char *const curve_names[KX_CERT_CURVE_MAX] = {
	[KX_CERT_CURVE_NONE] = "", [KX_CERT_CURVE_P256] = "secp256r1",
	[KX_CERT_CURVE_P384] = "secp384r1", [KX_CERT_CURVE_P521] = "secp521r1",
	[KX_CERT_CURVE_BP256] = "brainpoolP256r1", [KX_CERT_CURVE_BP384] = "brainpoolP384r1",
	[KX_CERT_CURVE_BP512] = "brainpoolP512r1", [KX_CERT_CURVE_OTHER] = "other",
};

static const char *const status_names[KX_CERT_STATUS_MAX] = {
	[KX_CERT_UNSEEN] = "unseen", [KX_CERT_SEEN] = "seen",
	[KX_CERT_ENCRYPTED] = "encrypted", [KX_CERT_MALFORMED] = "malformed",
	[KX_CERT_TOO_BIG] = "too-big",
};

const char *kx_cert_key_name(enum kx_cert_key k)
{
	return (unsigned)k < KX_CERT_KEY_MAX ? key_names[k] : "";
}

const char *kx_cert_sig_name(enum kx_cert_sig s)
{
	return (unsigned)s < KX_CERT_SIG_MAX ? sig_names[s] : "";
}

const char *kx_cert_curve_name(enum kx_cert_curve c)
{
	return (unsigned)c < KX_CERT_CURVE_MAX ? curve_names[c] : "";
}

const char *kx_cert_status_name(enum kx_cert_status s)
{
	return (unsigned)s < KX_CERT_STATUS_MAX ? status_names[s] : "";
}
