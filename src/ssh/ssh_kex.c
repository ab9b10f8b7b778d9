/* SPDX-License-Identifier: BSD-2-Clause */
/* ssh_kex.c: SSH key-exchange names, their class, and the algorithm choice.
 *
 * RFC 4253 section 7.1 (negotiation), RFC 8731 (curve25519/448), RFC 5656
 * (ecdh-sha2-*), RFC 4419 / RFC 8268 (diffie-hellman-*), RFC 4462 / 8732
 * (gss-*), RFC 4432 (rsa*), draft-josefsson-ntruprime-ssh (sntrup761x25519),
 * draft-ietf-sshm-mlkem-hybrid-kex (mlkem768x25519, mlkem768nistp256,
 * mlkem1024nistp384), RFC 8308 (ext-info-*), OpenSSH PROTOCOL 1.10
 * (kex-strict-*).
 */
#include <string.h>

#include "kexwatch/ssh.h"

struct kex_name {
	const char *name;
	enum kx_ssh_class cls;
};

static const struct kex_name exact[] = {
	{ "mlkem768x25519-sha256", KX_SSH_KEX_HYBRID },
	{ "sntrup761x25519-sha512", KX_SSH_KEX_HYBRID },
	{ "sntrup761x25519-sha512@openssh.com", KX_SSH_KEX_HYBRID },
	{ "mlkem768nistp256-sha256", KX_SSH_KEX_HYBRID },
	{ "mlkem1024nistp384-sha384", KX_SSH_KEX_HYBRID },
	/* OpenSSH 8.0-8.4 experimental, and the round-3 Kyber drafts. */
	{ "sntrup4591761x25519-sha512@tinyssh.org", KX_SSH_KEX_HYBRID_DRAFT },
	{ "x25519-kyber-512r3-sha256-d00@amazon.com", KX_SSH_KEX_HYBRID_DRAFT },
	{ "ecdh-nistp256-kyber-512r3-sha256-d00@openquantumsafe.org", KX_SSH_KEX_HYBRID_DRAFT },
	{ "ecdh-nistp384-kyber-768r3-sha384-d00@openquantumsafe.org", KX_SSH_KEX_HYBRID_DRAFT },
	{ "ecdh-nistp521-kyber-1024r3-sha512-d00@openquantumsafe.org", KX_SSH_KEX_HYBRID_DRAFT },
	{ "curve25519-sha256", KX_SSH_KEX_CLASSICAL },
	{ "curve25519-sha256@libssh.org", KX_SSH_KEX_CLASSICAL },
	{ "curve448-sha512", KX_SSH_KEX_CLASSICAL },
	{ "curve448-sha512@libssh.org", KX_SSH_KEX_CLASSICAL },
};

/* Names outside the table that carry a post-quantum component: vendor and
 * research builds (liboqs-based OQS-OpenSSH lists dozens) keep inventing
 * them, and a client offering one does offer PQ, so they count as drafts
 * rather than as unknown. Checked before the classical prefixes. */
static const char *const pq_marks[] = {
	"mlkem", "kyber", "sntrup", "ntruprime", "frodokem", "bike", "hqc", "mceliece",
	"@openquantumsafe.org",
};

static const char *const classical_prefixes[] = {
	"curve25519-", "curve448-", "ecdh-sha2-", "diffie-hellman-", "gss-", "rsa1024-sha1",
	"rsa2048-sha256", "ecmqv-sha2",
};

static const char *const pseudo_prefixes[] = { "ext-info-", "kex-strict-" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

enum kx_ssh_class kx_ssh_kex_class(const char *name)
{
	if (!name || !*name)
		return KX_SSH_KEX_UNKNOWN;
	for (size_t i = 0; i < N_OF(exact); i++)
		if (strcmp(name, exact[i].name) == 0)
			return exact[i].cls;
	for (size_t i = 0; i < N_OF(pseudo_prefixes); i++)
		if (has_prefix(name, pseudo_prefixes[i]))
			return KX_SSH_KEX_PSEUDO;
	for (size_t i = 0; i < N_OF(pq_marks); i++)
		if (strstr(name, pq_marks[i]))
			return KX_SSH_KEX_HYBRID_DRAFT;
	for (size_t i = 0; i < N_OF(classical_prefixes); i++)
		if (has_prefix(name, classical_prefixes[i]))
			return KX_SSH_KEX_CLASSICAL;
	return KX_SSH_KEX_UNKNOWN;
}

/* Q_C / Q_S sizes: RFC 8731 (X25519 32, X448 56 bytes), RFC 5656 with
 * SEC 1 uncompressed points (nistp256 65, nistp384 97, nistp521 133),
 * draft-josefsson-ntruprime-ssh (sntrup761 public key 1158 + 32, ciphertext
 * 1039 + 32), draft-ietf-sshm-mlkem-hybrid-kex (FIPS 203 encapsulation key /
 * ciphertext, then the ECDH value). */
static const struct {
	const char *name;
	uint32_t c, s;
} kex_sizes[] = {
	{ "curve25519-sha256", 32, 32 },
	{ "curve25519-sha256@libssh.org", 32, 32 },
	{ "curve448-sha512", 56, 56 },
	{ "curve448-sha512@libssh.org", 56, 56 },
	{ "ecdh-sha2-nistp256", 65, 65 },
	{ "ecdh-sha2-nistp384", 97, 97 },
	{ "ecdh-sha2-nistp521", 133, 133 },
	{ "sntrup761x25519-sha512", 1190, 1071 },
	{ "sntrup761x25519-sha512@openssh.com", 1190, 1071 },
	{ "mlkem768x25519-sha256", 1216, 1120 },
	{ "mlkem768nistp256-sha256", 1249, 1153 },
	{ "mlkem1024nistp384-sha384", 1665, 1665 },
};

bool kx_ssh_kex_share_sizes(const char *kex, uint32_t *q_c, uint32_t *q_s)
{
	for (size_t i = 0; i < N_OF(kex_sizes); i++) {
		if (strcmp(kex, kex_sizes[i].name) == 0) {
			*q_c = kex_sizes[i].c;
			*q_s = kex_sizes[i].s;
			return true;
		}
	}
	return false;
}

const char *kx_ssh_class_name(enum kx_ssh_class c)
{
	switch (c) {
	case KX_SSH_KEX_CLASSICAL: return "classical";
	case KX_SSH_KEX_HYBRID: return "hybrid";
	case KX_SSH_KEX_HYBRID_DRAFT: return "hybrid-draft";
	case KX_SSH_KEX_PSEUDO: return "pseudo";
	default: return "unknown";
	}
}

static bool list_has(const char *list, const char *name)
{
	char n[KX_SSH_NAME_MAX + 1];
	while (kx_ssh_list_next(&list, n))
		if (strcmp(n, name) == 0)
			return true;
	return false;
}

/* The first client name the server also lists, into out; false when none. */
static bool choose(const char *client, const char *server, bool skip_pseudo,
		   char out[KX_SSH_NAME_MAX + 1])
{
	char n[KX_SSH_NAME_MAX + 1];
	out[0] = '\0';
	while (kx_ssh_list_next(&client, n)) {
		if (skip_pseudo && kx_ssh_kex_class(n) == KX_SSH_KEX_PSEUDO)
			continue;
		if (list_has(server, n)) {
			memcpy(out, n, sizeof(n));
			return true;
		}
	}
	return false;
}

/* Ciphers whose tag replaces the MAC: OpenSSH then skips the MAC choice
 * (RFC 5647 AEAD_* names instead require the MAC to be the same name,
 * which the ordinary choice yields). */
static bool aead(const char *enc)
{
	return strcmp(enc, "chacha20-poly1305@openssh.com") == 0 ||
	       strcmp(enc, "aes128-gcm@openssh.com") == 0 ||
	       strcmp(enc, "aes256-gcm@openssh.com") == 0;
}

static void choose_mac(const struct kx_ssh_kexinit *c, const struct kx_ssh_kexinit *s,
		       enum kx_ssh_list_id id, const char *enc, char out[KX_SSH_NAME_MAX + 1])
{
	if (aead(enc)) {
		out[0] = '\0';
		return;
	}
	choose(kx_ssh_list_str(c, id), kx_ssh_list_str(s, id), false, out);
}

bool kx_ssh_negotiate(const struct kx_ssh_kexinit *c, const struct kx_ssh_kexinit *s,
		      struct kx_ssh_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->client_offers_pq = c->kex_offers_pq;
	ret->server_offers_pq = s->kex_offers_pq;
	ret->strict = c->strict && s->strict;
	ret->overflow = c->overflow || s->overflow;
	choose(kx_ssh_list_str(c, KX_SSH_L_HOSTKEY), kx_ssh_list_str(s, KX_SSH_L_HOSTKEY), false,
	       ret->hostkey);
	choose(kx_ssh_list_str(c, KX_SSH_L_ENC_C2S), kx_ssh_list_str(s, KX_SSH_L_ENC_C2S), false,
	       ret->enc_c2s);
	choose(kx_ssh_list_str(c, KX_SSH_L_ENC_S2C), kx_ssh_list_str(s, KX_SSH_L_ENC_S2C), false,
	       ret->enc_s2c);
	choose_mac(c, s, KX_SSH_L_MAC_C2S, ret->enc_c2s, ret->mac_c2s);
	choose_mac(c, s, KX_SSH_L_MAC_S2C, ret->enc_s2c, ret->mac_s2c);

	if (!choose(kx_ssh_list_str(c, KX_SSH_L_KEX), kx_ssh_list_str(s, KX_SSH_L_KEX), true,
		    ret->kex)) {
		ret->no_common_kex = true;
		ret->verdict = KX_V_INCOMPLETE;
		ret->reason = KX_R_NONE;
		return false;
	}
	ret->kex_class = kx_ssh_kex_class(ret->kex);
	switch (ret->kex_class) {
	case KX_SSH_KEX_HYBRID:
		ret->verdict = KX_V_HYBRID;
		break;
	case KX_SSH_KEX_HYBRID_DRAFT:
		ret->verdict = KX_V_HYBRID_DRAFT;
		break;
	case KX_SSH_KEX_CLASSICAL:
		ret->verdict = KX_V_CLASSICAL;
		ret->reason = ret->client_offers_pq ? KX_R_SERVER_DECLINED : KX_R_CLIENT_NO_PQ;
		break;
	default:
		ret->verdict = KX_V_UNKNOWN;
		break;
	}
	return true;
}

const char *kx_ssh_reason_text(const struct kx_ssh_result *r)
{
	if (r->no_common_kex)
		return "no-common-kex";
	switch (r->reason) {
	case KX_R_CLIENT_NO_PQ: return "client-no-pq";
	case KX_R_SERVER_DECLINED: return "server-declined";
	default: return "";
	}
}
