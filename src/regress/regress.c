/* SPDX-License-Identifier: BSD-2-Clause */
/* regress.c: the regression memory of `kexwatch live` and `read` (see
 * regress.h). Open addressing over one array allocated at start; a
 * subject is a 64-bit hash of its binary address (and port and SNI for an
 * endpoint): the packet path formats nothing, kx_regress_load parses the
 * inventory's text addresses back. A collision could merge two subjects'
 * memories: at 2^-64 per pair, accepted. */
#include "kexwatch/regress.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/emit.h"

#define PROBE 8                       /* slots looked at per subject */
#define HOUR_US (3600LL * 1000000LL)
#define DAY_US (24 * HOUR_US)

struct entry {
	uint64_t key;          /* 0: empty */
	int64_t last_good_us;  /* last seen hybrid/pq (endpoint) or offering PQ (client) */
	int64_t last_log_us;   /* last regression logged; INT64_MIN: never */
};

_Static_assert(sizeof(struct entry) == KX_REGRESS_ENTRY_BYTES, "documented entry size");

struct kx_regress {
	struct entry *v;
	uint32_t n;            /* a power of two >= max_entries */
	int64_t memory_us;
};

static const char *const kind_names[KX_REGRESS_KINDS] = {
	[KX_REGRESS_ENDPOINT] = "hybrid-to-classical",
	[KX_REGRESS_CLIENT] = "pq-offer-dropped",
};

const char *kx_regress_kind_name(enum kx_regress_kind k)
{
	return (unsigned)k < KX_REGRESS_KINDS ? kind_names[k] : "?";
}

struct kx_regress *kx_regress_new(uint32_t max_entries, uint32_t memory_days)
{
	struct kx_regress *r = calloc(1, sizeof(*r));
	uint32_t n = PROBE;
	if (!r)
		return NULL;
	while (n < max_entries && n < (1u << 31))
		n <<= 1;
	/* Rounded down to the size asked for: the cap is the documented one. */
	if (n > max_entries && max_entries >= PROBE)
		n >>= 1;
	r->n = n;
	r->memory_us = (int64_t)memory_days * DAY_US;
	r->v = calloc(n, sizeof(*r->v));
	if (!r->v) {
		free(r);
		return NULL;
	}
	return r;
}

void kx_regress_free(struct kx_regress *r)
{
	if (!r)
		return;
	free(r->v);
	free(r);
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* One multiply-xorshift round per 64-bit word of the address. */
static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t subject_key(enum kx_regress_kind k, const struct kx_addr *ip, unsigned port,
			    const char *sni)
{
	uint64_t w[2] = { 0, 0 };
	memcpy(w, ip->a, ip->family == 6 ? 16 : 4); /* an IPv4 address's other bytes say nothing */
	uint64_t h = mix(0xcbf29ce484222325ULL, (uint64_t)k << 32 | (uint64_t)ip->family << 16);
	h = mix(mix(h, w[0]), w[1]);
	if (k == KX_REGRESS_ENDPOINT) {
		h = mix(h, port);
		if (sni && sni[0])
			h = fnv(h, sni, strlen(sni));
	}
	return h ? h : 1;
}

/* The subject's slot, or NULL. */
static struct entry *find(struct kx_regress *r, uint64_t key)
{
	for (uint32_t i = 0; i < PROBE; i++) {
		struct entry *e = &r->v[(key + i) & (r->n - 1)];
		if (e->key == key)
			return e;
	}
	return NULL;
}

/* Remembers key as good at t: its slot, an empty or expired one, or the
 * one good longest ago in the probe window. */
static void remember(struct kx_regress *r, uint64_t key, int64_t t)
{
	struct entry *e = find(r, key), *victim = NULL;
	if (e) {
		if (t > e->last_good_us)
			e->last_good_us = t;
		return;
	}
	for (uint32_t i = 0; i < PROBE; i++) {
		struct entry *c = &r->v[(key + i) & (r->n - 1)];
		if (!c->key || t - c->last_good_us > r->memory_us) {
			victim = c;
			break;
		}
		if (!victim || c->last_good_us < victim->last_good_us)
			victim = c;
	}
	victim->key = key;
	victim->last_good_us = t;
	victim->last_log_us = INT64_MIN;
}

/* A regression when the subject was good within the memory; *log once an
 * hour per subject. */
static bool regressed(struct kx_regress *r, uint64_t key, int64_t t, bool *log)
{
	struct entry *e = find(r, key);
	*log = false;
	if (!e || t - e->last_good_us > r->memory_us)
		return false;
	if (e->last_log_us == INT64_MIN || t - e->last_log_us >= HOUR_US) {
		e->last_log_us = t;
		*log = true;
	}
	return true;
}

unsigned kx_regress_observe(struct kx_regress *r, const struct kx_hs *hs, unsigned *ret_log)
{
	unsigned found = 0;
	bool log;
	int64_t t = (int64_t)hs->ts_first_us;

	*ret_log = 0;
	if (hs->is_session)
		return 0;
	bool strong = hs->verdict == KX_V_HYBRID || hs->verdict == KX_V_PQ;
	/* The verdict already says whether the client offered PQ, except for
	 * TLS 1.2 and the verdicts without a selected group. */
	bool classical = hs->verdict == KX_V_CLASSICAL;
	bool offers = strong || (classical && hs->reason == KX_R_SERVER_DECLINED) ||
		      (!(classical && hs->reason == KX_R_CLIENT_NO_PQ) && kx_hs_offers_pq(hs));
	bool hello = hs->n_ch > 0 && !hs->ch_unseen && hs->reason != KX_R_OFFER_UNSEEN;
	bool declined = hs->verdict == KX_V_CLASSICAL &&
			(hs->reason == KX_R_SERVER_DECLINED || (hs->reason == KX_R_TLS12 && offers));

	if (strong || declined) {
		uint64_t k = subject_key(KX_REGRESS_ENDPOINT, &hs->server_ip, hs->server_port, hs->sni);
		if (strong) {
			remember(r, k, t);
		} else if (regressed(r, k, t, &log)) {
			found |= 1u << KX_REGRESS_ENDPOINT;
			*ret_log |= log ? 1u << KX_REGRESS_ENDPOINT : 0;
		}
	}
	if (hello) {
		uint64_t k = subject_key(KX_REGRESS_CLIENT, &hs->client_ip, 0, NULL);
		if (offers) {
			remember(r, k, t);
		} else if (regressed(r, k, t, &log)) {
			found |= 1u << KX_REGRESS_CLIENT;
			*ret_log |= log ? 1u << KX_REGRESS_CLIENT : 0;
		}
	}
	return found;
}

void kx_regress_describe(const struct kx_hs *hs, enum kx_regress_kind k, char *buf, size_t len)
{
	char s[64], c[64];
	kx_addr_str(&hs->server_ip, s, sizeof(s));
	kx_addr_str(&hs->client_ip, c, sizeof(c));
	if (k == KX_REGRESS_ENDPOINT)
		snprintf(buf, len,
			 "regression hybrid-to-classical: %s port %u%s%s was hybrid/pq, now declines "
			 "the PQ client %s offered (packet %llu)",
			 s, hs->server_port, hs->sni[0] ? " SNI " : "", hs->sni, c,
			 (unsigned long long)hs->pkt_first_ch);
	else
		snprintf(buf, len,
			 "regression pq-offer-dropped: client %s offered PQ, now offers none "
			 "(to %s port %u, packet %llu)",
			 c, s, hs->server_port, (unsigned long long)hs->pkt_first_ch);
}

/* The inventory's good subjects within the memory before its newest row:
 * the newest first, so a table smaller than the inventory keeps them. */
static const char load_sql[] =
	"WITH t AS (SELECT max(ts_first_us) - :mem AS since FROM handshakes)"
	" SELECT * FROM (SELECT 0, server_ip, server_port, sni, max(ts_first_us) AS m FROM handshakes, t"
	" WHERE ts_first_us >= t.since AND verdict IN ('hybrid', 'pq')"
	" GROUP BY server_ip, server_port, sni"
	" UNION ALL SELECT 1, client_ip, 0, NULL, max(ts_first_us) FROM handshakes, t"
	" WHERE ts_first_us >= t.since AND offers_pq AND ch_bytes > 0"
	" GROUP BY client_ip ORDER BY m DESC LIMIT :max) ORDER BY m";

int kx_regress_load(struct kx_regress *r, const char *db_path, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int n = 0, rc;

	rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_CANTOPEN) {
		sqlite3_close(db);
		return 0;
	}
	if (rc != SQLITE_OK ||
	    sqlite3_prepare_v2(db, load_sql, -1, &s, NULL) != SQLITE_OK) {
		/* A new or empty file has no handshakes table yet. */
		bool empty = rc == SQLITE_OK && strstr(sqlite3_errmsg(db), "no such table");
		if (!empty)
			snprintf(err, errlen, "%s: %s", db_path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return empty ? 0 : -1;
	}
	sqlite3_bind_int64(s, 1, r->memory_us);
	sqlite3_bind_int64(s, 2, r->n);
	/* Oldest first: remember() keeps the newer when slots run out. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *ip = (const char *)sqlite3_column_text(s, 1);
		const char *sni = (const char *)sqlite3_column_text(s, 3);
		struct kx_addr a;
		memset(&a, 0, sizeof(a));
		if (ip && inet_pton(AF_INET, ip, a.a) == 1)
			a.family = 4;
		else if (ip && inet_pton(AF_INET6, ip, a.a) == 1)
			a.family = 6;
		else
			continue; /* not an address kexwatch wrote */
		enum kx_regress_kind k = sqlite3_column_int(s, 0) ? KX_REGRESS_CLIENT
								   : KX_REGRESS_ENDPOINT;
		remember(r, subject_key(k, &a, (unsigned)sqlite3_column_int(s, 2), sni),
			 sqlite3_column_int64(s, 4));
		n++;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", db_path, sqlite3_errmsg(db));
		n = -1;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}
