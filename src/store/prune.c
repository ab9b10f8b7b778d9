/* SPDX-License-Identifier: BSD-2-Clause */
/* prune.c: `kexwatch prune` on an SQLite inventory. Raw handshake rows that
 * began before the cutoff go, oldest first, in short write transactions
 * sized so that none holds the write lock for long: a capture writing to
 * the same file waits at most one batch. What stays:
 *  - the hourly `sessions` rows (already an aggregate, like the central
 *    store's prune keeps them) and the `runs`/`sources` records;
 *  - rows a central store has not received yet (above the outbox mark of
 *    any target): pruning them would lose them on the way to the fleet;
 *  - the de-duplicated `hellos` and `fingerprints` sets, which later rows
 *    share and whose number grows with software diversity, not traffic.
 * The file does not shrink (SQLite reuses the freed pages); VACUUM does
 * that offline. */
#include "kexwatch/rollup.h"
#include "kexwatch/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MIN 256
#define BATCH_MAX 65536
/* rows per fold transaction */
#define FOLD_MIN 50
#define FOLD_START 500
#define FOLD_MAX 200000

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(sqlite3 *db, const char *path, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", path, what, sqlite3_errmsg(db));
	return -1;
}

/* The newest row every central target has received; INT64_MAX without a
 * central outbox (nothing waits). */
static int outbox_mark(sqlite3 *db, int64_t *ret)
{
	sqlite3_stmt *s;
	*ret = INT64_MAX;
	if (sqlite3_prepare_v2(db, "SELECT min(last_id) FROM central_outbox", -1, &s, NULL) !=
	    SQLITE_OK)
		return strstr(sqlite3_errmsg(db), "no such table") ? 0 : -1;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*ret = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

void kx_prune_opts_init(struct kx_prune_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_lock_ms = 250;
	o->pause_ms = 20;
	o->rollup_cutoff_us = INT64_MIN;
}

int kx_store_prune(const char *path, int64_t cutoff_us, const struct kx_prune_opts *o,
		   struct kx_prune_stats *st, char *err, size_t errlen)
{
	struct kx_prune_opts def;
	struct kx_store *store = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *pick = NULL, *del_x = NULL, *del_r = NULL, *clear = NULL;
	int64_t mark;
	int rc = -1;

	if (!o) {
		kx_prune_opts_init(&def);
		o = &def;
	}
	memset(st, 0, sizeof(*st));
	if (access(path, F_OK) != 0) { /* opening would create an empty inventory */
		snprintf(err, errlen, "%s: no such file", path);
		return -1;
	}
	/* Opening it as the writer does refuses what is not an inventory and
	 * upgrades an older schema first; prune then works on the latest. */
	if (kx_store_open(path, &(struct kx_store_opts){ .no_background = true }, &store, err, errlen) < 0)
		return -1;
	kx_store_close(store);

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		fail(db, path, "open", err, errlen);
		goto out;
	}
	/* A capture's writer holds its transaction for up to a flush interval. */
	sqlite3_busy_timeout(db, 10000);
	/* The writer's page cache: the fold's upserts land all over the
	 * rollups' B-trees, which SQLite's default 2 MiB does not hold. */
	if (sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA cache_size = -16384;"
			     " CREATE TEMP TABLE prune_ids (id INTEGER PRIMARY KEY)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    outbox_mark(db, &mark) < 0) {
		fail(db, path, "prepare", err, errlen);
		goto out;
	}
	st->kept_for_central_from = mark;
	/* Raw rows leave, their history stays in the rollups: fold every row
	 * first, in chunks sized like the delete batches below (measured, kept
	 * near half the lock budget: a row that adds new endpoints and clients
	 * costs about 130 us to fold here, one that adds to existing keys a
	 * few). Only folded rows go, and never the row with the highest id:
	 * SQLite gives a new row the highest id plus one, and a fence below
	 * folded_id would hide the rows after it from the next fold. */
	{
		int64_t chunk = FOLD_START, budget = (int64_t)o->max_lock_ms * 1000;
		for (bool left = true; left;) {
			int64_t held, n = kx_rollup_fold_one(db, chunk, &left, &held, err, errlen);
			if (n < 0)
				goto out;
			st->rows_folded += (uint64_t)n;
			st->fold_transactions++;
			if (held > st->longest_lock_us)
				st->longest_lock_us = held;
			if (!left)
				break;
			if (held * 4 < budget && chunk < FOLD_MAX)
				chunk *= 2;
			else if (held * 2 > budget && chunk > FOLD_MIN)
				chunk /= 2;
			if (o->pause_ms)
				nanosleep(&(struct timespec){ .tv_nsec = (long)o->pause_ms * 1000000 },
					  NULL);
		}
	}
	sqlite3_stmt *lim;
	if (sqlite3_prepare_v2(db, "SELECT min((SELECT folded_id FROM rollup_state),"
				   " (SELECT coalesce(max(id), 0) - 1 FROM handshake_rows))",
			       -1, &lim, NULL) != SQLITE_OK) {
		fail(db, path, "prepare", err, errlen);
		goto out;
	}
	int64_t limit = mark;
	if (sqlite3_step(lim) == SQLITE_ROW && sqlite3_column_int64(lim, 0) < limit)
		limit = sqlite3_column_int64(lim, 0);
	sqlite3_finalize(lim);
	/* Oldest first through the (ts_first_us, dedup_key) index. */
	if (sqlite3_prepare_v2(db, "INSERT INTO prune_ids SELECT id FROM handshake_rows"
				   " WHERE ts_first_us < ?1 AND id <= ?2 ORDER BY ts_first_us LIMIT ?3",
			       -1, &pick, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM handshake_extras WHERE id IN prune_ids", -1, &del_x,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM handshake_rows WHERE id IN prune_ids", -1, &del_r,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM prune_ids", -1, &clear, NULL) != SQLITE_OK) {
		fail(db, path, "prepare", err, errlen);
		goto out;
	}
	sqlite3_bind_int64(pick, 1, cutoff_us);
	sqlite3_bind_int64(pick, 2, limit);

	int batch = BATCH_MIN;
	for (;;) {
		int64_t t0 = mono_us();
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			fail(db, path, "begin", err, errlen);
			goto out;
		}
		int64_t locked = mono_us();
		st->waited_us += locked - t0;
		sqlite3_bind_int(pick, 3, batch);
		int n = 0;
		bool ok = sqlite3_step(pick) == SQLITE_DONE;
		if (ok && (n = sqlite3_changes(db)) > 0) {
			ok = sqlite3_step(del_x) == SQLITE_DONE && sqlite3_step(del_r) == SQLITE_DONE;
			st->rows_deleted += ok ? (uint64_t)sqlite3_changes(db) : 0;
		}
		if (!ok) {
			fail(db, path, "delete", err, errlen);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		sqlite3_step(clear);
		sqlite3_reset(pick);
		sqlite3_reset(del_x);
		sqlite3_reset(del_r);
		sqlite3_reset(clear);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			fail(db, path, "commit", err, errlen);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		int64_t held = mono_us() - locked;
		if (held > st->longest_lock_us)
			st->longest_lock_us = held;
		st->batches++;
		if (n < batch)
			break;
		/* Keep each transaction near half the lock budget. */
		if (held * 4 < (int64_t)o->max_lock_ms * 1000 && batch < BATCH_MAX)
			batch *= 2;
		else if (held * 2 > (int64_t)o->max_lock_ms * 1000 && batch > BATCH_MIN)
			batch /= 2;
		if (o->pause_ms) /* let a waiting writer in */
			nanosleep(&(struct timespec){ .tv_nsec = (long)o->pause_ms * 1000000 }, NULL);
	}
	{
		/* Whether the fence (the highest id) is itself an old row. */
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM handshake_rows WHERE id = (SELECT"
					   " max(id) FROM handshake_rows) AND ts_first_us < ?1 AND id <= ?2",
				       -1, &s, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, cutoff_us);
			sqlite3_bind_int64(s, 2, mark);
			if (sqlite3_step(s) == SQLITE_ROW)
				st->rows_kept_fence = (uint64_t)sqlite3_column_int64(s, 0);
			sqlite3_finalize(s);
		}
	}
	if (mark != INT64_MAX) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM handshake_rows"
					   " WHERE ts_first_us < ?1 AND id > ?2", -1, &s, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(s, 1, cutoff_us);
			sqlite3_bind_int64(s, 2, mark);
			if (sqlite3_step(s) == SQLITE_ROW)
				st->rows_kept_unsent = (uint64_t)sqlite3_column_int64(s, 0);
			sqlite3_finalize(s);
		}
	}
	if (o->rollup_cutoff_us != INT64_MIN &&
	    kx_rollup_forget(db, o->rollup_cutoff_us, o, st, err, errlen) < 0)
		goto out;
	/* Hand the freed WAL back: the next capture starts from a short log. */
	sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
	rc = 0;
out:
	sqlite3_finalize(pick);
	sqlite3_finalize(del_x);
	sqlite3_finalize(del_r);
	sqlite3_finalize(clear);
	sqlite3_close(db);
	return rc;
}
