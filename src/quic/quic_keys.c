/* SPDX-License-Identifier: BSD-2-Clause */
/* quic_keys.c: QUIC Initial secrets and keys (RFC 9001 section 5.2, RFC 8446
 * section 7.1 HKDF-Expand-Label, RFC 5869 HKDF; QUIC v2 RFC 9369 sections
 * 3.3.1-3.3.2; draft-29 and the v2 draft salts from their drafts).
 *
 *   initial_secret = HKDF-Extract(salt(version), client_dcid)
 *   client_secret  = HKDF-Expand-Label(initial_secret, "client in", "", 32)
 *   server_secret  = HKDF-Expand-Label(initial_secret, "server in", "", 32)
 *   key/iv/hp      = HKDF-Expand-Label(secret, "quic key"|"quic iv"|"quic hp", "", 16|12|16)
 *                    (v2: "quicv2 key", "quicv2 iv", "quicv2 hp")
 */
#include <pthread.h>
#include <string.h>

#include <gcrypt.h>

#include "kexwatch/quic.h"

#define SHA256_LEN 32

struct version_params {
	uint32_t version;
	uint8_t salt[20];
	const char *key_label, *iv_label, *hp_label;
};

static const struct version_params versions[] = {
	{ KX_QUIC_V1,
	  { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a },
	  "quic key", "quic iv", "quic hp" },
	{ KX_QUIC_V2,
	  { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 },
	  "quicv2 key", "quicv2 iv", "quicv2 hp" },
	{ KX_QUIC_V2_DRAFT,
	  { 0xa7, 0x07, 0xc2, 0x03, 0xa5, 0x9b, 0x47, 0x18, 0x4a, 0x1d,
	    0x62, 0xca, 0x57, 0x04, 0x06, 0xea, 0x7a, 0xe3, 0xe5, 0xd3 },
	  "quicv2 key", "quicv2 iv", "quicv2 hp" },
	{ KX_QUIC_DRAFT29,
	  { 0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	    0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99 },
	  "quic key", "quic iv", "quic hp" },
};

static const struct version_params *find_version(uint32_t version)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (versions[i].version == version)
			return &versions[i];
	return NULL;
}

bool kx_quic_version_known(uint32_t version)
{
	return find_version(version) != NULL;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void init_gcrypt(void)
{
	/* nDPI may have initialised libgcrypt first; finishing twice is
	 * harmless but checking keeps its settings. 1.6 is the first version
	 * that is thread-safe without callbacks. */
	if (!gcry_check_version("1.6.0"))
		return;
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		/* Initial keys come from public values: secure memory buys nothing
		 * and would print warnings without privileges. */
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	init_rc = 0;
}

int kx_quic_init(void)
{
	pthread_once(&init_once, init_gcrypt);
	return init_rc;
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
		       const uint8_t *b, size_t b_len, uint8_t out[SHA256_LEN])
{
	/* With GCRY_MD_FLAG_HMAC the first buffer is the key. */
	gcry_buffer_t iov[3];
	memset(iov, 0, sizeof(iov));
	iov[0].data = (void *)key;
	iov[0].len = key_len;
	iov[1].data = (void *)a;
	iov[1].len = a_len;
	iov[2].data = (void *)b;
	iov[2].len = b_len;
	return gcry_md_hash_buffers(GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC, out, iov, 3) ? -1 : 0;
}

/* HKDF-Expand-Label with an empty context for outputs of at most one hash
 * block (every length QUIC Initial keys need), so T(1) is the whole output. */
static int expand_label(const uint8_t secret[SHA256_LEN], const char *label, uint8_t *out,
			size_t out_len)
{
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + 255 + 1 + 1];
	size_t label_len = strlen(label);
	size_t plen = sizeof(prefix) - 1;
	if (out_len > SHA256_LEN || plen + label_len > 255)
		return -1;
	size_t n = 0;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(plen + label_len);
	memcpy(info + n, prefix, plen);
	n += plen;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0; /* context length */
	info[n++] = 1; /* HKDF-Expand counter for T(1) */
	uint8_t t[SHA256_LEN];
	if (hmac_sha256(secret, SHA256_LEN, info, n, NULL, 0, t) < 0)
		return -1;
	memcpy(out, t, out_len);
	return 0;
}

static int derive_side(const struct version_params *v, const uint8_t initial[SHA256_LEN],
		       const char *side_label, struct kx_quic_keys *k)
{
	uint8_t secret[SHA256_LEN];
	if (expand_label(initial, side_label, secret, sizeof(secret)) < 0 ||
	    expand_label(secret, v->key_label, k->key, sizeof(k->key)) < 0 ||
	    expand_label(secret, v->iv_label, k->iv, sizeof(k->iv)) < 0 ||
	    expand_label(secret, v->hp_label, k->hp, sizeof(k->hp)) < 0)
		return -1;
	return 0;
}

int kx_quic_derive_initial(uint32_t version, const uint8_t *dcid, size_t dcid_len,
			   struct kx_quic_secrets *ret)
{
	const struct version_params *v = find_version(version);
	if (!v || dcid_len > KX_QUIC_CID_MAX || (dcid_len && !dcid) || kx_quic_init() < 0)
		return -1;
	struct kx_quic_secrets s;
	memset(&s, 0, sizeof(s));
	s.version = version;
	s.odcid_len = (uint8_t)dcid_len;
	if (dcid_len)
		memcpy(s.odcid, dcid, dcid_len);
	/* HKDF-Extract(salt, IKM) = HMAC(key = salt, IKM). */
	uint8_t initial[SHA256_LEN];
	if (hmac_sha256(v->salt, sizeof(v->salt), s.odcid, dcid_len, NULL, 0, initial) < 0 ||
	    derive_side(v, initial, "client in", &s.client) < 0 ||
	    derive_side(v, initial, "server in", &s.server) < 0)
		return -1;
	*ret = s;
	return 0;
}
