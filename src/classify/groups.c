/* SPDX-License-Identifier: BSD-2-Clause */
/* groups.c: the key-exchange group registry.
 *
 * Sources: IANA "TLS Supported Groups" registry (RFC 8422, RFC 7919,
 * RFC 8734, RFC 9189, RFC 8998, RFC 8701 GREASE), draft-ietf-tls-ecdhe-mlkem
 * (0x11EB-0x11ED), draft-ietf-tls-mlkem (0x0200-0x0202),
 * draft-yang-tls-hybrid-sm2-mlkem (0x11EE), and the retired
 * draft-tls-westerbaan-xyber768d00 code points (0x6399, 0x639A).
 */
#include "kexwatch/groups.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct group_def {
	uint16_t code;
	const char *name;
	enum kx_family fam;
};

#define EC KX_FAM_CLASSICAL_EC
#define FF KX_FAM_CLASSICAL_FFDHE

/* Sorted by code: looked up by binary search. */
static const struct group_def builtin[] = {
	{ 1, "sect163k1", EC },          { 2, "sect163r1", EC },
	{ 3, "sect163r2", EC },          { 4, "sect193r1", EC },
	{ 5, "sect193r2", EC },          { 6, "sect233k1", EC },
	{ 7, "sect233r1", EC },          { 8, "sect239k1", EC },
	{ 9, "sect283k1", EC },          { 10, "sect283r1", EC },
	{ 11, "sect409k1", EC },         { 12, "sect409r1", EC },
	{ 13, "sect571k1", EC },         { 14, "sect571r1", EC },
	{ 15, "secp160k1", EC },         { 16, "secp160r1", EC },
	{ 17, "secp160r2", EC },         { 18, "secp192k1", EC },
	{ 19, "secp192r1", EC },         { 20, "secp224k1", EC },
	{ 21, "secp224r1", EC },         { 22, "secp256k1", EC },
	{ 23, "secp256r1", EC },         { 24, "secp384r1", EC },
	{ 25, "secp521r1", EC },         { 26, "brainpoolP256r1", EC },
	{ 27, "brainpoolP384r1", EC },   { 28, "brainpoolP512r1", EC },
	{ 29, "x25519", EC },            { 30, "x448", EC },
	{ 31, "brainpoolP256r1tls13", EC }, { 32, "brainpoolP384r1tls13", EC },
	{ 33, "brainpoolP512r1tls13", EC }, { 34, "GC256A", EC },
	{ 35, "GC256B", EC },            { 36, "GC256C", EC },
	{ 37, "GC256D", EC },            { 38, "GC512A", EC },
	{ 39, "GC512B", EC },            { 40, "GC512C", EC },
	{ 41, "curveSM2", EC },
	{ 256, "ffdhe2048", FF },        { 257, "ffdhe3072", FF },
	{ 258, "ffdhe4096", FF },        { 259, "ffdhe6144", FF },
	{ 260, "ffdhe8192", FF },
	{ 0x0200, "MLKEM512", KX_FAM_PQ },
	{ 0x0201, "MLKEM768", KX_FAM_PQ },
	{ 0x0202, "MLKEM1024", KX_FAM_PQ },
	{ 0x11EB, "SecP256r1MLKEM768", KX_FAM_HYBRID },
	{ 0x11EC, "X25519MLKEM768", KX_FAM_HYBRID },
	{ 0x11ED, "SecP384r1MLKEM1024", KX_FAM_HYBRID },
	{ 0x11EE, "curveSM2MLKEM768", KX_FAM_HYBRID },
	{ 0x6399, "X25519Kyber768Draft00", KX_FAM_HYBRID_DRAFT },
	{ 0x639A, "SecP256r1Kyber768Draft00", KX_FAM_HYBRID_DRAFT },
	{ 0xFF01, "arbitrary_explicit_prime_curves", EC },
	{ 0xFF02, "arbitrary_explicit_char2_curves", EC },
};

#undef EC
#undef FF

/* Run-time overrides from --groups FILE, searched before the built-in table.
 * Small and rarely used, so a linear array is enough. */
#define MAX_OVERRIDES 256
#define OVERRIDE_NAME_MAX 48
struct override {
	uint16_t code;
	enum kx_family fam;
	uint16_t c_size, s_size; /* key share sizes; 0 when the file gave none */
	char name[OVERRIDE_NAME_MAX];
};
static struct override overrides[MAX_OVERRIDES];
static unsigned n_overrides;

static int is_grease(uint16_t code)
{
	/* RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA */
	return (code & 0x0f0f) == 0x0a0a && (code >> 8) == (code & 0xff);
}

static const struct override *find_override(uint16_t code)
{
	for (unsigned i = 0; i < n_overrides; i++)
		if (overrides[i].code == code)
			return &overrides[i];
	return NULL;
}

static const struct group_def *find_builtin(uint16_t code)
{
	size_t lo = 0, hi = sizeof(builtin) / sizeof(builtin[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (builtin[mid].code == code)
			return &builtin[mid];
		if (builtin[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *kx_group_name(uint16_t code)
{
	const struct override *o = find_override(code);
	if (o)
		return o->name;
	const struct group_def *g = find_builtin(code);
	if (g)
		return g->name;
	if (is_grease(code))
		return "GREASE";
	return NULL;
}

enum kx_family kx_group_family(uint16_t code)
{
	const struct override *o = find_override(code);
	if (o)
		return o->fam;
	const struct group_def *g = find_builtin(code);
	if (g)
		return g->fam;
	if (is_grease(code))
		return KX_FAM_GREASE;
	return KX_FAM_UNKNOWN;
}

/* Key share sizes in bytes (client share / server share), sorted by code.
 * RFC 8446 section 4.2.8.2 (uncompressed points: 1 + 2 * field bytes) and
 * RFC 7748 (x25519, x448); RFC 8734 (brainpool TLS 1.3 curves, the same
 * points as RFC 7027's); RFC 8446 section 4.2.8.1 (FFDHE shares are left-
 * padded to the prime's size); FIPS 203 (ML-KEM encapsulation key /
 * ciphertext: 800/768, 1184/1088, 1568/1568); draft-ietf-tls-ecdhe-mlkem
 * (hybrids: the ML-KEM part and the ECDH part concatenated);
 * draft-tls-westerbaan-xyber768d00 (the Kyber768 drafts, the same sizes). */
static const struct {
	uint16_t code, c, s;
} sizes[] = {
	{ 23, 65, 65 },     { 24, 97, 97 },     { 25, 133, 133 },
	{ 26, 65, 65 },     { 27, 97, 97 },     { 28, 129, 129 },
	{ 29, 32, 32 },     { 30, 56, 56 },
	{ 31, 65, 65 },     { 32, 97, 97 },     { 33, 129, 129 },
	{ 256, 256, 256 },  { 257, 384, 384 },  { 258, 512, 512 },
	{ 259, 768, 768 },  { 260, 1024, 1024 },
	{ 0x0200, 800, 768 },   { 0x0201, 1184, 1088 }, { 0x0202, 1568, 1568 },
	{ 0x11EB, 1249, 1153 }, { 0x11EC, 1216, 1120 }, { 0x11ED, 1665, 1665 },
	{ 0x11EE, 1249, 1153 },
	{ 0x6399, 1216, 1120 }, { 0x639A, 1249, 1153 },
};

bool kx_group_share_sizes(uint16_t code, uint16_t *client, uint16_t *server)
{
	const struct override *o = find_override(code);
	if (o) {
		if (!o->c_size)
			return false;
		*client = o->c_size;
		*server = o->s_size;
		return true;
	}
	size_t lo = 0, hi = sizeof(sizes) / sizeof(sizes[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sizes[mid].code == code) {
			*client = sizes[mid].c;
			*server = sizes[mid].s;
			return true;
		}
		if (sizes[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static const char *const family_names[KX_FAM_MAX] = {
	[KX_FAM_UNKNOWN] = "unknown",
	[KX_FAM_CLASSICAL_EC] = "classical",
	[KX_FAM_CLASSICAL_FFDHE] = "classical",
	[KX_FAM_HYBRID] = "hybrid",
	[KX_FAM_PQ] = "pq",
	[KX_FAM_HYBRID_DRAFT] = "hybrid-draft",
	[KX_FAM_GREASE] = "grease",
};

const char *kx_family_name(enum kx_family fam)
{
	if ((unsigned)fam >= KX_FAM_MAX)
		return "unknown";
	return family_names[fam];
}

int kx_group_is_pq(uint16_t code)
{
	enum kx_family f = kx_group_family(code);
	return f == KX_FAM_HYBRID || f == KX_FAM_PQ || f == KX_FAM_HYBRID_DRAFT;
}

void kx_group_label(uint16_t code, char *buf, size_t len)
{
	const char *n = kx_group_name(code);
	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "0x%04x", code);
}

enum kx_family kx_family_parse(const char *s)
{
	static const struct {
		const char *word;
		enum kx_family fam;
	} words[] = {
		{ "classical", KX_FAM_CLASSICAL_EC }, { "ec", KX_FAM_CLASSICAL_EC },
		{ "ffdhe", KX_FAM_CLASSICAL_FFDHE },  { "hybrid", KX_FAM_HYBRID },
		{ "pq", KX_FAM_PQ },                  { "hybrid-draft", KX_FAM_HYBRID_DRAFT },
		{ "grease", KX_FAM_GREASE },          { "unknown", KX_FAM_UNKNOWN },
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i].word) == 0)
			return words[i].fam;
	return KX_FAM_MAX;
}

size_t kx_groups_list(struct kx_group_entry *v, size_t max)
{
	const size_t n_builtin = sizeof(builtin) / sizeof(builtin[0]);
	int32_t last = -1; /* the code listed last */
	size_t b = 0, n = 0;

	/* Merge the sorted built-in table with the overrides, lowest code first. */
	for (;;) {
		int32_t code = 0x10000;
		while (b < n_builtin && (int32_t)builtin[b].code <= last)
			b++;
		if (b < n_builtin)
			code = builtin[b].code;
		for (unsigned i = 0; i < n_overrides; i++)
			if ((int32_t)overrides[i].code > last && (int32_t)overrides[i].code < code)
				code = overrides[i].code;
		if (code == 0x10000)
			break;
		last = code;
		if (n < max) {
			struct kx_group_entry *e = &v[n];
			e->code = (uint16_t)code;
			e->name = kx_group_name(e->code);
			e->fam = kx_group_family(e->code);
			e->sized = kx_group_share_sizes(e->code, &e->c_size, &e->s_size);
			if (!e->sized)
				e->c_size = e->s_size = 0;
			e->from_file = find_override(e->code) != NULL;
		}
		n++;
	}
	return n;
}

bool kx_groups_overridden(void)
{
	return n_overrides > 0;
}

const char *kx_group_override_name(const char *stored)
{
	uint16_t code;
	bool found = false;

	if (!stored || !n_overrides)
		return NULL;
	if (stored[0] == '0' && (stored[1] == 'x' || stored[1] == 'X')) {
		char *end;
		unsigned long v = strtoul(stored + 2, &end, 16);
		if (end != stored + 2 && !*end && v <= 0xffff) {
			code = (uint16_t)v;
			found = true;
		}
	}
	for (size_t i = 0; !found && i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i].name, stored) == 0) {
			code = builtin[i].code;
			found = true;
		}
	if (!found)
		return NULL;
	const struct override *o = find_override(code);
	return o ? o->name : NULL;
}

void kx_groups_reset(void)
{
	n_overrides = 0;
}

static int parse_code(const char *s, uint16_t *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > 0xffff)
		return -1;
	*ret = (uint16_t)v;
	return 0;
}

/* "1216/1120" (client/server) or "32" (both). */
static int parse_sizes(const char *s, uint16_t *c, uint16_t *sv)
{
	char buf[32];
	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (parse_code(buf, c) < 0 || *c == 0)
		return -1;
	*sv = *c;
	if (slash && (parse_code(slash + 1, sv) < 0 || *sv == 0))
		return -1;
	return 0;
}

int kx_groups_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[256];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save = NULL;
		char *code_s = strtok_r(line, " \t\r\n", &save);
		if (!code_s)
			continue;
		char *name = strtok_r(NULL, " \t\r\n", &save);
		char *fam_s = strtok_r(NULL, " \t\r\n", &save);
		char *size_s = strtok_r(NULL, " \t\r\n", &save);
		char *extra = strtok_r(NULL, " \t\r\n", &save);
		uint16_t code, c_size = 0, s_size = 0;
		enum kx_family fam;
		if (!name || !fam_s || extra) {
			snprintf(err, errlen, "%s:%u: expected 'CODE NAME FAMILY [SIZE[/SIZE]]'",
				 path, lineno);
			rc = -1;
			break;
		}
		if (size_s && parse_sizes(size_s, &c_size, &s_size) < 0) {
			snprintf(err, errlen,
				 "%s:%u: bad key share size '%s' (CLIENT/SERVER or one size for "
				 "both, 1..65535 bytes)",
				 path, lineno, size_s);
			rc = -1;
			break;
		}
		if (parse_code(code_s, &code) < 0) {
			snprintf(err, errlen, "%s:%u: bad code point '%s' (0..0xffff)", path,
				 lineno, code_s);
			rc = -1;
			break;
		}
		fam = kx_family_parse(fam_s);
		if (fam == KX_FAM_MAX) {
			snprintf(err, errlen,
				 "%s:%u: unknown family '%s' (classical, ffdhe, hybrid, pq, "
				 "hybrid-draft, grease, unknown)",
				 path, lineno, fam_s);
			rc = -1;
			break;
		}
		if (strlen(name) >= OVERRIDE_NAME_MAX) {
			snprintf(err, errlen, "%s:%u: name longer than %d bytes", path, lineno,
				 OVERRIDE_NAME_MAX - 1);
			rc = -1;
			break;
		}
		struct override *o = (struct override *)find_override(code);
		if (!o) {
			if (n_overrides == MAX_OVERRIDES) {
				snprintf(err, errlen, "%s:%u: more than %d entries", path, lineno,
					 MAX_OVERRIDES);
				rc = -1;
				break;
			}
			o = &overrides[n_overrides++];
		}
		o->code = code;
		o->fam = fam;
		o->c_size = c_size;
		o->s_size = s_size;
		memcpy(o->name, name, strlen(name) + 1);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}
