/* SPDX-License-Identifier: BSD-2-Clause */
/* hops.c: one line per server endpoint (or per SNI, server IP, or
 * client -> server pair): counts per verdict, groups, protocols, and the
 * endpoint verdict of the hops view (sqlite_store.c), computed here over the
 * filtered legs (handshakes and sessions without one) so
 * --since/--until/--sensor/--live apply before aggregation. Sessions carry
 * no SNI: a plaintext leg is the endpoint (server IP, port, no SNI). The
 * table's OTHER counts resumed, incomplete, unknown and Kyber-draft
 * handshakes and sessions whose handshake was not seen. n_suspect counts
 * the handshakes judged unknown because their key-exchange claims do not
 * hold (share-size, group-not-offered, share-not-in-groups); JSON and CSV
 * carry it as n_suspect, the table marks such a hop's verdict
 * "(suspect: N)" and the HTML report badges it. CSV follows RFC 4180.
 * On a central store of schema 7 the same query, in PostgreSQL's dialect
 * (kx_hops_pg_sql), runs on the server and only its answer rows are read
 * (hops_central); the printers are the same. Over the full range on
 * central schema 10 it reads the rollups there plus the rows still pending
 * (kx_hops_pg_rolled_sql): the raw rows' answer whether folded or not.
 */
#include "report_int.h"

#include "kexwatch/groups.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "kexwatch/central.h"

static const struct {
	const char *word;
	const char *keys;  /* GROUP BY and tie-break order */
	const char *pg_order; /* the keys in PostgreSQL as SQLite orders them */
	struct kx_col cols[3];
	size_t n_cols;
} groupings[] = {
	[KX_HOPS_ENDPOINT] = { "endpoint", "server_ip, server_port, sni",
			       "server_ip COLLATE \"C\", server_port, sni COLLATE \"C\" NULLS FIRST",
			       { { "server_ip", "SERVER", false }, { "server_port", "PORT", true },
				 { "sni", "SNI", false } }, 3 },
	[KX_HOPS_SNI] = { "sni", "sni", "sni COLLATE \"C\" NULLS FIRST", { { "sni", "SNI", false } }, 1 },
	[KX_HOPS_SERVER] = { "server", "server_ip", "server_ip COLLATE \"C\"", { { "server_ip", "SERVER", false } }, 1 },
	[KX_HOPS_PAIR] = { "pair", "client_ip, server_ip",
			   "client_ip COLLATE \"C\", server_ip COLLATE \"C\"",
			   { { "client_ip", "CLIENT", false }, { "server_ip", "SERVER", false } }, 2 },
};

static const struct {
	const char *word;
	const char *order; /* before the keys */
} sorts[] = {
	[KX_HOPS_SORT_RISK] = { "risk", "risk DESC, handshakes DESC" },
	[KX_HOPS_SORT_HANDSHAKES] = { "handshakes", "handshakes DESC, risk DESC" },
	[KX_HOPS_SORT_CLIENTS] = { "clients", "clients DESC, risk DESC" },
	[KX_HOPS_SORT_LAST_SEEN] = { "last-seen", "last_us DESC, risk DESC" },
	[KX_HOPS_SORT_NAME] = { "name", "" },
};

static const struct kx_col tail_cols[] = {
	{ "protocols", "PROTO", false },    { "handshakes", "HANDSHAKES", true },
	{ "clients", "CLIENTS", true },     { "n_hybrid", "HYBRID", true },
	{ "n_pq", "PQ", true },             { "n_classical", "CLASSICAL", true },
	{ "n_plaintext", "PLAINTEXT", true }, { "n_other", "OTHER", true },
	{ "groups_selected", "GROUPS", false },
	{ "last_seen_s", "LAST SEEN", false }, { "verdict_s", "VERDICT", false },
};

#define N_TAIL (sizeof(tail_cols) / sizeof(tail_cols[0]))

/* What a narrow terminal loses first: the endpoint, its counts of
 * handshakes, hybrid and classical, and its verdict stay. */
static const char *const narrow_drop[] = {
	"last_seen_s", "n_plaintext", "n_pq", "clients", "protocols", "groups_selected",
	"n_other", NULL,
};

void kx_hops_opts_init(struct kx_hops_opts *o)
{
	memset(o, 0, sizeof(*o));
	kx_report_filter_init(&o->f);
}

int kx_hops_parse_group(const char *s, enum kx_hops_group *ret)
{
	for (size_t i = 0; i < sizeof(groupings) / sizeof(groupings[0]); i++) {
		if (strcmp(s, groupings[i].word) == 0) {
			*ret = (enum kx_hops_group)i;
			return 0;
		}
	}
	return -1;
}

int kx_hops_parse_sort(const char *s, enum kx_hops_sort *ret)
{
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		if (strcmp(s, sorts[i].word) == 0) {
			*ret = (enum kx_hops_sort)i;
			return 0;
		}
	}
	return -1;
}

/* The answer's columns, the same in both engines' queries: the keys (%s),
 * the counts, the endpoint verdict and its risk, the table's columns (%s);
 * the counts per group follow as a subquery. */
#define HOPS_ANSWER                                                                    \
	" SELECT %s, first_seen, last_seen, handshakes, clients, n_hybrid, n_pq,"         \
	" n_hybrid_draft, n_classical, n_client_no_pq, n_server_declined, n_tls12,"       \
	" n_resumed, n_incomplete, n_unknown, groups_selected, protocols, verdict,"        \
	KX_SQL_RISK("verdict") " AS risk, sessions, n_plaintext, n_unseen,"              \
	" n_offer_unseen, n_no_tls, n_starttls_not_offered, n_starttls_refused,"          \
	" n_ssl_refused, apps, n_suspect%s"                                                \
	" FROM (SELECT *," KX_SQL_VERDICT " AS verdict FROM"

/* JSON and CSV carry n_suspect; the table marks the verdict. */
#define HOPS_TABLE_COLS                                                                \
	", n_resumed + n_incomplete + n_unknown + n_hybrid_draft + n_unseen AS n_other,"  \
	" substr(last_seen, 1, 19) || 'Z' AS last_seen_s,"                                \
	" verdict || CASE WHEN n_suspect > 0 THEN ' (suspect: ' || n_suspect || ')'"     \
	" ELSE '' END AS verdict_s"

/* The distinct clients of each group, over the rollups (rolled mode).
 * An endpoint's come from the counters the fold keeps (rollup_clients,
 * per sensor, and rollup_clients_all), plus the clients of the rows not
 * folded yet and of the sessions that no folded pair of that endpoint
 * (and sensor) has: distinct over the history without reading it. SNIs
 * and servers count the distinct clients of the pairs. */
static const char rolled_clients_endpoint[] =
	" cl AS MATERIALIZED (SELECT server_ip, server_port, ksni, sum(c) AS clients FROM ("
	"  SELECT server_ip, server_port, sni AS ksni, clients AS c FROM main.rollup_clients_all"
	"   WHERE :sensor IS NULL"
	"  UNION ALL SELECT server_ip, server_port, sni, clients FROM main.rollup_clients"
	"   WHERE sensor = :sensor"
	"  UNION ALL SELECT server_ip, server_port, ksni, count(*) FROM"
	"   (SELECT DISTINCT server_ip, server_port, coalesce(sni, '') AS ksni, client_ip"
	"    FROM kx_tail_pairs WHERE :sensor IS NULL OR sensor = :sensor) AS t"
	"   WHERE NOT EXISTS (SELECT 1 FROM main.rollup_pairs AS p WHERE p.server_ip = t.server_ip"
	"    AND p.server_port = t.server_port AND p.sni = t.ksni AND p.client_ip = t.client_ip"
	"    AND (:sensor IS NULL OR p.sensor = :sensor))"
	"   GROUP BY 1, 2, 3)"
	" GROUP BY 1, 2, 3),";

/* How a group meets its clients in cl. */
static const char *const rolled_join[] = {
	[KX_HOPS_ENDPOINT] = "c.server_ip = cl.server_ip AND c.server_port = cl.server_port"
			     " AND coalesce(c.sni, '') = cl.ksni",
	[KX_HOPS_SNI] = "coalesce(c.sni, '') = cl.ksni",
	[KX_HOPS_SERVER] = "c.server_ip = cl.server_ip",
};

char *kx_hops_sql(const struct kx_hops_opts *o, bool table, bool rolled)
{
	const char *keys = groupings[o->group].keys;
	const char *order = sorts[o->sort].order;
	char *cl = NULL, *counts = NULL, *join = NULL, *sql;

	/* Client -> server pairs need the clients of every leg: raw rows. */
	if (o->group == KX_HOPS_PAIR)
		rolled = false;
	if (rolled) {
		cl = o->group == KX_HOPS_ENDPOINT
			     ? sqlite3_mprintf("%s", rolled_clients_endpoint)
			     : sqlite3_mprintf(
				       " cl AS MATERIALIZED (SELECT %s, count(DISTINCT client_ip) AS"
				       " clients FROM kx_pairs_rolled WHERE :sensor IS NULL OR"
				       " sensor = :sensor GROUP BY 1),",
				       o->group == KX_HOPS_SNI ? "coalesce(sni, '') AS ksni"
							       : "server_ip");
		/* The groups' counts, then their clients by a join (which
		 * SQLite indexes on the fly), under the name the rest reads. */
		counts = sqlite3_mprintf("c.*, coalesce(cl.clients, 0) AS clients FROM (SELECT %s,",
					 keys);
		join = sqlite3_mprintf(") AS c LEFT JOIN cl ON %s", rolled_join[o->group]);
		if (!cl || !counts || !join) {
			sqlite3_free(cl);
			sqlite3_free(counts);
			sqlite3_free(join);
			return NULL;
		}
	}
	sql = sqlite3_mprintf(
		"WITH %s%s"
		HOPS_ANSWER
		" (SELECT %s%s max(ts_last_us) AS last_us,"
		" kx_set(%s) AS groups_selected, kx_set(protocol) AS protocols,"
		/* Handshakes whose key-exchange claims do not hold (a key share of
		 * the wrong size, RFC 8446 4.2.8 violations): the hop is suspect. */
		" sum(n * (verdict = 'unknown' AND ifnull(reason IN ('share-size', 'group-not-offered',"
		"  'share-not-in-groups'), 0))) AS n_suspect"
		" FROM h GROUP BY %s%s))"
		" ORDER BY %s%s%s",
		rolled ? cl : "", rolled ? KX_SQL_FILTERED_ROLLED : KX_SQL_FILTERED,
		keys, table ? HOPS_TABLE_COLS : "",
		rolled ? counts : keys, rolled ? KX_SQL_COUNTS_C("") : "," KX_SQL_COUNTS,
		/* A --groups file names groups stored under another name (or as
		 * 0x-hex, unknown when read); without one the stored names stand. */
		kx_groups_overridden() ? "kx_group_rename(group_name)" : "group_name",
		keys, rolled ? join : "", order, *order ? ", " : "", keys);
	sqlite3_free(join);
	sqlite3_free(cl);
	sqlite3_free(counts);
	return sql;
}

/* --- the same query in PostgreSQL --- */

/* The central schema the query below reads: handshakes and sessions with
 * the verdict words of SQLite schema 11 (older stores go through the
 * snapshot, which rewrites them). */
#define PG_HOPS_MIN_SCHEMA 7

/* The legs of kx_legs (report_db.c) in the central store, filtered by
 * KX_PG_WINDOW: only the columns hops reads. */
#define PG_FILTERED                                                                    \
	"h AS (SELECT ts_first_us, ts_last_us, protocol, client_ip, server_ip,"        \
	" server_port, sni, offers_pq, group_name, verdict, reason, 1::bigint AS n,"    \
	" false AS is_session, NULL::text AS app FROM handshakes" KX_PG_WINDOW             \
	" UNION ALL SELECT ts_first_us, ts_last_us, app, client_ip, server_ip,"        \
	" server_port, NULL, 0, NULL, verdict, nullif(reason, ''), sessions, true, app" \
	" FROM sessions" KX_PG_WINDOW ")"

char *kx_hops_pg_sql(const struct kx_hops_opts *o, bool table)
{
	const char *keys = groupings[o->group].keys;
	const char *order = sorts[o->sort].order;

	return sqlite3_mprintf(
		"WITH " PG_FILTERED
		HOPS_ANSWER
		" (SELECT %s," KX_PG_COUNTS " max(ts_last_us) AS last_us,"
		" " KX_PG_SET("group_name") " AS groups_selected, " KX_PG_SET("protocol") " AS protocols,"
		" " KX_PG_COUNT("verdict = 'unknown' AND reason IN ('share-size', 'group-not-offered',"
			     " 'share-not-in-groups')") " AS n_suspect"
		" FROM h GROUP BY %s) AS c) AS v"
		" ORDER BY %s%s%s",
		keys,
		table ? HOPS_TABLE_COLS : "",
		keys, keys, order, *order ? ", " : "", groupings[o->group].pg_order);
}

/* The legs of the central store's rollups (pg_rollup.c) as PG_FILTERED's
 * columns, the rows not folded yet (rollup_pending, as raw legs) and its
 * sessions: the full range, only the sensor ($1) filters. */
#define PG_ROLLED                                                                      \
	"h AS (SELECT first_us AS ts_first_us, last_us AS ts_last_us, protocol,"        \
	" NULL::text AS client_ip, server_ip, server_port, nullif(sni, '') AS sni,"     \
	" offers_pq, nullif(group_name, '') AS group_name, verdict,"                   \
	" nullif(reason, '') AS reason, n, false AS is_session, NULL::text AS app"     \
	" FROM rollup_legs WHERE $1::text IS NULL OR sensor = $1::text"                 \
	" UNION ALL SELECT ts_first_us, ts_last_us, protocol, NULL, server_ip,"         \
	" server_port, sni, offers_pq, group_name, verdict, reason, 1, false, NULL"     \
	" FROM rollup_pending WHERE $1::text IS NULL OR sensor = $1::text"              \
	" UNION ALL SELECT ts_first_us, ts_last_us, app, client_ip, server_ip,"        \
	" server_port, NULL, 0, NULL, verdict, nullif(reason, ''), sessions, true, app" \
	" FROM sessions WHERE $1::text IS NULL OR sensor = $1::text)"

/* The pairs of the pending rows and of the sessions (whose endpoint has
 * no SNI: '') that no rolled-up pair of the same endpoint (and sensor)
 * has: what the counters do not count yet (a pending row's pair may be
 * rolled up already, from an older row). */
#define PG_SESSION_PAIRS_NEW                                                           \
	" FROM (SELECT server_ip, server_port, coalesce(sni, '') AS sni, client_ip, sensor" \
	"  FROM rollup_pending UNION ALL SELECT server_ip, server_port, '', client_ip,"    \
	"  sensor FROM sessions) AS t WHERE ($1::text IS NULL OR t.sensor = $1::text)"   \
	" AND NOT EXISTS (SELECT 1 FROM rollup_pairs_all AS p WHERE $1::text IS NULL"  \
	"  AND p.server_ip = t.server_ip AND p.server_port = t.server_port"            \
	"  AND p.sni = t.sni AND p.client_ip = t.client_ip)"                           \
	" AND NOT EXISTS (SELECT 1 FROM rollup_pairs AS p WHERE p.sensor = $1::text"   \
	"  AND p.server_ip = t.server_ip AND p.server_port = t.server_port"            \
	"  AND p.sni = t.sni AND p.client_ip = t.client_ip)"

/* The distinct clients per group over the central rollups: an endpoint's
 * from the counters the shipper keeps plus its sessions' new clients
 * (sessions carry no SNI: their endpoint is ''); an SNI's or a server's
 * over the rolled-up pairs and the sessions' pairs. */
static const char pg_clients_endpoint[] =
	" cl AS (SELECT server_ip, server_port, ksni, sum(c)::bigint AS clients FROM ("
	"  SELECT server_ip, server_port, sni AS ksni, clients AS c FROM rollup_clients_all"
	"   WHERE $1::text IS NULL"
	"  UNION ALL SELECT server_ip, server_port, sni, clients FROM rollup_clients"
	"   WHERE sensor = $1::text"
	"  UNION ALL SELECT server_ip, server_port, sni, count(DISTINCT client_ip)"
	PG_SESSION_PAIRS_NEW " GROUP BY 1, 2, 3) AS u GROUP BY 1, 2, 3)";

static const char pg_clients_pairs[] =
	" cl AS (SELECT %s, count(DISTINCT client_ip) AS clients FROM ("
	"  SELECT server_ip, sni, client_ip FROM rollup_pairs_all WHERE $1::text IS NULL"
	"  UNION ALL SELECT server_ip, sni, client_ip FROM rollup_pairs WHERE sensor = $1::text"
	"  UNION ALL SELECT server_ip, coalesce(sni, ''), client_ip FROM rollup_pending"
	"   WHERE $1::text IS NULL OR sensor = $1::text"
	"  UNION ALL SELECT server_ip, '', client_ip FROM sessions"
	"   WHERE $1::text IS NULL OR sensor = $1::text) AS u GROUP BY 1)";

char *kx_hops_pg_rolled_sql(const struct kx_hops_opts *o, bool table)
{
	const char *keys = groupings[o->group].keys;
	const char *order = sorts[o->sort].order;
	char *cl, *sql;

	if (o->group == KX_HOPS_PAIR)
		return NULL;
	cl = o->group == KX_HOPS_ENDPOINT
		     ? sqlite3_mprintf("%s", pg_clients_endpoint)
		     : sqlite3_mprintf(pg_clients_pairs,
				       o->group == KX_HOPS_SNI ? "sni AS ksni" : "server_ip");
	if (!cl)
		return NULL;
	sql = sqlite3_mprintf(
		"WITH " PG_ROLLED ",%s"
		HOPS_ANSWER
		" (SELECT c.*, coalesce(cl.clients, 0) AS clients FROM (SELECT %s,"
		KX_PG_COUNTS_OF(KX_PG_SUM_N, "") " max(ts_last_us) AS last_us,"
		" " KX_PG_SET("group_name") " AS groups_selected, " KX_PG_SET("protocol") " AS protocols,"
		" " KX_PG_SUM_N("verdict = 'unknown' AND reason IN ('share-size', 'group-not-offered',"
			     " 'share-not-in-groups')") " AS n_suspect"
		" FROM h GROUP BY %s) AS c LEFT JOIN cl ON %s) AS c) AS v"
		" ORDER BY %s%s%s",
		cl, keys, table ? HOPS_TABLE_COLS : "", keys, keys, rolled_join[o->group], order,
		*order ? ", " : "", groupings[o->group].pg_order);
	sqlite3_free(cl);
	return sql;
}

/* The hops answer of o computed in PostgreSQL (session pg), its rows in
 * the in-memory table name of r->db. Returns 0 or -1 with the message in
 * err (r and pg left open). */
int kx_hops_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_hops_opts *o,
		    bool table, const char *name, char *err, size_t errlen)
{
	char since[24], until[24], live[24], e[512];
	const char *params[4] = { since, until, o->f.sensor, live };
	char *sql = NULL;
	int rc = -1;

	snprintf(since, sizeof(since), "%" PRId64, o->f.since_us);
	snprintf(until, sizeof(until), "%" PRId64, o->f.until_us);
	snprintf(live, sizeof(live), "%" PRId64, o->f.live_from_us);
	struct kx_hops_opts q = *o;
	if (o->live_us > 0) {
		sqlite3_int64 newest = o->now_us;
		if (!o->live_from_now) {
			sqlite3_stmt *s = NULL;
			if (kx_pg_read_table(pg, "WITH " PG_FILTERED
					     " SELECT coalesce(max(ts_last_us), 0) AS newest FROM h",
					     4, params, r->db, "kx_newest", e, sizeof(e)) < 0) {
				snprintf(err, errlen, "%s: %s", r->target, e);
				goto out;
			}
			if (sqlite3_prepare_v2(r->db, "SELECT newest FROM kx_newest", -1, &s,
					       NULL) != SQLITE_OK) {
				kx_rdb_fail(r);
				goto out;
			}
			if (sqlite3_step(s) == SQLITE_ROW)
				newest = sqlite3_column_int64(s, 0);
			sqlite3_finalize(s);
		}
		q.f.live_from_us = (int64_t)newest - o->live_us;
		snprintf(live, sizeof(live), "%" PRId64, q.f.live_from_us);
	}
	/* The full range over the rollups and the rows pending for them
	 * (schema 10): its size grows with the endpoints and the fold's lag,
	 * not the handshakes, and keeps what prune dropped. Pairs need every
	 * leg's client: raw rows. A schema 9 store (no pending rows yet) is
	 * read raw until a sensor upgrades it. */
	bool roll = o->live_us <= 0 && o->f.since_us == INT64_MIN && o->f.until_us == INT64_MAX &&
		    o->f.live_from_us == INT64_MIN && o->group != KX_HOPS_PAIR &&
		    kx_pg_read_version(pg) >= 10 && !kx_pg_rollups_off();
	if (!(sql = roll ? kx_hops_pg_rolled_sql(&q, table) : kx_hops_pg_sql(&q, table))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The rolled query reads only the sensor: $1. */
	if (kx_pg_read_table(pg, sql, roll ? 1 : 4, roll ? params + 2 : params, r->db,
			     name, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s: %s", r->target, e);
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(sql);
	return rc;
}

/* hops on a central store: the aggregation runs in PostgreSQL, the answer
 * rows come back into an in-memory SQLite table (r->db, table kx_answer)
 * that the printers read as they read the local query. Returns 0, 1 when
 * the store needs the snapshot instead (a schema older than
 * PG_HOPS_MIN_SCHEMA, or a --groups file, whose renaming is SQLite's), or
 * -1 with the message in err. */
static int hops_central(struct kx_rdb *r, const char *url, const struct kx_hops_opts *o,
			bool table, char *err, size_t errlen)
{
	struct kx_pg_read *pg = NULL;
	int rc = kx_rdb_open_answer(r, url, PG_HOPS_MIN_SCHEMA, &pg, err, errlen);

	if (rc != 0)
		return rc;
	rc = kx_hops_pg_load(r, pg, o, table, "kx_answer", err, errlen);
	kx_pg_read_close(pg);
	if (rc < 0)
		kx_rdb_close(r);
	return rc;
}

int kx_report_hops_with(const char *db_path, const struct kx_hops_opts *o,
			enum kx_out_format fmt, FILE *out, char *err, size_t errlen)
{
	struct kx_hops_opts def;
	struct kx_col cols[3 + N_TAIL];
	struct kx_report_filter f;
	struct kx_rdb r;
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	size_t n = 0;
	int rc = -1;

	if (!o) {
		kx_hops_opts_init(&def);
		o = &def;
	}
	if (kx_pg_is_url(db_path)) {
		int c = hops_central(&r, db_path, o, fmt == KX_OUT_TABLE, err, errlen);
		if (c < 0)
			return -1;
		if (c == 0) {
			/* The answer, in PostgreSQL's order. */
			if (!(s = kx_rdb_prepare(&r, "SELECT * FROM kx_answer ORDER BY rowid", NULL)))
				goto out;
			goto print;
		}
	}
	if (kx_rdb_open_scoped(&r, db_path, &o->f, err, errlen) < 0)
		return -1;
	f = o->f;
	if (o->live_us > 0) {
		long long newest = o->now_us;
		if (!o->live_from_now &&
		    kx_rdb_int64(&r, "WITH " KX_SQL_FILTERED " SELECT max(ts_last_us) FROM h", &o->f,
				 &newest) < 0)
			goto out;
		f.live_from_us = (int64_t)newest - o->live_us;
	}
	sql = kx_hops_sql(o, fmt == KX_OUT_TABLE, o->live_us <= 0 && kx_rdb_full_range(&r, &f));
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!(s = kx_rdb_prepare(&r, sql, &f)))
		goto out;
print:
	for (size_t i = 0; i < groupings[o->group].n_cols; i++)
		cols[n++] = groupings[o->group].cols[i];
	/* Pairs: one client per line, the CLIENTS column says nothing. */
	for (size_t i = 0; i < N_TAIL; i++)
		if (o->group != KX_HOPS_PAIR || strcmp(tail_cols[i].name, "clients") != 0)
			cols[n++] = tail_cols[i];
	rc = kx_rdb_output(&r, s, fmt, cols, n, narrow_drop, out);
out:
	sqlite3_free(sql);
	sqlite3_finalize(s);
	kx_rdb_close(&r);
	return rc;
}

int kx_report_hops(const char *db_path, enum kx_out_format fmt, FILE *out, char *err,
		   size_t errlen)
{
	return kx_report_hops_with(db_path, NULL, fmt, out, err, errlen);
}
