/* SPDX-License-Identifier: BSD-2-Clause */
/* store.h: the SQLite inventory. One row per handshake, one row per run.
 *
 * Rows are inserted inside an open transaction with a prepared statement and
 * committed in batches (every `batch_rows` rows, or when kx_store_tick sees
 * `flush_ms` elapsed), in WAL mode, so a killed process loses at most the
 * last batch and never leaves a half-written row. The same handshake read
 * twice (same sensor, protocol, endpoints and first timestamp) is ignored.
 */
#ifndef KEXWATCH_STORE_H
#define KEXWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/counters.h"
#include "kexwatch/hs.h"

/* The schema this build writes and reads (PRAGMA user_version), and the
 * PRAGMA application_id that marks a file as a kexwatch inventory ("kexw"). */
#define KX_STORE_SCHEMA_VERSION 16
#define KX_STORE_APP_ID 0x6b657877

/* SQL for a sessions row's verdict in the words of schema 11: a session
 * whose handshake was not seen (reason 'handshake-unseen') is 'no-verdict',
 * which schema 10 and earlier stored as 'unknown'. For rows of older files
 * (kexwatch merge). */
#define KX_SQL_SESSION_VERDICT(verdict, reason)                                        \
	" CASE WHEN " verdict " = 'unknown' AND " reason " = 'handshake-unseen'"        \
	" THEN 'no-verdict' ELSE " verdict " END"

struct kx_store;
struct sqlite3;

/* SQL for the RFC 3339 text of an integer microsecond timestamp, exactly as
 * kx_time_str() writes it ("invalid" past year 9999 or below zero). Rows
 * since schema v5 keep only the integer; views and reports format
 * aggregates (min, max) with it, once per group rather than once per row.
 * No '%' in it: reports paste it into printf formats. */
#define KX_SQL_TS_TEXT(us)                                                             \
	"CASE WHEN " us " BETWEEN 0 AND 253402300799999999 THEN replace(datetime("    \
	us " / 1000000, 'unixepoch'), ' ', 'T') || '.' || substr(" us " - " us        \
	" / 1000000 * 1000000 + 1000000, 2) || 'Z' ELSE 'invalid' END"

/* Zero fields take the defaults. */
struct kx_store_opts {
	unsigned batch_rows; /* commit after this many rows (default 500) */
	unsigned flush_ms;   /* and at least this often (default 1000) */
	unsigned busy_ms;    /* busy timeout when another process holds a lock (default 5000) */
	/* fold the new rows into the rollups (rollup.h) after a commit once
	 * this many are waiting (default 50000; UINT_MAX: never) */
	unsigned rollup_every;
	/* no checkpoint-and-fold thread: for commands that open the file only
	 * to upgrade it and fold in their own bounded transactions (prune,
	 * rollup), whose close must not fold a long tail in one lock */
	bool no_background;
};

/* Opens or creates the database, migrating the schema (PRAGMA user_version).
 * Refuses files that are not kexwatch inventories, newer schemas and
 * read-only files. opts may be NULL. Returns 0, or -1 with a message in err. */
int kx_store_open(const char *path, const struct kx_store_opts *opts,
		  struct kx_store **ret, char *err, size_t errlen);

/* Commits what is queued, then starts a run row. `sensor` names the
 * observation point and is part of every handshake's identity (NULL is
 * stored as ""); `command` is the command line for the audit trail (may be
 * NULL). Sources named by an earlier run are forgotten. */
int kx_store_begin_run(struct kx_store *st, const char *sensor, const char *command,
		       uint64_t started_us);

/* Names source `id` (a file path or interface) for the rows that follow;
 * rows whose source_id was never named get a NULL source. Commits at once. */
int kx_store_set_source(struct kx_store *st, uint32_t id, const char *name);

/* Queues one handshake; bumps c->db_rows_written / db_rows_duplicate / db_errors
 * as rows commit (the counts of a commit made by a call without counters show
 * up at the next call that has them). Returns 0, or -1 on a database error
 * (message via kx_store_error): the open batch is then rolled back as a whole
 * and the store carries on with the next row. */
int kx_store_add(struct kx_store *st, const struct kx_hs *hs, struct kx_counters *c);

/* Whether the last kx_store_add found its row already stored (a re-read
 * capture): the JSON writer then skips the event unless --json-all. */
bool kx_store_last_dup(const struct kx_store *st);

/* Commits when flush_ms have passed on now_ms since the last such commit.
 * now_ms is any millisecond clock (CLOCK_MONOTONIC, or capture time when
 * reading files); the first tick starts it and a clock that goes back
 * restarts the interval. Call at least once a second. */
int kx_store_tick(struct kx_store *st, uint64_t now_ms, struct kx_counters *c);

/* Commits everything queued now. */
int kx_store_flush(struct kx_store *st, struct kx_counters *c);

/* Commits the queued rows (bumping c), then writes the run's counters and
 * finish time and commits again. The run row is written even when the last
 * batch failed, so its db_errors tells. Returns 0, or -1 if either failed. */
int kx_store_end_run(struct kx_store *st, struct kx_counters *c, uint64_t finished_us);

/* Instead of kx_store_end_run, for a run that read nothing (every input
 * failed to open, no packet in any): its runs and sources rows go, so the
 * runs table lists only runs that looked at traffic. Nothing is removed if
 * a row points at the run. */
int kx_store_discard_run(struct kx_store *st, struct kx_counters *c);

const char *kx_store_error(const struct kx_store *st);

/* The id of the run kx_store_begin_run started (0 before). */
int64_t kx_store_run_id(const struct kx_store *st);

/* Flushes and closes; accepts NULL. A failure of this last commit cannot be
 * reported: call kx_store_end_run or kx_store_flush first. */
void kx_store_close(struct kx_store *st);

/* `kexwatch prune` on a file (prune.c): raw handshake rows that began
 * before a cutoff, deleted oldest first in write transactions kept near
 * max_lock_ms / 2 (and never the rows a central store has not received). */
struct kx_prune_opts {
	unsigned max_lock_ms; /* budget for one transaction (default 250) */
	unsigned pause_ms;    /* between transactions, for a waiting writer (default 20) */
	/* The rollup retention (<= the raw cutoff; INT64_MIN, the default:
	 * the rollups keep everything). An endpoint (server address, port,
	 * SNI, over all sensors), a client address or a fingerprint set last
	 * seen before it is forgotten with its whole history; one seen since
	 * keeps all of it. Hourly rows (rollup_hourly, sessions) of hours that
	 * began before it go. */
	int64_t rollup_cutoff_us;
};

struct kx_prune_stats {
	uint64_t rows_deleted;
	uint64_t rows_kept_unsent; /* older than the cutoff, not yet sent to a central store */
	uint64_t batches;
	int64_t longest_lock_us;   /* the longest write transaction (folds included) */
	int64_t waited_us;         /* waiting for the lock (another writer) */
	int64_t kept_for_central_from; /* outbox mark: rows above it stay; INT64_MAX: none */
	uint64_t rows_folded;      /* folded into the rollups before deleting */
	uint64_t fold_transactions; /* the fold's write transactions */
	uint64_t rows_kept_fence;  /* 1 when the row with the highest id is old: it stays */
	uint64_t endpoints_forgotten;    /* rollup retention */
	uint64_t clients_forgotten;
	uint64_t fingerprints_forgotten;
	uint64_t rollup_rows_deleted;    /* their rows in the rollup tables, hourly rows included */
	uint64_t sessions_deleted;       /* hourly sessions rows before the rollup cutoff */
	uint64_t sessions_kept_unsent;   /* ... kept: not yet sent to a central store */
	uint64_t rollup_transactions;
};

void kx_prune_opts_init(struct kx_prune_opts *o);

/* Refuses a path that is not an inventory (and upgrades an older one
 * first). Returns 0, or -1 with a message in err. o may be NULL. */
int kx_store_prune(const char *path, int64_t cutoff_us, const struct kx_prune_opts *o,
		   struct kx_prune_stats *st, char *err, size_t errlen);

/* Reads the schema version of an open database (the report uses it too):
 * 0 for an empty file, 1..KX_STORE_SCHEMA_VERSION for an inventory. Returns
 * -1 with a message naming path for other SQLite files, newer schemas and
 * files that are not databases. */
int kx_store_schema_version(struct sqlite3 *db, const char *path, char *err, size_t errlen);

/* A handshake's identity besides ts_first_us, as one integer (the
 * handshakes.dedup_key column): a 64-bit hash of sensor, protocol and both
 * endpoints as stored (addresses in text form). Two distinct handshakes
 * collide only when they start in the same microsecond and their 64-bit
 * hashes match. Stable across versions and machines: the central store and
 * merged files rely on it. */
int64_t kx_dedup_key(const char *sensor, const char *protocol, const char *client_ip,
		     unsigned client_port, const char *server_ip, unsigned server_port);

/* Registers kx_dedup_key(sensor, protocol, client_ip, client_port,
 * server_ip, server_port) as an SQL function on db (migration, merge). */
int kx_store_register_functions(struct sqlite3 *db);

#endif
