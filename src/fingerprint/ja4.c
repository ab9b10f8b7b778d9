/* SPDX-License-Identifier: BSD-2-Clause */
/* ja4.c: JA4, JA4S, the key-exchange suffix and HASSH.
 *
 * JA4 (FoxIO, technical_details/JA4.md):
 *   a = proto(t|q|d) version(2) sni(d|i) ciphers(2) extensions(2) alpn(2)
 *   b = sha256("c1,c2,...") of the cipher suites sorted, first 12 hex digits
 *   c = sha256("e1,e2,..._s1,s2,...") of the extensions sorted without
 *       server_name (0000) and ALPN (0010), then the signature algorithms in
 *       wire order; without signature algorithms no "_" and no second list
 * GREASE is ignored everywhere; counts stop at 99; an empty cipher or
 * extension list hashes to "000000000000".
 *
 * JA4S (technical_details/JA4S.md):
 *   proto version(2) extensions(2) alpn(2) "_" cipher(4 hex) "_"
 *   sha256 of the extensions in wire order (first 12 hex digits)
 * The specification hashes an empty list nowhere; as for JA4 it is
 * "000000000000".
 *
 * HASSH: md5("kex;enc;mac;comp") of the KEXINIT name-lists.
 */
#include "kexwatch/fingerprint.h"

#include <gcrypt.h>
#include <pthread.h>
#include <string.h>

#include "kexwatch/hs.h"
#include "kexwatch/rd.h"

_Static_assert(sizeof(((struct kx_client_hello *)0)->ja4) == KX_JA4_LEN + 1, "ja4 size");
_Static_assert(sizeof(((struct kx_hs *)0)->ja4s) == KX_JA4S_LEN + 1, "ja4s size");

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void init_gcrypt(void)
{
	/* Whoever comes first (nDPI, QUIC) finishes the set-up; see quic_keys.c. */
	if (!gcry_check_version("1.6.0"))
		return;
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
	init_rc = 0;
}

int kx_fp_init(void)
{
	pthread_once(&init_once, init_gcrypt);
	return init_rc;
}

static const char hexd[] = "0123456789abcdef";

static char *hex4(char *p, uint16_t v)
{
	p[0] = hexd[v >> 12];
	p[1] = hexd[v >> 8 & 15];
	p[2] = hexd[v >> 4 & 15];
	p[3] = hexd[v & 15];
	return p + 4;
}

/* Appends "v1,v2,..." at p. */
static char *hex_list(char *p, const uint16_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		p = hex4(p, v[i]);
	}
	return p;
}

/* The first 12 hex digits of sha256(text). */
static void sha12(const char *text, size_t n, char out[12])
{
	unsigned char d[32];
	if (kx_fp_init() < 0) {
		memset(out, '0', 12);
		return;
	}
	gcry_md_hash_buffer(GCRY_MD_SHA256, d, text, n);
	for (int i = 0; i < 6; i++) {
		out[2 * i] = hexd[d[i] >> 4];
		out[2 * i + 1] = hexd[d[i] & 15];
	}
}

/* A link sees the same few client stacks over and over, so the hashed
 * parts repeat: they are remembered per thread, keyed on bytes taken
 * before any parsing, sorting or text is done (the cipher_suites vector as
 * sent; the extension types in wire order with the signature_algorithms
 * vector as sent; the same sorted, for clients that shuffle their
 * extensions). A key is compared in full, so no input can pass for
 * another's; the slot is picked from its length and edges only (O(1)).
 * Direct-mapped, 128 slots of 280 bytes: 35 KB a thread that parses;
 * longer keys are not kept. */
#define FP_CACHE_SLOTS 128
#define FP_CACHE_BYTES 256
enum { FP_B = 1, FP_CW, FP_C, FP_S };
struct fp_slot {
	uint8_t kind;           /* FP_*, 0: empty */
	uint16_t na, nb;        /* bytes of the two parts of the key */
	uint16_t count;         /* FP_B: cipher suites without GREASE */
	char hash[12];
	uint8_t key[FP_CACHE_BYTES];
};
static _Thread_local struct fp_slot fp_cache[FP_CACHE_SLOTS];

/* The first and last 8 bytes (fewer: each byte), mixed: enough to spread
 * slots, since a hit is decided by comparing the whole key. */
static uint64_t edge(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t x = 0, y = 0;
	if (n >= 8) {
		memcpy(&x, b, 8);
		memcpy(&y, b + n - 8, 8);
	} else {
		for (size_t i = 0; i < n; i++)
			x = x << 8 | b[i];
	}
	return x * 0x9e3779b97f4a7c15u ^ y;
}

static struct fp_slot *fp_lookup(uint8_t kind, const void *a, size_t na, const void *b, size_t nb,
				 bool *hit)
{
	*hit = false;
	if (na + nb > FP_CACHE_BYTES)
		return NULL;
	uint64_t h = (edge(a, na) + edge(b, nb) * 31 + (na << 16 | nb) + kind) *
		     0xff51afd7ed558ccdu;
	struct fp_slot *sl = &fp_cache[(h >> 40) % FP_CACHE_SLOTS];
	*hit = sl->kind == kind && sl->na == na && sl->nb == nb &&
	       (!na || memcmp(sl->key, a, na) == 0) && (!nb || memcmp(sl->key + na, b, nb) == 0);
	return sl;
}

static void fp_store(struct fp_slot *sl, uint8_t kind, const void *a, size_t na, const void *b,
		     size_t nb, unsigned count, const char hash[12])
{
	if (!sl)
		return;
	sl->kind = kind;
	sl->na = (uint16_t)na;
	sl->nb = (uint16_t)nb;
	sl->count = (uint16_t)count;
	if (na)
		memcpy(sl->key, a, na);
	if (nb)
		memcpy(sl->key + na, b, nb);
	memcpy(sl->hash, hash, 12);
}

/* A big-endian u16 vector as sent, GREASE removed, into out (at most
 * KX_JA4_LIST_MAX); false when longer. */
static bool wire_list(const uint8_t *p, size_t len, uint16_t *out, unsigned *n)
{
	struct kx_rd r = kx_rd_init(p, len);
	*n = 0;
	while (kx_rd_left(&r) >= 2) {
		uint16_t v = kx_rd_u16(&r);
		if (kx_is_grease(v))
			continue;
		if (*n == KX_JA4_LIST_MAX)
			return false;
		out[(*n)++] = v;
	}
	return true;
}

static void two_digits(unsigned n, char out[2])
{
	if (n > 99)
		n = 99;
	out[0] = (char)('0' + n / 10);
	out[1] = (char)('0' + n % 10);
}

void kx_ja4_version(uint16_t v, char out[2])
{
	const char *s;
	switch (v) {
	case 0x0304: s = "13"; break;
	case 0x0303: s = "12"; break;
	case 0x0302: s = "11"; break;
	case 0x0301: s = "10"; break;
	case 0x0300: s = "s3"; break;
	case 0x0002: s = "s2"; break;
	case 0xfeff: s = "d1"; break;
	case 0xfefd: s = "d2"; break;
	case 0xfefc: s = "d3"; break;
	default: s = "00"; break;
	}
	out[0] = s[0];
	out[1] = s[1];
}

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void kx_ja4_alpn(const uint8_t *alpn, size_t len, char out[2])
{
	if (!alpn || len == 0) {
		out[0] = out[1] = '0';
		return;
	}
	uint8_t first = alpn[0], last = alpn[len - 1];
	if (alnum(first) && alnum(last)) {
		out[0] = (char)first;
		out[1] = (char)last;
	} else {
		/* First and last characters of the value's hex form. */
		out[0] = hexd[first >> 4];
		out[1] = hexd[last & 15];
	}
}

/* In place, no allocation (glibc's qsort mallocs a merge buffer): Shell's
 * sort with Ciura's gaps; lists are a few dozen entries, at most
 * KX_JA4_LIST_MAX. */
static void sort_u16(uint16_t *v, unsigned n)
{
	static const unsigned gaps[] = { 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		unsigned gap = gaps[g];
		for (unsigned i = gap; i < n; i++) {
			uint16_t x = v[i];
			unsigned j = i;
			for (; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
	}
}

void kx_ja4(const struct kx_ja4_ch *in, char out[KX_JA4_LEN + 1])
{
	/* Room for every list at its cap: 5 bytes an entry. */
	char text[2 * KX_JA4_LIST_MAX * 5 + 8];
	uint16_t list[KX_JA4_LIST_MAX], sigs[KX_JA4_LIST_MAX];
	unsigned n_ciphers = 0, n_sigs = 0;
	char b_part[12], c_part[12];
	bool hit;
	struct fp_slot *sl;
	char *p;

	out[0] = '\0';
	if (in->overflow)
		return;

	/* b: the cipher suites, sorted. */
	sl = fp_lookup(FP_B, in->suites, in->suites_len, NULL, 0, &hit);
	if (hit) {
		n_ciphers = sl->count;
		memcpy(b_part, sl->hash, 12);
	} else {
		if (!wire_list(in->suites, in->suites_len, list, &n_ciphers))
			return; /* more than KX_JA4_LIST_MAX: no JA4 */
		if (n_ciphers) {
			sort_u16(list, n_ciphers);
			p = hex_list(text, list, n_ciphers);
			sha12(text, (size_t)(p - text), b_part);
		} else {
			memset(b_part, '0', 12);
		}
		fp_store(sl, FP_B, in->suites, in->suites_len, NULL, 0, n_ciphers, b_part);
	}

	/* c: the extensions but SNI and ALPN, sorted, then the signature
	 * algorithms as sent. Most stacks send their extensions in one order:
	 * looked up as they came first, sorted only when that misses. */
	unsigned n = 0;
	for (unsigned i = 0; i < in->n_exts; i++)
		if (in->exts[i] != 0x0000 && in->exts[i] != 0x0010)
			list[n++] = in->exts[i];
	if (!n) {
		memset(c_part, '0', 12);
	} else {
		sl = fp_lookup(FP_CW, list, n * sizeof(list[0]), in->sigalgs, in->sigalgs_len, &hit);
		if (hit) {
			memcpy(c_part, sl->hash, 12);
		} else {
			struct fp_slot *wire_sl = sl;
			uint16_t wire[KX_JA4_LIST_MAX];
			memcpy(wire, list, n * sizeof(list[0]));
			if (!wire_list(in->sigalgs, in->sigalgs_len, sigs, &n_sigs))
				return;
			sort_u16(list, n);
			sl = fp_lookup(FP_C, list, n * sizeof(list[0]), sigs, n_sigs * sizeof(sigs[0]),
				       &hit);
			if (hit) {
				/* A shuffling client: its wire orders are not kept. */
				memcpy(c_part, sl->hash, 12);
			} else {
				p = hex_list(text, list, n);
				if (n_sigs) {
					*p++ = '_';
					p = hex_list(p, sigs, n_sigs);
				}
				sha12(text, (size_t)(p - text), c_part);
				fp_store(sl, FP_C, list, n * sizeof(list[0]), sigs,
					 n_sigs * sizeof(sigs[0]), 0, c_part);
				fp_store(wire_sl, FP_CW, wire, n * sizeof(wire[0]), in->sigalgs,
					 in->sigalgs_len, 0, c_part);
			}
		}
	}

	char *o = out;
	*o++ = in->proto;
	kx_ja4_version(in->best_version ? in->best_version : in->legacy_version, o);
	o += 2;
	*o++ = in->has_sni ? 'd' : 'i';
	two_digits(n_ciphers, o);
	o += 2;
	two_digits(in->n_exts, o);
	o += 2;
	kx_ja4_alpn(in->alpn, in->alpn_len, o);
	o += 2;
	*o++ = '_';
	memcpy(o, b_part, 12);
	o += 12;
	*o++ = '_';
	memcpy(o, c_part, 12);
	o += 12;
	*o = '\0';
}

void kx_ja4s(const struct kx_ja4s_sh *in, char out[KX_JA4S_LEN + 1])
{
	char text[KX_JA4S_EXT_MAX * 5 + 4];

	out[0] = '\0';
	if (in->overflow)
		return;
	char *o = out;
	*o++ = in->proto;
	kx_ja4_version(in->version, o);
	o += 2;
	two_digits(in->n_exts, o);
	o += 2;
	kx_ja4_alpn(in->alpn, in->alpn_len, o);
	o += 2;
	*o++ = '_';
	o = hex4(o, in->cipher);
	*o++ = '_';
	if (in->n_exts) {
		bool hit;
		size_t nb = in->n_exts * sizeof(in->exts[0]);
		struct fp_slot *sl = fp_lookup(FP_S, in->exts, nb, NULL, 0, &hit);
		if (hit) {
			memcpy(o, sl->hash, 12);
		} else {
			char *p = hex_list(text, in->exts, in->n_exts);
			sha12(text, (size_t)(p - text), o);
			fp_store(sl, FP_S, in->exts, nb, NULL, 0, 0, o);
		}
	} else {
		memset(o, '0', 12);
	}
	o += 12;
	*o = '\0';
}

size_t kx_fp_kx(const uint16_t *groups, unsigned n_groups, const uint16_t *shares,
		unsigned n_shares, char *buf, size_t len)
{
	char tmp[8];
	size_t need = 0;
	bool first = true;

	if (len)
		buf[0] = '\0';
	for (int list = 0; list < 2; list++) {
		const uint16_t *v = list ? shares : groups;
		unsigned n = list ? n_shares : n_groups;
		if (list) {
			if (need + 1 < len) {
				buf[need] = '_';
				buf[need + 1] = '\0';
			}
			need++;
			first = true;
		}
		for (unsigned i = 0; i < n; i++) {
			if (kx_is_grease(v[i]))
				continue;
			char *t = tmp;
			if (!first)
				*t++ = ',';
			first = false;
			t = hex4(t, v[i]);
			size_t k = (size_t)(t - tmp);
			if (need + k < len) {
				memcpy(buf + need, tmp, k);
				buf[need + k] = '\0';
			}
			need += k;
		}
	}
	return need;
}

void kx_hassh(const uint8_t *const list[4], const size_t len[4], char out[KX_HASSH_LEN + 1])
{
	gcry_buffer_t iov[7];
	unsigned char d[16];
	static const char semi = ';';

	out[0] = '\0';
	if (kx_fp_init() < 0)
		return;
	memset(iov, 0, sizeof(iov));
	for (int i = 0, k = 0; i < 4; i++) {
		if (i) {
			iov[k].data = (void *)&semi;
			iov[k].len = 1;
			k++;
		}
		iov[k].data = (void *)list[i];
		iov[k].len = len[i];
		k++;
	}
	if (gcry_md_hash_buffers(GCRY_MD_MD5, 0, d, iov, 7) != 0)
		return;
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hexd[d[i] >> 4];
		out[2 * i + 1] = hexd[d[i] & 15];
	}
	out[KX_HASSH_LEN] = '\0';
}
