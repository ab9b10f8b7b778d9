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
 *   rollup_cbom     per endpoint, the algorithms cbom lists (13);
 *   rollup_client_* per client: its distinct servers and SNIs with their
 *                   counters, its legs and ClientHellos over all sensors
 *                   (14), so the full-range `clients` reads a few rows
 *                   per client, not every pair;
 *   rollup_daily_*  per day and endpoint or client, the handshakes in
 *                   each of the states `changes` compares (15), so a
 *                   month's baseline reads a row per endpoint-day and
 *                   client-day, not every handshake;
 *   rollup_legs_all rollup_legs over all sensors (16): what the
 *                   all-sensor reports read, a third of the rows here;
 *   rollup_weekly_* the daily rows summed per week over all sensors
 *                   (16): a month reads four weeks and the days at its
 *                   ends.
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

/* One definition of a rolled-up leg for both engines: the SQLite fold
 * below and the central store's (src/central/pg_rollup.c) select the same
 * key with two dialect words. GREATEST is the two-argument maximum
 * (SQLite's max(), PostgreSQL's greatest()), B(x) a condition as 0 or 1
 * (SQLite's booleans are integers already, PostgreSQL's need a cast).
 * NULLs cannot be part of a key: '' or -1 stand for none. */
#define KX_ROLLUP_B_SQLITE(x) x
#define KX_ROLLUP_B_PG(x) "(" x ")::int"
#define KX_ROLLUP_LEGS_KEY(GREATEST, B) KX_ROLLUP_LEGS_KEY_S(" sensor,", GREATEST, B)
/* The same with SENSOR as the fourth key column (" sensor,"), or without
 * one (""): rollup_legs_all's key, all sensors together (schema 16). */
#define KX_ROLLUP_LEGS_KEY_S(SENSOR, GREATEST, B)                                      \
	"server_ip, server_port, coalesce(sni, '')," SENSOR " protocol,"               \
	" coalesce(group_name, ''), coalesce(group_family, ''), verdict,"              \
	" coalesce(reason, ''), " B("offers_pq <> 0") ", " B("hrr <> 0") ","           \
	" coalesce(hrr_group, -1),"                                                    \
	" CASE WHEN " GREATEST "(ch_bytes, coalesce(ch2_bytes, 0)) = 0 THEN 0"         \
	" WHEN " GREATEST "(ch_bytes, coalesce(ch2_bytes, 0)) < 1500 THEN 1 ELSE 2 END," \
	" " B("ch_segments = 0") ", coalesce(" B("ch_to_sh_us >= 1000000") ", 0),"     \
	" count(*), min(ts_first_us), max(ts_last_us), max(ch_to_sh_us), max(ts_first_us)"
/* rollup_legs' key columns, in the order of KX_ROLLUP_LEGS_KEY. */
#define KX_ROLLUP_LEGS_PK KX_ROLLUP_LEGS_PK_S(" sensor,")
#define KX_ROLLUP_LEGS_PK_S(SENSOR)                                                    \
	"server_ip, server_port, sni," SENSOR " protocol, group_name, group_family,"   \
	" verdict, reason, offers_pq, hrr, hrr_group, band, ch_seg0, slow"
/* Adding a delta to a leg; LEAST and GREATEST as above. The
 * two-argument max() of SQLite is NULL when either is: coalesce both. */
#define KX_ROLLUP_LEGS_ADD(LEAST, GREATEST)                                            \
	KX_ROLLUP_LEGS_ADD_TO("rollup_legs", KX_ROLLUP_LEGS_PK, LEAST, GREATEST)
#define KX_ROLLUP_LEGS_ADD_TO(TABLE, PK, LEAST, GREATEST)                              \
	" ON CONFLICT (" PK ") DO UPDATE SET n = " TABLE ".n + excluded.n,"             \
	" first_us = " LEAST "(" TABLE ".first_us, excluded.first_us),"                \
	" last_us = " GREATEST "(" TABLE ".last_us, excluded.last_us),"                \
	" max_ch_to_sh_us = " GREATEST "(coalesce(" TABLE ".max_ch_to_sh_us,"          \
	"  excluded.max_ch_to_sh_us), coalesce(excluded.max_ch_to_sh_us,"              \
	"  " TABLE ".max_ch_to_sh_us)),"                                               \
	" newest_first_us = " GREATEST "(" TABLE ".newest_first_us, excluded.newest_first_us)"

/* What `changes` compares (src/report/changes.c): the states of a leg,
 * each a condition over kx_legs' columns that reads 0 or 1 alike in SQLite
 * and PostgreSQL (is_session 0 or 1, offers_pq an integer, a reason
 * compared through coalesce). One definition for the report's query over
 * the legs and for the daily rollups (schema 15), which count the
 * handshakes in each state per day. A Kyber-draft or classical
 * endpoint is the server's doing when a client offered PQ (server-declined,
 * or TLS 1.2 chosen although PQ was offered in TLS 1.3). */
enum kx_leg_state {
	KX_LS_NONE, KX_LS_STRONG, KX_LS_DECLINED, KX_LS_DRAFT, KX_LS_TLS13, KX_LS_TLS12,
	KX_LS_ENCRYPTED, KX_LS_PLAIN, KX_LS_CLASSICAL, KX_LS_OFFER, KX_LS_NOOFFER, KX_LS_COUNT
};
#define KX_LS_NONE_SQL "(1 = 0)"
#define KX_LS_STRONG_SQL "(is_session = 0 AND verdict IN ('hybrid', 'pq'))"
#define KX_LS_DECLINED_SQL                                                              \
	"(is_session = 0 AND verdict = 'classical'"                                     \
	" AND (coalesce(reason, '') = 'server-declined'"                                \
	" OR (coalesce(reason, '') = 'tls12' AND offers_pq <> 0)))"
#define KX_LS_DRAFT_SQL "(is_session = 0 AND verdict = 'hybrid-draft')"
#define KX_LS_TLS13_SQL "(is_session = 0 AND protocol = 'tls' AND version_code = 772)"
#define KX_LS_TLS12_SQL "(is_session = 0 AND protocol = 'tls' AND version_code = 771)"
#define KX_LS_ENCRYPTED_SQL "(verdict NOT IN ('plaintext', 'incomplete'))"
#define KX_LS_PLAIN_SQL "(is_session = 1 AND verdict = 'plaintext')"
#define KX_LS_CLASSICAL_SQL "(is_session = 0 AND verdict = 'classical')"
#define KX_LS_OFFER_SQL "(is_session = 0 AND ch_bytes > 0 AND offers_pq <> 0)"
#define KX_LS_NOOFFER_SQL                                                               \
	"(is_session = 0 AND ch_bytes > 0 AND offers_pq = 0"                            \
	" AND coalesce(reason, '') <> 'offer-unseen')"
/* The states the daily rollups count (rollup_daily_endpoints has a
 * column for each endpoint state, rollup_daily_clients for each client
 * state), as bit masks: changes.c reads them only when its kinds use no
 * other state. A handshake is never plaintext (a sessions row is): its
 * count there is 0 in both. */
#define KX_LS_ENDPOINT_MASK                                                             \
	((1u << KX_LS_STRONG) | (1u << KX_LS_DECLINED) | (1u << KX_LS_DRAFT) |          \
	 (1u << KX_LS_TLS13) | (1u << KX_LS_TLS12) | (1u << KX_LS_ENCRYPTED) |          \
	 (1u << KX_LS_PLAIN) | (1u << KX_LS_CLASSICAL))
#define KX_LS_CLIENT_MASK ((1u << KX_LS_PLAIN) | (1u << KX_LS_OFFER) | (1u << KX_LS_NOOFFER))
/* A day of the daily rollups: ts_first_us / KX_ROLLUP_DAY_US (UTC days;
 * a report uses only days >= 1 whole, so truncation toward zero for times
 * before 1970 never matters). */
#define KX_ROLLUP_DAY_US (86400LL * 1000000LL)
/* A week of the weekly rollups (schema 16): day / KX_ROLLUP_WEEK_DAYS, weeks
 * counted from the epoch (Thursdays: nothing needs them aligned to a
 * calendar week). */
#define KX_ROLLUP_WEEK_DAYS 7

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

/* Schema 14's per-client rollups, created with a new inventory. */
extern const char kx_rollup_client_schema[];

/* The schema 14 migration, inside its transaction: creates schema 14's
 * rollups and fills them from the rollups of the rows already folded.
 * Returns 0 or -1 with the message in err. */
int kx_rollup_client_upgrade(struct sqlite3 *db, char *err, size_t errlen);

/* Schema 15's daily rollups for `changes`: per endpoint
 * (rollup_daily_endpoints) or client (rollup_daily_clients), UTC day of
 * the first segment and sensor, the handshakes and how many were in each
 * state (KX_LS_*_MASK), created with a new inventory. */
extern const char kx_rollup_daily_schema[];

/* The schema 15 migration, inside its transaction: creates the daily
 * rollups and fills them from the raw rows already folded (id <=
 * folded_id); rows pruned before the upgrade are in neither. Returns 0 or
 * -1 with the message in err. */
int kx_rollup_daily_upgrade(struct sqlite3 *db, char *err, size_t errlen);

/* Schema 16's rollups over all sensors: rollup_legs_all (rollup_legs
 * without the sensor) and rollup_daily_*'s rows summed per week
 * (rollup_weekly_endpoints, rollup_weekly_clients), created with a new
 * inventory. */
extern const char kx_rollup_weekly_schema[];

/* The schema 16 migration, inside its transaction: creates those and
 * fills them from rollup_legs and the daily rollups. Returns 0 or -1 with
 * the message in err. */
int kx_rollup_weekly_upgrade(struct sqlite3 *db, char *err, size_t errlen);

/* Folds handshake rows above folded_id, at most chunk_rows per
 * transaction (0: a default of 50 000), until none is left or max_rows
 * rows were folded (0: no limit). The connection must be outside a
 * transaction. progress, when not NULL, gets one line per chunk when the
 * tail is larger than one chunk. Returns the number of rows folded, or -1
 * with the message in err. */
int64_t kx_rollup_fold(struct sqlite3 *db, int64_t chunk_rows, int64_t max_rows,
		       FILE *progress, char *err, size_t errlen);

/* Folds one chunk of at most chunk_rows rows in one write transaction;
 * *left says whether more are waiting, *held_us how long the write lock
 * was held (the wait for it not counted). For callers that size their
 * chunks to a lock budget (prune). Returns the rows folded or -1. */
int64_t kx_rollup_fold_one(struct sqlite3 *db, int64_t chunk_rows, bool *left,
			   int64_t *held_us, char *err, size_t errlen);

/* Empties the rollups and folds every handshake row again. */
int64_t kx_rollup_rebuild(struct sqlite3 *db, FILE *progress, char *err, size_t errlen);

/* `kexwatch rollup`: opens the inventory at path as a writer (upgrading
 * an older schema), then folds its tail or, with rebuild, recomputes the
 * rollups from every raw row. Returns the rows folded or -1. */
int64_t kx_rollup_file(const char *path, bool rebuild, FILE *progress, char *err,
		       size_t errlen);

struct kx_prune_opts;
struct kx_prune_stats;

/* The rollups' retention (rollup_retention.c, `prune
 * --rollups-older-than`): forgets the endpoints, clients and fingerprint
 * sets last seen before cutoff_us, and the hourly rows of hours that began
 * before it, in write transactions sized to o->max_lock_ms; counts into
 * st. The tail must have been folded. Returns 0, or -1 with the message
 * in err. */
int kx_rollup_forget(struct sqlite3 *db, int64_t cutoff_us, const struct kx_prune_opts *o,
		     struct kx_prune_stats *st, char *err, size_t errlen);

/* The number of handshake rows above folded_id (the tail), or -1 when the
 * file has no rollups (a schema older than 12). */
int64_t kx_rollup_tail(struct sqlite3 *db);

#endif
