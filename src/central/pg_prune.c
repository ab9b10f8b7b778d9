/* SPDX-License-Identifier: BSD-2-Clause */
/* pg_prune.c: `kexwatch prune` on a central store (see central.h).
 *
 * Schema 3 partitions handshakes by month: a partition wholly before the
 * cutoff is dropped (no row-by-row delete, no table bloat), the one that
 * straddles the cutoff loses its older rows with a DELETE that partition
 * pruning keeps inside that month. One transaction: a reader sees the
 * store before or after, never half-pruned. The sessions table (hourly
 * aggregates) and runs are kept. The rollups keep the history: pending
 * rows (schema 10) are copies, which a dropped partition does not take;
 * they are folded first anyway (skipped if a folder is running), so the
 * pruned store's reports read the rollups alone.
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

int kx_pg_prune(const char *url, int64_t cutoff_us, int64_t rollup_cutoff_us,
		struct kx_pg_prune_stats *st, char *err, size_t errlen)
{
	(void)rollup_cutoff_us; /* TODO(h-pgprune): the rollup retention */
	char sql[512];
	PGresult *r = NULL;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	PGconn *pg = kx_pg_connect(url, err, errlen);
	if (!pg)
		return -1;
	/* An older store is upgraded first: only schema 3 has partitions. */
	if (kx_pg_ensure_schema(pg, err, errlen) < 0 ||
	    kx_pg_rollup_fold(pg, 0, false, &st->rows_folded, err, errlen) < 0 ||
	    run(pg, "BEGIN", NULL, err, errlen) < 0)
		goto out;
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
