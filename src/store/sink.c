/* sink.c: the writer thread between the engine and the outputs (see sink.h). */
#include "kexwatch/sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kx_sink {
	struct kx_sink_opts o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct kx_hs *ring;
	uint32_t cap, head, count; /* head: next row to write */
	bool stop, flush_now, failed;
	bool writer_failed;        /* the writer's unlocked copy of failed */
	char err[512];
	struct kx_counters c;      /* the writer's own: merged on close */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Records the first failure; the capture thread sees it on its next put. */
static void fail(struct kx_sink *k, const char *what)
{
	pthread_mutex_lock(&k->lock);
	if (!k->failed)
		snprintf(k->err, sizeof(k->err), "%s", what);
	k->failed = true;
	pthread_cond_broadcast(&k->not_full);
	pthread_mutex_unlock(&k->lock);
	k->writer_failed = true;
}

/* Writes one row; runs on the writer thread without the lock. */
static void write_row(struct kx_sink *k, const struct kx_hs *hs)
{
	if (k->o.store && kx_store_add(k->o.store, hs, &k->c) < 0)
		fail(k, kx_store_error(k->o.store));
	if (k->o.json) {
		const char *src = hs->source_id < k->o.n_sources ? k->o.sources[hs->source_id] : "";
		if (kx_json_write(k->o.json, hs, k->o.sensor, src) < 0) {
			char m[256];
			snprintf(m, sizeof(m), "JSON output: write failed: %s", strerror(errno));
			fail(k, m);
		}
	}
}

static void commit(struct kx_sink *k)
{
	if (k->o.store && kx_store_flush(k->o.store, &k->c) < 0)
		fail(k, kx_store_error(k->o.store));
	if (k->o.json && kx_json_flush(k->o.json) < 0)
		fail(k, "JSON output: flush failed");
}

static void *writer(void *arg)
{
	struct kx_sink *k = arg;
	uint64_t last_commit = mono_ms();
	/* Rows are copied out in small batches so the lock is held briefly. */
	enum { BATCH = 32 };
	struct kx_hs *batch = malloc(BATCH * sizeof(*batch));
	if (!batch) {
		fail(k, "writer: out of memory");
		return NULL;
	}
	pthread_mutex_lock(&k->lock);
	for (;;) {
		while (!k->count && !k->stop && !k->flush_now) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 200 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&k->not_empty, &k->lock, &until);
			if (mono_ms() - last_commit >= k->o.flush_ms)
				break;
		}
		uint32_t n = 0;
		while (k->count && n < BATCH) {
			batch[n++] = k->ring[k->head];
			k->head = (k->head + 1) % k->cap;
			k->count--;
		}
		bool stop = k->stop && !k->count && !n;
		bool flush = k->flush_now;
		k->flush_now = false;
		pthread_cond_broadcast(&k->not_full);
		pthread_mutex_unlock(&k->lock);

		/* After a failure rows are still taken off the queue (so the
		 * capture side never blocks forever) but no longer written. */
		for (uint32_t i = 0; i < n && !k->writer_failed; i++)
			write_row(k, &batch[i]);
		uint64_t now = mono_ms();
		if (flush || stop || now - last_commit >= k->o.flush_ms) {
			commit(k);
			last_commit = now;
		}
		pthread_mutex_lock(&k->lock);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&k->lock);
	free(batch);
	return NULL;
}

struct kx_sink *kx_sink_new(const struct kx_sink_opts *o, char *err, size_t errlen)
{
	struct kx_sink *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->o = *o;
	if (!k->o.flush_ms)
		k->o.flush_ms = 1000;
	k->cap = k->o.queue ? k->o.queue : 1024;
	k->ring = malloc((size_t)k->cap * sizeof(*k->ring));
	if (!k->ring) {
		snprintf(err, errlen, "out of memory for %u queued rows", k->cap);
		free(k);
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->not_empty, NULL);
	pthread_cond_init(&k->not_full, NULL);
	int rc = pthread_create(&k->thread, NULL, writer, k);
	if (rc) {
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
		free(k->ring);
		free(k);
		return NULL;
	}
	return k;
}

int kx_sink_put(struct kx_sink *k, const struct kx_hs *hs)
{
	pthread_mutex_lock(&k->lock);
	while (k->count == k->cap && !k->failed)
		pthread_cond_wait(&k->not_full, &k->lock);
	if (k->failed) {
		pthread_mutex_unlock(&k->lock);
		return -1;
	}
	k->ring[(k->head + k->count) % k->cap] = *hs;
	k->count++;
	pthread_cond_signal(&k->not_empty);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

void kx_sink_flush(struct kx_sink *k)
{
	pthread_mutex_lock(&k->lock);
	k->flush_now = true;
	pthread_cond_signal(&k->not_empty);
	pthread_mutex_unlock(&k->lock);
}

bool kx_sink_failed(struct kx_sink *k)
{
	pthread_mutex_lock(&k->lock);
	bool f = k->failed;
	pthread_mutex_unlock(&k->lock);
	return f;
}

void kx_sink_error(struct kx_sink *k, char *buf, size_t len)
{
	pthread_mutex_lock(&k->lock);
	snprintf(buf, len, "%s", k->err);
	pthread_mutex_unlock(&k->lock);
}

int kx_sink_close(struct kx_sink *k, struct kx_counters *c, char *err, size_t errlen)
{
	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_signal(&k->not_empty);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	c->db_rows_written += k->c.db_rows_written;
	c->db_rows_duplicate += k->c.db_rows_duplicate;
	c->db_errors += k->c.db_errors;
	int rc = k->failed ? -1 : 0;
	if (rc)
		snprintf(err, errlen, "%s", k->err);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->not_empty);
	pthread_cond_destroy(&k->not_full);
	free(k->ring);
	free(k);
	return rc;
}
