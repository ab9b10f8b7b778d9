/* SPDX-License-Identifier: BSD-2-Clause */
/* pg_snapshot.c: a central store copied into a temporary SQLite inventory,
 * so every report runs the same SQL on the same data (see central.h).
 *
 * The PostgreSQL session is read-only (default_transaction_read_only and a
 * READ ONLY transaction), and REPEATABLE READ makes the three tables one
 * consistent picture while sensors keep writing (and the sessions, from
 * central schema 2). Only the rows a report's window, sensor and --live
 * select are copied: PostgreSQL applies the same test the report would, and
 * skips the monthly partitions outside the window. Rows stream through a
 * cursor, so memory stays bounded whatever the inventory's size. Values
 * travel as text and SQLite's column affinity turns them back into the
 * integers they were.
 *
 * kx_pg_read_open/kx_pg_read_table serve the reports that aggregate inside
 * PostgreSQL (hops, clients, health, audit, fingerprints, cbom): the same
 * read-only session and transaction, and only the answer rows, streamed
 * through a cursor into a table of the caller's in-memory SQLite database.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central_int.h"
#include "kexwatch/central.h"
#include "kexwatch/store.h"

#define FETCH_ROWS 5000

static int pg_ok(PGconn *pg, PGresult *r, char *err, size_t errlen)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return 0;
	snprintf(err, errlen, "central store: %s", kx_pg_errmsg(pg, r));
	return -1;
}

static int pg_exec(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	int rc = pg_ok(pg, r, err, errlen);
	PQclear(r);
	return rc;
}

/* Copies every row of a PostgreSQL query into an SQLite INSERT with as many
 * parameters as the query has columns. */
static int copy_rows(PGconn *pg, sqlite3 *db, const char *select, const char *insert, char *err,
		     size_t errlen)
{
	sqlite3_stmt *ins;
	char sql[4096];
	int rc = -1;

	if (sqlite3_prepare_v2(db, insert, -1, &ins, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "snapshot: %s", sqlite3_errmsg(db));
		return -1;
	}
	snprintf(sql, sizeof(sql), "DECLARE kx_snap NO SCROLL CURSOR FOR %s", select);
	if (pg_exec(pg, sql, err, errlen) < 0)
		goto out;
	char fetch[48];
	snprintf(fetch, sizeof(fetch), "FETCH %d FROM kx_snap", FETCH_ROWS);
	for (;;) {
		PGresult *r = PQexec(pg, fetch);
		if (pg_ok(pg, r, err, errlen) < 0) {
			PQclear(r);
			goto out;
		}
		int n = PQntuples(r), nf = PQnfields(r);
		for (int i = 0; i < n; i++) {
			for (int j = 0; j < nf; j++) {
				if (PQgetisnull(r, i, j))
					sqlite3_bind_null(ins, j + 1);
				else
					sqlite3_bind_text(ins, j + 1, PQgetvalue(r, i, j),
							  PQgetlength(r, i, j), SQLITE_STATIC);
			}
			if (sqlite3_step(ins) != SQLITE_DONE) {
				snprintf(err, errlen, "snapshot: %s", sqlite3_errmsg(db));
				sqlite3_reset(ins);
				PQclear(r);
				goto out;
			}
			sqlite3_reset(ins);
		}
		PQclear(r);
		if (n < FETCH_ROWS)
			break;
	}
	rc = pg_exec(pg, "CLOSE kx_snap", err, errlen);
out:
	sqlite3_finalize(ins);
	return rc;
}

static void placeholders(char *out, size_t len, unsigned n)
{
	size_t pos = 0;
	for (unsigned i = 0; i < n && pos + 3 < len; i++)
		pos += (size_t)snprintf(out + pos, len - pos, i ? ", ?" : "?");
}

/* " WHERE ..." for the scope, "" for none. The sensor goes in as a quoted
 * literal (a cursor's query cannot take parameters here). */
static int scope_where(PGconn *pg, const struct kx_pg_scope *sc, char *out, size_t len, char *err,
		       size_t errlen)
{
	out[0] = '\0';
	if (!sc)
		return 0;
	char *lit = NULL;
	if (sc->sensor && !(lit = PQescapeLiteral(pg, sc->sensor, strlen(sc->sensor)))) {
		snprintf(err, errlen, "central store: %s", PQerrorMessage(pg));
		return -1;
	}
	int n = snprintf(out, len,
			 " WHERE ts_first_us >= %" PRId64 " AND ts_first_us < %" PRId64
			 " AND ts_last_us >= %" PRId64 "%s%s",
			 sc->since_us, sc->until_us, sc->live_from_us, lit ? " AND sensor = " : "",
			 lit ? lit : "");
	PQfreemem(lit);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "central store: sensor name too long");
		return -1;
	}
	return 0;
}

/* The store's kexwatch_meta schema_version, when this build reads it;
 * -1 with a message otherwise. */
static int schema_version(PGconn *pg, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, "SELECT value FROM kexwatch_meta WHERE key = 'schema_version'");
	if (pg_ok(pg, r, err, errlen) < 0 || PQntuples(r) != 1) {
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) != 1)
			snprintf(err, errlen, "central store: no kexwatch schema (kexwatch_meta is empty)");
		PQclear(r);
		return -1;
	}
	int version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (version < 1 || version > KX_PG_SCHEMA_VERSION) {
		snprintf(err, errlen, "central schema version %d is not one this kexwatch reads (1..%d)",
			 version, KX_PG_SCHEMA_VERSION);
		return -1;
	}
	return version;
}

int kx_pg_snapshot(const char *url, const char *out_path, const struct kx_pg_scope *scope,
		   char *err, size_t errlen)
{
	char cols[2048], qs[512], sel[4096], ins[4096], where[1024];
	struct kx_store *st;
	sqlite3 *db = NULL;
	int rc = -1;

	PGconn *pg = kx_pg_connect(url, err, errlen);
	if (!pg)
		return -1;
	/* Schema version first: a newer central schema is refused like a
	 * newer SQLite file. */
	int version = schema_version(pg, err, errlen);
	if (version < 0)
		goto out;
	if (scope_where(pg, scope, where, sizeof(where), err, errlen) < 0)
		goto out;
	if (pg_exec(pg, "SET default_transaction_read_only = on", err, errlen) < 0 ||
	    pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) < 0)
		goto out;

	if (kx_store_open(out_path, NULL, &st, err, errlen) < 0)
		goto out;
	kx_store_close(st);
	if (sqlite3_open_v2(out_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", out_path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}

	/* A schema 1 store lacks the columns of schema 2 (the local ones stay
	 * NULL) and the sessions; one older than 4 the fingerprint columns
	 * (NULL: the rows get no fingerprints). */
	unsigned n_run = version >= 2 ? kx_pg_n_run_cols : kx_pg_n_run_cols_v1;
	unsigned n_hs = version >= 6 ? kx_pg_n_hs_cols : version >= 4 ? kx_pg_n_hs_cols_v4
			: version >= 2 ? kx_pg_n_hs_cols_v3 : kx_pg_n_hs_cols_v1;
	kx_pg_col_list(kx_pg_run_cols, n_run, NULL, cols, sizeof(cols));
	placeholders(qs, sizeof(qs), n_run + 1);
	snprintf(sel, sizeof(sel), "SELECT id, %s FROM runs ORDER BY id", cols);
	snprintf(ins, sizeof(ins), "INSERT INTO runs (id, %s) VALUES (%s)", cols, qs);
	if (copy_rows(pg, db, sel, ins, err, errlen) < 0 ||
	    copy_rows(pg, db, "SELECT run_id, source_id, name FROM sources",
		      "INSERT INTO sources (run_id, source_id, name) VALUES (?, ?, ?)", err, errlen) < 0)
		goto out;
	kx_pg_col_list(kx_pg_hs_cols, n_hs, NULL, cols, sizeof(cols));
	placeholders(qs, sizeof(qs), n_hs + 2);
	snprintf(sel, sizeof(sel), "SELECT id, run_id, %s FROM handshakes%s ORDER BY id", cols, where);
	snprintf(ins, sizeof(ins), "INSERT INTO handshakes (id, run_id, %s) VALUES (%s)", cols, qs);
	if (copy_rows(pg, db, sel, ins, err, errlen) < 0)
		goto out;
	if (version >= 2) {
		kx_pg_col_list(kx_pg_session_cols, kx_pg_n_session_cols, NULL, cols, sizeof(cols));
		placeholders(qs, sizeof(qs), kx_pg_n_session_cols + 2);
		snprintf(sel, sizeof(sel), "SELECT id, run_id, %s FROM sessions%s ORDER BY id", cols,
			 where);
		snprintf(ins, sizeof(ins), "INSERT INTO sessions (id, run_id, %s) VALUES (%s)", cols,
			 qs);
		if (copy_rows(pg, db, sel, ins, err, errlen) < 0)
			goto out;
	}
	/* A store older than schema 7 says 'unknown' for a session whose
	 * handshake was not seen: the snapshot (SQLite schema 11) says
	 * 'no-verdict', as an upgraded store would. */
	if (version >= 2 && version < 7 &&
	    sqlite3_exec(db, "UPDATE OR IGNORE sessions SET verdict = 'no-verdict'"
			     " WHERE verdict = 'unknown' AND reason = 'handshake-unseen'",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", out_path, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", out_path, sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(db);
	PQclear(PQexec(pg, "ROLLBACK"));
	PQfinish(pg);
	return rc;
}

/* --- answers computed by PostgreSQL --- */

struct kx_pg_read {
	PGconn *pg;
};

int kx_pg_read_open(const char *url, int min_version, struct kx_pg_read **ret, char *err,
		    size_t errlen)
{
	*ret = NULL;
	PGconn *pg = kx_pg_connect(url, err, errlen);
	if (!pg)
		return -1;
	int version = schema_version(pg, err, errlen);
	if (version < 0)
		goto fail;
	if (version < min_version) {
		PQfinish(pg);
		return 1;
	}
	/* No JIT in this transaction: the report queries are over in a few
	 * seconds, and compiling them cost up to 2 s more on 200 k rows (the
	 * json functions' row estimates cross jit_above_cost). */
	if (pg_exec(pg, "SET default_transaction_read_only = on", err, errlen) < 0 ||
	    pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen) < 0 ||
	    pg_exec(pg, "SET LOCAL jit = off", err, errlen) < 0)
		goto fail;
	struct kx_pg_read *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->pg = pg;
	*ret = r;
	return 0;
fail:
	PQfinish(pg);
	return -1;
}

/* PostgreSQL's integer and numeric type oids (pg_type.h). */
static bool integer_type(Oid t)
{
	return t == 20 /* int8 */ || t == 21 /* int2 */ || t == 23 /* int4 */ ||
	       t == 1700 /* numeric */ || t == 16 /* bool */;
}

/* CREATE TABLE and INSERT for a result's columns. */
static int answer_table(sqlite3 *db, const char *table, PGresult *res, sqlite3_stmt **ins,
			char *err, size_t errlen)
{
	sqlite3_str *ddl = sqlite3_str_new(db), *q = sqlite3_str_new(db);
	int nf = PQnfields(res), rc = -1;
	char *d = NULL, *i = NULL;

	sqlite3_str_appendf(ddl, "CREATE TABLE \"%w\" (", table);
	sqlite3_str_appendf(q, "INSERT INTO \"%w\" VALUES (", table);
	for (int j = 0; j < nf; j++) {
		sqlite3_str_appendf(ddl, "%s\"%w\" %s", j ? ", " : "", PQfname(res, j),
				    integer_type(PQftype(res, j)) ? "INTEGER" : "TEXT");
		sqlite3_str_appendf(q, "%s?", j ? ", " : "");
	}
	sqlite3_str_appendall(ddl, ")");
	sqlite3_str_appendall(q, ")");
	d = sqlite3_str_finish(ddl);
	i = sqlite3_str_finish(q);
	if (!d || !i) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (sqlite3_exec(db, d, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, i, -1, ins, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "answer table: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(d);
	sqlite3_free(i);
	return rc;
}

int kx_pg_read_table(struct kx_pg_read *r, const char *sql, int n_params,
		     const char *const *params, struct sqlite3 *db, const char *table, char *err,
		     size_t errlen)
{
	sqlite3_stmt *ins = NULL;
	char fetch[48];
	int rc = -1;

	/* A cursor: the answer streams in batches, whatever its size. The
	 * planner is told every row will be read (not the first tenth). */
	if (pg_exec(r->pg, "SET LOCAL cursor_tuple_fraction = 1", err, errlen) < 0)
		return -1;
	char *decl = sqlite3_mprintf("DECLARE kx_answer NO SCROLL CURSOR FOR %s", sql);
	if (!decl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	PGresult *res = PQexecParams(r->pg, decl, n_params, NULL, params, NULL, NULL, 0);
	sqlite3_free(decl);
	int ok = pg_ok(r->pg, res, err, errlen);
	PQclear(res);
	if (ok < 0)
		return -1;
	snprintf(fetch, sizeof(fetch), "FETCH %d FROM kx_answer", FETCH_ROWS);
	for (;;) {
		res = PQexec(r->pg, fetch);
		if (pg_ok(r->pg, res, err, errlen) < 0)
			goto out;
		int n = PQntuples(res), nf = PQnfields(res);
		if (!ins && answer_table(db, table, res, &ins, err, errlen) < 0)
			goto out;
		for (int i = 0; i < n; i++) {
			for (int j = 0; j < nf; j++) {
				if (PQgetisnull(res, i, j))
					sqlite3_bind_null(ins, j + 1);
				else if (PQftype(res, j) == 16) /* bool: t or f */
					sqlite3_bind_int(ins, j + 1, PQgetvalue(res, i, j)[0] == 't');
				else
					/* Text; an INTEGER column's affinity makes it the integer. */
					sqlite3_bind_text(ins, j + 1, PQgetvalue(res, i, j),
							  PQgetlength(res, i, j), SQLITE_STATIC);
			}
			if (sqlite3_step(ins) != SQLITE_DONE) {
				snprintf(err, errlen, "answer table: %s", sqlite3_errmsg(db));
				sqlite3_reset(ins);
				goto out;
			}
			sqlite3_reset(ins);
		}
		PQclear(res);
		res = NULL;
		if (n < FETCH_ROWS)
			break;
	}
	rc = pg_exec(r->pg, "CLOSE kx_answer", err, errlen);
out:
	PQclear(res);
	sqlite3_finalize(ins);
	return rc;
}

void kx_pg_read_close(struct kx_pg_read *r)
{
	if (!r)
		return;
	PQclear(PQexec(r->pg, "ROLLBACK"));
	PQfinish(r->pg);
	free(r);
}
