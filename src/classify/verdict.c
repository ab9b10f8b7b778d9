/* SPDX-License-Identifier: BSD-2-Clause */
/* verdict.c: one verdict per handshake, from what was offered and selected.
 *
 * Order matters: no ServerHello -> incomplete; TLS 1.2 and lower (DTLS 1.2
 * and 1.0 alike) are
 * classical (or resumed, for an abbreviated handshake) whatever curve they
 * used; TLS 1.3 without a key share is a PSK-only resumption; otherwise the
 * family of the selected group decides, and for a classical group the
 * ClientHello(s) tell whose fault it is.
 */
#include <stdio.h>

#include "kexwatch/groups.h"
#include "kexwatch/hs.h"

static void classify_group(struct kx_hs *hs);

static const char *const verdict_names[KX_V_MAX] = {
	[KX_V_INCOMPLETE] = "incomplete", [KX_V_HYBRID] = "hybrid",
	[KX_V_PQ] = "pq",                 [KX_V_HYBRID_DRAFT] = "hybrid-draft",
	[KX_V_CLASSICAL] = "classical",   [KX_V_RESUMED] = "resumed",
	[KX_V_UNKNOWN] = "unknown",       [KX_V_PLAINTEXT] = "plaintext",
	[KX_V_NO_VERDICT] = "no-verdict",
};

static const char *const reason_names[KX_R_MAX] = {
	[KX_R_NONE] = "",
	[KX_R_CLIENT_NO_PQ] = "client-no-pq",
	[KX_R_SERVER_DECLINED] = "server-declined",
	[KX_R_TLS12] = "tls12",
	[KX_R_RST] = "rst",
	[KX_R_FIN] = "fin",
	[KX_R_TIMEOUT] = "timeout",
	[KX_R_EOF] = "end-of-capture",
	[KX_R_EVICTED] = "evicted",
	[KX_R_GAP] = "gap",
	[KX_R_DEPTH] = "depth",
	[KX_R_MALFORMED] = "malformed",
	[KX_R_ALERT] = "alert",
	[KX_R_NO_COMMON_KEX] = "no-common-kex",
	[KX_R_OFFER_UNSEEN] = "offer-unseen",
	[KX_R_CAPACITY] = "capacity",
	[KX_R_NO_TLS] = "no-tls",
	[KX_R_STARTTLS_NOT_OFFERED] = "starttls-not-offered",
	[KX_R_STARTTLS_REFUSED] = "starttls-refused",
	[KX_R_SSL_REFUSED] = "ssl-refused",
	[KX_R_HANDSHAKE_UNSEEN] = "handshake-unseen",
	[KX_R_SHARE_SIZE] = "share-size",
	[KX_R_NOT_OFFERED] = "group-not-offered",
	[KX_R_SHARE_UNLISTED] = "share-not-in-groups",
};

const char *kx_verdict_name(enum kx_verdict v)
{
	return (unsigned)v < KX_V_MAX ? verdict_names[v] : "unknown";
}

const char *kx_reason_name(enum kx_reason r)
{
	return (unsigned)r < KX_R_MAX ? reason_names[r] : "";
}

const char *kx_tls12_kx_name(enum kx_tls12_kx k)
{
	switch (k) {
	case KX_KX_ECDHE: return "ECDHE";
	case KX_KX_DHE: return "DHE";
	case KX_KX_RSA: return "RSA";
	case KX_KX_PSK: return "PSK";
	case KX_KX_OTHER: return "other";
	default: return "";
	}
}

const char *kx_version_name(uint16_t v, char *buf, size_t len)
{
	switch (v) {
	case 0x0304: return "TLS1.3";
	case 0x0303: return "TLS1.2";
	case 0x0302: return "TLS1.1";
	case 0x0301: return "TLS1.0";
	case 0x0300: return "SSL3.0";
	case 0xfefc: return "DTLS1.3";
	case 0xfefd: return "DTLS1.2";
	case 0xfeff: return "DTLS1.0";
	default: snprintf(buf, len, "0x%04x", v); return buf;
	}
}

bool kx_version_is_13(uint16_t v)
{
	/* DTLS counts down from 0xfeff (1.0); 0xfefe was never used. */
	if ((v >> 8) == 0xfe)
		return v <= 0xfefc;
	return v >= 0x0304;
}

bool kx_hs_offers_pq(const struct kx_hs *hs)
{
	if (hs->preclassified)
		return hs->ssh.client_offers_pq;
	for (unsigned c = 0; c < hs->n_ch && c < 2; c++) {
		const struct kx_client_hello *ch = &hs->ch[c];
		for (unsigned i = 0; i < ch->n_groups; i++)
			if (kx_group_is_pq(ch->groups[i]))
				return true;
		for (unsigned i = 0; i < ch->n_shares; i++)
			if (kx_group_is_pq(ch->shares[i]))
				return true;
	}
	return false;
}

static bool listed(const struct kx_client_hello *ch, uint16_t group)
{
	for (unsigned i = 0; i < ch->n_groups; i++)
		if (ch->groups[i] == group)
			return true;
	return false;
}

/* Whether a list can be searched: a parsed ClientHello that sent
 * supported_groups, all of it kept. */
static bool searchable(const struct kx_client_hello *ch)
{
	return ch->from_wire && ch->n_groups && !ch->overflow;
}

/* Key-exchange claims checked against what they must be (RFC 8446 section
 * 4.2.8: each KeyShareEntry has its group's size and corresponds to a
 * group in supported_groups; the server's share and selected_group are
 * for a group the client offered). GREASE shares are random bytes of any
 * size, and groups whose sizes the registry does not know are not judged. */
static uint8_t check_key_exchange(const struct kx_hs *hs)
{
	uint8_t a = 0;
	uint16_t cs, ss;
	for (unsigned c = 0; c < hs->n_ch && c < 2; c++) {
		const struct kx_client_hello *ch = &hs->ch[c];
		if (!ch->from_wire)
			continue;
		for (unsigned i = 0; i < ch->n_shares; i++) {
			uint16_t g = ch->shares[i];
			if ((g & 0x0f0f) == 0x0a0a && (g >> 8) == (g & 0xff))
				continue; /* GREASE (RFC 8701) */
			if (kx_group_share_sizes(g, &cs, &ss) &&
			    ch->share_len[i] != cs)
				a |= KX_ANOM_CLIENT_SHARE_SIZE;
			if (searchable(ch) && !listed(ch, g))
				a |= KX_ANOM_SHARE_UNLISTED;
		}
	}
	if (!hs->have_sh)
		return a;
	bool v13 = kx_version_is_13(hs->version);
	if (hs->have_group && hs->server_share_seen && (v13 || hs->tls12_kx == KX_KX_ECDHE) &&
	    kx_group_share_sizes(hs->group, &cs, &ss) && hs->server_share_len != ss)
		a |= KX_ANOM_SERVER_SHARE_SIZE;
	if (hs->n_ch && !hs->ch_unseen) {
		/* The HRR answers the first ClientHello, the ServerHello the last. */
		if (hs->hrr && hs->hrr_group && searchable(&hs->ch[0]) &&
		    !listed(&hs->ch[0], hs->hrr_group))
			a |= KX_ANOM_NOT_OFFERED;
		const struct kx_client_hello *last = &hs->ch[hs->n_ch > 1 ? 1 : 0];
		if (hs->have_group && searchable(last) && !listed(last, hs->group))
			a |= KX_ANOM_NOT_OFFERED;
	}
	return a;
}

void kx_classify(struct kx_hs *hs)
{
	if (hs->preclassified)
		return;
	hs->anomalies = check_key_exchange(hs);
	classify_group(hs);
	/* A claim that does not hold never counts, PQ or not: the bytes on the
	 * wire are not what the group says they are. */
	if (hs->have_sh && hs->anomalies) {
		hs->verdict = KX_V_UNKNOWN;
		hs->reason = hs->anomalies & (KX_ANOM_CLIENT_SHARE_SIZE | KX_ANOM_SERVER_SHARE_SIZE)
				     ? KX_R_SHARE_SIZE
			     : hs->anomalies & KX_ANOM_NOT_OFFERED ? KX_R_NOT_OFFERED
								   : KX_R_SHARE_UNLISTED;
	}
}

static void classify_group(struct kx_hs *hs)
{
	if (!hs->have_sh) {
		hs->verdict = KX_V_INCOMPLETE;
		if (hs->reason == KX_R_NONE)
			hs->reason = KX_R_EOF;
		return;
	}
	hs->reason = KX_R_NONE;
	if (!kx_version_is_13(hs->version)) {
		if (hs->resumed) {
			hs->verdict = KX_V_RESUMED;
			hs->reason = KX_R_TLS12;
		} else {
			hs->verdict = KX_V_CLASSICAL;
			hs->reason = KX_R_TLS12;
		}
		return;
	}
	if (!hs->have_group) {
		/* TLS 1.3 without a key share: psk_ke resumption. */
		hs->verdict = KX_V_RESUMED;
		return;
	}
	switch (kx_group_family(hs->group)) {
	case KX_FAM_HYBRID:
		hs->verdict = KX_V_HYBRID;
		break;
	case KX_FAM_PQ:
		hs->verdict = KX_V_PQ;
		break;
	case KX_FAM_HYBRID_DRAFT:
		hs->verdict = KX_V_HYBRID_DRAFT;
		break;
	case KX_FAM_CLASSICAL_EC:
	case KX_FAM_CLASSICAL_FFDHE:
		hs->verdict = KX_V_CLASSICAL;
		/* Without the ClientHello nobody can say whose choice it was. */
		hs->reason = hs->ch_unseen	    ? KX_R_OFFER_UNSEEN
			     : kx_hs_offers_pq(hs) ? KX_R_SERVER_DECLINED
						   : KX_R_CLIENT_NO_PQ;
		break;
	default:
		hs->verdict = KX_V_UNKNOWN;
		break;
	}
}
