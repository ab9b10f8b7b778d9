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

static const char *const verdict_names[KX_V_MAX] = {
	[KX_V_INCOMPLETE] = "incomplete", [KX_V_HYBRID] = "hybrid",
	[KX_V_PQ] = "pq",                 [KX_V_HYBRID_DRAFT] = "hybrid-draft",
	[KX_V_CLASSICAL] = "classical",   [KX_V_RESUMED] = "resumed",
	[KX_V_UNKNOWN] = "unknown",       [KX_V_PLAINTEXT] = "plaintext",
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

void kx_classify(struct kx_hs *hs)
{
	if (hs->preclassified)
		return;
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
