/* SPDX-License-Identifier: BSD-2-Clause */
/* algos.c: algorithm facts for the CBOM (algos.h).
 *
 * Sources: FIPS 203 (ML-KEM parameter sets, categories 1/3/5) and NIST's
 * CSOR (id-alg-ml-kem-* 2.16.840.1.101.3.4.4.1-3, AES modes 2.16.840.1.
 * 101.3.4.1.*); RFC 8410 (X25519 1.3.101.110, X448 .111, Ed25519 .112,
 * Ed448 .113); SEC 2 / RFC 5480 (curve OIDs); SP 800-57 part 1 table 2
 * (classical strength of curves and RSA/DH sizes); RFC 7919 (FFDHE
 * estimated strength); draft-ietf-tls-ecdhe-mlkem and draft-kwiatkowski-
 * tls-ecdhe-mlkem (hybrids); RFC 9142 and draft-ietf-sshm-mlkem-hybrid-kex
 * (SSH methods); NTRU Prime round-3 submission (sntrup761 claimed
 * category 2); IANA TLS Cipher Suites registry (names and code points).
 *
 * A hybrid is secure while either part holds: its classical strength is
 * the stronger part's, its NIST category the ML-KEM part's. Category 0 is
 * CycloneDX's "no category met": every classical algorithm.
 */
#include "kexwatch/algos.h"

#include <string.h>

#define KEM "keygen,encapsulate,decapsulate"
#define KA "keygen,keyderive"
#define SIG "keygen,sign,verify"
#define AE "encrypt,decrypt,tag"
#define BC "encrypt,decrypt"

struct group_fact {
	uint16_t code;
	struct kx_algo a;
};

static const struct group_fact groups[] = {
	{ 0x0017, { "secp256r1", "key-agree", "256", "secp256r1", NULL, KA, 128, 0, "1.2.840.10045.3.1.7" } },
	{ 0x0018, { "secp384r1", "key-agree", "384", "secp384r1", NULL, KA, 192, 0, "1.3.132.0.34" } },
	{ 0x0019, { "secp521r1", "key-agree", "521", "secp521r1", NULL, KA, 256, 0, "1.3.132.0.35" } },
	{ 0x001a, { "brainpoolP256r1", "key-agree", "256", "brainpoolP256r1", NULL, KA, 128, 0, "1.3.36.3.3.2.8.1.1.7" } },
	{ 0x001b, { "brainpoolP384r1", "key-agree", "384", "brainpoolP384r1", NULL, KA, 192, 0, "1.3.36.3.3.2.8.1.1.11" } },
	{ 0x001c, { "brainpoolP512r1", "key-agree", "512", "brainpoolP512r1", NULL, KA, 256, 0, "1.3.36.3.3.2.8.1.1.13" } },
	{ 0x001d, { "x25519", "key-agree", "255", "Curve25519", NULL, KA, 128, 0, "1.3.101.110" } },
	{ 0x001e, { "x448", "key-agree", "448", "Curve448", NULL, KA, 224, 0, "1.3.101.111" } },
	{ 0x0100, { "ffdhe2048", "key-agree", "2048", NULL, NULL, KA, 103, 0, NULL } },
	{ 0x0101, { "ffdhe3072", "key-agree", "3072", NULL, NULL, KA, 125, 0, NULL } },
	{ 0x0102, { "ffdhe4096", "key-agree", "4096", NULL, NULL, KA, 150, 0, NULL } },
	{ 0x0103, { "ffdhe6144", "key-agree", "6144", NULL, NULL, KA, 175, 0, NULL } },
	{ 0x0104, { "ffdhe8192", "key-agree", "8192", NULL, NULL, KA, 192, 0, NULL } },
	{ 0x0200, { "MLKEM512", "kem", "512", NULL, NULL, KEM, 128, 1, "2.16.840.1.101.3.4.4.1" } },
	{ 0x0201, { "MLKEM768", "kem", "768", NULL, NULL, KEM, 192, 3, "2.16.840.1.101.3.4.4.2" } },
	{ 0x0202, { "MLKEM1024", "kem", "1024", NULL, NULL, KEM, 256, 5, "2.16.840.1.101.3.4.4.3" } },
	{ 0x11eb, { "SecP256r1MLKEM768", "kem", "768", "secp256r1", NULL, KEM, 192, 3, NULL } },
	{ 0x11ec, { "X25519MLKEM768", "kem", "768", "Curve25519", NULL, KEM, 192, 3, NULL } },
	{ 0x11ed, { "SecP384r1MLKEM1024", "kem", "1024", "secp384r1", NULL, KEM, 256, 5, NULL } },
	{ 0x11ee, { "curveSM2MLKEM768", "kem", "768", "sm2p256v1", NULL, KEM, 192, 3, NULL } },
	/* Round-3 Kyber768 (pre-standard): category 3 as submitted. */
	{ 0x6399, { "X25519Kyber768Draft00", "kem", "768", "Curve25519", NULL, KEM, 192, 3, NULL } },
	{ 0x639a, { "SecP256r1Kyber768Draft00", "kem", "768", "secp256r1", NULL, KEM, 192, 3, NULL } },
};

/* SSH key exchange methods (RFC 9142 names) and host key algorithms. */
static const struct kx_algo ssh[] = {
	{ "curve25519-sha256", "key-agree", "255", "Curve25519", NULL, KA, 128, 0, NULL },
	{ "curve25519-sha256@libssh.org", "key-agree", "255", "Curve25519", NULL, KA, 128, 0, NULL },
	{ "curve448-sha512", "key-agree", "448", "Curve448", NULL, KA, 224, 0, NULL },
	{ "ecdh-sha2-nistp256", "key-agree", "256", "secp256r1", NULL, KA, 128, 0, NULL },
	{ "ecdh-sha2-nistp384", "key-agree", "384", "secp384r1", NULL, KA, 192, 0, NULL },
	{ "ecdh-sha2-nistp521", "key-agree", "521", "secp521r1", NULL, KA, 256, 0, NULL },
	{ "diffie-hellman-group1-sha1", "key-agree", "1024", NULL, NULL, KA, 80, 0, NULL },
	{ "diffie-hellman-group14-sha1", "key-agree", "2048", NULL, NULL, KA, 112, 0, NULL },
	{ "diffie-hellman-group14-sha256", "key-agree", "2048", NULL, NULL, KA, 112, 0, NULL },
	{ "diffie-hellman-group16-sha512", "key-agree", "4096", NULL, NULL, KA, 150, 0, NULL },
	{ "diffie-hellman-group18-sha512", "key-agree", "8192", NULL, NULL, KA, 192, 0, NULL },
	{ "diffie-hellman-group-exchange-sha256", "key-agree", NULL, NULL, NULL, KA, 0, 0, NULL },
	/* sntrup761: category 2 as claimed; no standard gives its classical
	 * strength, so the x25519 part's is used. */
	{ "sntrup761x25519-sha512", "kem", "761", "Curve25519", NULL, KEM, 128, 2, NULL },
	{ "sntrup761x25519-sha512@openssh.com", "kem", "761", "Curve25519", NULL, KEM, 128, 2, NULL },
	{ "mlkem768x25519-sha256", "kem", "768", "Curve25519", NULL, KEM, 192, 3, NULL },
	{ "mlkem768nistp256-sha256", "kem", "768", "secp256r1", NULL, KEM, 192, 3, NULL },
	{ "mlkem1024nistp384-sha384", "kem", "1024", "secp384r1", NULL, KEM, 256, 5, NULL },
	{ "ssh-ed25519", "signature", "255", "Curve25519", NULL, SIG, 128, 0, "1.3.101.112" },
	{ "ssh-ed448", "signature", "448", "Curve448", NULL, SIG, 224, 0, "1.3.101.113" },
	{ "ecdsa-sha2-nistp256", "signature", "256", "secp256r1", NULL, SIG, 128, 0, "1.2.840.10045.4.3.2" },
	{ "ecdsa-sha2-nistp384", "signature", "384", "secp384r1", NULL, SIG, 192, 0, "1.2.840.10045.4.3.3" },
	{ "ecdsa-sha2-nistp521", "signature", "521", "secp521r1", NULL, SIG, 256, 0, "1.2.840.10045.4.3.4" },
	/* RSA's strength is its key size, which the KEXINIT does not carry. */
	{ "rsa-sha2-256", "signature", NULL, NULL, NULL, SIG, 0, 0, "1.2.840.113549.1.1.11" },
	{ "rsa-sha2-512", "signature", NULL, NULL, NULL, SIG, 0, 0, "1.2.840.113549.1.1.13" },
	{ "ssh-rsa", "signature", NULL, NULL, NULL, SIG, 0, 0, "1.2.840.113549.1.1.5" },
};

/* Bulk ciphers of the suites below, and TLS 1.2's RSA key transport. */
static const struct kx_algo ciphers[] = {
	{ "AES-128-GCM", "ae", "128", NULL, "gcm", AE, 128, 1, "2.16.840.1.101.3.4.1.6" },
	{ "AES-256-GCM", "ae", "256", NULL, "gcm", AE, 256, 5, "2.16.840.1.101.3.4.1.46" },
	{ "AES-128-CCM", "ae", "128", NULL, "ccm", AE, 128, 1, "2.16.840.1.101.3.4.1.7" },
	{ "AES-128-CCM-8", "ae", "128", NULL, "ccm", AE, 128, 1, NULL },
	{ "CHACHA20-POLY1305", "ae", "256", NULL, NULL, AE, 256, 5, NULL },
	{ "AES-128-CBC", "block-cipher", "128", NULL, "cbc", BC, 128, 1, "2.16.840.1.101.3.4.1.2" },
	{ "AES-256-CBC", "block-cipher", "256", NULL, "cbc", BC, 256, 5, "2.16.840.1.101.3.4.1.42" },
	{ "3DES-EDE-CBC", "block-cipher", "168", NULL, "cbc", BC, 112, 0, "1.2.840.113549.3.7" },
	{ "RSA", "pke", NULL, NULL, NULL, "encrypt,decrypt", 0, 0, "1.2.840.113549.1.1.1" },
};

static const struct kx_suite suites[] = {
	{ 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "3DES-EDE-CBC", "RSA" },
	{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", "RSA" },
	{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", "RSA" },
	{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", "RSA" },
	{ 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES-256-CBC", "RSA" },
	{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "RSA" },
	{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "RSA" },
	{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "DHE" },
	{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "DHE" },
	{ 0x1301, "TLS_AES_128_GCM_SHA256", "AES-128-GCM", NULL },
	{ 0x1302, "TLS_AES_256_GCM_SHA384", "AES-256-GCM", NULL },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", NULL },
	{ 0x1304, "TLS_AES_128_CCM_SHA256", "AES-128-CCM", NULL },
	{ 0x1305, "TLS_AES_128_CCM_8_SHA256", "AES-128-CCM-8", NULL },
	{ 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", "ECDHE" },
	{ 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", "ECDHE" },
	{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "AES-128-CBC", "ECDHE" },
	{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "AES-256-CBC", "ECDHE" },
	{ 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", "ECDHE" },
	{ 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", "ECDHE" },
	{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "AES-128-CBC", "ECDHE" },
	{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "AES-256-CBC", "ECDHE" },
	{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "ECDHE" },
	{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "ECDHE" },
	{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "AES-128-GCM", "ECDHE" },
	{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "AES-256-GCM", "ECDHE" },
	{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", "ECDHE" },
	{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", "ECDHE" },
	{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", "DHE" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

const struct kx_algo *kx_algo_group(uint16_t code)
{
	for (size_t i = 0; i < N(groups); i++)
		if (groups[i].code == code)
			return &groups[i].a;
	return NULL;
}

const struct kx_algo *kx_algo_ssh(const char *name)
{
	for (size_t i = 0; name && i < N(ssh); i++)
		if (strcmp(ssh[i].name, name) == 0)
			return &ssh[i];
	return NULL;
}

const struct kx_algo *kx_algo_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N(groups); i++)
		if (strcmp(groups[i].a.name, name) == 0)
			return &groups[i].a;
	for (size_t i = 0; i < N(ciphers); i++)
		if (strcmp(ciphers[i].name, name) == 0)
			return &ciphers[i];
	return kx_algo_ssh(name);
}

const struct kx_suite *kx_suite_find(uint16_t code)
{
	for (size_t i = 0; i < N(suites); i++)
		if (suites[i].code == code)
			return &suites[i];
	return NULL;
}
