/* SPDX-License-Identifier: BSD-2-Clause */
/* shipper.c: sends the local inventory's rows to the central store (see
 * central.h). One thread, its own SQLite and PostgreSQL connections, and a
 * reader thread with a second SQLite connection that reads the next batch
 * while the current one goes to the server; the capture and writer
 * threads never wait for them.
 *
 * Order of one batch: read up to batch_rows local rows with id > mark;
 * upsert the runs they belong to (and those runs' sources), each on its
 * own; in one PostgreSQL transaction insert the rows in key order (COPY
 * straight into handshakes, or, when some are there already, COPY into a
 * staging table and INSERT ... ON CONFLICT DO NOTHING), commit; then move
 * the local mark (central_outbox) to the last id. A crash between the two
 * commits re-sends the batch, which the key absorbs. Before that commit
 * the rollup columns of the rows the transaction inserted go into
 * rollup_pending (pg_rollup.c): pending with the rows, once. The shipper
 * folds them into the rollups (kx_pg_rollup_fold) when it has caught up,
 * when it has sent KEXWATCH_PG_FOLD_EVERY rows since its last fold
 * (default DEFAULT_FOLD_EVERY; 0: never, `kexwatch rollup` does it) and
 * at the end of its drain.
 *
 * Sessions (hourly aggregates) change after they were sent, so no id mark
 * can follow them. Triggers on the local sessions table (created here,
 * with the table central_sessions) note each row inserted or updated with
 * its session count; the shipper sends the noted rows, upserted in
 * PostgreSQL with the larger counts, and forgets a note only if the count
 * is still the one it sent. The first connection to a central store notes
 * every row the file has. One central store per file at a time: the notes
 * are not kept per store.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "central_int.h"
#include "kexwatch/central.h"
#include "kexwatch/prog.h"

#define RUN_MAP_SLOTS 64
#define MAX_BATCH 10000      /* handshake rows per transaction (COPY) */
#define MAX_SESSION_BATCH 1000 /* 1000 rows x 21 parameters stays under libpq's 65535 */
#define DEFAULT_BATCH 5000
#define MONTH_CACHE 32         /* partitions this session knows exist */
#define COPY_CHUNK (256u << 10)
#define MAX_HS_COLS 128
#define DEFAULT_FOLD_EVERY 200000 /* rows sent between two folds of the shipper */

struct run_map_entry {
	int64_t local_id, pg_id;
};

/* Values copied out of SQLite (its column text lives only until the next
 * step): reused, grown when a batch needs more. */
struct arena {
	char *p;
	size_t len, cap;
};

/* One batch of local handshake rows, as read. */
struct hs_buf {
	struct arena a;
	int64_t *offs;                  /* per parameter: offset in a, -1 NULL, -2 run id */
	int64_t ids[MAX_BATCH];         /* local ids, ascending */
	int64_t local_runs[MAX_BATCH];  /* the rows' local run ids */
	unsigned n;
	int64_t after;                  /* the rows with id > after, up to the batch size */
	int rc;                         /* 0, or -1 with err */
	char err[256];
};

struct row_key {
	int64_t ts, dedup;      /* the central key (ts_first_us, dedup_key) */
	unsigned i;             /* the row's index in the batch */
};

struct kx_central {
	char *url, *db_path;
	char target[256];
	int64_t run_id;
	unsigned batch, poll_ms, max_backoff_ms;

	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop, nudged, retry_now;
	uint64_t deadline_ms;           /* when stopping: give up sending after this */
	struct kx_central_stats st;     /* under mu */

	/* Shipper thread only. */
	sqlite3 *db;
	sqlite3_stmt *sel_run, *sel_sources, *sel_backlog, *set_mark;
	sqlite3_stmt *sel_sessions, *del_session, *sel_session_backlog;
	PGconn *pg;
	int64_t mark;
	/* The handshake backlog without counting the outbox again after every
	 * batch (that was O(rows) a batch: quadratic): hs_pending rows with
	 * mark < id <= hs_upto. Each pass counts only the rows after hs_upto
	 * (a rowid range: as long as the rows added since), a batch subtracts
	 * the counted rows it sent, and a short batch, which read everything
	 * after the mark, resets it to exactly what came after. Local rows
	 * get increasing ids (one writer, rowid = max + 1), so no row is
	 * missed; one deleted before it was sent (prune) leaves the count too
	 * high until the next short batch. */
	int64_t hs_pending, hs_upto;
	unsigned backoff_ms;
	uint64_t next_try_ms;
	bool said_down;
	struct run_map_entry runs[RUN_MAP_SLOTS];
	unsigned n_runs;
	char *insert_sql;               /* INSERT for a full batch */
	char *session_sql;              /* the sessions upsert for a full batch */
	const char **params;
	struct arena arena;             /* the sessions rows' values */
	int64_t *offs;                  /* sessions: per parameter, offset in arena */
	int64_t ids[MAX_BATCH];         /* local ids of the batch's rows */
	int64_t counts[MAX_BATCH];      /* sessions rows: the count sent */
	/* The reader thread reads the next batch of handshake rows (its own
	 * SQLite connection) while this one's rows go to the server: the two
	 * share two cores instead of taking turns. bufs[ready] holds a batch
	 * read ahead (-1: none); ship_batch uses it only if it starts at the
	 * mark, which a failed batch did not move. */
	sqlite3 *rdb;
	sqlite3_stmt *sel_rows;         /* on rdb, reader thread only */
	pthread_t rth;
	bool rth_started;
	pthread_mutex_t rmu;
	pthread_cond_t rcv;
	int rd_want;                    /* under rmu: the buffer to fill, -1 none */
	bool rd_busy, rd_quit;          /* under rmu */
	int64_t rd_after;               /* under rmu */
	struct hs_buf *bufs[2];
	int ready;
	/* The central run id of each row, as text. Here, not thread-local: a
	 * TLS block is reserved in every thread of the process (measured: the
	 * capture threads' RSS grew by it), this only with --pg. */
	char run_ids[MAX_BATCH][24];
	char *copy;                     /* COPY text being sent (up to COPY_CHUNK + a row) */
	size_t copy_len, copy_cap;
	unsigned ts_col;                /* ts_first_us among kx_pg_hs_cols */
	unsigned dedup_col;             /* dedup_key among kx_pg_hs_cols */
	/* rollup_pending's columns (kx_pg_rollup_cols) as indexes into a row's
	 * parameters (0: run_id), and as a list. */
	unsigned new_pick[MAX_HS_COLS + 1];
	char new_cols[512];
	bool ts_text[MAX_HS_COLS];      /* columns read as microseconds, sent as text */
	struct row_key keys[MAX_BATCH]; /* the batch in key order */
	bool merge_next;                /* the last batch met rows already there */
	int64_t months[MONTH_CACHE];    /* partitions known to exist (FIFO) */
	unsigned n_months, next_month;
	uint64_t fold_every;            /* 0: the shipper never folds */
	uint64_t unfolded;              /* rows this shipper added since its last fold */
};

/* Local notes of the sessions rows to send (see the top). */
static const char notes_sql[] =
	"CREATE TABLE IF NOT EXISTS central_sessions (id INTEGER PRIMARY KEY,"
	" sessions INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS central_sessions_target (target TEXT PRIMARY KEY);"
	/* An upsert, not OR REPLACE: the statement that fires a trigger
	 * imposes its own conflict policy on the trigger's OR clauses. */
	"CREATE TRIGGER IF NOT EXISTS central_sessions_insert AFTER INSERT ON sessions BEGIN"
	" INSERT INTO central_sessions VALUES (NEW.id, NEW.sessions)"
	" ON CONFLICT (id) DO UPDATE SET sessions = excluded.sessions; END;"
	"CREATE TRIGGER IF NOT EXISTS central_sessions_update AFTER UPDATE ON sessions BEGIN"
	" INSERT INTO central_sessions VALUES (NEW.id, NEW.sessions)"
	" ON CONFLICT (id) DO UPDATE SET sessions = excluded.sessions; END;";

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- local side --- */

/* The text of a timestamp in microseconds, as the SQLite view writes it
 * (KX_SQL_TS_TEXT): 2025-01-01T00:00:00.000000Z, or 'invalid' outside
 * years 1970..9999. */
static size_t ts_text(int64_t us, char *out, size_t len)
{
	struct tm tm;
	time_t t = (time_t)(us / 1000000);
	if (us < 0 || us > INT64_C(253402300799999999) || !gmtime_r(&t, &tm))
		return (size_t)snprintf(out, len, "invalid");
	return (size_t)snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				(int)(us % 1000000));
}

static int open_local(struct kx_central *c, char *err, size_t errlen)
{
	char cols[2048], sql[4096];
	if (sqlite3_open_v2(c->db_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto fail;
	/* The store's writer holds its transaction for up to a flush interval. */
	sqlite3_busy_timeout(c->db, 10000);
	if (sqlite3_exec(c->db,
			 "CREATE TABLE IF NOT EXISTS central_outbox (target TEXT PRIMARY KEY,"
			 " last_id INTEGER NOT NULL DEFAULT 0, sent INTEGER NOT NULL DEFAULT 0,"
			 " updated_us INTEGER)",
			 NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	/* The triggers and, for a store that has not had them, every row
	 * noted, in one transaction: no row escapes both. */
	sqlite3_stmt *t;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_exec(c->db, notes_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO central_sessions_target VALUES (?)"
				      " ON CONFLICT DO NOTHING", -1, &t, NULL) != SQLITE_OK) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	sqlite3_bind_text(t, 1, c->target, -1, SQLITE_STATIC);
	int trc = sqlite3_step(t);
	sqlite3_finalize(t);
	if (trc != SQLITE_DONE ||
	    (sqlite3_changes(c->db) &&
	     sqlite3_exec(c->db, "INSERT OR REPLACE INTO central_sessions SELECT id, sessions"
				 " FROM sessions", NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		goto fail;
	}
	if (kx_pg_col_list(kx_pg_session_cols, kx_pg_n_session_cols, "s.", cols, sizeof(cols)) < 0)
		goto fail;
	snprintf(sql, sizeof(sql),
		 "SELECT n.id, n.sessions, s.run_id, %s FROM central_sessions AS n"
		 " JOIN sessions AS s ON s.id = n.id ORDER BY s.sensor, s.hour, s.client_ip,"
		 " s.server_ip, s.server_port, s.transport, s.app, s.verdict, s.reason, s.vlan,"
		 " s.tunnel LIMIT ?", cols); /* key order: see ship_batch's merge */
	if (sqlite3_prepare_v2(c->db, sql, -1, &c->sel_sessions, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "DELETE FROM central_sessions WHERE id = ? AND sessions = ?",
			       -1, &c->del_session, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT count(*) FROM central_sessions", -1,
			       &c->sel_session_backlog, NULL) != SQLITE_OK)
		goto fail;
	/* ts_first and ts_last read as their microseconds and written here
	 * (ts_text): the view's SQL formatting was a quarter of the read. */
	size_t pos = 0;
	if (kx_pg_n_hs_cols > MAX_HS_COLS)
		goto fail;
	for (unsigned i = 0; i < kx_pg_n_hs_cols; i++) {
		const char *name = kx_pg_hs_cols[i].name;
		bool ts = strcmp(name, "ts_first") == 0 || strcmp(name, "ts_last") == 0;
		int k = snprintf(cols + pos, sizeof(cols) - pos, "%s%s%s", i ? ", " : "", name,
				 ts ? "_us" : "");
		if (k < 0 || (size_t)k >= sizeof(cols) - pos)
			goto fail;
		pos += (size_t)k;
		c->ts_text[i] = ts;
	}
	snprintf(sql, sizeof(sql), "SELECT id, run_id, %s FROM handshakes WHERE id > ? ORDER BY id LIMIT ?",
		 cols);
	if (sqlite3_open_v2(c->db_path, &c->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: outbox: %s", c->db_path,
			 c->rdb ? sqlite3_errmsg(c->rdb) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(c->rdb, 10000);
	if (sqlite3_prepare_v2(c->rdb, sql, -1, &c->sel_rows, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: outbox: %s", c->db_path, sqlite3_errmsg(c->rdb));
		return -1;
	}
	if (kx_pg_col_list(kx_pg_run_cols, kx_pg_n_run_cols, NULL, cols, sizeof(cols)) < 0)
		goto fail;
	snprintf(sql, sizeof(sql), "SELECT %s FROM runs WHERE id = ?", cols);
	if (sqlite3_prepare_v2(c->db, sql, -1, &c->sel_run, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT source_id, name FROM sources WHERE run_id = ?", -1,
			       &c->sel_sources, NULL) != SQLITE_OK ||
	    /* The table, not the view: the joins would cost without counting. */
	    sqlite3_prepare_v2(c->db, "SELECT count(*), max(id) FROM handshake_rows WHERE id > ?",
			       -1, &c->sel_backlog, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
			       "INSERT INTO central_outbox (target, last_id, sent, updated_us)"
			       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (target) DO UPDATE SET"
			       " last_id = ?2, sent = sent + ?3, updated_us = ?4",
			       -1, &c->set_mark, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(c->db, "SELECT last_id FROM central_outbox WHERE target = ?", -1, &s,
			       NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(s, 1, c->target, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		c->mark = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	c->hs_upto = c->mark;
	c->hs_pending = 0;
	return 0;
fail:
	snprintf(err, errlen, "%s: outbox: %s", c->db_path,
		 c->db ? sqlite3_errmsg(c->db) : "out of memory");
	return -1;
}

static int64_t local_sessions_backlog(struct kx_central *c)
{
	int64_t n = -1;
	if (sqlite3_step(c->sel_session_backlog) == SQLITE_ROW)
		n = sqlite3_column_int64(c->sel_session_backlog, 0);
	sqlite3_reset(c->sel_session_backlog);
	return n;
}

/* Counts the handshake rows after `after` into hs_pending (added, or
 * instead of it with `reset`), hs_upto their largest id: a rowid range. */
static int count_after(struct kx_central *c, int64_t after, bool reset)
{
	int rc;
	sqlite3_bind_int64(c->sel_backlog, 1, after);
	if ((rc = sqlite3_step(c->sel_backlog)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(c->sel_backlog, 0);
		c->hs_pending = reset ? k : c->hs_pending + k;
		if (sqlite3_column_type(c->sel_backlog, 1) != SQLITE_NULL)
			c->hs_upto = sqlite3_column_int64(c->sel_backlog, 1);
		if (after > c->hs_upto)
			c->hs_upto = after;
	}
	sqlite3_reset(c->sel_backlog);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Handshake rows after the mark and noted sessions rows: the rows added
 * since the last call counted and added to hs_pending (see the struct). */
static int64_t local_backlog(struct kx_central *c)
{
	int64_t m = local_sessions_backlog(c);
	int rc = count_after(c, c->hs_upto, false);
	return rc < 0 || m < 0 ? -1 : c->hs_pending + m;
}

/* After a batch of n rows (ids in c->ids, ascending) was sent and the mark
 * moved to its last id: the counted ones leave hs_pending. A short batch
 * (fewer than asked) read every row after the old mark that existed then,
 * perhaps before the last count (read ahead): what is left is exactly
 * the rows after the mark, counted now (those added since the read). */
static void backlog_sent(struct kx_central *c, unsigned n)
{
	if (n < c->batch) {
		if (count_after(c, c->mark, true) < 0)
			c->hs_pending = 0; /* the next pass finds them: the read fails too */
	} else {
		unsigned counted = 0;
		while (counted < n && c->ids[counted] <= c->hs_upto)
			counted++;
		c->hs_pending -= counted;
		if (c->hs_pending < 0) /* rows deleted before we counted them */
			c->hs_pending = 0;
	}
	if (c->mark > c->hs_upto)
		c->hs_upto = c->mark;
}

static int set_mark(struct kx_central *c, int64_t last_id, int64_t sent)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sqlite3_bind_text(c->set_mark, 1, c->target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(c->set_mark, 2, last_id);
	sqlite3_bind_int64(c->set_mark, 3, sent);
	sqlite3_bind_int64(c->set_mark, 4, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	int rc = sqlite3_step(c->set_mark);
	sqlite3_reset(c->set_mark);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* --- central side --- */

static PGresult *exec_params(struct kx_central *c, const char *sql, int n, const char *const *v)
{
	return PQexecParams(c->pg, sql, n, NULL, v, NULL, NULL, 0);
}

static bool ok(PGresult *r)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* The run's upsert and its sources in one short transaction of their
 * own. Before a batch it need not wait for the disk
 * (synchronous_commit off): the batch's commit, later in the same WAL,
 * makes it durable before any row that points at it, and a server that
 * lost it also lost the connection, which forgets the run map. The last
 * sending of the runs (resend_runs) waits. */
static int run_tx(struct kx_central *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c->pg, sql);
	if (!ok(r)) {
		snprintf(err, errlen, "runs: %s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		PQclear(PQexec(c->pg, "ROLLBACK"));
		return -1;
	}
	PQclear(r);
	return 0;
}

static int64_t central_run_tx(struct kx_central *c, int64_t local_id, char *err, size_t errlen);

/* The central id of local run `local_id`: upserts the run (its counters
 * change until it ends) and its sources. */
static int64_t central_run(struct kx_central *c, int64_t local_id, bool durable, char *err,
			   size_t errlen)
{
	for (unsigned i = 0; i < c->n_runs; i++)
		if (c->runs[i].local_id == local_id)
			return c->runs[i].pg_id;
	if (run_tx(c, durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit TO off", err,
		   errlen) < 0)
		return -1;
	int64_t id = central_run_tx(c, local_id, err, errlen);
	if (id < 0) {
		PQclear(PQexec(c->pg, "ROLLBACK"));
		return -1;
	}
	if (run_tx(c, "COMMIT", err, errlen) < 0)
		return -1;
	if (c->n_runs == RUN_MAP_SLOTS)
		c->n_runs = 0; /* forget them all: a later lookup upserts again */
	c->runs[c->n_runs++] = (struct run_map_entry){ local_id, id };
	return id;
}

static int64_t central_run_tx(struct kx_central *c, int64_t local_id, char *err, size_t errlen)
{
	char sql[4096], cols[2048], sets[4096], lid[24];
	const char *v[1 + 32];
	int64_t id = -1;
	size_t pos = 0;

	sqlite3_bind_int64(c->sel_run, 1, local_id);
	if (sqlite3_step(c->sel_run) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: run %" PRId64 " is missing", c->db_path, local_id);
		sqlite3_reset(c->sel_run);
		return -1;
	}
	snprintf(lid, sizeof(lid), "%" PRId64, local_id);
	v[0] = lid;
	for (unsigned i = 0; i < kx_pg_n_run_cols; i++)
		v[1 + i] = (const char *)sqlite3_column_text(c->sel_run, (int)i);
	kx_pg_col_list(kx_pg_run_cols, kx_pg_n_run_cols, NULL, cols, sizeof(cols));
	sets[0] = '\0';
	for (unsigned i = 0; i < kx_pg_n_run_cols; i++)
		pos += (size_t)snprintf(sets + pos, sizeof(sets) - pos, "%s%s = EXCLUDED.%s",
					i ? ", " : "", kx_pg_run_cols[i].name, kx_pg_run_cols[i].name);
	pos = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO runs (local_id, %s) VALUES ($1", cols);
	for (unsigned i = 0; i < kx_pg_n_run_cols; i++)
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, ", $%u", i + 2);
	snprintf(sql + pos, sizeof(sql) - pos,
		 ") ON CONFLICT (sensor, started_us, local_id) DO UPDATE SET %s RETURNING id", sets);
	PGresult *r = exec_params(c, sql, (int)kx_pg_n_run_cols + 1, v);
	sqlite3_reset(c->sel_run);
	if (!ok(r) || PQntuples(r) != 1) {
		snprintf(err, errlen, "runs: %s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		return -1;
	}
	id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);

	char pid[24];
	snprintf(pid, sizeof(pid), "%" PRId64, id);
	sqlite3_bind_int64(c->sel_sources, 1, local_id);
	int rc;
	while ((rc = sqlite3_step(c->sel_sources)) == SQLITE_ROW) {
		const char *sv[3] = { pid, (const char *)sqlite3_column_text(c->sel_sources, 0),
				      (const char *)sqlite3_column_text(c->sel_sources, 1) };
		r = exec_params(c, "INSERT INTO sources (run_id, source_id, name) VALUES ($1, $2, $3)"
				   " ON CONFLICT DO NOTHING", 3, sv);
		if (!ok(r)) {
			snprintf(err, errlen, "sources: %s", kx_pg_errmsg(c->pg, r));
			PQclear(r);
			sqlite3_reset(c->sel_sources);
			return -1;
		}
		PQclear(r);
	}
	sqlite3_reset(c->sel_sources);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", c->db_path, sqlite3_errmsg(c->db));
		return -1;
	}
	return id;
}

/* "INSERT ... VALUES ($1..$57) ON CONFLICT DO NOTHING" for one row (the
 * row-by-row search for a refused row; batches go by COPY). */
static const char *insert_sql(struct kx_central *c, unsigned n)
{
	char cols[2048];
	unsigned per_row = kx_pg_n_hs_cols + 1;
	if (!c->insert_sql) {
		size_t cap = 4096 + (size_t)n * per_row * 8; /* only ever one row */
		c->insert_sql = malloc(cap);
		if (!c->insert_sql)
			return NULL;
	}
	kx_pg_col_list(kx_pg_hs_cols, kx_pg_n_hs_cols, NULL, cols, sizeof(cols));
	char *p = c->insert_sql;
	p += sprintf(p, "WITH i AS (INSERT INTO handshakes (run_id, %s) VALUES ", cols);
	unsigned k = 1;
	for (unsigned i = 0; i < n; i++) {
		*p++ = i ? ',' : ' ';
		*p++ = '(';
		for (unsigned j = 0; j < per_row; j++)
			p += sprintf(p, j ? ",$%u" : "$%u", k++);
		*p++ = ')';
	}
	/* The row, if new, pending for the rollups. */
	sprintf(p, " ON CONFLICT (ts_first_us, dedup_key) DO NOTHING RETURNING *)"
		" INSERT INTO rollup_pending (%s) SELECT %s FROM i", c->new_cols, c->new_cols);
	return c->insert_sql;
}

static void say_down(struct kx_central *c, const char *why)
{
	if (!c->said_down)
		fprintf(stderr, "%s: warning: central store %s unavailable, rows wait in the local outbox "
			"(%s) and are sent when it answers, by this run or the next with --pg or "
			"kexwatch push: %s\n", kx_prog, c->target, c->db_path, why);
	c->said_down = true;
}

static void drop_connection(struct kx_central *c, const char *why)
{
	say_down(c, why);
	PQfinish(c->pg);
	c->pg = NULL;
	c->n_runs = 0;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 500;
	if (c->backoff_ms > c->max_backoff_ms)
		c->backoff_ms = c->max_backoff_ms;
	c->next_try_ms = now_ms() + c->backoff_ms;
	pthread_mutex_lock(&c->mu);
	c->st.errors++;
	c->st.connected = false;
	pthread_mutex_unlock(&c->mu);
}

/* Copies a value with its NUL into the arena; its offset, or -1. */
static int64_t arena_put(struct arena *ar, const char *v, size_t len)
{
	if (ar->len + len + 1 > ar->cap) {
		size_t cap = ar->cap ? ar->cap : 1u << 20;
		while (cap < ar->len + len + 1)
			cap *= 2;
		char *a = realloc(ar->p, cap);
		if (!a)
			return -1;
		ar->p = a;
		ar->cap = cap;
	}
	int64_t at = (int64_t)ar->len;
	memcpy(ar->p + at, v, len);
	ar->p[at + (int64_t)len] = '\0';
	ar->len += len + 1;
	return at;
}

/* SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the
 * rows themselves are at fault, not the connection or the schema. */
static bool bad_data(const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

/* Inside the batch's transaction: each row under its own savepoint. */
static int rows_one_by_one(struct kx_central *c, unsigned n, uint64_t *added, uint64_t *rejected,
			   char *err, size_t errlen)
{
	unsigned per_row = kx_pg_n_hs_cols + 1;
	for (unsigned i = 0; i < n; i++) {
		const char *sql = insert_sql(c, 1);
		PQclear(PQexec(c->pg, "SAVEPOINT kx_row"));
		PGresult *r = exec_params(c, sql, (int)per_row, c->params + (size_t)i * per_row);
		if (ok(r)) {
			*added += strtoull(PQcmdTuples(r), NULL, 10);
			PQclear(r);
			PQclear(PQexec(c->pg, "RELEASE SAVEPOINT kx_row"));
			continue;
		}
		if (!bad_data(r)) {
			snprintf(err, errlen, "handshakes: %s", kx_pg_errmsg(c->pg, r));
			PQclear(r);
			return -1;
		}
		fprintf(stderr, "%s: central store %s refused local row %" PRId64 " of %s: %s\n",
			kx_prog, c->target, c->ids[i], c->db_path, kx_pg_errmsg(c->pg, r));
		PQclear(r);
		PQclear(PQexec(c->pg, "ROLLBACK TO SAVEPOINT kx_row"));
		(*rejected)++;
	}
	return 0;
}

/* Connects (and checks or upgrades the schema) when not connected, and
 * creates this session's staging table. 0, or -1 (back-off set). */
static int ensure_connected(struct kx_central *c)
{
	char err[512], cols[2048], sql[4096];
	if (c->pg)
		return 0;
	if (now_ms() < c->next_try_ms)
		return -1;
	c->pg = kx_pg_connect(c->url, err, sizeof(err));
	if (!c->pg || kx_pg_ensure_schema(c->pg, err, sizeof(err)) < 0) {
		drop_connection(c, err);
		return -1;
	}
	/* The staging table of the COPY: per session, empty after every
	 * commit or rollback, no constraints (the merge applies them). */
	kx_pg_col_list(kx_pg_hs_cols, kx_pg_n_hs_cols, NULL, cols, sizeof(cols));
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE kx_stage ON COMMIT DELETE ROWS AS SELECT run_id, %s"
		 " FROM handshakes WITH NO DATA", cols);
	PGresult *r = PQexec(c->pg, sql);
	if (!ok(r)) {
		snprintf(err, sizeof(err), "staging table: %s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		drop_connection(c, err);
		return -1;
	}
	PQclear(r);
	c->n_months = c->next_month = 0;
	if (c->said_down)
		fprintf(stderr, "%s: central store %s reachable again\n", kx_prog, c->target);
	c->said_down = false;
	c->backoff_ms = 0;
	pthread_mutex_lock(&c->mu);
	c->st.connected = true;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* The months of the batch whose partitions this session has not seen,
 * created (own transaction) and remembered. */
static int ensure_months(struct kx_central *c, unsigned n, char *err, size_t errlen)
{
	int64_t want[MONTH_CACHE];
	unsigned n_want = 0;
	for (unsigned i = 0; i < n; i++) {
		const char *v = c->params[(size_t)i * (kx_pg_n_hs_cols + 1) + 1 + c->ts_col];
		int64_t m = kx_pg_month_of(strtoll(v, NULL, 10));
		bool known = false;
		for (unsigned k = 0; k < c->n_months && !known; k++)
			known = c->months[k] == m;
		for (unsigned k = 0; k < n_want && !known; k++)
			known = want[k] == m;
		if (known)
			continue;
		if (n_want == MONTH_CACHE) { /* a batch over 32 months: create these first */
			if (kx_pg_ensure_months(c->pg, want, n_want, err, errlen) < 0)
				return -1;
			n_want = 0;
		}
		want[n_want++] = m;
	}
	if (n_want && kx_pg_ensure_months(c->pg, want, n_want, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < n_want; i++) {
		c->months[c->next_month] = want[i];
		c->next_month = (c->next_month + 1) % MONTH_CACHE;
		if (c->n_months < MONTH_CACHE)
			c->n_months++;
	}
	return 0;
}

/* Appends one value to the COPY text (text format: NULL is \N; backslash,
 * newline, carriage return and tab escaped). */
static int copy_put(struct kx_central *c, const char *v, char sep)
{
	size_t len = v ? strlen(v) : 0, need = c->copy_len + 2 * len + 4;
	if (need > c->copy_cap) {
		size_t cap = c->copy_cap ? c->copy_cap : COPY_CHUNK * 2;
		while (cap < need)
			cap *= 2;
		char *b = realloc(c->copy, cap);
		if (!b)
			return -1;
		c->copy = b;
		c->copy_cap = cap;
	}
	char *p = c->copy + c->copy_len;
	if (!v) {
		*p++ = '\\';
		*p++ = 'N';
	}
	for (size_t i = 0; i < len; i++) {
		char ch = v[i];
		if (ch == '\\' || ch == '\n' || ch == '\r' || ch == '\t') {
			*p++ = '\\';
			ch = ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch == '\t' ? 't' : '\\';
		}
		*p++ = ch;
	}
	*p++ = sep;
	c->copy_len = (size_t)(p - c->copy);
	return 0;
}

/* COPY of the batch's rows, in key order (c->keys), into `table`
 * (kx_stage or handshakes): 0 (*res the result), or -1 with the failed
 * result in *res (NULL when the connection failed). */
static int copy_batch(struct kx_central *c, const char *table, unsigned n, PGresult **res,
		      char *err, size_t errlen)
{
	char cols[2048], sql[4096];
	unsigned per_row = kx_pg_n_hs_cols + 1;
	/* rollup_pending takes only the columns the rollups read. */
	bool narrow = strcmp(table, "rollup_pending") == 0;
	unsigned n_out = narrow ? kx_pg_n_rollup_cols : per_row;
	kx_pg_col_list(kx_pg_hs_cols, kx_pg_n_hs_cols, NULL, cols, sizeof(cols));
	if (narrow)
		snprintf(sql, sizeof(sql), "COPY rollup_pending (%s) FROM STDIN", c->new_cols);
	else
		snprintf(sql, sizeof(sql), "COPY %s (run_id, %s) FROM STDIN", table, cols);
	PGresult *r = PQexec(c->pg, sql);
	*res = NULL;
	if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
		snprintf(err, errlen, "copy: %s", kx_pg_errmsg(c->pg, r));
		*res = r;
		return -1;
	}
	PQclear(r);
	const char *why = NULL;
	c->copy_len = 0;
	for (unsigned i = 0; i < n && !why; i++) {
		const char *const *row = c->params + (size_t)c->keys[i].i * per_row;
		for (unsigned j = 0; j < n_out && !why; j++)
			if (copy_put(c, row[narrow ? c->new_pick[j] : j], j + 1 < n_out ? '\t' : '\n') < 0)
				why = "out of memory";
		if (!why && (c->copy_len >= COPY_CHUNK || i + 1 == n)) {
			if (PQputCopyData(c->pg, c->copy, (int)c->copy_len) != 1)
				why = "connection lost";
			c->copy_len = 0;
		}
	}
	if (PQputCopyEnd(c->pg, why) != 1 && !why)
		why = "connection lost";
	r = PQgetResult(c->pg);
	/* Drain: libpq returns NULL after the last result of the command. */
	for (PGresult *x; (x = PQgetResult(c->pg));)
		PQclear(x);
	if (!why && ok(r)) {
		*res = r;
		return 0;
	}
	snprintf(err, errlen, "copy: %s", why ? why : kx_pg_errmsg(c->pg, r));
	*res = r;
	return -1;
}

/* A missing partition (a month pruned, then a late row for it) reads like
 * a CHECK failure (23514) without a constraint name: not the row's fault. */
static bool no_partition(const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return state && strcmp(state, "23514") == 0 &&
	       !PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
}

static bool unique_violation(const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return state && strcmp(state, "23505") == 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct row_key *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->dedup != y->dedup)
		return x->dedup < y->dedup ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* c->keys: the batch's rows in key order, the order in which every sensor
 * takes the keys' locks (two batches sharing keys then cannot deadlock:
 * seen without it, each waiting for a key the other had inserted). */
static void sort_keys(struct kx_central *c, unsigned n)
{
	unsigned per_row = kx_pg_n_hs_cols + 1;
	for (unsigned i = 0; i < n; i++) {
		const char *const *row = c->params + (size_t)i * per_row + 1;
		c->keys[i] = (struct row_key){ row[c->ts_col] ? strtoll(row[c->ts_col], NULL, 10) : 0,
					       row[c->dedup_col] ? strtoll(row[c->dedup_col], NULL, 10) : 0,
					       i };
	}
	qsort(c->keys, n, sizeof(c->keys[0]), key_cmp);
}

/* Reads the rows after `after` (up to the batch size) into b: reader
 * thread. */
static void fill_buf(struct kx_central *c, struct hs_buf *b, int64_t after)
{
	unsigned per_row = kx_pg_n_hs_cols + 1, n = 0;
	int rc;
	b->a.len = 0;
	b->rc = 0;
	b->after = after;
	sqlite3_bind_int64(c->sel_rows, 1, after);
	sqlite3_bind_int64(c->sel_rows, 2, c->batch);
	while ((rc = sqlite3_step(c->sel_rows)) == SQLITE_ROW) {
		b->ids[n] = sqlite3_column_int64(c->sel_rows, 0);
		b->local_runs[n] = sqlite3_column_int64(c->sel_rows, 1);
		int64_t *row = b->offs + (size_t)n * per_row;
		row[0] = -2; /* the run id, from run_ids */
		for (unsigned j = 0; j < kx_pg_n_hs_cols; j++) {
			char tsbuf[40];
			const char *v;
			size_t len;
			if (c->ts_text[j]) {
				len = ts_text(sqlite3_column_int64(c->sel_rows, (int)j + 2), tsbuf,
					      sizeof(tsbuf));
				v = tsbuf;
			} else {
				v = (const char *)sqlite3_column_text(c->sel_rows, (int)j + 2);
				len = (size_t)sqlite3_column_bytes(c->sel_rows, (int)j + 2);
			}
			row[1 + j] = v ? arena_put(&b->a, v, len) : -1;
			if (v && row[1 + j] < 0) {
				sqlite3_reset(c->sel_rows);
				snprintf(b->err, sizeof(b->err), "out of memory");
				b->rc = -1;
				return;
			}
		}
		n++;
	}
	sqlite3_reset(c->sel_rows);
	b->n = n;
	if (rc != SQLITE_DONE) {
		snprintf(b->err, sizeof(b->err), "%s: %s", c->db_path, sqlite3_errmsg(c->rdb));
		b->rc = -1;
	}
}

static void *reader(void *arg)
{
	struct kx_central *c = arg;
	pthread_mutex_lock(&c->rmu);
	for (;;) {
		while (!c->rd_quit && c->rd_want < 0)
			pthread_cond_wait(&c->rcv, &c->rmu);
		if (c->rd_quit)
			break;
		int want = c->rd_want;
		int64_t after = c->rd_after;
		pthread_mutex_unlock(&c->rmu);
		fill_buf(c, c->bufs[want], after);
		pthread_mutex_lock(&c->rmu);
		c->rd_want = -1;
		c->rd_busy = false;
		pthread_cond_broadcast(&c->rcv);
	}
	pthread_mutex_unlock(&c->rmu);
	return NULL;
}

/* Asks the reader for the rows after `after` in bufs[i] (it must be idle:
 * reader_wait). */
static void reader_request(struct kx_central *c, int i, int64_t after)
{
	pthread_mutex_lock(&c->rmu);
	c->rd_want = i;
	c->rd_after = after;
	c->rd_busy = true;
	pthread_cond_broadcast(&c->rcv);
	pthread_mutex_unlock(&c->rmu);
}

static void reader_wait(struct kx_central *c)
{
	pthread_mutex_lock(&c->rmu);
	while (c->rd_busy)
		pthread_cond_wait(&c->rcv, &c->rmu);
	pthread_mutex_unlock(&c->rmu);
}

/* One batch: >0 rows handled, 0 nothing to send, -1 failed (back-off set).
 *
 * The rows are read locally first, then the months they need get their
 * partitions and their runs are upserted, then one transaction: the rows,
 * in key order, COPYed straight into handshakes; if one of them is there
 * already (unique violation: the COPY is all or nothing), back to the
 * savepoint and the rows COPYed into the session's staging table and
 * merged with INSERT ... SELECT ... ON CONFLICT DO NOTHING; COMMIT (which
 * empties the staging table). Only then does the local mark move. The
 * direct COPY, which halves the server's work, is tried again only after
 * a batch whose rows were all new: a sensor whose rows the store has
 * (re-sent, or shared with another sensor) does not pay for it twice. */
static int ship_batch(struct kx_central *c)
{
	char err[512];
	if (ensure_connected(c) < 0)
		return -1;

	unsigned per_row = kx_pg_n_hs_cols + 1;
	char(*run_ids)[24] = c->run_ids;
	int64_t cached_local = -1, cached_pg = -1;
	PGresult *r;
	/* The batch read ahead if it starts at the mark, else read now. */
	reader_wait(c);
	int cur = c->ready >= 0 ? c->ready : 0;
	c->ready = -1;
	if (c->bufs[cur]->after != c->mark || c->bufs[cur]->rc < 0) {
		reader_request(c, cur, c->mark);
		reader_wait(c);
	}
	struct hs_buf *b = c->bufs[cur];
	b->after = -1; /* used: read it again next time */
	if (b->rc < 0) {
		drop_connection(c, b->err);
		return -1;
	}
	unsigned n = b->n;
	if (n == 0) {
		backlog_sent(c, 0);
		return 0;
	}
	int64_t last = b->ids[n - 1];
	/* More to come: the next batch read while this one is sent. */
	if (n == c->batch) {
		reader_request(c, 1 - cur, last);
		c->ready = 1 - cur;
	}
	memcpy(c->ids, b->ids, n * sizeof(c->ids[0]));
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < per_row; j++) {
			int64_t o = b->offs[(size_t)i * per_row + j];
			c->params[(size_t)i * per_row + j] = o == -2 ? run_ids[i]
							     : o < 0  ? NULL
								      : b->a.p + o;
		}
	if (ensure_months(c, n, err, sizeof(err)) < 0) {
		drop_connection(c, err);
		return -1;
	}
	/* The runs first, each upsert its own short transaction: a run row
	 * locked until the batch commits made sensors sharing runs wait on
	 * each other's row locks in both orders (deadlock, seen with eight
	 * concurrent pushes). A run whose batch then fails is harmless.
	 * Since central schema 8 this order is what keeps handshakes.run_id
	 * and sessions.run_id naming a run: no foreign key checks them. */
	for (unsigned i = 0; i < n; i++) {
		if (b->local_runs[i] != cached_local) {
			cached_pg = central_run(c, b->local_runs[i], false, err, sizeof(err));
			cached_local = b->local_runs[i];
			if (cached_pg < 0) {
				drop_connection(c, err);
				return -1;
			}
		}
		snprintf(run_ids[i], sizeof(run_ids[i]), "%" PRId64, cached_pg);
	}
	r = PQexec(c->pg, "BEGIN");
	if (!ok(r)) {
		PQclear(r);
		drop_connection(c, kx_pg_errmsg(c->pg, NULL));
		return -1;
	}
	PQclear(r);
	PQclear(PQexec(c->pg, "SAVEPOINT kx_batch"));
	uint64_t added = 0, rejected = 0;
	bool merge = c->merge_next;
	sort_keys(c, n);
	if (!merge) {
		if (copy_batch(c, "handshakes", n, &r, err, sizeof(err)) < 0) {
			if (!r)
				goto fail;
			if (unique_violation(r) && PQstatus(c->pg) == CONNECTION_OK) {
				PQclear(r);
				r = PQexec(c->pg, "ROLLBACK TO SAVEPOINT kx_batch");
				if (!ok(r)) {
					snprintf(err, sizeof(err), "handshakes: %s", kx_pg_errmsg(c->pg, r));
					PQclear(r);
					goto fail;
				}
				PQclear(r);
				merge = true;
			}
		}
	}
	if (!merge) {
		/* r: the direct COPY's result, handled below */
	} else if (copy_batch(c, "kx_stage", n, &r, err, sizeof(err)) < 0) {
		if (!r)
			goto fail;
	} else {
		char cols[2048], sql[8192];
		PQclear(r);
		kx_pg_col_list(kx_pg_hs_cols, kx_pg_n_hs_cols, NULL, cols, sizeof(cols));
		/* In key order (see sort_keys). */
		/* Only the rows it inserted become pending: those present are
		 * counted (or pending) already. */
		snprintf(sql, sizeof(sql),
			 "WITH i AS (INSERT INTO handshakes (run_id, %s) SELECT run_id, %s FROM kx_stage"
			 " ORDER BY ts_first_us, dedup_key"
			 " ON CONFLICT (ts_first_us, dedup_key) DO NOTHING RETURNING *)"
			 " INSERT INTO rollup_pending (%s) SELECT %s FROM i", cols, cols, c->new_cols,
			 c->new_cols);
		r = PQexec(c->pg, sql);
		if (!ok(r))
			snprintf(err, sizeof(err), "handshakes: %s", kx_pg_errmsg(c->pg, r));
	}
	if (!ok(r) && no_partition(r)) {
		/* Pruned meanwhile: forget what we knew, create them again. */
		c->n_months = c->next_month = 0;
		PQclear(r);
		goto fail;
	}
	if (!ok(r) && bad_data(r) && PQstatus(c->pg) == CONNECTION_OK) {
		/* A row the server refuses would block the outbox forever: find it
		 * row by row, report it, and send the others. */
		PQclear(r);
		PQclear(PQexec(c->pg, "ROLLBACK TO SAVEPOINT kx_batch"));
		if (rows_one_by_one(c, n, &added, &rejected, err, sizeof(err)) < 0)
			goto fail;
	} else if (!ok(r)) {
		PQclear(r);
		goto fail;
	} else {
		added = strtoull(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		/* The direct COPY inserted every row: their rollup columns, again
		 * by COPY, pending (no index, no key: an append). */
		if (!merge && added > 0) {
			if (copy_batch(c, "rollup_pending", n, &r, err, sizeof(err)) < 0) {
				PQclear(r);
				goto fail;
			}
			PQclear(r);
		}
	}
	r = PQexec(c->pg, "COMMIT");
	if (!ok(r)) {
		snprintf(err, sizeof(err), "commit: %s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	c->merge_next = added + rejected < n;
	/* Sent: the mark moves even if writing it fails (the rows would only be
	 * offered again, and absorbed). */
	c->mark = last;
	c->unfolded += added;
	backlog_sent(c, n);
	if (set_mark(c, last, (int64_t)added) < 0)
		fprintf(stderr, "%s: %s: cannot record the outbox mark: %s\n", kx_prog, c->db_path,
			sqlite3_errmsg(c->db));
	pthread_mutex_lock(&c->mu);
	c->st.sent += added;
	c->st.present += n - added - rejected;
	c->st.rejected += rejected;
	pthread_mutex_unlock(&c->mu);
	return (int)n;
fail:
	PQclear(PQexec(c->pg, "ROLLBACK"));
	drop_connection(c, err);
	return -1;
}

/* "INSERT INTO sessions ... ON CONFLICT (key) DO UPDATE" for n rows: the
 * local row is its sensor's total for the key, so the larger counts win
 * and a row sent again changes nothing; the first session's evidence is
 * the earliest one's. */
static const char *session_sql(struct kx_central *c, unsigned n)
{
	char cols[2048];
	unsigned per_row = kx_pg_n_session_cols + 1;
	if (!c->session_sql) {
		c->session_sql = malloc(4096 + (size_t)MAX_SESSION_BATCH * per_row * 8);
		if (!c->session_sql)
			return NULL;
	}
	kx_pg_col_list(kx_pg_session_cols, kx_pg_n_session_cols, NULL, cols, sizeof(cols));
	char *p = c->session_sql;
	p += sprintf(p, "INSERT INTO sessions AS o (run_id, %s) VALUES ", cols);
	unsigned k = 1;
	for (unsigned i = 0; i < n; i++) {
		*p++ = i ? ',' : ' ';
		*p++ = '(';
		for (unsigned j = 0; j < per_row; j++)
			p += sprintf(p, j ? ",$%u" : "$%u", k++);
		*p++ = ')';
	}
#define EARLIER "CASE WHEN EXCLUDED.ts_first_us < o.ts_first_us THEN EXCLUDED.%s ELSE o.%s END"
	p += sprintf(p, " ON CONFLICT (sensor, hour, client_ip, server_ip, server_port, transport,"
		     " app, verdict, reason, vlan, tunnel) DO UPDATE SET"
		     " sessions = greatest(o.sessions, EXCLUDED.sessions),"
		     " bytes = greatest(o.bytes, EXCLUDED.bytes), ndpi = coalesce(o.ndpi, EXCLUDED.ndpi),"
		     " ts_last_us = greatest(o.ts_last_us, EXCLUDED.ts_last_us),"
		     " run_id = " EARLIER ", source_id = " EARLIER ", client_port = " EARLIER ","
		     " pkt_first = " EARLIER ", ts_first_us = least(o.ts_first_us, EXCLUDED.ts_first_us)",
		     "run_id", "run_id", "source_id", "source_id", "client_port", "client_port",
		     "pkt_first", "pkt_first");
#undef EARLIER
	return c->session_sql;
}

/* One batch of noted sessions rows: >0 rows sent, 0 none noted, -1 failed
 * (back-off set). Runs after ship_batch, which connects. */
static int ship_sessions(struct kx_central *c)
{
	char err[512];
	unsigned per_row = kx_pg_n_session_cols + 1, n = 0;
	char(*run_ids)[24] = c->run_ids;
	int64_t cached_local = -1, cached_pg = -1;
	int rc;

	if (!c->pg)
		return -1;
	c->arena.len = 0;
	sqlite3_bind_int64(c->sel_sessions, 1,
			   c->batch < MAX_SESSION_BATCH ? c->batch : MAX_SESSION_BATCH);
	PGresult *r;
	/* Rows read (and their runs upserted, each on its own) before BEGIN,
	 * for the reason given in ship_batch. */
	while ((rc = sqlite3_step(c->sel_sessions)) == SQLITE_ROW) {
		int64_t local_run = sqlite3_column_int64(c->sel_sessions, 2);
		if (local_run != cached_local) {
			cached_pg = central_run(c, local_run, false, err, sizeof(err));
			cached_local = local_run;
			if (cached_pg < 0)
				goto fail;
		}
		snprintf(run_ids[n], sizeof(run_ids[n]), "%" PRId64, cached_pg);
		c->ids[n] = sqlite3_column_int64(c->sel_sessions, 0);
		c->counts[n] = sqlite3_column_int64(c->sel_sessions, 1);
		int64_t *row = c->offs + (size_t)n * per_row;
		row[0] = -2;
		for (unsigned j = 0; j < kx_pg_n_session_cols; j++) {
			const char *v = (const char *)sqlite3_column_text(c->sel_sessions, (int)j + 3);
			size_t len = (size_t)sqlite3_column_bytes(c->sel_sessions, (int)j + 3);
			row[1 + j] = v ? arena_put(&c->arena, v, len) : -1;
			if (v && row[1 + j] < 0) {
				snprintf(err, sizeof(err), "out of memory");
				goto fail;
			}
		}
		n++;
	}
	sqlite3_reset(c->sel_sessions);
	if (rc != SQLITE_DONE) {
		snprintf(err, sizeof(err), "%s: %s", c->db_path, sqlite3_errmsg(c->db));
		goto fail_reset;
	}
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < per_row; j++) {
			int64_t o = c->offs[(size_t)i * per_row + j];
			c->params[(size_t)i * per_row + j] = o == -2 ? run_ids[i]
							     : o < 0  ? NULL
								      : c->arena.p + o;
		}
	const char *sql = session_sql(c, n);
	if (!sql) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail_reset;
	}
	r = PQexec(c->pg, "BEGIN");
	if (!ok(r)) {
		snprintf(err, sizeof(err), "%s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		goto fail_reset;
	}
	PQclear(r);
	r = exec_params(c, sql, (int)(n * per_row), c->params);
	if (!ok(r)) {
		snprintf(err, sizeof(err), "sessions: %s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		goto fail_reset;
	}
	PQclear(r);
	r = PQexec(c->pg, "COMMIT");
	if (!ok(r)) {
		snprintf(err, sizeof(err), "commit: %s", kx_pg_errmsg(c->pg, r));
		PQclear(r);
		goto fail_reset;
	}
	PQclear(r);
	/* Sent: forget the notes whose count is still the one sent (a row
	 * counted again meanwhile stays noted). A failure here only sends
	 * them again. */
	sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
	for (unsigned i = 0; i < n; i++) {
		sqlite3_bind_int64(c->del_session, 1, c->ids[i]);
		sqlite3_bind_int64(c->del_session, 2, c->counts[i]);
		sqlite3_step(c->del_session);
		sqlite3_reset(c->del_session);
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s: cannot record the sessions sent: %s\n", kx_prog, c->db_path,
			sqlite3_errmsg(c->db));
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_lock(&c->mu);
	c->st.sessions_sent += n;
	pthread_mutex_unlock(&c->mu);
	return (int)n;
fail:
	sqlite3_reset(c->sel_sessions);
fail_reset:
	PQclear(PQexec(c->pg, "ROLLBACK"));
	drop_connection(c, err);
	return -1;
}

/* Runs change until they end (finish time, counters): send this process's
 * run and the runs of recent batches once more, as they are now. */
static void resend_runs(struct kx_central *c)
{
	char err[512];
	int64_t ids[RUN_MAP_SLOTS + 1];
	unsigned n = 0;
	if (!c->pg)
		return;
	for (unsigned i = 0; i < c->n_runs; i++)
		ids[n++] = c->runs[i].local_id;
	if (c->run_id > 0)
		ids[n++] = c->run_id;
	c->n_runs = 0;
	for (unsigned i = 0; i < n; i++) {
		if (central_run(c, ids[i], true, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: central store %s: %s\n", kx_prog, c->target, err);
			return;
		}
		if (c->n_runs == RUN_MAP_SLOTS) /* the map must not wrap while we walk ids */
			c->n_runs = 0;
	}
}

/* Folds the pending rows when this shipper has sent fold_every rows since
 * its last fold, or any when caught up (or at the end: wait for another
 * folder, then fold what is left). A folder already running may have
 * taken its last chunk before our commit: our count stays, so the next
 * call (the final one waits) tries again. A failed fold leaves its rows
 * pending (exact either way): the connection is dropped, the next fold
 * retries. */
static void maybe_fold(struct kx_central *c, bool caught_up, bool wait)
{
	char err[512];
	uint64_t folded;
	if (!c->pg || c->fold_every == 0 || c->unfolded == 0 ||
	    (!caught_up && c->unfolded < c->fold_every))
		return;
	int rc = kx_pg_rollup_fold(c->pg, 0, wait, &folded, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s: central store %s: rows left pending for the rollups: %s\n",
			kx_prog, c->target, err);
		PQfinish(c->pg);
		c->pg = NULL;
		c->n_runs = 0;
		return;
	}
	if (rc == 0)
		c->unfolded = 0;
}

static void *shipper(void *arg)
{
	struct kx_central *c = arg;
	/* Whether the server answers, said at once rather than at the first
	 * batch (whose connection may wait connect_timeout). Only a ping: the
	 * session and the schema wait for the first rows, as before. */
	char err[256];
	if (kx_pg_probe(c->url, err, sizeof(err)) < 0)
		say_down(c, err);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		bool stopping = c->stop;
		uint64_t deadline = c->deadline_ms;
		pthread_mutex_unlock(&c->mu);

		int64_t backlog = local_backlog(c);
		int n = 0;
		if (backlog > 0 && (!stopping || now_ms() < deadline)) {
			n = ship_batch(c);
			/* Handshakes first; the sessions once they are all out. */
			if (n == 0)
				n = ship_sessions(c);
		}
		if (n > 0) {
			backlog = local_backlog(c);
			maybe_fold(c, backlog <= 0, false);
		}

		pthread_mutex_lock(&c->mu);
		c->st.backlog = backlog;
		/* Done, out of time, or the next retry would come too late. A
		 * backlog counted before the stop may miss the rows of the last
		 * local commit, which comes just before it: only one counted
		 * after it says "done" (the stop nudges: no wait until then). */
		if (c->stop) {
			uint64_t t = now_ms();
			if ((stopping && backlog <= 0) || t >= c->deadline_ms ||
			    (n < 0 && c->next_try_ms >= c->deadline_ms))
				break;
		}
		if (n > 0 && backlog > 0)
			continue; /* more to send: no pause */
		/* Sleep until the next poll, or the next retry after a failure;
		 * kx_central_stop ends either early. */
		uint64_t t = now_ms(), wait = c->poll_ms;
		if (n < 0)
			wait = c->next_try_ms > t ? c->next_try_ms - t : 0;
		if (!c->nudged && wait > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (wait % 1000) * 1000000u;
			ts.tv_sec += (time_t)(wait / 1000 + ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		}
		if (c->retry_now) {
			c->next_try_ms = 0;
			c->retry_now = false;
		}
		c->nudged = false;
	}
	pthread_mutex_unlock(&c->mu);
	maybe_fold(c, true, true);
	resend_runs(c);
	return NULL;
}

/* Stops the reader (the shipper has ended or never started) and frees
 * everything. */
static void destroy(struct kx_central *c)
{
	if (c->rth_started) {
		pthread_mutex_lock(&c->rmu);
		c->rd_quit = true;
		pthread_cond_broadcast(&c->rcv);
		pthread_mutex_unlock(&c->rmu);
		pthread_join(c->rth, NULL);
	}
	PQfinish(c->pg);
	sqlite3_finalize(c->sel_sessions);
	sqlite3_finalize(c->del_session);
	sqlite3_finalize(c->sel_session_backlog);
	sqlite3_finalize(c->sel_rows);
	sqlite3_finalize(c->sel_run);
	sqlite3_finalize(c->sel_sources);
	sqlite3_finalize(c->sel_backlog);
	sqlite3_finalize(c->set_mark);
	/* The reader's first: the last connection to close checkpoints and
	 * removes the WAL, which a read-only one cannot. */
	sqlite3_close(c->rdb);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->rmu);
	pthread_cond_destroy(&c->rcv);
	for (unsigned i = 0; i < 2; i++)
		if (c->bufs[i]) {
			free(c->bufs[i]->offs);
			free(c->bufs[i]->a.p);
			free(c->bufs[i]);
		}
	free(c->insert_sql);
	free(c->session_sql);
	free(c->copy);
	free(c->params);
	free(c->offs);
	free(c->arena.p);
	free(c->url);
	free(c->db_path);
	free(c);
}

int kx_central_start(const struct kx_central_opts *o, struct kx_central **ret, char *err,
		     size_t errlen)
{
	*ret = NULL;
	struct kx_central *c = calloc(1, sizeof(*c));
	if (!c || !(c->url = strdup(o->url)) || !(c->db_path = strdup(o->db_path))) {
		snprintf(err, errlen, "out of memory");
		goto fail_early;
	}
	c->batch = o->batch_rows ? o->batch_rows : DEFAULT_BATCH;
	if (c->batch > MAX_BATCH)
		c->batch = MAX_BATCH;
	c->poll_ms = o->poll_ms ? o->poll_ms : 1000;
	c->max_backoff_ms = o->max_backoff_ms ? o->max_backoff_ms : 60000;
	c->st.backlog = -1;
	c->run_id = o->run_id;
	const char *fe = getenv("KEXWATCH_PG_FOLD_EVERY");
	c->fold_every = fe && *fe ? strtoull(fe, NULL, 10) : DEFAULT_FOLD_EVERY;
	for (unsigned i = 0; i < kx_pg_n_hs_cols; i++) {
		if (strcmp(kx_pg_hs_cols[i].name, "ts_first_us") == 0)
			c->ts_col = i;
		if (strcmp(kx_pg_hs_cols[i].name, "dedup_key") == 0)
			c->dedup_col = i;
	}
	for (unsigned k = 0, pos = 0; k < kx_pg_n_rollup_cols; k++) {
		c->new_pick[k] = 0;
		for (unsigned i = 0; i < kx_pg_n_hs_cols; i++)
			if (strcmp(kx_pg_hs_cols[i].name, kx_pg_rollup_cols[k]) == 0)
				c->new_pick[k] = i + 1;
		pos += (unsigned)snprintf(c->new_cols + pos, sizeof(c->new_cols) - pos, "%s%s",
					  k ? ", " : "", kx_pg_rollup_cols[k]);
	}
	kx_pg_redact(c->url, c->target, sizeof(c->target));
	size_t n_params = (size_t)MAX_BATCH * (kx_pg_n_hs_cols + 1);
	c->params = calloc(n_params, sizeof(*c->params));
	c->offs = calloc(n_params, sizeof(*c->offs));
	c->ready = -1;
	c->rd_want = -1;
	for (unsigned i = 0; i < 2; i++) {
		if (!(c->bufs[i] = calloc(1, sizeof(*c->bufs[i]))) ||
		    !(c->bufs[i]->offs = calloc(n_params, sizeof(*c->bufs[i]->offs))))
			break;
		c->bufs[i]->after = -1;
	}
	if (!c->params || !c->offs || !c->bufs[0] || !c->bufs[1] || !c->bufs[1]->offs) {
		snprintf(err, errlen, "out of memory");
		goto fail_early;
	}
	if (open_local(c, err, errlen) < 0)
		goto fail_early;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_init(&c->rmu, NULL);
	pthread_cond_init(&c->rcv, NULL);
	c->rth_started = pthread_create(&c->rth, NULL, reader, c) == 0;
	if (!c->rth_started || pthread_create(&c->th, NULL, shipper, c) != 0) {
		snprintf(err, errlen, "cannot start the central store thread");
		destroy(c);
		return -1;
	}
	*ret = c;
	return 0;
fail_early:
	if (c) {
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		pthread_mutex_init(&c->rmu, NULL);
		pthread_cond_init(&c->rcv, NULL);
		destroy(c);
	}
	return -1;
}

void kx_central_stats(struct kx_central *c, struct kx_central_stats *s)
{
	pthread_mutex_lock(&c->mu);
	*s = c->st;
	pthread_mutex_unlock(&c->mu);
}

void kx_central_forget_run(struct kx_central *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->run_id = 0;
	pthread_mutex_unlock(&c->mu);
}

void kx_central_stop(struct kx_central *c, unsigned drain_ms, struct kx_central_stats *s)
{
	if (!c) {
		if (s)
			memset(s, 0, sizeof(*s));
		return;
	}
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	c->deadline_ms = now_ms() + drain_ms;
	/* A retry scheduled beyond the drain still gets one chance. */
	c->retry_now = drain_ms > 0;
	c->nudged = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	if (s)
		*s = c->st;
	destroy(c);
}
