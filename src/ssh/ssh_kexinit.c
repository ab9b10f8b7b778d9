/* SPDX-License-Identifier: BSD-2-Clause */
/* ssh_kexinit.c: the SSH version line and the KEXINIT message.
 *
 * RFC 4253 section 4.2 (identification string), section 7.1 (KEXINIT);
 * RFC 4251 section 5 (name-list) and section 6 (algorithm names).
 */
#include <string.h>

#include "kexwatch/fingerprint.h"
#include "kexwatch/rd.h"
#include "kexwatch/ssh.h"

static const char *const err_names[KX_SSH_E_MAX] = {
	[KX_SSH_OK] = "ok",
	[KX_SSH_E_NO_BANNER] = "no-banner",
	[KX_SSH_E_BANNER_LONG] = "banner-too-long",
	[KX_SSH_E_BANNER_BAD] = "banner-malformed",
	[KX_SSH_E_VERSION] = "ssh1",
	[KX_SSH_E_PACKET_BIG] = "packet-too-big",
	[KX_SSH_E_PACKET_BAD] = "packet-malformed",
	[KX_SSH_E_KEXINIT_BAD] = "kexinit-malformed",
	[KX_SSH_E_UNEXPECTED] = "unexpected-message",
	[KX_SSH_E_MEMCAP] = "memcap",
	[KX_SSH_E_ECDH_BAD] = "ecdh-malformed",
};

const char *kx_ssh_err_name(enum kx_ssh_err e)
{
	if ((unsigned)e >= KX_SSH_E_MAX)
		return "?";
	return err_names[e];
}

bool kx_ssh_looks_like_kexinit(const uint8_t *data, size_t len)
{
	struct kx_rd r = kx_rd_init(data, len);
	uint32_t packet_len = kx_rd_u32(&r);
	uint8_t padding = kx_rd_u8(&r);
	uint8_t msg = kx_rd_u8(&r);
	kx_rd_skip(&r, 16); /* cookie */
	uint32_t list_len = kx_rd_u32(&r);
	return !r.bad && msg == 20 && padding >= 4 && packet_len >= 16 + 10 * 4 &&
	       packet_len <= KX_SSH_PACKET_HARD_MAX && padding < packet_len &&
	       list_len < packet_len;
}

bool kx_ssh_looks_like_banner(const uint8_t *data, size_t len)
{
	struct kx_rd r = kx_rd_init(data, len);
	const uint8_t *p = kx_rd_take(&r, 8);
	if (!p)
		return false;
	if (memcmp(p, "SSH-2.0-", 8) == 0)
		return true;
	if (memcmp(p, "SSH-1.99", 8) != 0)
		return false;
	return kx_rd_u8(&r) == '-' && !r.bad;
}

bool kx_ssh_looks_like_preamble(const uint8_t *data, size_t len)
{
	struct kx_rd r = kx_rd_init(data, len < 512 ? len : 512);
	bool lf = false;
	while (kx_rd_left(&r)) {
		uint8_t c = kx_rd_u8(&r);
		if (c == '\n')
			lf = true;
		else if (c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e))
			return false;
	}
	return lf;
}

/* Copies n bytes of r into dst (cap includes the NUL) as printable ASCII:
 * the software string ends up in a database and a terminal, so control
 * bytes and 8-bit bytes become '?'. */
static void sanitise(struct kx_rd *r, size_t n, char *dst, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = kx_rd_u8(r);
		if (k + 1 < cap)
			dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[k] = '\0';
}

/* Bytes up to (not including) the first `stop` byte, or all that is left. */
static size_t span_until(const struct kx_rd *r, uint8_t stop)
{
	struct kx_rd scan = *r;
	size_t n = 0;
	while (kx_rd_left(&scan) && kx_rd_u8(&scan) != stop)
		n++;
	return n;
}

/*
 *   SSH-protoversion-softwareversion SP comments CR LF
 *
 * The software version may not contain '-' or spaces; the comments are
 * optional. The line end is the caller's.
 */
enum kx_ssh_err kx_ssh_parse_banner(const uint8_t *line, size_t len, struct kx_ssh_banner *b)
{
	memset(b, 0, sizeof(*b));
	/* OpenSSH accepts lines of up to 8 KiB although RFC 4253 allows 255
	 * bytes: keep the RFC's worth and say so instead of losing the row. */
	if (len + 2 > KX_SSH_LINE_MAX) {
		b->too_long = true;
		len = KX_SSH_LINE_MAX - 2;
	}
	struct kx_rd all = kx_rd_init(line, len);
	sanitise(&all, len, b->line, sizeof(b->line));

	struct kx_rd r = kx_rd_init(line, len);
	const uint8_t *magic = kx_rd_take(&r, 4);
	if (!magic || memcmp(magic, "SSH-", 4) != 0)
		return KX_SSH_E_BANNER_BAD;
	size_t n = span_until(&r, '-');
	if (n == kx_rd_left(&r) || n == 0 || n >= sizeof(b->proto))
		return KX_SSH_E_BANNER_BAD;
	sanitise(&r, n, b->proto, sizeof(b->proto));
	kx_rd_skip(&r, 1);
	n = span_until(&r, ' ');
	sanitise(&r, n, b->software, sizeof(b->software));
	if (kx_rd_left(&r)) {
		kx_rd_skip(&r, 1);
		sanitise(&r, kx_rd_left(&r), b->comments, sizeof(b->comments));
	}
	if (strcmp(b->proto, "2.0") != 0 && strcmp(b->proto, "1.99") != 0)
		return KX_SSH_E_VERSION;
	return KX_SSH_OK;
}

/* ---- KEXINIT ---- */

const char *kx_ssh_list_str(const struct kx_ssh_kexinit *k, enum kx_ssh_list_id id)
{
	if ((unsigned)id >= KX_SSH_L_MAX || k->list[id].len == 0)
		return "";
	return k->text + k->list[id].off;
}

bool kx_ssh_list_next(const char **pos, char name[KX_SSH_NAME_MAX + 1])
{
	const char *p = *pos;
	if (!p || !*p)
		return false;
	size_t n = 0;
	while (p[n] && p[n] != ',')
		n++;
	size_t k = n < KX_SSH_NAME_MAX ? n : KX_SSH_NAME_MAX;
	memcpy(name, p, k);
	name[k] = '\0';
	*pos = p[n] ? p + n + 1 : p + n;
	return true;
}

/* RFC 4251 section 6: non-empty, at most 64 characters, no comma, no
 * whitespace or control characters (ASCII 32 or less), no DEL. */
static bool valid_name(const uint8_t *p, size_t n)
{
	if (n == 0 || n > KX_SSH_NAME_MAX)
		return false;
	struct kx_rd r = kx_rd_init(p, n);
	while (kx_rd_left(&r)) {
		uint8_t c = kx_rd_u8(&r);
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static void note_kex_name(struct kx_ssh_kexinit *k, const uint8_t *p, size_t n)
{
	char name[KX_SSH_NAME_MAX + 1];
	memcpy(name, p, n);
	name[n] = '\0';
	switch (kx_ssh_kex_class(name)) {
	case KX_SSH_KEX_HYBRID:
	case KX_SSH_KEX_HYBRID_DRAFT:
		k->kex_offers_pq = true;
		break;
	case KX_SSH_KEX_PSEUDO:
		if (strncmp(name, "ext-info-", 9) == 0)
			k->ext_info = true;
		else if (strcmp(name, "kex-strict-c-v00@openssh.com") == 0 ||
			 strcmp(name, "kex-strict-s-v00@openssh.com") == 0)
			k->strict = true;
		break;
	default:
		break;
	}
}

/* One name-list (uint32 length, comma-separated names). Keeps what fits in
 * the list's budget; *used is the text consumed so far. */
static void parse_list(struct kx_rd *r, struct kx_ssh_kexinit *k, enum kx_ssh_list_id id,
		       size_t *used)
{
	struct kx_ssh_list *l = &k->list[id];
	uint32_t wire = kx_rd_u32(r);
	struct kx_rd lr = kx_rd_sub(r, wire);
	if (r->bad)
		return;
	/* Room for this list's NUL and one for every list after it. */
	size_t avail = KX_SSH_TEXT_MAX - *used - (size_t)(KX_SSH_L_MAX - id);
	size_t budget = id == KX_SSH_L_KEX       ? KX_SSH_KEX_TEXT
			: id == KX_SSH_L_HOSTKEY ? KX_SSH_HOSTKEY_TEXT
						 : KX_SSH_LIST_TEXT;
	if (budget > avail)
		budget = avail;
	l->off = (uint16_t)*used;
	bool full = false;
	bool more = wire > 0;
	while (more) {
		size_t n = span_until(&lr, ',');
		const uint8_t *name = kx_rd_take(&lr, n);
		/* A comma always announces one more name, even an empty one. */
		more = kx_rd_left(&lr) > 0;
		if (more)
			kx_rd_skip(&lr, 1);
		if (l->n_wire < UINT16_MAX)
			l->n_wire++;
		if (!valid_name(name, n)) {
			if (k->bad_names < UINT16_MAX)
				k->bad_names++;
			l->overflow = true;
			continue;
		}
		if (id == KX_SSH_L_KEX)
			note_kex_name(k, name, n);
		size_t need = n + (l->n ? 1 : 0);
		if (full || l->n >= KX_SSH_LIST_NAMES || need > budget - l->len) {
			full = true;
			l->overflow = true;
			continue;
		}
		if (l->n)
			k->text[*used + l->len++] = ',';
		memcpy(k->text + *used + l->len, name, n);
		l->len = (uint16_t)(l->len + n);
		l->n++;
	}
	k->text[*used + l->len] = '\0';
	*used += (size_t)l->len + 1;
	if (l->overflow)
		k->overflow = true;
}

/*
 *   byte         SSH_MSG_KEXINIT (20)
 *   byte[16]     cookie
 *   name-list    kex_algorithms
 *   name-list    server_host_key_algorithms
 *   name-list    encryption_algorithms_client_to_server
 *   name-list    encryption_algorithms_server_to_client
 *   name-list    mac_algorithms_client_to_server
 *   name-list    mac_algorithms_server_to_client
 *   name-list    compression_algorithms_client_to_server
 *   name-list    compression_algorithms_server_to_client
 *   name-list    languages_client_to_server
 *   name-list    languages_server_to_client
 *   boolean      first_kex_packet_follows
 *   uint32       0 (reserved)
 */
enum kx_ssh_err kx_ssh_parse_kexinit(const uint8_t *payload, size_t len, struct kx_ssh_kexinit *k)
{
	memset(k, 0, sizeof(*k));
	struct kx_rd r = kx_rd_init(payload, len);
	if (kx_rd_u8(&r) != KX_SSH_MSG_KEXINIT || r.bad)
		return KX_SSH_E_KEXINIT_BAD;
	const uint8_t *cookie = kx_rd_take(&r, sizeof(k->cookie));
	if (!cookie)
		return KX_SSH_E_KEXINIT_BAD;
	memcpy(k->cookie, cookie, sizeof(k->cookie));
	size_t used = 0;
	const uint8_t *wire[KX_SSH_L_MAX] = { 0 };
	size_t wire_len[KX_SSH_L_MAX] = { 0 };
	for (int id = 0; id < KX_SSH_L_MAX && !r.bad; id++) {
		/* The list as sent, for HASSH: the kept text may be a prefix. */
		struct kx_rd peek = r;
		uint32_t n = kx_rd_u32(&peek);
		wire[id] = kx_rd_take(&peek, n);
		wire_len[id] = n;
		parse_list(&r, k, (enum kx_ssh_list_id)id, &used);
	}
	k->first_kex_follows = kx_rd_u8(&r) != 0;
	kx_rd_u32(&r);
	if (r.bad) {
		/* Lists not reached keep len 0, so their accessors give "". */
		return KX_SSH_E_KEXINIT_BAD;
	}
	k->payload_len = (uint32_t)len;
	static const uint8_t empty[1];
	for (int dir = 0; dir < 2; dir++) {
		static const enum kx_ssh_list_id ids[2][4] = {
			{ KX_SSH_L_KEX, KX_SSH_L_ENC_C2S, KX_SSH_L_MAC_C2S, KX_SSH_L_COMP_C2S },
			{ KX_SSH_L_KEX, KX_SSH_L_ENC_S2C, KX_SSH_L_MAC_S2C, KX_SSH_L_COMP_S2C },
		};
		const uint8_t *l[4];
		size_t n[4];
		for (int i = 0; i < 4; i++) {
			l[i] = wire[ids[dir][i]] ? wire[ids[dir][i]] : empty;
			n[i] = wire[ids[dir][i]] ? wire_len[ids[dir][i]] : 0;
		}
		kx_hassh(l, n, dir ? k->hassh_s2c : k->hassh_c2s);
	}
	return KX_SSH_OK;
}
