/* SPDX-License-Identifier: BSD-2-Clause */
/* json_out.c: text forms of a handshake and the JSON-lines writer.
 *
 * Everything is written through a small sink that targets either a stdio
 * stream or a caller's buffer, so the event line, the JSON columns of the
 * database and the report all share one escaper. References: RFC 8259 (JSON),
 * RFC 3339 (timestamps), Unicode 15 table 3-7 (well-formed UTF-8).
 */
#include "kexwatch/capture.h"
#include "kexwatch/emit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gcrypt.h>

#include "kexwatch/algos.h"
#include "kexwatch/fingerprint.h"
#include "kexwatch/groups.h"
#include "kexwatch/store.h"
#include "kx_config.h"

struct sink {
	FILE *f;     /* the stream, or NULL to fill buf */
	char *buf;
	size_t cap;
	size_t len;  /* bytes produced, whether or not they fit (snprintf rule) */
	bool comma;  /* an object member was written: the next needs ',' */
};

static struct sink buf_sink(char *buf, size_t len)
{
	struct sink s = { NULL, buf, len, 0, false };
	if (len)
		buf[0] = '\0';
	return s;
}

static void put(struct sink *s, const char *p, size_t n)
{
	if (s->f) {
		fwrite(p, 1, n, s->f);
	} else if (s->len + 1 < s->cap) {
		size_t room = s->cap - 1 - s->len;
		size_t k = n < room ? n : room;
		memcpy(s->buf + s->len, p, k);
		s->buf[s->len + k] = '\0';
	}
	s->len += n;
}

static void put_s(struct sink *s, const char *str)
{
	put(s, str, strlen(str));
}

static void put_u(struct sink *s, uint64_t v)
{
	/* By hand: snprintf's format parsing was a tenth of a row's cost. */
	char b[24];
	size_t i = sizeof(b);
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(s, b + i, sizeof(b) - i);
}

/* Length of the well-formed UTF-8 sequence at p, or 0 when p[0] does not
 * start one. Overlongs, surrogates and code points above U+10FFFF are
 * rejected by narrowing the range of the second byte. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len > n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Copies s as UTF-8 (json: as the inside of a JSON string). Runs of plain
 * bytes go out in one put; only the bytes needing care are handled one by one. */
static void put_text(struct sink *s, const char *str, size_t n, bool json)
{
	const unsigned char *p = (const unsigned char *)str;
	size_t i = 0, run = 0;

	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		bool esc = json && k == 1 && (p[i] < 0x20 || p[i] == '"' || p[i] == '\\' || p[i] == 0x7f);
		if (k && !esc) {
			i += k;
			continue;
		}
		put(s, str + run, i - run);
		if (!k) {
			put_s(s, json ? "\\ufffd" : "\xef\xbf\xbd");
		} else if (p[i] == '"' || p[i] == '\\') {
			char e[2] = { '\\', (char)p[i] };
			put(s, e, 2);
		} else {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", p[i]);
			put(s, e, 6);
		}
		run = ++i;
	}
	put(s, str + run, n - run);
}

static void put_str(struct sink *s, const char *str, size_t n)
{
	put(s, "\"", 1);
	put_text(s, str, n, true);
	put(s, "\"", 1);
}

/* "00".."99": two digits per table load instead of a divide per digit. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Writes x (< 65536) in decimal at p; returns the end. */
static char *u16_dec(char *p, unsigned x)
{
	if (x >= 10000) {
		unsigned hi = x / 10000;
		*p++ = (char)('0' + hi);
		x -= hi * 10000;
		goto four;
	}
	if (x >= 1000) {
four:
		memcpy(p, digit_pairs + 2 * (x / 100), 2);
		memcpy(p + 2, digit_pairs + 2 * (x % 100), 2);
		return p + 4;
	}
	if (x >= 100) {
		*p = (char)('0' + x / 100);
		memcpy(p + 1, digit_pairs + 2 * (x % 100), 2);
		return p + 3;
	}
	if (x >= 10) {
		memcpy(p, digit_pairs + 2 * x, 2);
		return p + 2;
	}
	*p = (char)('0' + x);
	return p + 1;
}

static void put_codes(struct sink *s, const uint16_t *v, unsigned n)
{
	/* Formatted locally and handed over in one put: five lists per row,
	 * about forty numbers, the largest share of building a row's text. */
	char b[2 + 6 * 256];
	char *p = b;
	*p++ = '[';
	for (unsigned i = 0; i < n && i < 256; i++) {
		if (i)
			*p++ = ',';
		p = u16_dec(p, v[i]);
	}
	*p++ = ']';
	put(s, b, (size_t)(p - b));
}

/* Every ',' separates two ids, so "h2," is "h2" and an empty id. */
static void put_alpn(struct sink *s, const char *alpn, size_t n)
{
	size_t start = 0;

	put(s, "[", 1);
	while (n) {
		const char *comma = memchr(alpn + start, ',', n - start);
		size_t end = comma ? (size_t)(comma - alpn) : n;

		put_str(s, alpn + start, end - start);
		if (!comma)
			break;
		put(s, ",", 1);
		start = end + 1;
	}
	put(s, "]", 1);
}

static unsigned n_client_hellos(const struct kx_hs *hs)
{
	return hs->n_ch < 2 ? hs->n_ch : 2;
}

static void put_shares(struct sink *s, const struct kx_hs *hs)
{
	put(s, "[", 1);
	for (unsigned c = 0; c < n_client_hellos(hs); c++) {
		if (c)
			put(s, ",", 1);
		put_codes(s, hs->ch[c].shares, hs->ch[c].n_shares);
	}
	put(s, "]", 1);
}

/* Writes v (< 1000) in decimal; returns the bytes written. */
static size_t put_dec(char *p, unsigned v)
{
	size_t n = 0;
	if (v >= 100)
		p[n++] = (char)('0' + v / 100);
	if (v >= 10)
		p[n++] = (char)('0' + v / 10 % 10);
	p[n++] = (char)('0' + v % 10);
	return n;
}

/* IPv6 text exactly as glibc's inet_ntop writes it (the unit test compares
 * the two on millions of addresses): lowercase hex, the first longest run of
 * two or more zero groups as "::", IPv4-compatible and IPv4-mapped
 * addresses with a dotted tail. inet_ntop costs ~1300 instructions per
 * address, twice per row. buf holds at least 46 bytes. */
static void ipv6_str(const uint8_t *a, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	for (int i = 0; i < 8; i++) {
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			cur_len++;
			if (cur_len > best_len)
				best = cur, best_len = cur_len;
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	size_t n = 0;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				buf[n++] = ':';
			continue;
		}
		if (i)
			buf[n++] = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			for (int k = 12; k < 16; k++) {
				if (k > 12)
					buf[n++] = '.';
				n += put_dec(buf + n, a[k]);
			}
			buf[n] = '\0';
			return;
		}
		bool lead = false;
		for (int sh = 12; sh >= 0; sh -= 4) {
			unsigned nib = w[i] >> sh & 0xf;
			if (nib || lead || sh == 0) {
				buf[n++] = hex[nib];
				lead = true;
			}
		}
	}
	if (best >= 0 && best + best_len == 8)
		buf[n++] = ':';
	buf[n] = '\0';
}

const char *kx_addr_str(const struct kx_addr *a, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if (a->family == 4 && len >= 16) {
		/* By hand: inet_ntop formats IPv4 through sprintf. */
		size_t n = 0;
		for (int i = 0; i < 4; i++) {
			if (i)
				buf[n++] = '.';
			n += put_dec(buf + n, a->a[i]);
		}
		buf[n] = '\0';
	} else if (a->family == 6 && len >= 46) {
		ipv6_str(a->a, buf);
	}
	return buf;
}

static void two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian; H.
 * Hinnant's days_from_civil inverse): gmtime_r's time zone machinery and
 * locking were a tenth of the writer's formatting time. */
static void civil_from_days(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

const char *kx_time_str(uint64_t ts_us, char *buf, size_t len)
{
	uint64_t sec = ts_us / 1000000, days = sec / 86400;
	unsigned y, mo, d, tod = (unsigned)(sec % 86400);

	/* Past year 9999 the text form would need more digits. */
	if (len < 28 || days > 2932896) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	civil_from_days(days, &y, &mo, &d);
	/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", by hand: twice per row, and snprintf
	 * with seven conversions was the costliest part of building one. */
	unsigned us = (unsigned)(ts_us % 1000000);
	two(buf, y / 100);
	two(buf + 2, y % 100);
	buf[4] = '-';
	two(buf + 5, mo);
	buf[7] = '-';
	two(buf + 8, d);
	buf[10] = 'T';
	two(buf + 11, tod / 3600);
	buf[13] = ':';
	two(buf + 14, tod / 60 % 60);
	buf[16] = ':';
	two(buf + 17, tod % 60);
	buf[19] = '.';
	for (int i = 25; i >= 20; i--) {
		buf[i] = (char)('0' + us % 10);
		us /= 10;
	}
	buf[26] = 'Z';
	buf[27] = '\0';
	return buf;
}

const char *kx_transport_name(uint8_t transport)
{
	return transport == 6 ? "tcp" : transport == 17 ? "udp" : "other";
}

size_t kx_groups_json(const uint16_t *v, unsigned n, char *buf, size_t len)
{
	struct sink s = buf_sink(buf, len);
	put_codes(&s, v, n);
	return s.len;
}

size_t kx_alpn_json(const char *alpn, size_t n, char *buf, size_t len)
{
	struct sink s = buf_sink(buf, len);
	put_alpn(&s, alpn, n);
	return s.len;
}

size_t kx_shares_json(const struct kx_hs *hs, char *buf, size_t len)
{
	struct sink s = buf_sink(buf, len);
	put_shares(&s, hs);
	return s.len;
}

size_t kx_utf8_clean(const char *str, size_t n, char *buf, size_t len)
{
	struct sink s = buf_sink(buf, len);
	put_text(&s, str, n, false);
	return s.len;
}

void kx_json_fputs(FILE *f, const char *str, size_t n)
{
	struct sink s = { f, NULL, 0, 0, false };
	put_str(&s, str, n);
}

void kx_hs_text(const struct kx_hs *hs, struct kx_hs_text *t)
{
	const char *reason = kx_reason_name(hs->reason);

	kx_time_str(hs->ts_first_us, t->ts_first, sizeof(t->ts_first));
	kx_time_str(hs->ts_last_us, t->ts_last, sizeof(t->ts_last));
	kx_addr_str(&hs->client_ip, t->client_ip, sizeof(t->client_ip));
	kx_addr_str(&hs->server_ip, t->server_ip, sizeof(t->server_ip));
	t->transport = kx_transport_name(hs->transport);
	t->version = hs->have_sh ? kx_version_name(hs->version, t->version_buf,
						   sizeof(t->version_buf)) : NULL;
	t->group_name = t->group_family = NULL;
	if (hs->preclassified && hs->ssh.kex[0]) {
		/* SSH: the negotiated method's name stands in for the group. */
		snprintf(t->group_buf, sizeof(t->group_buf), "%s", hs->ssh.kex);
		t->group_name = t->group_buf;
		t->group_family = hs->verdict == KX_V_HYBRID ? "hybrid"
				  : hs->verdict == KX_V_HYBRID_DRAFT ? "hybrid-draft"
				  : hs->verdict == KX_V_CLASSICAL ? "classical" : "unknown";
	} else if (hs->have_group) {
		kx_group_label(hs->group, t->group_buf, sizeof(t->group_buf));
		t->group_name = t->group_buf;
		t->group_family = kx_family_name(kx_group_family(hs->group));
	}
	t->tls12_kx = NULL;
	if (hs->have_sh && !kx_version_is_13(hs->version) && hs->tls12_kx != KX_KX_NONE)
		t->tls12_kx = kx_tls12_kx_name((enum kx_tls12_kx)hs->tls12_kx);
	t->verdict = kx_verdict_name(hs->verdict);
	t->reason = *reason ? reason : NULL;
	t->n_ch = n_client_hellos(hs);
	t->offers_pq = kx_hs_offers_pq(hs);
	t->list_overflow = false;
	for (unsigned c = 0; c < t->n_ch; c++)
		t->list_overflow |= hs->ch[c].overflow;
}

/* ---- the JSON-lines event ---- */

#define LINE_MAX_BYTES 32768 /* far above the largest event (escaped SNI, lists) */

struct kx_json {
	FILE *f;
	bool is_stdout;
	uint16_t seed;             /* Community ID seed */
	uint64_t events;           /* handshake and session events written */
	char path[4096];
	char line[LINE_MAX_BYTES]; /* each event is built here, then written at once */
};

static void key(struct sink *s, const char *name)
{
	if (s->comma)
		put(s, ",", 1);
	put(s, "\"", 1);
	put_s(s, name);
	put(s, "\":", 2);
	s->comma = true;
}

/* A string, NULL as null. Escaped even when we made it: group names may
 * come from a user's --groups file, sensor and source from the command line. */
static void m_str(struct sink *s, const char *name, const char *v)
{
	key(s, name);
	if (v)
		put_str(s, v, strlen(v));
	else
		put_s(s, "null");
}

/* A fixed-size char array from hs.h, filled from the wire and maybe not
 * NUL-terminated; null when empty if empty_null. */
static void m_wire(struct sink *s, const char *name, const char *v, size_t size,
		   bool empty_null)
{
	size_t n = strnlen(v, size);

	key(s, name);
	if (!n && empty_null)
		put_s(s, "null");
	else
		put_str(s, v, n);
}

static void m_u(struct sink *s, const char *name, bool present, uint64_t v)
{
	key(s, name);
	if (present)
		put_u(s, v);
	else
		put_s(s, "null");
}

static void m_bool(struct sink *s, const char *name, bool v)
{
	key(s, name);
	put_s(s, v ? "true" : "false");
}

static void m_codes(struct sink *s, const char *name, const uint16_t *v, unsigned n)
{
	key(s, name);
	put_codes(s, v, n);
}

static void m_group_names(struct sink *s, const char *name, const uint16_t *v, unsigned n)
{
	char label[48];

	key(s, name);
	put(s, "[", 1);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			put(s, ",", 1);
		kx_group_label(v[i], label, sizeof(label));
		put_str(s, label, strlen(label));
	}
	put(s, "]", 1);
}

static void m_sig_names(struct sink *s, const char *name, const uint16_t *v, unsigned n)
{
	char label[16];

	key(s, name);
	put(s, "[", 1);
	for (unsigned i = 0; i < n; i++) {
		const char *nm = kx_sigscheme_name(v[i]);
		if (i)
			put(s, ",", 1);
		if (!nm) {
			snprintf(label, sizeof(label), "0x%04x", v[i]);
			nm = label;
		}
		put_str(s, nm, strlen(nm));
	}
	put(s, "]", 1);
}

/* The key-exchange suffix of one ClientHello (fingerprint.h). */
static void m_kx_fp(struct sink *s, const char *name, const struct kx_client_hello *ch)
{
	char b[(KX_MAX_GROUPS + KX_MAX_SHARES) * 5 + 2];

	key(s, name);
	size_t n = kx_fp_kx(ch->groups, ch->n_groups, ch->shares, ch->n_shares, b, sizeof(b));
	put_str(s, b, n < sizeof(b) ? n : sizeof(b) - 1);
}

static void put_share_sizes(struct sink *s, const struct kx_hs *hs)
{
	put(s, "[", 1);
	for (unsigned c = 0; c < n_client_hellos(hs); c++) {
		if (c)
			put(s, ",", 1);
		put_codes(s, hs->ch[c].share_len, hs->ch[c].n_shares);
	}
	put(s, "]", 1);
}

static void m_anomalies(struct sink *s, const char *name, uint8_t a)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {
		{ KX_ANOM_CLIENT_SHARE_SIZE, "client-share-size" },
		{ KX_ANOM_SERVER_SHARE_SIZE, "server-share-size" },
		{ KX_ANOM_NOT_OFFERED, "group-not-offered" },
		{ KX_ANOM_SHARE_UNLISTED, "share-not-in-groups" },
	};
	bool first = true;

	key(s, name);
	put(s, "[", 1);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(a & names[i].bit))
			continue;
		if (!first)
			put(s, ",", 1);
		first = false;
		put_str(s, names[i].name, strlen(names[i].name));
	}
	put(s, "]", 1);
}

/* Fingerprints, key share sizes and signature readiness (issue 18). */
static void put_fingerprints(struct sink *s, const struct kx_hs *hs, unsigned n_ch)
{
	const struct kx_client_hello *ch = &hs->ch[0];
	bool ssh = hs->preclassified && !hs->is_session && strcmp(hs->protocol, "ssh") == 0;
	bool tls = !ssh && !hs->is_session;

	m_wire(s, "ja4", ch->ja4, sizeof(ch->ja4), true);
	if (tls && n_ch == 2)
		m_wire(s, "ja4_2", hs->ch[1].ja4, sizeof(hs->ch[1].ja4), true);
	else
		m_str(s, "ja4_2", NULL);
	m_wire(s, "ja4s", hs->ja4s, sizeof(hs->ja4s), true);
	m_wire(s, "ja4s_hrr", hs->ja4s_hrr, sizeof(hs->ja4s_hrr), true);
	if (ssh)
		m_wire(s, "kx_fp", hs->ssh.kex_client, sizeof(hs->ssh.kex_client), true);
	else if (tls && n_ch)
		m_kx_fp(s, "kx_fp", ch);
	else
		m_str(s, "kx_fp", NULL);
	if (tls && n_ch == 2)
		m_kx_fp(s, "kx_fp_2", &hs->ch[1]);
	else
		m_str(s, "kx_fp_2", NULL);
	m_wire(s, "hassh", ssh ? hs->ssh.hassh : "", sizeof(hs->ssh.hassh), true);
	m_wire(s, "hassh_server", ssh ? hs->ssh.hassh_server : "", sizeof(hs->ssh.hassh_server),
	       true);
	key(s, "key_share_sizes");
	if (ssh) {
		put(s, "[", 1);
		if (hs->ssh.q_c_len) {
			put(s, "[", 1);
			put_u(s, hs->ssh.q_c_len);
			put(s, "]", 1);
		}
		put(s, "]", 1);
	} else if (n_ch && ch->from_wire) {
		put_share_sizes(s, hs);
	} else {
		put_s(s, "null"); /* sizes not recorded */
	}
	if (ssh)
		m_u(s, "server_share_size", hs->ssh.q_s_len != 0, hs->ssh.q_s_len);
	else
		m_u(s, "server_share_size", hs->server_share_seen, hs->server_share_len);
	m_anomalies(s, "kx_anomalies", hs->anomalies);
	m_sig_names(s, "sigalgs_names", ch->sigalgs, ch->n_sigalgs);
	m_bool(s, "offers_mldsa", ch->offers_mldsa || (n_ch == 2 && hs->ch[1].offers_mldsa));
	const struct kx_hs_cert *c = &hs->cert;
	bool seen = c->status == KX_CERT_SEEN;
	m_str(s, "cert_status", tls && hs->have_sh ? kx_cert_status_name(c->status) : NULL);
	m_str(s, "cert_key", seen ? kx_cert_key_name(c->key) : NULL);
	m_u(s, "cert_key_bits", seen && c->key_bits, c->key_bits);
	m_str(s, "cert_curve", seen && c->curve ? kx_cert_curve_name(c->curve) : NULL);
	m_str(s, "cert_sig", seen ? kx_cert_sig_name(c->sig) : NULL);
	m_u(s, "ske_sigalg", c->have_ske_sig, c->ske_sig);
	m_str(s, "ske_sigalg_name", c->have_ske_sig ? kx_sigscheme_name(c->ske_sig) : NULL);
}

/* Community ID v1 (Corelight's spec, as Zeek and Suricata compute it):
 * base64(SHA-1(seed, src IP, dst IP, proto, 0, src port, dst port)) with
 * "1:" before it; the endpoints are ordered so that both directions give
 * the same ID (the smaller address first, the smaller port on a tie). */
size_t kx_community_id(const struct kx_hs *hs, uint16_t seed, char *buf, size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const struct kx_addr *a = &hs->client_ip, *b = &hs->server_ip;
	unsigned pa = hs->client_port, pb = hs->server_port;
	size_t alen = a->family == 6 ? 16 : 4;
	unsigned char in[2 + 16 + 16 + 4 + 4], d[20];
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	if ((a->family != 4 && a->family != 6) || a->family != b->family || len < 31)
		return 0;
	int c = memcmp(a->a, b->a, alen);
	if (c > 0 || (c == 0 && pa > pb)) {
		const struct kx_addr *t = a;
		unsigned tp = pa;
		a = b, b = t, pa = pb, pb = tp;
	}
	in[n++] = (unsigned char)(seed >> 8);
	in[n++] = (unsigned char)seed;
	memcpy(in + n, a->a, alen), n += alen;
	memcpy(in + n, b->a, alen), n += alen;
	in[n++] = hs->transport;
	in[n++] = 0;
	in[n++] = (unsigned char)(pa >> 8), in[n++] = (unsigned char)pa;
	in[n++] = (unsigned char)(pb >> 8), in[n++] = (unsigned char)pb;
	gcry_md_hash_buffer(GCRY_MD_SHA1, d, in, n);
	size_t o = 0;
	buf[o++] = '1', buf[o++] = ':';
	for (size_t i = 0; i < 21; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < 20 ? (unsigned)d[i + 1] << 8 : 0) |
			     (i + 2 < 20 ? d[i + 2] : 0);
		buf[o++] = b64[v >> 18 & 63];
		buf[o++] = b64[v >> 12 & 63];
		buf[o++] = i + 1 < 20 ? b64[v >> 6 & 63] : '=';
		buf[o++] = i + 2 < 20 ? b64[v & 63] : '=';
	}
	buf[o] = '\0';
	return o;
}

void kx_json_set_seed(struct kx_json *j, uint16_t seed)
{
	j->seed = seed;
}

/* Strings of a ','-joined list (SSH name-lists) as a JSON array. */
static void m_namelist(struct sink *s, const char *name, const char *v, size_t size)
{
	key(s, name);
	put_alpn(s, v, strnlen(v, size));
}

static void m_common(struct sink *s, const char *type)
{
	m_str(s, "event_type", type);
	m_u(s, "schema_version", true, KX_EVENT_SCHEMA_VERSION);
	m_str(s, "kexwatch_version", KX_VERSION);
}

int kx_json_write_run(struct kx_json *j, const char *phase, const char *sensor,
		      uint64_t start_us, uint64_t now_us, long long run_id)
{
	bool end = strcmp(phase, "end") == 0;
	struct sink s = buf_sink(j->line, sizeof(j->line));
	char t[32], id[64];

	put(&s, "{", 1);
	m_common(&s, "run");
	snprintf(id, sizeof(id), "run-%016" PRIx64 "-%016" PRIx64 "-%s",
		 start_us, (uint64_t)kx_dedup_key(sensor ? sensor : "", "run", "", 0, "", 0), phase);
	m_str(&s, "id", id);
	m_str(&s, "phase", phase);
	m_str(&s, "ts_first", kx_time_str(now_us, t, sizeof(t)));
	m_str(&s, "run_start", kx_time_str(start_us, t, sizeof(t)));
	m_str(&s, "sensor", sensor);
	m_u(&s, "run_id", run_id > 0, (uint64_t)run_id);
	m_u(&s, "events", end, j->events);
	put(&s, "}\n", 2);
	if (s.len >= sizeof(j->line) || fwrite(j->line, 1, s.len, j->f) != s.len)
		return -1;
	return fflush(j->f) == 0 && !ferror(j->f) ? 0 : -1;
}

struct kx_json *kx_json_open(const char *path, char *err, size_t errlen)
{
	bool is_stdout = strcmp(path, "-") == 0;
	FILE *f = is_stdout ? stdout : fopen(path, "a");
	struct kx_json *j;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	j = malloc(sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "%s: out of memory", path);
		if (!is_stdout)
			fclose(f);
		return NULL;
	}
	j->f = f;
	j->is_stdout = is_stdout;
	j->seed = 0;
	j->events = 0;
	kx_fp_init(); /* libgcrypt: SHA-1 of the Community ID */
	snprintf(j->path, sizeof(j->path), "%s", path);
	return j;
}

int kx_json_reopen(struct kx_json *j, char *err, size_t errlen)
{
	if (j->is_stdout)
		return 0;
	/* Open the new file before closing the old one, so a failure (e.g. the
	 * directory became unwritable) keeps events flowing to the old file. */
	FILE *f = fopen(j->path, "a");
	if (!f) {
		snprintf(err, errlen, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	fclose(j->f);
	j->f = f;
	return 0;
}

int kx_json_write(struct kx_json *j, const struct kx_hs *hs, const char *sensor,
		  const char *source)
{
	const struct kx_client_hello *ch = &hs->ch[0];
	const struct kx_client_hello *ch2 = &hs->ch[1];
	struct sink s = buf_sink(j->line, sizeof(j->line));
	struct kx_hs_text t;

	kx_hs_text(hs, &t);
	bool ssh = hs->preclassified && strcmp(hs->protocol, "ssh") == 0;
	bool tls = !ssh && !hs->is_session;
	char cid[40], id[40];
	put(&s, "{", 1);
	m_common(&s, hs->is_session ? (hs->verdict == KX_V_PLAINTEXT ? "plaintext" : "session")
				    : "handshake");
	/* The database's identity of the row: (ts_first_us, dedup_key). */
	snprintf(id, sizeof(id), "%016" PRIx64 "%016" PRIx64, hs->ts_first_us,
		 (uint64_t)kx_dedup_key(sensor ? sensor : "", hs->protocol, t.client_ip,
					hs->client_port, t.server_ip, hs->server_port));
	m_str(&s, "id", id);
	m_str(&s, "community_id", kx_community_id(hs, j->seed, cid, sizeof(cid)) ? cid : NULL);
	m_str(&s, "ts_first", t.ts_first);
	m_str(&s, "ts_last", t.ts_last);
	m_str(&s, "transport", t.transport);
	m_wire(&s, "protocol", hs->protocol, sizeof(hs->protocol), false);
	m_wire(&s, "starttls", hs->starttls, sizeof(hs->starttls), true);
	m_str(&s, "client_ip", t.client_ip);
	m_u(&s, "client_port", true, hs->client_port);
	m_str(&s, "server_ip", t.server_ip);
	m_u(&s, "server_port", true, hs->server_port);
	m_u(&s, "ip_version", true, hs->client_ip.family);
	m_u(&s, "vlan", true, hs->vlan);
	m_wire(&s, "sni", hs->sni, sizeof(hs->sni), true);
	key(&s, "alpn");
	put_alpn(&s, hs->alpn, strnlen(hs->alpn, sizeof(hs->alpn)));
	m_str(&s, "version", tls ? t.version : NULL);
	m_u(&s, "cipher_suite", tls && hs->have_sh, hs->cipher_suite);
	const struct kx_suite *suite = tls && hs->have_sh ? kx_suite_find(hs->cipher_suite) : NULL;
	m_str(&s, "cipher_suite_name", suite ? suite->name : NULL);
	m_u(&s, "legacy_version", tls, ch->legacy_version);
	m_codes(&s, "versions_offered", ch->versions, tls ? ch->n_versions : 0);
	m_codes(&s, "groups_offered", ch->groups, tls ? ch->n_groups : 0);
	m_group_names(&s, "groups_offered_names", ch->groups, tls ? ch->n_groups : 0);
	if (tls && t.n_ch == 2)
		m_codes(&s, "groups_offered_2", ch2->groups, ch2->n_groups);
	else
		m_str(&s, "groups_offered_2", NULL);
	key(&s, "key_shares");
	if (tls)
		put_shares(&s, hs);
	else
		put_s(&s, "[]");
	m_bool(&s, "offers_pq", t.offers_pq);
	m_bool(&s, "hrr", hs->hrr);
	m_u(&s, "hrr_group", hs->hrr && hs->hrr_group, hs->hrr_group);
	m_u(&s, "group_code", tls && hs->have_group, hs->group);
	m_str(&s, "group_name", t.group_name);
	m_str(&s, "group_family", t.group_family);
	m_str(&s, "tls12_kx", t.tls12_kx);
	m_str(&s, "verdict", t.verdict);
	m_str(&s, "reason", t.reason);
	m_bool(&s, "resumed", hs->resumed);
	m_bool(&s, "psk", hs->psk_selected);
	m_u(&s, "ch_bytes", tls, ch->bytes);
	m_u(&s, "ch_segments", tls, ch->segments);
	m_u(&s, "ch2_bytes", tls && t.n_ch == 2, ch2->bytes);
	m_u(&s, "ch2_segments", tls && t.n_ch == 2, ch2->segments);
	m_u(&s, "ch_to_sh_us", hs->ch_to_sh_us >= 0, (uint64_t)hs->ch_to_sh_us);
	m_codes(&s, "sigalgs", ch->sigalgs, tls ? ch->n_sigalgs : 0);
	m_bool(&s, "ech", ch->has_ech);
	m_bool(&s, "list_overflow", t.list_overflow);
	put_fingerprints(&s, hs, t.n_ch);
	m_wire(&s, "ndpi", hs->ndpi_label, sizeof(hs->ndpi_label), true);
	m_str(&s, "sensor", sensor);
	m_str(&s, "source", source);
	m_str(&s, "interface", kx_iface_name(hs->iface));
	m_u(&s, "pkt_first_ch", true, hs->pkt_first_ch);
	m_u(&s, "pkt_sh", hs->pkt_sh != 0, hs->pkt_sh);
	m_wire(&s, "tunnel", hs->tunnel, sizeof(hs->tunnel), true);
	m_bool(&s, "client_hello_seen", !hs->ch_unseen && !hs->is_session);
	m_bool(&s, "regression", hs->regression);
	m_wire(&s, "app", hs->app, sizeof(hs->app), true);
	m_u(&s, "bytes", hs->is_session, hs->bytes);
	if (ssh) {
		m_wire(&s, "ssh_client_banner", hs->ssh.client_banner, sizeof(hs->ssh.client_banner), true);
		m_wire(&s, "ssh_server_banner", hs->ssh.server_banner, sizeof(hs->ssh.server_banner), true);
		m_namelist(&s, "kex_offered", hs->ssh.kex_client, sizeof(hs->ssh.kex_client));
		m_namelist(&s, "kex_offered_server", hs->ssh.kex_server, sizeof(hs->ssh.kex_server));
		m_wire(&s, "kex", hs->ssh.kex, sizeof(hs->ssh.kex), true);
	}
	put(&s, "}\n", 2);
	if (s.len >= sizeof(j->line)) /* cannot happen with the bounded fields of kx_hs */
		return -1;
	if (fwrite(j->line, 1, s.len, j->f) != s.len)
		return -1;
	j->events++;
	return ferror(j->f) ? -1 : 0;
}

int kx_json_flush(struct kx_json *j)
{
	return fflush(j->f) == 0 && !ferror(j->f) ? 0 : -1;
}

void kx_json_close(struct kx_json *j)
{
	if (!j)
		return;
	if (j->is_stdout)
		fflush(j->f);
	else
		fclose(j->f);
	free(j);
}
