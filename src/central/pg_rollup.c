/* SPDX-License-Identifier: BSD-2-Clause */
/* pg_rollup.c: the central store's rollups (schema 9), what full-range
 * `hops` and `health` read instead of every handshake, and their pending
 * rows (schema 10).
 *
 * SQLite folds a tail of rows above an id boundary. On PostgreSQL ids are
 * no boundary: sensors' transactions commit out of id order, so a row
 * with a lower id can appear after a fold has passed it. Instead each
 * shipper copies the rollup columns of exactly the rows its transaction
 * inserted (the direct COPY: all of the batch; the staged merge and the
 * row by row search: the rows INSERT ... ON CONFLICT DO NOTHING RETURNING
 * gave back) into rollup_pending, in that same transaction: the rows and
 * their pending copies commit together or not at all. Schema 9 updated
 * the rollups there; their upserts cost more than the rows themselves
 * (15 k -> 6 k rows/s), so schema 10 only appends (no index, no key).
 *
 * The folder (kx_pg_rollup_fold) moves pending rows into the rollups in
 * chunks, one transaction each: DELETE ... RETURNING takes a chunk out of
 * rollup_pending into a temporary table, the steps below add it. A row is
 * in the rollups iff it is no longer pending: both change in one commit,
 * and a DELETE hands each row to one transaction only. One folder at a
 * time (an advisory lock): only the folder writes the rollups, so their
 * upserts never wait on each other; each statement still goes through
 * its table in key order (ORDER BY the key). Reports add the pending rows
 * to the rollups (hops.c, health.c): the same answer before and after a
 * fold. A raw prune leaves rollup_pending alone: it holds copies, not
 * the rows. The rollup retention (pg_prune.c) is a writer of the rollups
 * too: it holds the folder's lock and folds what is pending first.
 *
 * The tables keep SQLite's key definitions (rollup.h, one text):
 *   rollup_legs        as SQLite's;
 *   rollup_pairs       (endpoint, client, sensor), key only: a pair the
 *                      statement inserted is new for its sensor, and
 *                      rollup_clients grows by exactly those;
 *   rollup_pairs_all   (endpoint, client), the same for rollup_clients_all;
 *   rollup_runs        the handshakes per run (health's ledger);
 *   rollup_pending     the rollup columns of rows not folded yet.
 * Schema 11 stores the pairs as integers: most of a fold's time was the
 * B-tree inserts and sorts of the two pair tables' text keys. The
 * endpoints, client addresses and sensors get ids once
 * (rollup_endpoints, rollup_client_ips, rollup_sensors), the pairs are
 * rollup_pair_ids (ep, cl, sn), and rollup_pairs_all is no table any
 * more: a pair is new for every sensor when no (ep, cl) prefix of
 * rollup_pair_ids was there before the statement (its snapshot). Two
 * views give the readers (hops.c, prune, the tests) the old tables' rows.
 * Only the folder (and prune, holding its lock) writes the ids, so an id
 * is looked up before it is made and no sequence value is wasted.
 * Sessions are hourly rows already: the reports read them as they are,
 * as SQLite's rolled views do; only the rollup retention deletes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "kexwatch/central.h"
#include "kexwatch/rollup.h"

/* kx_pg_rollup_cols' types, as in handshakes (NULL allowed: a copy). */
#define KX_PG_PENDING_DDL                                                               \
	"CREATE TABLE IF NOT EXISTS rollup_pending (run_id bigint, sensor text, ts_first_us bigint,"     \
	" ts_last_us bigint, protocol text, client_ip text, server_ip text,"               \
	" server_port integer, sni text, offers_pq integer, hrr integer, hrr_group integer," \
	" group_name text, group_family text, verdict text, reason text, ch_bytes integer," \
	" ch_segments integer, ch2_bytes integer, ch_to_sh_us bigint" KX_PG_PENDING_V12 ")"
/* Schema 12's columns of rollup_pending: what the client rollups read. */
#define KX_PG_PENDING_V12                                                               \
	", alpn text, groups_offered text, groups_offered_2 text, kex_offered text,"      \
	" ja4 text, hassh text, offers_mldsa integer"

/* Schema 12's client rollups, keyed by the ids of schema 11 (cl, sn;
 * sn 0: over every sensor, what a report without --sensor reads):
 *   rollup_client_legs    a client's handshakes per protocol, verdict,
 *                         reason, PQ offer (0/1) and parsed ClientHello
 *                         (hello 0/1), with first and last;
 *   rollup_client_offers  its distinct offers (ClientHello group lists,
 *                         SSH kex list, ALPN list, fingerprint, ML-DSA),
 *                         keyed by k, the md5 of them (the lists are
 *                         too long for a B-tree key);
 *   rollup_client_sets    its distinct server addresses (kind 0) and SNIs
 *                         (kind 1) per sensor (no sn 0), in "C" order
 *                         within a client: the first three SNIs are an
 *                         index range;
 *   rollup_client_counts  how many of each per sensor and over all (sn
 *                         0): the counters grow by the set rows a fold
 *                         inserts, as rollup_clients by the pairs. */
#define KX_PG_CLIENT_DDL                                                                \
	"CREATE TABLE rollup_client_legs (cl integer NOT NULL, sn integer NOT NULL,"       \
	" protocol text NOT NULL, verdict text NOT NULL, reason text NOT NULL,"             \
	" offers_pq integer NOT NULL, hello integer NOT NULL, n bigint NOT NULL,"           \
	" first_us bigint NOT NULL, last_us bigint NOT NULL,"                               \
	" PRIMARY KEY (cl, sn, protocol, verdict, reason, offers_pq, hello));"              \
	"CREATE TABLE rollup_client_offers (cl integer NOT NULL, sn integer NOT NULL,"     \
	" k uuid NOT NULL, groups_offered text, groups_offered_2 text, kex_offered text,"   \
	" alpn text, fp text, offers_mldsa integer, PRIMARY KEY (cl, sn, k));"              \
	"CREATE TABLE rollup_client_sets (cl integer NOT NULL, kind smallint NOT NULL,"    \
	" value text COLLATE \"C\" NOT NULL, sn integer NOT NULL,"                         \
	" PRIMARY KEY (cl, kind, value, sn));"                                              \
	"CREATE TABLE rollup_client_counts (cl integer NOT NULL, sn integer NOT NULL,"     \
	" servers bigint NOT NULL, snis bigint NOT NULL, PRIMARY KEY (cl, sn));"

/* The pairs as schema 10's tables held them (pg_rollup.c's top):
 * rollup_pairs_all keeps one row per (ep, cl), its lowest sensor's. */
#define KX_PG_PAIR_VIEWS                                                                \
	"CREATE VIEW rollup_pairs AS SELECT e.server_ip, e.server_port, e.sni, c.client_ip," \
	" s.sensor FROM rollup_pair_ids AS p JOIN rollup_endpoints AS e ON e.id = p.ep"      \
	" JOIN rollup_client_ips AS c ON c.id = p.cl JOIN rollup_sensors AS s ON s.id = p.sn;" \
	"CREATE VIEW rollup_pairs_all AS SELECT e.server_ip, e.server_port, e.sni, c.client_ip" \
	" FROM rollup_pair_ids AS p JOIN rollup_endpoints AS e ON e.id = p.ep"               \
	" JOIN rollup_client_ips AS c ON c.id = p.cl WHERE NOT EXISTS (SELECT 1"             \
	" FROM rollup_pair_ids AS q WHERE q.ep = p.ep AND q.cl = p.cl AND q.sn < p.sn);"

/* Schema 11's id tables; (ep, cl, sn): a pair's (ep, cl) is a prefix. */
#define KX_PG_PAIR_IDS_DDL                                                              \
	"CREATE TABLE rollup_endpoints (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
	" server_ip text NOT NULL, server_port integer NOT NULL, sni text NOT NULL,"        \
	" UNIQUE (server_ip, server_port, sni));"                                           \
	"CREATE TABLE rollup_client_ips (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
	" client_ip text NOT NULL UNIQUE);"                                                 \
	"CREATE TABLE rollup_sensors (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"  \
	" sensor text NOT NULL UNIQUE);"                                                    \
	"CREATE TABLE rollup_pair_ids (ep integer NOT NULL, cl integer NOT NULL,"           \
	" sn integer NOT NULL, PRIMARY KEY (ep, cl, sn));"

const char kx_pg_rollup_schema[] =
	"CREATE TABLE rollup_legs (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, sensor text NOT NULL, protocol text NOT NULL,"
	" group_name text NOT NULL, group_family text NOT NULL, verdict text NOT NULL,"
	" reason text NOT NULL, offers_pq integer NOT NULL, hrr integer NOT NULL,"
	" hrr_group integer NOT NULL, band integer NOT NULL, ch_seg0 integer NOT NULL,"
	" slow integer NOT NULL, n bigint NOT NULL, first_us bigint NOT NULL,"
	" last_us bigint NOT NULL, max_ch_to_sh_us bigint, newest_first_us bigint NOT NULL,"
	" PRIMARY KEY (" KX_ROLLUP_LEGS_PK "));"
	KX_PG_PAIR_IDS_DDL
	"CREATE TABLE rollup_clients (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, sensor text NOT NULL, clients bigint NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, sensor));"
	"CREATE TABLE rollup_clients_all (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, clients bigint NOT NULL, PRIMARY KEY (server_ip, server_port, sni));"
	"CREATE TABLE rollup_runs (run_id bigint PRIMARY KEY, n bigint NOT NULL);"
	KX_PG_CLIENT_DDL KX_PG_PENDING_DDL ";" KX_PG_PAIR_VIEWS;

/* Schema 10's table alone, for a schema 9 store. */
const char kx_pg_rollup_pending_schema[] = KX_PG_PENDING_DDL;

/* Schema 10 to 11 (after the one above for a schema 9 store): the text
 * pairs given ids, in key order, then the views in their place. */
const char kx_pg_rollup_pair_ids_migrate[] =
	KX_PG_PAIR_IDS_DDL
	"INSERT INTO rollup_endpoints (server_ip, server_port, sni) SELECT DISTINCT server_ip,"
	" server_port, sni FROM rollup_pairs ORDER BY 1, 2, 3;"
	"INSERT INTO rollup_client_ips (client_ip) SELECT DISTINCT client_ip FROM rollup_pairs"
	" ORDER BY 1;"
	"INSERT INTO rollup_sensors (sensor) SELECT DISTINCT sensor FROM rollup_pairs ORDER BY 1;"
	"INSERT INTO rollup_pair_ids SELECT e.id, c.id, s.id FROM rollup_pairs AS p"
	" JOIN rollup_endpoints AS e ON e.server_ip = p.server_ip AND e.server_port = p.server_port"
	" AND e.sni = p.sni JOIN rollup_client_ips AS c ON c.client_ip = p.client_ip"
	" JOIN rollup_sensors AS s ON s.sensor = p.sensor ORDER BY 1, 2, 3;"
	"DROP TABLE rollup_pairs, rollup_pairs_all;" KX_PG_PAIR_VIEWS;

/* The handshakes columns the steps below read: all rollup_pending holds. */
const char *const kx_pg_rollup_cols[] = {
	"run_id",     "sensor",    "ts_first_us",  "ts_last_us", "protocol",
	"client_ip",  "server_ip", "server_port",  "sni",        "offers_pq",
	"hrr",        "hrr_group", "group_name",   "group_family", "verdict",
	"reason",     "ch_bytes",  "ch_segments",  "ch2_bytes",  "ch_to_sh_us",
	"alpn",       "groups_offered", "groups_offered_2", "kex_offered", "ja4",
	"hassh",      "offers_mldsa",
};
const unsigned kx_pg_n_rollup_cols = sizeof(kx_pg_rollup_cols) / sizeof(kx_pg_rollup_cols[0]);

/* Before an upgrade builds them: a store whose version was set back by
 * hand may have them already, the pairs as tables (schema 9 and 10) or
 * as views (11). */
const char kx_pg_rollup_drop[] =
	"DO $$ BEGIN IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('rollup_pairs'))"
	" = 'v' THEN DROP VIEW rollup_pairs, rollup_pairs_all; END IF; END $$;"
	"DROP TABLE IF EXISTS rollup_legs, rollup_pairs, rollup_pairs_all, rollup_pair_ids,"
	" rollup_endpoints, rollup_client_ips, rollup_sensors, rollup_clients,"
	" rollup_clients_all, rollup_runs, rollup_pending, rollup_client_legs,"
	" rollup_client_offers, rollup_client_sets, rollup_client_counts";

/* Which steps of a fold run: the ids, the endpoints' rollups, the
 * clients' (schema 12). */
enum { STEP_IDS = 1, STEP_EP = 2, STEP_CL = 4, STEP_ALL = 7 };

/* The client ids are made by the ids steps; the clients' steps use the
 * client and sensor ids, which they make again for an upgrade's pass over
 * handshakes (a no-op in a fold: the ids steps ran). */
static const unsigned step_part[] = {
	STEP_IDS, STEP_IDS | STEP_CL, STEP_IDS | STEP_CL, STEP_EP, STEP_EP, STEP_EP,
	STEP_CL, STEP_CL, STEP_CL, STEP_CL, STEP_CL,
};

/* A fold step of the clients' legs per sensor (SN the sensor's id, JOIN
 * its join) or over all (SN 0, no join). */
#define CLIENT_LEGS(SN, JOIN)                                                           \
	"INSERT INTO rollup_client_legs SELECT c.id, " SN ", t.protocol, t.verdict,"       \
	" coalesce(t.reason, ''), coalesce((t.offers_pq <> 0)::int, 0),"                    \
	" coalesce((t.ch_bytes > 0)::int, 0), count(*), min(t.ts_first_us), max(t.ts_last_us)" \
	" FROM %s AS t JOIN rollup_client_ips AS c ON c.client_ip = t.client_ip" JOIN       \
	" GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7"                        \
	" ON CONFLICT (cl, sn, protocol, verdict, reason, offers_pq, hello) DO UPDATE"      \
	" SET n = rollup_client_legs.n + excluded.n,"                                       \
	" first_us = least(rollup_client_legs.first_us, excluded.first_us),"                \
	" last_us = greatest(rollup_client_legs.last_us, excluded.last_us)"
/* The same for the distinct offers (SENSOR: t's sensor column, or none). */
#define CLIENT_OFFERS(SN, SENSOR, JOIN)                                                 \
	"INSERT INTO rollup_client_offers SELECT c.id, " SN ", md5(concat_ws(chr(1),"     \
	" coalesce(t.groups_offered, chr(2)), coalesce(t.groups_offered_2, chr(2)),"        \
	" coalesce(t.kex_offered, chr(2)), coalesce(t.alpn, chr(2)), coalesce(t.fp, chr(2))," \
	" coalesce(t.offers_mldsa::text, chr(2))))::uuid, t.groups_offered, t.groups_offered_2," \
	" t.kex_offered, t.alpn, t.fp, t.offers_mldsa FROM (SELECT DISTINCT client_ip" SENSOR "," \
	" groups_offered, groups_offered_2, kex_offered, alpn, coalesce(hassh, ja4) AS fp,"  \
	" offers_mldsa FROM %s) AS t JOIN rollup_client_ips AS c ON c.client_ip = t.client_ip" \
	JOIN " ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING"

/* The steps of a fold of the rows of table %s (each names it once). */
static const char *const fold_steps[] = {
	/* The ids of the endpoints, clients and sensors not seen before. */
	"INSERT INTO rollup_endpoints (server_ip, server_port, sni) SELECT DISTINCT server_ip,"
	" server_port, coalesce(sni, '') FROM %s AS t WHERE NOT EXISTS (SELECT 1"
	" FROM rollup_endpoints AS e WHERE e.server_ip = t.server_ip"
	" AND e.server_port = t.server_port AND e.sni = coalesce(t.sni, '')) ORDER BY 1, 2, 3",
	"INSERT INTO rollup_client_ips (client_ip) SELECT DISTINCT client_ip FROM %s AS t"
	" WHERE NOT EXISTS (SELECT 1 FROM rollup_client_ips AS c WHERE c.client_ip = t.client_ip)"
	" ORDER BY 1",
	"INSERT INTO rollup_sensors (sensor) SELECT DISTINCT sensor FROM %s AS t"
	" WHERE NOT EXISTS (SELECT 1 FROM rollup_sensors AS n WHERE n.sensor = t.sensor) ORDER BY 1",
	"INSERT INTO rollup_legs SELECT " KX_ROLLUP_LEGS_KEY("greatest", KX_ROLLUP_B_PG)
	" FROM %s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15"
	" ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15"
	KX_ROLLUP_LEGS_ADD("least", "greatest"),
	/* The pairs new for their sensor grow its counter; only those can be
	 * new for every sensor (a pair and its sensor's pair commit together):
	 * those whose (ep, cl) the statement's snapshot has no row of (it
	 * does not see p's inserts). One statement: the CTEs run in one order
	 * (p, the counters of all, then c), the same in every transaction. */
	"WITH p AS (INSERT INTO rollup_pair_ids SELECT DISTINCT e.id, c.id, n.id FROM %s AS t"
	" JOIN rollup_endpoints AS e ON e.server_ip = t.server_ip"
	"  AND e.server_port = t.server_port AND e.sni = coalesce(t.sni, '')"
	" JOIN rollup_client_ips AS c ON c.client_ip = t.client_ip"
	" JOIN rollup_sensors AS n ON n.sensor = t.sensor ORDER BY 1, 2, 3"
	" ON CONFLICT DO NOTHING RETURNING ep, cl, sn),"
	" c AS (INSERT INTO rollup_clients SELECT e.server_ip, e.server_port, e.sni, n.sensor, x.c"
	"  FROM (SELECT ep, sn, count(*) AS c FROM p GROUP BY 1, 2) AS x"
	"  JOIN rollup_endpoints AS e ON e.id = x.ep JOIN rollup_sensors AS n ON n.id = x.sn"
	"  ORDER BY 1, 2, 3, 4 ON CONFLICT (server_ip, server_port, sni, sensor)"
	"  DO UPDATE SET clients = rollup_clients.clients + excluded.clients)"
	" INSERT INTO rollup_clients_all SELECT e.server_ip, e.server_port, e.sni, x.c"
	" FROM (SELECT ep, count(DISTINCT cl) AS c FROM p WHERE NOT EXISTS (SELECT 1"
	"  FROM rollup_pair_ids AS r WHERE r.ep = p.ep AND r.cl = p.cl) GROUP BY 1) AS x"
	" JOIN rollup_endpoints AS e ON e.id = x.ep ORDER BY 1, 2, 3"
	" ON CONFLICT (server_ip, server_port, sni)"
	" DO UPDATE SET clients = rollup_clients_all.clients + excluded.clients",
	"INSERT INTO rollup_runs SELECT run_id, count(*) FROM %s GROUP BY 1 ORDER BY 1"
	" ON CONFLICT (run_id) DO UPDATE SET n = rollup_runs.n + excluded.n",
	/* Schema 12: the clients' legs, weighted as the raw answer counts
	 * them (offers_pq <> 0, ch_bytes > 0: a parsed ClientHello), per
	 * sensor and over all (sn 0). */
	CLIENT_LEGS("n.id", " JOIN rollup_sensors AS n ON n.sensor = t.sensor"),
	CLIENT_LEGS("0", ""),
	/* Its distinct offers as they are (NULLs kept: the answer tells a
	 * NULL offers_mldsa from 0); chr(2) marks a NULL in the key. */
	CLIENT_OFFERS("n.id", ", sensor", " JOIN rollup_sensors AS n ON n.sensor = t.sensor"),
	CLIENT_OFFERS("0", "", ""),
	/* Its servers and SNIs (NULL: none; '' is one, as in the raw
	 * answer); the counters grow by the rows inserted, the all-sensor
	 * one by those whose (cl, kind, value) the statement's snapshot has
	 * no row of (it does not see s's inserts), as the pairs' counters. */
	"WITH s AS (INSERT INTO rollup_client_sets SELECT DISTINCT c.id, v.kind, v.value, n.id"
	" FROM %s AS t CROSS JOIN LATERAL (VALUES (0::smallint, t.server_ip), (1::smallint, t.sni))"
	" AS v(kind, value) JOIN rollup_client_ips AS c ON c.client_ip = t.client_ip"
	" JOIN rollup_sensors AS n ON n.sensor = t.sensor WHERE v.value IS NOT NULL"
	" ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING RETURNING cl, kind, value, sn),"
	" a AS (SELECT DISTINCT cl, kind, value FROM s WHERE NOT EXISTS (SELECT 1"
	"  FROM rollup_client_sets AS r WHERE r.cl = s.cl AND r.kind = s.kind AND r.value = s.value))"
	" INSERT INTO rollup_client_counts SELECT cl, sn, count(*) FILTER (WHERE kind = 0),"
	" count(*) FILTER (WHERE kind = 1) FROM (SELECT cl, sn, kind FROM s"
	"  UNION ALL SELECT cl, 0, kind FROM a) AS u GROUP BY 1, 2 ORDER BY 1, 2"
	" ON CONFLICT (cl, sn) DO UPDATE SET servers = rollup_client_counts.servers + excluded.servers,"
	" snis = rollup_client_counts.snis + excluded.snis",
};

_Static_assert(sizeof(step_part) / sizeof(step_part[0]) == sizeof(fold_steps) / sizeof(fold_steps[0]),
	       "a part for every step");

static int add_steps(PGconn *pg, const char *table, unsigned parts, char *err, size_t errlen)
{
	char sql[4096];

	for (size_t i = 0; i < sizeof(fold_steps) / sizeof(fold_steps[0]); i++) {
		if (!(step_part[i] & parts))
			continue;
		/* The one %s replaced by hand: the steps are not format literals. */
		const char *at = strstr(fold_steps[i], "%s");
		int k = snprintf(sql, sizeof(sql), "%.*s%s%s", (int)(at - fold_steps[i]),
				 fold_steps[i], table, at + 2);
		if (k < 0 || (size_t)k >= sizeof(sql)) {
			snprintf(err, errlen, "rollups: statement too long");
			return -1;
		}
		PGresult *r = PQexec(pg, sql);
		ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "rollups: %s", kx_pg_errmsg(pg, r));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

int kx_pg_rollup_add(PGconn *pg, const char *table, char *err, size_t errlen)
{
	return add_steps(pg, table, STEP_ALL, err, errlen);
}

/* "run_id, sensor, ..." of kx_pg_rollup_cols. */
static void rollup_col_list(char *cols, size_t len)
{
	size_t pos = 0;
	for (unsigned i = 0; i < kx_pg_n_rollup_cols && pos < len; i++)
		pos += (size_t)snprintf(cols + pos, len - pos, "%s%s", i ? ", " : "",
					kx_pg_rollup_cols[i]);
}

/* One chunk of at most chunk pending rows (0: every one this statement
 * sees) into the rollups, inside the caller's transaction, which holds
 * the folder's lock. *n gets the rows moved. */
static int fold_chunk(PGconn *pg, uint64_t chunk, unsigned parts, uint64_t *n, char *err,
		      size_t errlen)
{
	char sql[2048], cols[512], lim[96] = "";

	rollup_col_list(cols, sizeof(cols));
	/* The folder's own copy; the DELETE's snapshot is taken after the
	 * lock (READ COMMITTED), so a previous folder's chunk is gone. */
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE IF NOT EXISTS kx_fold ON COMMIT DELETE ROWS AS"
		 " SELECT %s FROM rollup_pending WITH NO DATA", cols);
	PGresult *r = PQexec(pg, sql);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	if (chunk > 0)
		snprintf(lim, sizeof(lim),
			 " WHERE ctid = ANY (ARRAY(SELECT ctid FROM rollup_pending LIMIT %llu))",
			 (unsigned long long)chunk);
	snprintf(sql, sizeof(sql),
		 "WITH d AS (DELETE FROM rollup_pending%s RETURNING %s)"
		 " INSERT INTO kx_fold SELECT %s FROM d",
		 lim, cols, cols);
	r = PQexec(pg, sql);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	*n = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if (*n == 0)
		return 0;
	/* The chunk's statistics (a temporary table has none: the planner
	 * guessed 1/20 of its rows) and room to sort its pairs in memory
	 * (measured: the pairs' sorts spilled to disk at 4 MB). */
	r = PQexec(pg, "ANALYZE kx_fold; SET LOCAL work_mem = '64MB'");
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	return add_steps(pg, "kx_fold", parts, err, errlen);
fail:
	snprintf(err, errlen, "fold: %s", kx_pg_errmsg(pg, r));
	PQclear(r);
	return -1;
}

int kx_pg_rollup_fold(PGconn *pg, uint64_t chunk, bool wait, uint64_t *folded, char *err,
		      size_t errlen)
{
	*folded = 0;
	if (chunk == 0) { /* KEXWATCH_PG_FOLD_CHUNK: smaller transactions (tests, tuning) */
		const char *env = getenv("KEXWATCH_PG_FOLD_CHUNK");
		chunk = env && *env ? strtoull(env, NULL, 10) : 0;
		if (chunk == 0)
			chunk = KX_PG_FOLD_CHUNK;
	}
	for (;;) {
		/* No statement timeout in a fold: waiting for another folder, or a
		 * chunk of a large backlog, may take a while. */
		PGresult *r = PQexec(pg, wait ? "BEGIN; SET LOCAL statement_timeout = 0;"
					       " SELECT pg_advisory_xact_lock(" KX_PG_FOLD_LOCK ")"
					     : "BEGIN; SET LOCAL statement_timeout = 0;"
					       " SELECT pg_try_advisory_xact_lock(" KX_PG_FOLD_LOCK ")");
		if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "fold: %s", kx_pg_errmsg(pg, r));
			PQclear(r);
			goto fail;
		}
		bool mine = wait || strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
		if (!mine) { /* another folder is at it: it folds these rows too */
			PQclear(PQexec(pg, "ROLLBACK"));
			return 1;
		}
		uint64_t n = 0;
		if (fold_chunk(pg, chunk, STEP_ALL, &n, err, errlen) < 0)
			goto fail;
		r = PQexec(pg, "COMMIT");
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "fold: commit: %s", kx_pg_errmsg(pg, r));
			PQclear(r);
			goto fail;
		}
		PQclear(r);
		*folded += n;
		if (n < chunk)
			return 0;
	}
fail:
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}

int kx_pg_rollup_fold_in(PGconn *pg, uint64_t *folded, char *err, size_t errlen)
{
	*folded = 0;
	return fold_chunk(pg, 0, STEP_ALL, folded, err, errlen);
}

int kx_pg_rollup_clients_upgrade(PGconn *pg, char *err, size_t errlen)
{
	char e[512];
	uint64_t n = 0;

	/* The folder's lock before rollup_pending's: a folder holding it
	 * waits for no lock of ours, we wait for its commit. */
	PGresult *r = PQexec(pg, "SET LOCAL statement_timeout = 0; SET LOCAL work_mem = '64MB';"
				 " SELECT pg_advisory_xact_lock(" KX_PG_FOLD_LOCK ");"
				 " ALTER TABLE rollup_pending ADD COLUMN IF NOT EXISTS alpn text,"
				 " ADD COLUMN IF NOT EXISTS groups_offered text,"
				 " ADD COLUMN IF NOT EXISTS groups_offered_2 text,"
				 " ADD COLUMN IF NOT EXISTS kex_offered text, ADD COLUMN IF NOT EXISTS ja4 text,"
				 " ADD COLUMN IF NOT EXISTS hassh text,"
				 " ADD COLUMN IF NOT EXISTS offers_mldsa integer;"
				 " DROP TABLE IF EXISTS rollup_client_legs, rollup_client_offers,"
				 " rollup_client_sets, rollup_client_counts;" KX_PG_CLIENT_DDL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "rollups: %s", kx_pg_errmsg(pg, r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	/* Every row into the client rollups, the pending ones too: their
	 * copies lack the new columns. Those are folded into the endpoints'
	 * rollups alone, so nothing is pending after the upgrade. */
	if (add_steps(pg, "handshakes", STEP_CL, e, sizeof(e)) < 0 ||
	    fold_chunk(pg, 0, STEP_IDS | STEP_EP, &n, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	return 0;
}

int kx_pg_fold(const char *url, uint64_t *folded, char *err, size_t errlen)
{
	char e[512];
	*folded = 0;
	PGconn *pg = kx_pg_connect(url, err, errlen);
	if (!pg)
		return -1;
	int rc = kx_pg_ensure_schema(pg, e, sizeof(e)) < 0 ||
			 kx_pg_rollup_fold(pg, 0, true, folded, e, sizeof(e)) < 0
		 ? -1
		 : 0;
	if (rc < 0)
		snprintf(err, errlen, "%s", e);
	PQfinish(pg);
	return rc;
}
