/* SPDX-License-Identifier: BSD-2-Clause */
/* checkpointer.c: see checkpointer.h. */
#include "checkpointer.h"

#include "kexwatch/rollup.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct kx_checkpointer {
	sqlite3 *db;
	char *path;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool poked, stop, fold;
	bool fold_failed;
	uint64_t failed;
};

/* Rows above folded_id into the rollups, a chunk per transaction, so the
 * writer's next commit waits at most one chunk for the lock. */
#define FOLD_CHUNK 5000
#define CLOSE_FOLD_MAX 100000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fold(struct kx_checkpointer *k)
{
	char e[256];

	for (;;) {
		pthread_mutex_lock(&k->mu);
		bool stop = k->stop;
		pthread_mutex_unlock(&k->mu);
		/* At close the writer is done: what little is left (the rows of
		 * the last --rollup-every) is folded at once; a long tail (the
		 * fold fell behind a fast writer) stays for `kexwatch rollup` or
		 * the first report, rather than holding up the exit. */
		if (stop) {
			int64_t tail = kx_rollup_tail(k->db);
			if (tail > 0 && tail <= CLOSE_FOLD_MAX &&
			    kx_rollup_fold(k->db, 0, 0, NULL, e, sizeof(e)) < 0 && !k->fold_failed) {
				k->fold_failed = true;
				fprintf(stderr, "kexwatch: %s: folding rows into the rollups failed: %s\n",
					k->path, e);
			}
			return;
		}
		int64_t t0 = mono_ms();
		int64_t n = kx_rollup_fold(k->db, FOLD_CHUNK, FOLD_CHUNK, NULL, e, sizeof(e));
		/* Leave the lock free for at least as long as the chunk held
		 * it, and 100 ms more: SQLite's busy handler polls every 100 ms
		 * once it has waited a while, and a writer that never sees the
		 * lock free would give up (busy timeout) and lose its batch. */
		if (n > 0) {
			int64_t pause = mono_ms() - t0 + 100;
			nanosleep(&(struct timespec){ .tv_sec = pause / 1000,
						      .tv_nsec = (long)(pause % 1000) * 1000000 },
				  NULL);
		}
		if (n < 0 && !k->fold_failed) {
			k->fold_failed = true;
			fprintf(stderr,
				"kexwatch: %s: folding rows into the rollups failed: %s (reports read"
				" them from the raw rows meanwhile)\n",
				k->path, e);
		}
		if (n <= 0)
			return;
	}
}

static void *run(void *arg)
{
	struct kx_checkpointer *k = arg;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->poked && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if (!k->poked)
			break;
		k->poked = false;
		bool want_fold = k->fold;
		k->fold = false;
		pthread_mutex_unlock(&k->mu);
		if (want_fold)
			fold(k);
		/* PASSIVE copies what no reader still needs and gives up instead
		 * of waiting; what it leaves is taken by the next round, or by
		 * the checkpoint SQLite runs when the last connection closes. */
		int rc = sqlite3_wal_checkpoint_v2(k->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL,
						   NULL);
		pthread_mutex_lock(&k->mu);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED && !k->failed++)
			fprintf(stderr,
				"kexwatch: %s: background checkpoint failed: %s (the write-ahead log"
				" keeps the rows; it is checkpointed again at close)\n",
				k->path, sqlite3_errmsg(k->db));
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

struct kx_checkpointer *kx_checkpointer_start(const char *path, char *err, size_t errlen)
{
	struct kx_checkpointer *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->path = (char *)path;
	/* Checkpoints need no page cache; the folds' GROUP BY over a chunk of
	 * new rows does (8 MiB). */
	if (sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		    SQLITE_OK ||
	    /* Before the first statement: reading the schema can meet another
	     * connection's lock (the last one closing checkpoints the WAL). */
	    sqlite3_busy_timeout(k->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(k->db, "PRAGMA cache_size = -8192; PRAGMA wal_autocheckpoint = 0", NULL, NULL,
			 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: checkpoint connection: %s", path,
			 k->db ? sqlite3_errmsg(k->db) : "out of memory");
		sqlite3_close(k->db);
		free(k);
		return NULL;
	}
	/* The busy timeout lets a fold wait for the writer's transaction
	 * (PASSIVE checkpoints never call the busy handler). */
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if (pthread_create(&k->thread, NULL, run, k) != 0) {
		snprintf(err, errlen, "%s: cannot start the checkpoint thread", path);
		pthread_mutex_destroy(&k->mu);
		pthread_cond_destroy(&k->cv);
		sqlite3_close(k->db);
		free(k);
		return NULL;
	}
	return k;
}

void kx_checkpointer_fold(struct kx_checkpointer *k)
{
	pthread_mutex_lock(&k->mu);
	k->fold = k->poked = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

void kx_checkpointer_poke(struct kx_checkpointer *k)
{
	pthread_mutex_lock(&k->mu);
	k->poked = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

uint64_t kx_checkpointer_stop(struct kx_checkpointer *k)
{
	if (!k)
		return 0;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	/* The close that follows checkpoints everything anyway; a fold asked
	 * for is still done. */
	k->poked = k->fold;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	uint64_t failed = k->failed;
	sqlite3_close(k->db);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
	return failed;
}
