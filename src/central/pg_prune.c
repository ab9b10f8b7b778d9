/* SPDX-License-Identifier: BSD-2-Clause */
/* pg_prune.c: `kexwatch prune` on a central store (see central.h).
 *
 * Schema 3 partitions handshakes by month: a partition wholly before the
 * cutoff is dropped (no row-by-row delete, no table bloat), the one that
 * straddles the cutoff loses its older rows with a DELETE that partition
 * pruning keeps inside that month. One transaction: a reader sees the
 * store before or after, never half-pruned. Runs are kept. The rollups
 * keep the history: pending rows (schema 10) are copies, which a dropped
 * partition does not take; they are folded first anyway (skipped if a
 * folder is running), so the pruned store's reports read the rollups
 * alone.
 *
 * The rollup retention (a rollup cutoff) runs in the same transaction,
 * before the partitions are dropped (which locks out the shippers until
 * the commit). It holds the folder's advisory lock to the commit: no fold
 * adds to an endpoint while its rows go, so an endpoint is forgotten
 * whole or not at all. Pending rows would be the history of the rollups
 * after the commit, so they are folded, not merely counted as seen: the
 * fold before the transaction then waits for a running folder, and what
 * shippers appended since is folded inside the transaction, under the
 * lock, before an endpoint's last time is read. Rows a shipper commits
 * after that stay pending: they are seen after the prune, and a fold
 * makes an endpoint of them again. The sessions rows (no SNI: endpoint
 * '') count as seen, so an endpoint only they know is forgotten too (its
 * rows all lie in hours before the cutoff, which go). Shippers upsert
 * sessions rows in transactions of their own: one sending hours that
 * old at the same moment (a long-delayed backlog) may meet the delete
 * in the other order, and PostgreSQL then fails one of the two; if it is
 * the prune, nothing of it is left and it can be run again.
 *
 * Schema 12's client rollups (rollup_client_legs, _offers, _sets, _counts) forget
 * a client on its own, as SQLite's client rollups do: one whose newest
 * leg ended, and whose newest sessions hour began, before the cutoff
 * loses all four; its id goes once no pair names it either. A surviving
 * endpoint keeps its pairs with forgotten clients, and a surviving
 * client keeps the servers and SNIs of forgotten endpoints in
 * rollup_client_sets: each kind is forgotten on its own. Their rows
 * count in client_rows_deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "kexwatch/central.h"

static int run(PGconn *pg, const char *sql, PGresult **out, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "central store: %s", kx_pg_errmsg(pg, r));
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* "FOR VALUES FROM ('1') TO ('2')" (quotes or not): 0, or -1 (DEFAULT, or
 * a bound kexwatch does not make: MINVALUE, MAXVALUE). */
static int parse_bounds(const char *b, long long *from, long long *to)
{
	const char *f = strstr(b, "FROM ("), *t = strstr(b, ") TO (");
	if (!f || !t)
		return -1;
	f += 6;
	t += 6;
	if (*f == '\'')
		f++;
	if (*t == '\'')
		t++;
	char *e1, *e2;
	*from = strtoll(f, &e1, 10);
	*to = strtoll(t, &e2, 10);
	return e1 == f || e2 == t ? -1 : 0;
}

/* The endpoints last seen before the rollup cutoff: over the rollups'
 * legs (by their key's prefix) and the sessions rows. A sessions row
 * counts from the start of its hour, as on SQLite: an endpoint its
 * sessions keep still has one of an hour since, which stays. */
#define FORGET_SQL                                                                      \
	"CREATE TEMP TABLE kx_forget ON COMMIT DROP AS SELECT server_ip, server_port, sni" \
	" FROM (SELECT server_ip, server_port, sni, max(last_us) AS last_us"             \
	"  FROM rollup_legs GROUP BY 1, 2, 3"                                            \
	"  UNION ALL SELECT server_ip, server_port, '', max(hour) * 3600000000"          \
	"  FROM sessions GROUP BY 1, 2) AS e"                                            \
	" GROUP BY 1, 2, 3 HAVING max(last_us) < %lld"

/* A rollup table t's endpoint is one of kx_forget f. */
#define KEY_EQ " t.server_ip = f.server_ip AND t.server_port = f.server_port AND t.sni = f.sni"

/* The rollup retention, inside prune's transaction (see the top). */
static int prune_rollups(PGconn *pg, int64_t rcut, struct kx_pg_prune_stats *st, char *err,
			 size_t errlen)
{
	/* The folder's table order. Schema 11's pairs are ids (pg_rollup.c):
	 * the rows of the views rollup_pairs_all and rollup_pairs are counted
	 * as their tables' were, then the endpoints' ids go, and the client
	 * ids no pair names any more. */
	static const char *const tables[] = {
		"DELETE FROM rollup_legs AS t USING kx_forget AS f WHERE" KEY_EQ,
		"SELECT count(*) FROM rollup_pairs_all AS t JOIN kx_forget AS f ON" KEY_EQ,
		"DELETE FROM rollup_pair_ids AS p USING rollup_endpoints AS t, kx_forget AS f"
		" WHERE p.ep = t.id AND" KEY_EQ,
		"DELETE FROM rollup_clients AS t USING kx_forget AS f WHERE" KEY_EQ,
		"DELETE FROM rollup_clients_all AS t USING kx_forget AS f WHERE" KEY_EQ,
	};
	char sql[1024];
	PGresult *r = NULL;
	uint64_t folded = 0;

	/* Waiting for a folder's chunk, and deleting a large history, may
	 * outlast the session's statement timeout. The endpoints' aggregate
	 * spilled to disk at 4 MB (measured, 300 000 endpoints, 900 000 legs:
	 * 1.5 s, 1.1 s in memory). */
	if (run(pg, "SET LOCAL statement_timeout = 0; SET LOCAL work_mem = '64MB';"
		    " SELECT pg_advisory_xact_lock(" KX_PG_FOLD_LOCK ")",
		NULL, err, errlen) < 0 ||
	    kx_pg_rollup_fold_in(pg, &folded, err, errlen) < 0)
		return -1;
	st->rows_folded += folded;
	snprintf(sql, sizeof(sql), FORGET_SQL, (long long)rcut);
	if (run(pg, sql, &r, err, errlen) < 0)
		return -1;
	st->endpoints_forgotten = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	/* Its statistics: few endpoints are deleted through the keys'
	 * prefix (a merge join on the primary key), many by one pass over
	 * each table (a hash join). */
	if (run(pg, "ANALYZE kx_forget", NULL, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (run(pg, tables[i], &r, err, errlen) < 0)
			return -1;
		st->rollup_rows_deleted += strtoull(PQresultStatus(r) == PGRES_TUPLES_OK
							    ? PQgetvalue(r, 0, 0)
							    : PQcmdTuples(r),
						    NULL, 10);
		PQclear(r);
	}
	/* Schema 12's client rollups forget a client on its own, as SQLite's
	 * do: last seen before the cutoff in its legs and its sessions (from
	 * the start of their hour). A surviving endpoint's pairs keep it. */
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE kx_forget_cl ON COMMIT DROP AS SELECT l.cl"
		 " FROM rollup_client_legs AS l GROUP BY l.cl HAVING max(l.last_us) < %lld"
		 " AND NOT EXISTS (SELECT 1 FROM sessions AS s JOIN rollup_client_ips AS c"
		 " ON c.client_ip = s.client_ip WHERE c.id = l.cl AND s.hour * 3600000000 >= %lld)",
		 (long long)rcut, (long long)rcut);
	if (run(pg, sql, &r, err, errlen) < 0)
		return -1;
	uint64_t clients_forgotten = st->clients_forgotten = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	static const char *const cl_tables[] = {
		"DELETE FROM rollup_client_legs AS t USING kx_forget_cl AS f WHERE t.cl = f.cl",
		"DELETE FROM rollup_client_offers AS t USING kx_forget_cl AS f WHERE t.cl = f.cl",
		"DELETE FROM rollup_client_sets AS t USING kx_forget_cl AS f WHERE t.cl = f.cl",
		"DELETE FROM rollup_client_counts AS t USING kx_forget_cl AS f WHERE t.cl = f.cl",
	};
	for (size_t i = 0; clients_forgotten > 0 && i < sizeof(cl_tables) / sizeof(cl_tables[0]);
	     i++) {
		if (run(pg, cl_tables[i], &r, err, errlen) < 0)
			return -1;
		st->client_rows_deleted += strtoull(PQcmdTuples(r), NULL, 10);
		PQclear(r);
	}
	if (st->endpoints_forgotten > 0 &&
	    run(pg, "DELETE FROM rollup_endpoints AS t USING kx_forget AS f WHERE" KEY_EQ, NULL, err,
		errlen) < 0)
		return -1;
	/* A client id goes when neither a pair nor a client rollup names it. */
	if ((st->endpoints_forgotten > 0 || clients_forgotten > 0) &&
	    run(pg, "DELETE FROM rollup_client_ips AS c WHERE NOT EXISTS (SELECT 1"
		    " FROM rollup_pair_ids AS p WHERE p.cl = c.id) AND NOT EXISTS (SELECT 1"
		    " FROM rollup_client_legs AS l WHERE l.cl = c.id)",
		NULL, err, errlen) < 0)
		return -1;
	/* The hours that began before the cutoff: hour * 1 h < rcut, i.e.
	 * hour < rcut / 1 h rounded up (C division truncates toward zero). */
	const int64_t h = 3600000000;
	int64_t first_kept = rcut / h + (rcut % h > 0 ? 1 : 0);
	snprintf(sql, sizeof(sql), "DELETE FROM sessions WHERE hour < %lld", (long long)first_kept);
	if (run(pg, sql, &r, err, errlen) < 0)
		return -1;
	st->sessions_deleted = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

int kx_pg_prune(const char *url, int64_t cutoff_us, int64_t rollup_cutoff_us,
		struct kx_pg_prune_stats *st, char *err, size_t errlen)
{
	bool roll = rollup_cutoff_us != INT64_MIN;
	char sql[512];
	PGresult *r = NULL;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	PGconn *pg = kx_pg_connect(url, err, errlen);
	if (!pg)
		return -1;
	/* An older store is upgraded first: only schema 3 has partitions. */
	if (kx_pg_ensure_schema(pg, err, errlen) < 0 ||
	    kx_pg_rollup_fold(pg, 0, roll, &st->rows_folded, err, errlen) < 0 ||
	    run(pg, "BEGIN", NULL, err, errlen) < 0)
		goto out;
	if (roll && prune_rollups(pg, rollup_cutoff_us, st, err, errlen) < 0)
		goto rollback;
	if (run(pg, "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits AS i"
		    " JOIN pg_class AS c ON c.oid = i.inhrelid"
		    " WHERE i.inhparent = 'handshakes'::regclass ORDER BY 1",
		&r, err, errlen) < 0)
		goto rollback;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		long long from, to;
		PGresult *c = NULL;
		if (parse_bounds(PQgetvalue(r, i, 1), &from, &to) < 0 || from >= cutoff_us)
			continue;
		if (to <= cutoff_us) {
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", name);
			if (run(pg, sql, &c, err, errlen) < 0)
				goto rollback;
			st->rows_dropped += strtoull(PQgetvalue(c, 0, 0), NULL, 10);
			PQclear(c);
			snprintf(sql, sizeof(sql), "DROP TABLE \"%s\"", name);
			if (run(pg, sql, NULL, err, errlen) < 0)
				goto rollback;
			st->partitions_dropped++;
		} else {
			snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE ts_first_us < %lld", name,
				 (long long)cutoff_us);
			if (run(pg, sql, &c, err, errlen) < 0)
				goto rollback;
			st->rows_deleted += strtoull(PQcmdTuples(c), NULL, 10);
			PQclear(c);
		}
	}
	if (run(pg, "COMMIT", NULL, err, errlen) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	PQclear(PQexec(pg, "ROLLBACK"));
out:
	PQclear(r);
	PQfinish(pg);
	return rc;
}
