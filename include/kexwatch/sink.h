/* SPDX-License-Identifier: BSD-2-Clause */
/* sink.h: where finished handshakes go. The capture thread hands each row
 * to the sink; a writer thread turns it into an SQLite row and a JSON event,
 * so database work (formatting, B-tree updates, WAL writes, commits) and
 * nDPI's label lookups by name never run on the packet path. The queue between them is bounded: when the
 * writer falls behind, the capture thread waits (saved captures) rather
 * than drop rows.
 */
#ifndef KEXWATCH_SINK_H
#define KEXWATCH_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/counters.h"
#include "kexwatch/dpi.h"
#include "kexwatch/emit.h"
#include "kexwatch/hs.h"
#include "kexwatch/store.h"

struct kx_sink;

struct kx_sink_opts {
	struct kx_store *store;      /* or NULL */
	struct kx_json *json;        /* or NULL */
	const char *sensor;
	bool json_all;               /* JSON events also for rows already stored */
	const char *const *sources;  /* source names by id, valid until close */
	uint32_t n_sources;
	unsigned flush_ms;           /* commit at least this often (default 1000) */
	unsigned queue;              /* rows in flight (default 1024) */
	/* If set, the nDPI module (being created) that looks up the label of
	 * rows arriving with hs.ndpi_pending. The sink owns it from
	 * kx_sink_new on, even when that fails: the writer joins it before the
	 * first row and kx_sink_close releases it. */
	struct kx_dpi_async *ndpi_labels;
};

struct kx_sink *kx_sink_new(const struct kx_sink_opts *o, char *err, size_t errlen);

/* Queues a copy of hs (blocks while the queue is full). Returns -1 once the
 * writer has failed (see kx_sink_error). */
int kx_sink_put(struct kx_sink *k, const struct kx_hs *hs);

/* Asks the writer to commit what it has (it also does so every flush_ms). */
void kx_sink_flush(struct kx_sink *k);

/* Asks the writer to reopen the JSON output file (after log rotation). */
void kx_sink_reopen(struct kx_sink *k);

/* Rows waiting for the writer. */
uint32_t kx_sink_queued(struct kx_sink *k);

/* Sets c's database counters to the writer's, as of its last commit. */
void kx_sink_stats(struct kx_sink *k, struct kx_counters *c);

bool kx_sink_failed(struct kx_sink *k);
void kx_sink_error(struct kx_sink *k, char *buf, size_t len);

/* Ends a run (the process exits next: the nDPI module is left to the exit,
 * see kx_dpi_release_at_exit).
 * Drains the queue, commits, stops the writer and adds its counters
 * (db_rows_written, db_rows_duplicate, db_errors) to c. Returns 0, or -1
 * with the first failure in err. Does not close the store or the JSON
 * output. Accepts NULL. */
int kx_sink_close(struct kx_sink *k, struct kx_counters *c, char *err, size_t errlen);

#endif
