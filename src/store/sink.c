/* SPDX-License-Identifier: BSD-2-Clause */
/* sink.c: the writer thread between the engine and the outputs (see sink.h).
 *
 * A single-producer single-consumer ring: the capture thread copies a row
 * into the slot at `tail` and publishes it by advancing `tail`; the writer
 * handles rows in place from `head` and frees their slots by advancing
 * `head`. Neither side takes a lock per row. The mutex and condition
 * variables are used only to sleep: the writer when the ring is empty, the
 * capture thread when it is full. Each side announces that it is about to
 * sleep (an `idle`/`waiting` flag) and re-checks the ring afterwards; the
 * other side signals when it sees the flag. With sequentially consistent
 * atomics on both the flags and the indices, a wake-up cannot be missed.
 */
#include "kexwatch/prog.h"
#include "kexwatch/sink.h"

#include "kexwatch/dpi.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kx_sink {
	struct kx_sink_opts o;
	struct kx_hs *ring;
	uint32_t cap;
	_Atomic uint32_t head, tail;   /* free-running; slot = index % cap */
	_Atomic bool writer_idle, producer_waiting;
	_Atomic bool stop, flush_now, failed, reopen;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct kx_dpi *dpi;            /* the writer thread's, for ndpi_labels */
	char err[512];                 /* written once, under the lock */
	struct kx_counters c;          /* the writer's own: merged on close */
	/* Copies of the writer's database counters, for metrics during a run. */
	_Atomic uint64_t pub_written, pub_duplicate, pub_errors;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Records the first failure; the capture thread sees it on its next put. */
static void fail(struct kx_sink *k, const char *what)
{
	pthread_mutex_lock(&k->lock);
	if (!atomic_load(&k->failed))
		snprintf(k->err, sizeof(k->err), "%s", what);
	atomic_store(&k->failed, true);
	pthread_cond_broadcast(&k->not_full);
	pthread_mutex_unlock(&k->lock);
}

static void write_row(struct kx_sink *k, struct kx_hs *hs)
{
	if (hs->ndpi_pending && k->dpi) {
		kx_dpi_label_by_name(k->dpi, (enum kx_dpi_proto)(hs->ndpi_pending - 1), hs->sni,
				     hs->server_ip.a, hs->server_ip.family, hs->ndpi_label,
				     sizeof(hs->ndpi_label));
		hs->ndpi_pending = 0;
	} else if (hs->is_session && k->dpi && !hs->ndpi_label[0]) {
		kx_dpi_label_by_port(k->dpi, hs->transport, hs->client_ip.a, hs->client_port,
				     hs->server_ip.a, hs->server_port, hs->server_ip.family,
				     hs->ndpi_label, sizeof(hs->ndpi_label));
	}
	if (k->o.store && kx_store_add(k->o.store, hs, &k->c) < 0)
		fail(k, kx_store_error(k->o.store));
	/* A row the database already had (a capture read again) was sent
	 * downstream the first time: its event would be a duplicate. */
	bool dup = k->o.store && kx_store_last_dup(k->o.store) && !k->o.json_all;
	if (k->o.json && !dup) {
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
	atomic_store(&k->pub_written, k->c.db_rows_written);
	atomic_store(&k->pub_duplicate, k->c.db_rows_duplicate);
	atomic_store(&k->pub_errors, k->c.db_errors);
}

/* Sleeps until rows arrive, a stop or flush is asked, or `ms` pass. */
static void wait_for_rows(struct kx_sink *k, uint32_t h, long ms)
{
	pthread_mutex_lock(&k->lock);
	atomic_store(&k->writer_idle, true);
	if (atomic_load(&k->tail) == h && !atomic_load(&k->stop) && !atomic_load(&k->flush_now) &&
	    !atomic_load(&k->reopen)) {
		struct timespec until;
		deadline(&until, ms);
		pthread_cond_timedwait(&k->not_empty, &k->lock, &until);
	}
	atomic_store(&k->writer_idle, false);
	pthread_mutex_unlock(&k->lock);
}

static void *writer(void *arg)
{
	struct kx_sink *k = arg;
	if (k->o.ndpi_labels && !(k->dpi = kx_dpi_join(k->o.ndpi_labels)))
		fail(k, "cannot initialise nDPI (out of memory?)");
	uint64_t last_commit = mono_ms();
	for (;;) {
		uint32_t h = atomic_load(&k->head);
		uint32_t t = atomic_load(&k->tail);
		bool stopping = atomic_load(&k->stop);
		if (h == t && !stopping && !atomic_load(&k->flush_now) && !atomic_load(&k->reopen)) {
			uint64_t since = mono_ms() - last_commit;
			if (since < k->o.flush_ms) {
				wait_for_rows(k, h, (long)(k->o.flush_ms - since));
				continue;
			}
		}
		/* After a failure rows are still taken off the ring, so the capture
		 * side never blocks forever, but no longer written. */
		for (uint32_t i = h; i != t; i++) {
			if (!atomic_load(&k->failed))
				write_row(k, &k->ring[i % k->cap]);
			if ((i & 31) == 31 || i + 1 == t) {
				atomic_store(&k->head, i + 1);
				if (atomic_load(&k->producer_waiting)) {
					pthread_mutex_lock(&k->lock);
					pthread_cond_signal(&k->not_full);
					pthread_mutex_unlock(&k->lock);
				}
			}
		}
		uint64_t now = mono_ms();
		bool flush = atomic_exchange(&k->flush_now, false);
		if (atomic_exchange(&k->reopen, false) && k->o.json) {
			char m[512];
			kx_json_flush(k->o.json);
			/* Events keep going to the old file: a warning, not a failure. */
			if (kx_json_reopen(k->o.json, m, sizeof(m)) < 0)
				fprintf(stderr, "%s: warning: cannot reopen the JSON output: %s; "
					"still writing to the old file\n", kx_prog, m);
		}
		if (flush || now - last_commit >= k->o.flush_ms || (stopping && h == t)) {
			commit(k);
			last_commit = now;
		}
		if (stopping && h == t)
			break;
	}
	return NULL;
}

struct kx_sink *kx_sink_new(const struct kx_sink_opts *o, char *err, size_t errlen)
{
	struct kx_sink *k = calloc(1, sizeof(*k));
	if (!k) {
		kx_dpi_free(kx_dpi_join(o->ndpi_labels));
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->o = *o;
	if (!k->o.flush_ms)
		k->o.flush_ms = 1000;
	k->cap = k->o.queue ? k->o.queue : 1024;
	k->ring = malloc((size_t)k->cap * sizeof(*k->ring));
	if (!k->ring) {
		kx_dpi_free(kx_dpi_join(o->ndpi_labels));
		snprintf(err, errlen, "out of memory for %u queued rows", k->cap);
		free(k);
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->not_empty, NULL);
	pthread_cond_init(&k->not_full, NULL);
	int rc = pthread_create(&k->thread, NULL, writer, k);
	if (rc) {
		kx_dpi_free(kx_dpi_join(o->ndpi_labels));
		snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
		pthread_mutex_destroy(&k->lock);
		pthread_cond_destroy(&k->not_empty);
		pthread_cond_destroy(&k->not_full);
		free(k->ring);
		free(k);
		return NULL;
	}
	return k;
}

int kx_sink_put(struct kx_sink *k, const struct kx_hs *hs)
{
	uint32_t t = atomic_load(&k->tail);
	while (t - atomic_load(&k->head) == k->cap) {
		if (atomic_load(&k->failed))
			return -1;
		pthread_mutex_lock(&k->lock);
		atomic_store(&k->producer_waiting, true);
		if (t - atomic_load(&k->head) == k->cap && !atomic_load(&k->failed)) {
			struct timespec until;
			deadline(&until, 100);
			pthread_cond_timedwait(&k->not_full, &k->lock, &until);
		}
		atomic_store(&k->producer_waiting, false);
		pthread_mutex_unlock(&k->lock);
	}
	if (atomic_load(&k->failed))
		return -1;
	/* The SSH part (1.7 KB of a 2.9 KB row) is read only for SSH rows. */
	memcpy(&k->ring[t % k->cap], hs, hs->preclassified ? sizeof(*hs) : offsetof(struct kx_hs, ssh));
	atomic_store(&k->tail, t + 1);
	if (atomic_load(&k->writer_idle)) {
		pthread_mutex_lock(&k->lock);
		pthread_cond_signal(&k->not_empty);
		pthread_mutex_unlock(&k->lock);
	}
	return 0;
}

static void poke(struct kx_sink *k, _Atomic bool *flag)
{
	atomic_store(flag, true);
	pthread_mutex_lock(&k->lock);
	pthread_cond_signal(&k->not_empty);
	pthread_mutex_unlock(&k->lock);
}

void kx_sink_flush(struct kx_sink *k)
{
	poke(k, &k->flush_now);
}

void kx_sink_reopen(struct kx_sink *k)
{
	poke(k, &k->reopen);
}

uint32_t kx_sink_queued(struct kx_sink *k)
{
	return atomic_load(&k->tail) - atomic_load(&k->head);
}

void kx_sink_stats(struct kx_sink *k, struct kx_counters *c)
{
	c->db_rows_written = atomic_load(&k->pub_written);
	c->db_rows_duplicate = atomic_load(&k->pub_duplicate);
	c->db_errors = atomic_load(&k->pub_errors);
}

bool kx_sink_failed(struct kx_sink *k)
{
	return atomic_load(&k->failed);
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
	poke(k, &k->stop);
	pthread_join(k->thread, NULL);
	/* kx_sink_close ends a run: the process exits next. */
	kx_dpi_release_at_exit(k->dpi);
	c->db_rows_written += k->c.db_rows_written;
	c->db_rows_duplicate += k->c.db_rows_duplicate;
	c->db_errors += k->c.db_errors;
	int rc = atomic_load(&k->failed) ? -1 : 0;
	if (rc)
		snprintf(err, errlen, "%s", k->err);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->not_empty);
	pthread_cond_destroy(&k->not_full);
	free(k->ring);
	free(k);
	return rc;
}
