/* SPDX-License-Identifier: BSD-2-Clause */
/* tls_hello.c: ClientHello, ServerHello/HelloRetryRequest and TLS 1.2
 * ServerKeyExchange parsers.
 *
 * References: RFC 8446 section 4.1.2 (ClientHello), 4.1.3 (ServerHello and the
 * HelloRetryRequest random), 4.2 (extensions: supported_versions 43,
 * supported_groups 10, key_share 51, pre_shared_key 41,
 * psk_key_exchange_modes 45, signature_algorithms 13, early_data 42);
 * RFC 6066 section 3 (server_name 0), RFC 7301 (ALPN 16), RFC 5077 (session
 * ticket 35), draft-ietf-tls-esni (encrypted_client_hello 0xfe0d), RFC 8701
 * (GREASE), RFC 8422 section 5.4 (ECDHE ServerKeyExchange).
 *
 *   ClientHello: legacy_version(2) random(32) session_id<0..32>
 *                cipher_suites<2..2^16-2> compression<1..2^8-1> extensions<0..2^16-1>
 *   ServerHello: legacy_version(2) random(32) session_id<0..32>
 *                cipher_suite(2) compression(1) extensions<6..2^16-1>
 *   Extension:   type(2) data<0..2^16-1>
 */
#include "kexwatch/tls.h"

#include <string.h>

#include "kexwatch/fingerprint.h"
#include "kexwatch/rd.h"

#define EXT_SERVER_NAME 0
#define EXT_SUPPORTED_GROUPS 10
#define EXT_SIGNATURE_ALGORITHMS 13
#define EXT_ALPN 16
#define EXT_SESSION_TICKET 35
#define EXT_PRE_SHARED_KEY 41
#define EXT_EARLY_DATA 42
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_PSK_MODES 45
#define EXT_KEY_SHARE 51
#define EXT_ECH 0xfe0d

/* SHA-256("HelloRetryRequest"), RFC 8446 section 4.1.3. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* Appends up to `max` u16 values from a vector; sets *overflow past that. */
static void read_u16_list(struct kx_rd *v, uint16_t *out, uint8_t *n, unsigned max, bool *overflow)
{
	if (kx_rd_left(v) % 2) {
		kx_rd_fail(v);
		return;
	}
	while (kx_rd_left(v)) {
		uint16_t x = kx_rd_u16(v);
		if (*n < max)
			out[(*n)++] = x;
		else
			*overflow = true;
	}
}

/* Copies a wire string, replacing bytes a terminal or log would misread. */
static void copy_text(char *dst, size_t dstlen, size_t *pos, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n && *pos + 1 < dstlen; i++) {
		uint8_t ch = src[i];
		dst[(*pos)++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	dst[*pos] = '\0';
}

static void parse_sni(struct kx_rd v, struct kx_client_hello_extra *ex)
{
	struct kx_rd list = kx_rd_vec(&v, 2);
	while (kx_rd_left(&list)) {
		uint8_t type = kx_rd_u8(&list);
		struct kx_rd name = kx_rd_vec(&list, 2);
		if (type == 0 && !list.bad && ex->sni[0] == '\0') {
			size_t pos = 0;
			copy_text(ex->sni, sizeof(ex->sni), &pos, name.p, kx_rd_left(&name));
		}
	}
}

static void parse_alpn(struct kx_rd v, struct kx_client_hello_extra *ex)
{
	struct kx_rd list = kx_rd_vec(&v, 2);
	size_t pos = strlen(ex->alpn);
	while (kx_rd_left(&list)) {
		struct kx_rd id = kx_rd_vec(&list, 1);
		if (list.bad)
			break;
		if (pos && pos + 1 < sizeof(ex->alpn))
			ex->alpn[pos++] = ',';
		/* ',' inside an id would split it: it is replaced like a control byte. */
		size_t from = pos;
		copy_text(ex->alpn, sizeof(ex->alpn), &pos, id.p, kx_rd_left(&id));
		for (size_t i = from; i < pos; i++)
			if (ex->alpn[i] == ',')
				ex->alpn[i] = '?';
	}
}

static void parse_client_key_share(struct kx_rd v, struct kx_client_hello *ch)
{
	struct kx_rd list = kx_rd_vec(&v, 2);
	while (kx_rd_left(&list)) {
		uint16_t group = kx_rd_u16(&list);
		/* key_exchange: its size is checked against the group (classify/). */
		struct kx_rd kex = kx_rd_vec(&list, 2);
		if (list.bad)
			break;
		if (ch->n_shares < KX_MAX_SHARES) {
			ch->share_len[ch->n_shares] = (uint16_t)kx_rd_left(&kex);
			ch->shares[ch->n_shares++] = group;
		} else {
			ch->overflow = true;
		}
	}
}

static inline void ja4_add(uint16_t *list, unsigned *n, uint16_t v, bool *overflow)
{
	if (kx_is_grease(v))
		return;
	if (*n < KX_JA4_LIST_MAX)
		list[(*n)++] = v;
	else
		*overflow = true;
}

/* The first protocol id of an ALPN extension (RFC 7301), for JA4/JA4S. */
static void first_alpn(struct kx_rd v, const uint8_t **ret, size_t *ret_len)
{
	struct kx_rd list = kx_rd_vec(&v, 2);
	struct kx_rd id = kx_rd_vec(&list, 1);
	if (list.bad)
		return;
	*ret = id.p;
	*ret_len = kx_rd_left(&id);
}

/* supported_versions: the newest non-GREASE version, for JA4. DTLS
 * versions count down (0xfeff 1.0, 0xfefd 1.2, 0xfefc 1.3), so there the
 * newest is the lowest number; for TLS it is the highest value, as the
 * JA4 specification says. */
static uint16_t newest_version(struct kx_rd list, bool dtls)
{
	uint16_t best = 0;
	while (kx_rd_left(&list) >= 2) {
		uint16_t v = kx_rd_u16(&list);
		if (kx_is_grease(v))
			continue;
		if (!best)
			best = v;
		else if (dtls && (v >> 8) == 0xfe && (best >> 8) == 0xfe)
			best = v < best ? v : best;
		else if (v > best)
			best = v;
	}
	return best;
}

/* TLS and DTLS ClientHellos differ in the version's first byte (3 or 0xfe)
 * and in DTLS's cookie<0..2^8-1> after the session_id (RFC 6347 section
 * 4.2.1; empty in DTLS 1.3, RFC 9147 section 5.3). */
static enum kx_parse_rc parse_client_hello(const uint8_t *body, size_t len,
					   struct kx_client_hello *ch,
					   struct kx_client_hello_extra *ex, bool dtls)
{
	struct kx_ja4_ch ja4;
	memset(ch, 0, sizeof(*ch));
	memset(ex, 0, sizeof(*ex));
	ch->from_wire = true;
	ja4.proto = dtls ? 'd' : 't';
	ja4.best_version = 0;
	ja4.has_sni = false;
	ja4.alpn = NULL;
	ja4.alpn_len = 0;
	ja4.suites = NULL;
	ja4.suites_len = 0;
	ja4.sigalgs = NULL;
	ja4.sigalgs_len = 0;
	ja4.n_exts = 0;
	ja4.overflow = false;
	struct kx_rd r = kx_rd_init(body, len);
	ch->legacy_version = kx_rd_u16(&r);
	kx_rd_skip(&r, 32);
	struct kx_rd sid = kx_rd_vec(&r, 1);
	size_t cookie_len = 0;
	if (dtls) {
		struct kx_rd cookie = kx_rd_vec(&r, 1);
		cookie_len = kx_rd_left(&cookie);
	}
	struct kx_rd suites = kx_rd_vec(&r, 2);
	kx_rd_vec(&r, 1); /* compression methods */
	if (r.bad || kx_rd_left(&sid) > 32 || kx_rd_left(&suites) % 2)
		return KX_PARSE_MALFORMED;
	if ((ch->legacy_version >> 8) != (dtls ? 0xfe : 3))
		return KX_PARSE_NOT_MINE;
	ex->cookie_len = (uint8_t)cookie_len;
	ex->session_id_len = (uint8_t)kx_rd_left(&sid);
	memcpy(ex->session_id, sid.p, ex->session_id_len);
	ch->session_id_len = ex->session_id_len;
	ch->n_suites = (uint16_t)(kx_rd_left(&suites) / 2);
	ja4.legacy_version = ch->legacy_version;
	ja4.suites_len = kx_rd_left(&suites);
	ja4.suites = kx_rd_take(&suites, ja4.suites_len);

	if (kx_rd_left(&r) == 0) {
		kx_ja4(&ja4, ch->ja4);
		return KX_PARSE_OK; /* no extensions: an old TLS 1.0-1.2 client */
	}
	struct kx_rd exts = kx_rd_vec(&r, 2);
	if (r.bad || kx_rd_left(&r) != 0)
		return KX_PARSE_MALFORMED;
	while (kx_rd_left(&exts)) {
		uint16_t type = kx_rd_u16(&exts);
		struct kx_rd v = kx_rd_vec(&exts, 2);
		if (exts.bad)
			break;
		ja4_add(ja4.exts, &ja4.n_exts, type, &ja4.overflow);
		switch (type) {
		case EXT_SERVER_NAME:
			ja4.has_sni = true;
			parse_sni(v, ex);
			break;
		case EXT_SUPPORTED_GROUPS: {
			struct kx_rd list = kx_rd_vec(&v, 2);
			read_u16_list(&list, ch->groups, &ch->n_groups, KX_MAX_GROUPS, &ch->overflow);
			if (list.bad)
				return KX_PARSE_MALFORMED;
			break;
		}
		case EXT_KEY_SHARE:
			parse_client_key_share(v, ch);
			break;
		case EXT_SUPPORTED_VERSIONS: {
			struct kx_rd list = kx_rd_vec(&v, 1);
			ja4.best_version = newest_version(list, dtls);
			uint8_t n = 0;
			uint16_t tmp[KX_MAX_VERSIONS];
			read_u16_list(&list, tmp, &n, KX_MAX_VERSIONS, &ch->overflow);
			if (list.bad)
				return KX_PARSE_MALFORMED;
			memcpy(ch->versions, tmp, n * sizeof(tmp[0]));
			ch->n_versions = n;
			break;
		}
		case EXT_ALPN:
			if (!ja4.alpn)
				first_alpn(v, &ja4.alpn, &ja4.alpn_len);
			parse_alpn(v, ex);
			break;
		case EXT_SIGNATURE_ALGORITHMS: {
			struct kx_rd list = kx_rd_vec(&v, 2);
			if (kx_rd_left(&list) % 2)
				break; /* as read_u16_list: an odd list is not read */
			/* JA4 takes the vector as sent; the row keeps
			 * KX_MAX_SIGALGS; ML-DSA is looked for in all of it. */
			ja4.sigalgs = list.p;
			ja4.sigalgs_len = kx_rd_left(&list);
			while (kx_rd_left(&list)) {
				uint16_t sa = kx_rd_u16(&list);
				if (ch->n_sigalgs < KX_MAX_SIGALGS)
					ch->sigalgs[ch->n_sigalgs++] = sa;
				else
					ch->overflow = true;
				ch->offers_mldsa |= kx_sigscheme_is_mldsa(sa);
			}
			break;
		}
		case EXT_PSK_MODES: {
			struct kx_rd list = kx_rd_vec(&v, 1);
			while (kx_rd_left(&list)) {
				uint8_t m = kx_rd_u8(&list);
				if (m < 2)
					ch->psk_modes |= (uint8_t)(1u << m);
			}
			break;
		}
		case EXT_PRE_SHARED_KEY:
			ch->has_psk = true;
			break;
		case EXT_EARLY_DATA:
			ch->has_early_data = true;
			break;
		case EXT_ECH:
			ch->has_ech = true;
			break;
		case EXT_SESSION_TICKET:
			ch->has_ticket = kx_rd_left(&v) > 0;
			break;
		default:
			break;
		}
	}
	if (exts.bad)
		return KX_PARSE_MALFORMED;
	kx_ja4(&ja4, ch->ja4);
	return KX_PARSE_OK;
}

enum kx_parse_rc kx_tls_parse_client_hello(const uint8_t *body, size_t len,
					   struct kx_client_hello *ch,
					   struct kx_client_hello_extra *ex)
{
	return parse_client_hello(body, len, ch, ex, false);
}

enum kx_parse_rc kx_tls_parse_dtls_client_hello(const uint8_t *body, size_t len,
						struct kx_client_hello *ch,
						struct kx_client_hello_extra *ex)
{
	return parse_client_hello(body, len, ch, ex, true);
}

/* The same layout in TLS and DTLS; major is the version's first byte. */
static enum kx_parse_rc parse_server_hello(const uint8_t *body, size_t len,
					   struct kx_server_hello *sh, uint8_t major)
{
	struct kx_ja4s_sh ja4s;
	memset(sh, 0, sizeof(*sh));
	memset(&ja4s, 0, sizeof(ja4s));
	ja4s.proto = major == 0xfe ? 'd' : 't';
	struct kx_rd r = kx_rd_init(body, len);
	sh->legacy_version = kx_rd_u16(&r);
	const uint8_t *random = kx_rd_take(&r, 32);
	struct kx_rd sid = kx_rd_vec(&r, 1);
	sh->cipher_suite = kx_rd_u16(&r);
	kx_rd_u8(&r); /* compression */
	if (r.bad || kx_rd_left(&sid) > 32)
		return KX_PARSE_MALFORMED;
	if ((sh->legacy_version >> 8) != major)
		return KX_PARSE_NOT_MINE;
	sh->version = sh->legacy_version;
	sh->is_hrr = memcmp(random, hrr_random, sizeof(hrr_random)) == 0;
	sh->session_id_len = (uint8_t)kx_rd_left(&sid);
	memcpy(sh->session_id, sid.p, sh->session_id_len);
	ja4s.cipher = sh->cipher_suite;
	if (kx_rd_left(&r) == 0) {
		ja4s.version = sh->version;
		kx_ja4s(&ja4s, sh->ja4s);
		return KX_PARSE_OK;
	}
	struct kx_rd exts = kx_rd_vec(&r, 2);
	if (r.bad || kx_rd_left(&r) != 0)
		return KX_PARSE_MALFORMED;
	while (kx_rd_left(&exts)) {
		uint16_t type = kx_rd_u16(&exts);
		struct kx_rd v = kx_rd_vec(&exts, 2);
		if (exts.bad)
			break;
		if (ja4s.n_exts < KX_JA4S_EXT_MAX)
			ja4s.exts[ja4s.n_exts++] = type;
		else
			ja4s.overflow = true;
		switch (type) {
		case EXT_SUPPORTED_VERSIONS:
			sh->version = kx_rd_u16(&v);
			if (v.bad)
				return KX_PARSE_MALFORMED;
			break;
		case EXT_KEY_SHARE:
			/* HRR: selected_group only; ServerHello: a KeyShareEntry. */
			sh->group = kx_rd_u16(&v);
			if (v.bad)
				return KX_PARSE_MALFORMED;
			sh->has_key_share = true;
			if (!sh->is_hrr) {
				struct kx_rd kex = kx_rd_vec(&v, 2);
				if (!kex.bad)
					sh->share_len = (uint16_t)kx_rd_left(&kex);
			}
			break;
		case EXT_ALPN:
			first_alpn(v, &ja4s.alpn, &ja4s.alpn_len);
			break;
		case EXT_PRE_SHARED_KEY:
			sh->has_psk = true;
			break;
		default:
			break;
		}
	}
	if (exts.bad)
		return KX_PARSE_MALFORMED;
	ja4s.version = sh->version;
	kx_ja4s(&ja4s, sh->ja4s);
	return KX_PARSE_OK;
}

enum kx_parse_rc kx_tls_parse_server_hello(const uint8_t *body, size_t len,
					   struct kx_server_hello *sh)
{
	return parse_server_hello(body, len, sh, 3);
}

enum kx_parse_rc kx_tls_parse_dtls_server_hello(const uint8_t *body, size_t len,
						struct kx_server_hello *sh)
{
	return parse_server_hello(body, len, sh, 0xfe);
}

bool kx_tls_suite_is_ecdhe(uint16_t cs)
{
	/* ECDHE suites: RFC 8422, RFC 5289, RFC 5489, RFC 6367, RFC 7251, RFC 7905,
	 * RFC 8442. Fixed-ECDH suites (0xC001-0xC005, 0xC00B-0xC00F, ...) send
	 * no ServerKeyExchange, so a wider range is harmless. */
	return (cs >= 0xc006 && cs <= 0xc03b) || (cs >= 0xc048 && cs <= 0xc04f) ||
	       (cs >= 0xc05c && cs <= 0xc063) || (cs >= 0xc070 && cs <= 0xc079) ||
	       (cs >= 0xc086 && cs <= 0xc08d) || (cs >= 0xc0ac && cs <= 0xc0af) ||
	       cs == 0xcca8 || cs == 0xcca9 || cs == 0xccac ||
	       (cs >= 0xd001 && cs <= 0xd005);
}

/* digitally-signed (RFC 5246 section 4.7): in TLS 1.2 and DTLS 1.2 the
 * SignatureAndHashAlgorithm comes first; earlier versions have none. */
static void read_ske_signature(struct kx_rd *r, uint16_t version, struct kx_ske_info *ret)
{
	if (version != 0x0303 && version != 0xfefd)
		return;
	uint16_t sig = kx_rd_u16(r);
	kx_rd_vec(r, 2);
	if (kx_rd_done(r)) {
		ret->have_sig = true;
		ret->sig = sig;
	}
}

enum kx_parse_rc kx_tls_parse_ske(const uint8_t *body, size_t len, uint16_t cipher_suite,
				  uint16_t version, struct kx_ske_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct kx_rd r = kx_rd_init(body, len);
	if (kx_tls_suite_is_ecdhe(cipher_suite)) {
		uint8_t curve_type = kx_rd_u8(&r);
		uint16_t group = kx_rd_u16(&r);
		struct kx_rd point = kx_rd_vec(&r, 1);
		if (r.bad || kx_rd_left(&point) == 0)
			return KX_PARSE_MALFORMED;
		ret->kx = KX_KX_ECDHE;
		if (curve_type != 3) /* named_curve */
			return KX_PARSE_NOT_MINE; /* explicit curves: no code point */
		ret->have_group = true;
		ret->group = group;
		ret->point_len = (uint16_t)kx_rd_left(&point);
		read_ske_signature(&r, version, ret);
		return KX_PARSE_OK;
	}
	/* dh_p<1..2^16-1> dh_g dh_Ys: a DHE exchange (or PSK hint, SRP, ...). */
	struct kx_rd p = kx_rd_vec(&r, 2);
	kx_rd_vec(&r, 2);
	kx_rd_vec(&r, 2);
	if (r.bad || kx_rd_left(&p) == 0) {
		ret->kx = KX_KX_OTHER;
		return KX_PARSE_OK;
	}
	ret->kx = KX_KX_DHE;
	read_ske_signature(&r, version, ret);
	return KX_PARSE_OK;
}

enum kx_parse_rc kx_tls_parse_server_key_exchange(const uint8_t *body, size_t len,
						  uint16_t cipher_suite, uint8_t *ret_kx,
						  uint16_t *ret_group)
{
	struct kx_ske_info ske;
	enum kx_parse_rc rc = kx_tls_parse_ske(body, len, cipher_suite, 0, &ske);
	if (rc == KX_PARSE_MALFORMED)
		return rc;
	*ret_kx = ske.kx;
	if (ske.have_group)
		*ret_group = ske.group;
	return rc;
}

bool kx_tls_looks_like_hello(const uint8_t *data, size_t len)
{
	struct kx_rd r = kx_rd_init(data, len);
	uint8_t type = kx_rd_u8(&r);
	uint16_t rec_version = kx_rd_u16(&r);
	uint16_t rec_len = kx_rd_u16(&r);
	uint8_t hs_type = kx_rd_u8(&r);
	uint32_t hs_len = kx_rd_u24(&r);
	uint16_t hello_version = kx_rd_u16(&r);
	if (r.bad)
		return false;
	if (type != KX_TLS_HANDSHAKE || (rec_version >> 8) != 3 || (rec_version & 0xff) > 4)
		return false;
	if (rec_len < 4 || rec_len > 16384 + 2048)
		return false;
	if (hs_type != KX_HS_CLIENT_HELLO && hs_type != KX_HS_SERVER_HELLO)
		return false;
	/* 38 bytes: version, random, and the session_id length byte. */
	if (hs_len < 38 || (hello_version >> 8) != 3 || (hello_version & 0xff) > 4)
		return false;
	return true;
}
