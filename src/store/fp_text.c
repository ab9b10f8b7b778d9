/* SPDX-License-Identifier: BSD-2-Clause */
/* fp_text.c: the fingerprint and signature-readiness fields of a handshake
 * as text (emit.h kx_hs_fp), in one place for the database row; the rules
 * are those of json_out.c's put_fingerprints, which test_store holds equal
 * through the JSON event and the database on the bundled captures. */
#include <stdio.h>
#include <string.h>

#include "kexwatch/emit.h"
#include "kexwatch/fingerprint.h"

/* A fixed-size string field: NULL when empty (or, defensively, when it
 * lacks its NUL). */
static const char *field(const char *v, size_t size)
{
	size_t n = strnlen(v, size);
	return n == 0 || n == size ? NULL : v;
}

static size_t put_sizes(char *p, size_t left, const uint16_t *v, unsigned n)
{
	size_t pos = 0;
	pos += (size_t)snprintf(p + pos, left - pos, "[");
	for (unsigned i = 0; i < n && pos < left; i++)
		pos += (size_t)snprintf(p + pos, left - pos, "%s%u", i ? "," : "", v[i]);
	if (pos < left)
		pos += (size_t)snprintf(p + pos, left - pos, "]");
	return pos;
}

void kx_hs_fp(const struct kx_hs *hs, struct kx_hs_fp *f)
{
	const struct kx_client_hello *ch = &hs->ch[0];
	unsigned n_ch = hs->n_ch < 2 ? hs->n_ch : 2;
	bool ssh = hs->preclassified && !hs->is_session && strcmp(hs->protocol, "ssh") == 0;
	bool tls = !ssh && !hs->is_session;

	memset(f, 0, sizeof(*f));
	f->ja4 = field(ch->ja4, sizeof(ch->ja4));
	f->ja4_2 = tls && n_ch == 2 ? field(hs->ch[1].ja4, sizeof(hs->ch[1].ja4)) : NULL;
	f->ja4s = field(hs->ja4s, sizeof(hs->ja4s));
	f->ja4s_hrr = field(hs->ja4s_hrr, sizeof(hs->ja4s_hrr));
	if (ssh) {
		f->kx_fp = field(hs->ssh.kex_client, sizeof(hs->ssh.kex_client));
	} else if (tls && n_ch) {
		size_t n = kx_fp_kx(ch->groups, ch->n_groups, ch->shares, ch->n_shares,
				    f->kx_fp_buf, sizeof(f->kx_fp_buf));
		if (n >= sizeof(f->kx_fp_buf))
			f->kx_fp_buf[sizeof(f->kx_fp_buf) - 1] = '\0';
		f->kx_fp = f->kx_fp_buf;
	}
	if (tls && n_ch == 2) {
		const struct kx_client_hello *c2 = &hs->ch[1];
		size_t n = kx_fp_kx(c2->groups, c2->n_groups, c2->shares, c2->n_shares,
				    f->kx_fp2_buf, sizeof(f->kx_fp2_buf));
		if (n >= sizeof(f->kx_fp2_buf))
			f->kx_fp2_buf[sizeof(f->kx_fp2_buf) - 1] = '\0';
		f->kx_fp_2 = f->kx_fp2_buf;
	}
	f->hassh = ssh ? field(hs->ssh.hassh, sizeof(hs->ssh.hassh)) : NULL;
	f->hassh_server = ssh ? field(hs->ssh.hassh_server, sizeof(hs->ssh.hassh_server)) : NULL;

	char *p = f->sizes_buf;
	size_t left = sizeof(f->sizes_buf), pos = 0;
	if (ssh) {
		if (hs->ssh.q_c_len)
			snprintf(p, left, "[[%u]]", (unsigned)hs->ssh.q_c_len);
		else
			snprintf(p, left, "[]");
		f->key_share_sizes = p;
	} else if (n_ch && ch->from_wire) {
		pos += (size_t)snprintf(p, left, "[");
		for (unsigned c = 0; c < n_ch && pos < left; c++) {
			if (c && pos < left)
				pos += (size_t)snprintf(p + pos, left - pos, ",");
			if (pos < left)
				pos += put_sizes(p + pos, left - pos, hs->ch[c].share_len,
						 hs->ch[c].n_shares);
		}
		if (pos < left)
			snprintf(p + pos, left - pos, "]");
		f->key_share_sizes = p;
	}
	f->server_share_size = ssh ? (hs->ssh.q_s_len ? (int64_t)hs->ssh.q_s_len : -1)
				   : (hs->server_share_seen ? (int64_t)hs->server_share_len : -1);

	static const struct {
		uint8_t bit;
		const char *name;
	} anoms[] = {
		{ KX_ANOM_CLIENT_SHARE_SIZE, "client-share-size" },
		{ KX_ANOM_SERVER_SHARE_SIZE, "server-share-size" },
		{ KX_ANOM_NOT_OFFERED, "group-not-offered" },
		{ KX_ANOM_SHARE_UNLISTED, "share-not-in-groups" },
	};
	pos = 0;
	for (size_t i = 0; i < sizeof(anoms) / sizeof(anoms[0]); i++)
		if (hs->anomalies & anoms[i].bit && pos < sizeof(f->anom_buf))
			pos += (size_t)snprintf(f->anom_buf + pos, sizeof(f->anom_buf) - pos, "%s%s",
						pos ? "," : "", anoms[i].name);
	f->kx_anomalies = pos ? f->anom_buf : NULL;

	f->offers_mldsa = ch->offers_mldsa || (n_ch == 2 && hs->ch[1].offers_mldsa);
	const struct kx_hs_cert *c = &hs->cert;
	bool seen = c->status == KX_CERT_SEEN;
	f->cert_status = tls && hs->have_sh ? kx_cert_status_name(c->status) : NULL;
	f->cert_key = seen ? kx_cert_key_name(c->key) : NULL;
	f->cert_key_bits = seen && c->key_bits ? c->key_bits : -1;
	f->cert_curve = seen && c->curve ? kx_cert_curve_name(c->curve) : NULL;
	f->cert_sig = seen ? kx_cert_sig_name(c->sig) : NULL;
	f->ske_sigalg = c->have_ske_sig ? c->ske_sig : -1;
}
