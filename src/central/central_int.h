/* SPDX-License-Identifier: BSD-2-Clause */
/* central_int.h: what the shipper and the snapshot share: the column lists
 * of the mirrored tables and the PostgreSQL connection and schema. */
#ifndef KEXWATCH_CENTRAL_INT_H
#define KEXWATCH_CENTRAL_INT_H

#include "pq_dl.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kx_pg_col {
	const char *name;
	const char *pg_type; /* as created in PostgreSQL */
};

/* handshakes columns after id and run_id, in the order of SQLite's
 * handshakes view (central schema 5); a schema 1 central store has the first
 * kx_pg_n_hs_cols_v1 of them, schema 2 and 3 the first kx_pg_n_hs_cols_v3,
 * schema 4 the first kx_pg_n_hs_cols_v4. */
extern const struct kx_pg_col kx_pg_hs_cols[];
extern const unsigned kx_pg_n_hs_cols, kx_pg_n_hs_cols_v1, kx_pg_n_hs_cols_v3, kx_pg_n_hs_cols_v4;

/* runs columns after id, in SQLite table order; schema 1: the first
 * kx_pg_n_run_cols_v1. */
extern const struct kx_pg_col kx_pg_run_cols[];
extern const unsigned kx_pg_n_run_cols, kx_pg_n_run_cols_v1;

/* sessions columns after id and run_id (central schema 2). */
extern const struct kx_pg_col kx_pg_session_cols[];
extern const unsigned kx_pg_n_session_cols;

/* "a, b, c" of a column list, quoted; -1 if it does not fit. */
int kx_pg_col_list(const struct kx_pg_col *cols, unsigned n, const char *prefix, char *out,
		   size_t len);

/* Connects (10 s connect timeout unless the URL sets one, application name
 * "kexwatch"). Returns NULL with libpq's message (callers name the target). */
PGconn *kx_pg_connect(const char *url, char *err, size_t errlen);
/* Whether the server answers at all (PQping: no session, no schema work),
 * within KX_PG_PROBE_S seconds unless the URL sets its own connect_timeout.
 * 0 when it does, -1 with the reason in err. */
#define KX_PG_PROBE_S 3
int kx_pg_probe(const char *url, char *err, size_t errlen);

/* Creates or checks the schema (kexwatch_meta.schema_version) under an
 * advisory lock, so sensors starting together do not race. */
int kx_pg_ensure_schema(PGconn *pg, char *err, size_t errlen);

/* Schema 3's monthly partitions of handshakes: the month (year * 12 +
 * month - 1, UTC) of a timestamp, the first microsecond of a month, and
 * creating the missing ones in a short transaction of their own. */
int64_t kx_pg_month_of(int64_t us);
int64_t kx_pg_month_start_us(int64_t month);
int kx_pg_ensure_months(PGconn *pg, const int64_t *months, unsigned n, char *err, size_t errlen);

/* Schema 9's rollup tables (pg_rollup.c), and adding the rows of table
 * (the folder's kx_fold, or handshakes when an upgrade builds them) to
 * them, inside the caller's transaction. */
extern const char kx_pg_rollup_schema[], kx_pg_rollup_drop[];
/* The columns of handshakes a fold reads (run_id first), which the
 * pending table holds. */
extern const char *const kx_pg_rollup_cols[];
extern const unsigned kx_pg_n_rollup_cols;
int kx_pg_rollup_add(PGconn *pg, const char *table, char *err, size_t errlen);

/* Schema 10: rollup_pending alone (for a schema 9 store), and the folder:
 * moves pending rows into the rollups, chunk rows per transaction (0:
 * KX_PG_FOLD_CHUNK), until none is left. Only one folder at a time (the
 * advisory lock KX_PG_FOLD_LOCK): with wait it waits for another one to
 * finish, without it returns 1 at once if one is running. 0 when done
 * (*folded rows moved), -1 with the message in err (the chunk of the
 * failed transaction stays pending). Outside any transaction. */
extern const char kx_pg_rollup_pending_schema[];
/* Schema 11: a schema 10 store's text pairs to ids, views in their place. */
extern const char kx_pg_rollup_pair_ids_migrate[];
/* Schema 11 to 12, inside the schema transaction: rollup_pending's new
 * columns and the client rollups, built from every handshake; the rows
 * pending then are folded into the endpoints' rollups (their copies lack
 * the clients' columns): none is pending after it. */
int kx_pg_rollup_clients_upgrade(PGconn *pg, char *err, size_t errlen);
#define KX_PG_FOLD_CHUNK 500000
#define KX_PG_FOLD_LOCK "1801812089"
int kx_pg_rollup_fold(PGconn *pg, uint64_t chunk, bool wait, uint64_t *folded, char *err,
		      size_t errlen);
/* Inside the caller's transaction, which holds KX_PG_FOLD_LOCK (prune):
 * folds every pending row its statement sees, in one go. 0 (*folded rows
 * moved) or -1 with the message in err. */
int kx_pg_rollup_fold_in(PGconn *pg, uint64_t *folded, char *err, size_t errlen);

/* The server's message for a failed command, on one line. */
const char *kx_pg_errmsg(PGconn *pg, PGresult *res);

#endif
