/* SPDX-License-Identifier: BSD-2-Clause */
/* central.h: the central PostgreSQL inventory that many sensors share.
 *
 * SQLite stays each sensor's own inventory. With --pg, a shipper thread
 * sends every handshake row of the local file to PostgreSQL (and the
 * sessions without a handshake, see shipper.c): the local
 * handshakes table is the outbox and the table central_outbox remembers,
 * per central store, the highest row id already sent. Rows go in id order,
 * in batches, one PostgreSQL transaction each (COPY straight into
 * handshakes, in key order; when a row is there already, COPY into a
 * per-session staging table, then merged into handshakes with ON CONFLICT
 * DO NOTHING), with the same de-duplication key as SQLite (ts_first_us,
 * dedup_key), so a batch sent twice (crash between the remote commit and
 * the local mark) adds nothing. When the server is down or slow, rows simply
 * stay in the local file and the shipper retries with bounded exponential
 * back-off; capture never waits for the network.
 *
 * Reports read a central store by loading the rows in their scope (window,
 * sensor) into a temporary SQLite file (kx_pg_snapshot) inside one
 * read-only, repeatable-read transaction: the same SQL then gives the same
 * answers as on a sensor's own file. hops, clients, health, audit and
 * fingerprints (on a schema 7 store; 4 for fingerprints) instead run their
 * aggregate queries in PostgreSQL and load only the answer rows
 * (kx_pg_read_open, kx_pg_read_table) into in-memory SQLite tables.
 */
#ifndef KEXWATCH_CENTRAL_H
#define KEXWATCH_CENTRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The PostgreSQL schema version kexwatch creates (table kexwatch_meta). */
#define KX_PG_SCHEMA_VERSION 12

/* True for "postgresql://..." and "postgres://..." URIs and for libpq
 * key=value connection strings containing "dbname=" or "host=". */
bool kx_pg_is_url(const char *s);

/* The connection target without secrets, for messages and the run record:
 * "postgresql://user@host:port/dbname". */
void kx_pg_redact(const char *url, char *out, size_t len);

struct kx_central;

struct kx_central_opts {
	const char *url;         /* libpq URI or connection string */
	const char *db_path;     /* the sensor's SQLite file (already migrated) */
	unsigned batch_rows;     /* rows per PostgreSQL transaction (default 1000) */
	unsigned poll_ms;        /* look for new local rows this often (default 1000) */
	unsigned max_backoff_ms; /* longest wait between retries (default 60000) */
	int64_t run_id;          /* this process's local run, re-sent when it ends (0: none) */
};

struct kx_central_stats {
	uint64_t sent;      /* rows the central store accepted as new */
	uint64_t present;   /* rows it already had */
	uint64_t errors;    /* failed connections and batches */
	uint64_t rejected;  /* rows the server refused as invalid data (logged, skipped) */
	uint64_t sessions_sent; /* sessions rows sent (new or grown; upserted) */
	int64_t backlog;    /* local rows not sent yet (handshakes, and sessions rows
			     * changed since sent); -1 before the first look */
	bool connected;
};

/* Starts the shipper thread. Returns 0, or -1 with a message in err (bad
 * options, cannot open the local file). A central store that is down is not
 * an error: rows wait in the outbox. */
int kx_central_start(const struct kx_central_opts *o, struct kx_central **ret, char *err,
		     size_t errlen);

/* Thread-safe snapshot of the counters. */
void kx_central_stats(struct kx_central *c, struct kx_central_stats *s);

/* Sends what is left for at most drain_ms (0: stop at once), stops the
 * thread and frees c (NULL is accepted). *s gets the final counters. Rows
 * not sent stay in the outbox for the next run or `kexwatch push`. */
void kx_central_stop(struct kx_central *c, unsigned drain_ms, struct kx_central_stats *s);
/* The run was discarded locally (kx_store_discard_run): not sent at the end. */
void kx_central_forget_run(struct kx_central *c);

/* The part of a central store a report needs: handshakes and sessions rows
 * whose first packet is in [since_us, until_us), of one sensor (NULL: all),
 * last packet at or after live_from_us; the same test the reports apply. */
struct kx_pg_scope {
	int64_t since_us, until_us, live_from_us;
	const char *sensor;
};

/* Copies the central store's runs and sources, and the handshakes and
 * sessions in scope (NULL: all), into a new SQLite inventory at out_path
 * (created with the current schema). The scope is applied by PostgreSQL
 * (the monthly partitions outside it are not read), so a window costs what
 * it holds. Reads in one READ ONLY REPEATABLE READ transaction. Returns 0,
 * or -1 with a message in err. */
int kx_pg_snapshot(const char *url, const char *out_path, const struct kx_pg_scope *scope,
		   char *err, size_t errlen);

/* A read-only session on a central store for reports that run their
 * aggregate SQL inside PostgreSQL and bring back only the answer rows.
 * kx_pg_read_open connects, reads kexwatch_meta's schema_version and, when
 * it is at least min_version (and not newer than this build's), begins one
 * READ ONLY REPEATABLE READ transaction in a read-only session: every query
 * of the report then sees the same picture while sensors keep writing. The
 * transaction runs without JIT (jit = off: compiling cost more than the
 * reports' queries save).
 * Returns 0 with *ret, 1 when the store's schema is older than min_version
 * (nothing is left open: the caller falls back to kx_pg_snapshot), or -1
 * with a message in err. */
struct kx_pg_read;
struct sqlite3;
int kx_pg_read_open(const char *url, int min_version, struct kx_pg_read **ret, char *err,
		    size_t errlen);

/* Runs sql with n_params text parameters ($1..$n; NULL pointers are SQL
 * NULL) and loads its rows, in the order PostgreSQL returns them, into a
 * new table of db named table, with the result's column names; integer and
 * numeric results become INTEGER columns, the rest TEXT (as the SQLite
 * report SQL types them). Returns 0, or -1 with a message in err. */
int kx_pg_read_table(struct kx_pg_read *r, const char *sql, int n_params,
		     const char *const *params, struct sqlite3 *db, const char *table, char *err,
		     size_t errlen);

/* The store's schema version (kexwatch_meta), as read by kx_pg_read_open. */
int kx_pg_read_version(const struct kx_pg_read *r);

/* Ends the transaction and the session (NULL is accepted). */
void kx_pg_read_close(struct kx_pg_read *r);

struct kx_pg_prune_stats {
	uint64_t partitions_dropped; /* whole months before the cutoff */
	uint64_t rows_dropped;       /* the rows they held */
	uint64_t rows_deleted;       /* older rows of the month across the cutoff */
	uint64_t rows_folded;        /* pending rows folded into the rollups first */
	uint64_t endpoints_forgotten; /* rollup retention: endpoints last seen before it */
	uint64_t rollup_rows_deleted; /* their rollup rows */
	uint64_t sessions_deleted;   /* hourly sessions rows of hours before it */
	uint64_t clients_forgotten;  /* schema 12: clients last seen before it */
	uint64_t client_rows_deleted; /* their client rollup rows */
};

/* Removes the central handshakes that began before cutoff_us: drops the
 * monthly partitions wholly before it and deletes the older rows of the one
 * across it, in one transaction (upgrading an older schema first). Runs
 * stay. With rollup_cutoff_us (<= cutoff_us; INT64_MIN: keep the rollups
 * whole) the rollup retention too, in the same transaction: an endpoint
 * (server address, port, SNI, over all sensors) last seen before it is
 * forgotten with its whole history (its rollup rows), one seen since keeps
 * all of its history; sessions rows of hours that began before it go.
 * The retention holds the folders' lock (it waits for a fold running)
 * and folds every pending row first, so no fold adds to an endpoint
 * while it goes (pg_prune.c).
 * Returns 0, or -1 with a message in err. */
int kx_pg_prune(const char *url, int64_t cutoff_us, int64_t rollup_cutoff_us,
		struct kx_pg_prune_stats *st, char *err, size_t errlen);

/* `kexwatch rollup` on a central store (schema 10): folds every pending
 * row into the rollups (waiting for a folder already running, then
 * folding what it left), upgrading an older schema first. Returns 0 with
 * the rows folded in *folded, or -1 with a message in err. */
int kx_pg_fold(const char *url, uint64_t *folded, char *err, size_t errlen);

#endif
