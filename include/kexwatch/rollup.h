/* SPDX-License-Identifier: BSD-2-Clause */
/* rollup.h: the aggregates the reports read instead of every handshake row.
 *
 * Three all-time tables, keyed so that what the reports count adds up:
 *   rollup_legs     one row per (endpoint, sensor, protocol, group, verdict,
 *                   reason, HRR, ClientHello size band, ...) with the number
 *                   of handshakes, first and last time, slowest ServerHello;
 *   rollup_pairs    one row per (endpoint, client, sensor);
 *   rollup_clients  the distinct clients per endpoint and sensor, and per
 *                   endpoint over all sensors (rollup_clients_all), kept up
 *                   to date as new pairs appear, so `hops` never counts
 *                   distinct clients over the history;
 *   rollup_runs     the runs that have folded handshakes;
 *   rollup_fp_*     per fingerprint set: legs, clients, endpoints (13);
 *   rollup_cbom     per endpoint, the algorithms cbom lists (13).
 * rollup_state.folded_id says which handshake rows are in them: every row
 * with id <= folded_id, none above. A report reads the rollups plus the
 * rows above folded_id (a rowid range) plus the sessions table (already
 * one row per hour), in one read transaction, so its answer is the raw
 * rows' answer whether the tail is folded or not. Folding moves rows from
 * the tail into the rollups in one transaction; a process killed halfway
 * leaves the previous state. Pruning deletes raw rows, never rollups: the
 * history stays in the full-range reports.
 */
#ifndef KEXWATCH_ROLLUP_H
#define KEXWATCH_ROLLUP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sqlite3;

/* The tables, created with a new inventory and by the schema 12 migration
 * (folded_id 0: nothing folded yet). */
extern const char kx_rollup_schema[];

/* Schema 13's rollups (rollup_fp_legs, rollup_fp_clients,
 * rollup_fp_endpoints for `fingerprints`, rollup_cbom for `cbom`),
 * created with a new inventory. */
extern const char kx_rollup_fp_schema[];

/* The schema 13 migration, inside its transaction: creates schema 13's
 * rollups and fills them from the raw rows already folded
 * (id <= folded_id), so the boundary holds for every rollup. Rows pruned
 * before the upgrade are not in them (nor in the raw rows). Returns 0 or
 * -1 with the message in err. */
int kx_rollup_fp_upgrade(struct sqlite3 *db, char *err, size_t errlen);

/* Folds handshake rows above folded_id, at most chunk_rows per
 * transaction (0: a default of 50 000), until none is left or max_rows
 * rows were folded (0: no limit). The connection must be outside a
 * transaction. progress, when not NULL, gets one line per chunk when the
 * tail is larger than one chunk. Returns the number of rows folded, or -1
 * with the message in err. */
int64_t kx_rollup_fold(struct sqlite3 *db, int64_t chunk_rows, int64_t max_rows,
		       FILE *progress, char *err, size_t errlen);

/* Empties the rollups and folds every handshake row again. */
int64_t kx_rollup_rebuild(struct sqlite3 *db, FILE *progress, char *err, size_t errlen);

/* `kexwatch rollup`: opens the inventory at path as a writer (upgrading
 * an older schema), then folds its tail or, with rebuild, recomputes the
 * rollups from every raw row. Returns the rows folded or -1. */
int64_t kx_rollup_file(const char *path, bool rebuild, FILE *progress, char *err,
		       size_t errlen);

/* The number of handshake rows above folded_id (the tail), or -1 when the
 * file has no rollups (a schema older than 12). */
int64_t kx_rollup_tail(struct sqlite3 *db);

#endif
