/* SPDX-License-Identifier: BSD-2-Clause */
/* groups.h: the key-exchange group registry (TLS Supported Groups code point -> name, family).
 *
 * One table, built in from the IANA TLS Supported Groups registry, extended or
 * overridden at run time by a small text file (--groups FILE). Unknown code
 * points are kept everywhere and reported as family "unknown".
 */
#ifndef KEXWATCH_GROUPS_H
#define KEXWATCH_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kx_family {
	KX_FAM_UNKNOWN = 0,
	KX_FAM_CLASSICAL_EC,    /* secp*, x25519, x448, brainpool */
	KX_FAM_CLASSICAL_FFDHE, /* RFC 7919 finite-field groups */
	KX_FAM_HYBRID,          /* standard hybrid ML-KEM (draft-ietf-tls-ecdhe-mlkem) */
	KX_FAM_PQ,              /* pure ML-KEM (draft-ietf-tls-mlkem) */
	KX_FAM_HYBRID_DRAFT,    /* retired pre-standard Kyber drafts */
	KX_FAM_GREASE,          /* RFC 8701 reserved values */
	KX_FAM_MAX
};

/* Name of a code point, or NULL when unknown. Never fails otherwise. */
const char *kx_group_name(uint16_t code);

enum kx_family kx_group_family(uint16_t code);

/* "classical", "hybrid", "pq", "hybrid-draft", "grease", "unknown". */
const char *kx_family_name(enum kx_family fam);

/* True for hybrid, pq and draft-hybrid groups: the client "offers PQ". */
int kx_group_is_pq(uint16_t code);

/* Writes "0x11ec" style or the name into buf; always NUL-terminates. */
void kx_group_label(uint16_t code, char *buf, size_t len);

/* Parses a family keyword ("classical", "ec", "ffdhe", "hybrid", "pq",
 * "hybrid-draft", "grease", "unknown"). Returns KX_FAM_MAX when not one. */
enum kx_family kx_family_parse(const char *s);

/* The sizes in bytes a key share of this group has, from a client and
 * from a server (x25519 32/32, X25519MLKEM768 1216/1120, ...). False when
 * the registry does not know them (then nothing is checked). */
bool kx_group_share_sizes(uint16_t code, uint16_t *client, uint16_t *server);

/* Loads a registry override file: one "CODE NAME FAMILY [SIZES]" line per
 * group, CODE decimal or 0x-hex, SIZES "CLIENT/SERVER" or one number for
 * both (key share bytes), '#' comments. Returns 0, or -1 with a message
 * (file:line: what) in err. Entries replace built-in ones with the same
 * code, sizes included: an override without sizes checks none. */
int kx_groups_load(const char *path, char *err, size_t errlen);

/* One registry entry as `kexwatch groups` lists it. */
struct kx_group_entry {
	uint16_t code;
	const char *name;
	enum kx_family fam;
	bool sized;                 /* key share sizes known */
	uint16_t c_size, s_size;    /* bytes, when sized */
	bool from_file;             /* a --groups FILE line (new or overriding) */
};

/* The registry, built-in entries and loaded overrides, sorted by code,
 * GREASE values left out: fills at most max entries and returns how many
 * there are. */
size_t kx_groups_list(struct kx_group_entry *v, size_t max);

/* True when a --groups file added or overrode entries. */
bool kx_groups_overridden(void);

/* The name a --groups file gives the group stored as `stored` (a built-in
 * name, or "0x1234" for a code point unknown when the row was written), or
 * NULL when no loaded entry renames it. */
const char *kx_group_override_name(const char *stored);

/* Drops loaded overrides (tests, fuzzers). */
void kx_groups_reset(void);

#endif
