/* SPDX-License-Identifier: BSD-2-Clause */
/* metrics.h: Prometheus metrics for `kexwatch live`.
 *
 * Two threads, one shared thing. The capture thread accounts handshakes
 * (kx_metrics_observe) and, about once a second, renders the complete
 * exposition text into a fresh buffer and swaps it in (kx_metrics_publish).
 * A listener thread answers GET /metrics from the last published buffer. The
 * mutex between them guards only the pointer to that buffer and its reference
 * count, so a slow or hostile scraper can never stall packet processing, and
 * a scrape never sees a half-updated set of counters.
 *
 * Every series carries a `sensor` label (the --sensor name), so several
 * sensors can be scraped into one Prometheus, or merged through node
 * exporter's textfile collector, without relabelling. Metric names, labels
 * and their bounds are listed in contrib/prometheus/README.md.
 *
 * Typical use from the capture loop:
 *
 *	struct kx_metrics *m = kx_metrics_new(sensor);
 *	kx_metrics_set_build_info(m, ndpi_version, pcap_lib_version());   (optional)
 *	kx_metrics_listen(m, "127.0.0.1:9707", err, sizeof(err));
 *	... per finished handshake or session:  kx_metrics_observe(m, hs);
 *	... once a second:           kx_metrics_publish(m, &counters, ifs, n, flows, queued);
 *	kx_metrics_free(m);
 */
#ifndef KEXWATCH_METRICS_H
#define KEXWATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "kexwatch/counters.h"
#include "kexwatch/hs.h"
#include "kexwatch/regress.h"

struct kx_metrics;

/* Kernel and interface counters of one capture handle, as pcap_stats()
 * reports them (ps_recv, ps_drop, ps_ifdrop). */
struct kx_iface_stats {
	char name[32];
	uint64_t received, dropped, if_dropped;
};

/* Label sets of kexwatch_handshakes_total kept apart. Once full, new
 * combinations are counted with group="other" (and in
 * kexwatch_handshakes_label_overflow_total), so a peer cycling through
 * 65536 unknown code points cannot grow the exposition. */
#define KX_METRICS_MAX_LABEL_SETS 256

/* HTTP listener limits. A connection must send its request and take the
 * whole answer within the deadline; once every slot is taken, the oldest
 * connection older than KX_METRICS_EVICT_AGE_MS is closed to make room, so
 * slow clients cannot lock a scraper out for long. */
#define KX_METRICS_MAX_CLIENTS  16
#define KX_METRICS_DEADLINE_MS  5000
#define KX_METRICS_EVICT_AGE_MS 1000
#define KX_METRICS_MAX_REQUEST  4096

/* Returns NULL when out of memory. The sensor name is copied. An initial
 * exposition (all counters zero) is published at once, so a scrape that
 * comes before the first kx_metrics_publish gets valid text. */
struct kx_metrics *kx_metrics_new(const char *sensor);

/* Optional labels of kexwatch_build_info (KX_VERSION is always there).
 * Either may be NULL; strings are copied and show from the next publish. */
void kx_metrics_set_build_info(struct kx_metrics *m, const char *ndpi, const char *libpcap);

/* Capture thread: accounts one finished handshake, or a session without
 * one (hs->is_session: kexwatch_sessions_total only). Cheap: a hash probe
 * and a few increments, no allocation, no lock. Must not run concurrently with
 * kx_metrics_publish (call both from the same thread). */
void kx_metrics_observe(struct kx_metrics *m, const struct kx_hs *hs);

/* Counts one regression (kexwatch_regressions_total{kind}); same thread. */
void kx_metrics_regression(struct kx_metrics *m, enum kx_regress_kind k);

/* Capture thread, about once a second: renders the whole exposition (the
 * handshakes observed so far, the run counters c, n_ifs interface stats,
 * the active flow count and the rows waiting for the database writer) into
 * a new buffer and swaps it in. c and ifs are read during the call only;
 * ifs may be NULL when n_ifs is 0. On allocation failure the previous text
 * stays published. */
void kx_metrics_publish(struct kx_metrics *m, const struct kx_counters *c,
			const struct kx_iface_stats *ifs, unsigned n_ifs, uint32_t active_flows,
			uint64_t db_queue);

/* With a central store (--pg): the rows waiting in the local outbox, shown
 * as kexwatch_central_backlog_rows from the next publish on (capture thread). */
void kx_metrics_set_central_backlog(struct kx_metrics *m, int64_t rows);

/* Starts the HTTP listener thread on "ADDR:PORT": "127.0.0.1:9707",
 * "[::1]:9707", or ":9707" for every address (IPv6 dual-stack, IPv4 when
 * the host has no IPv6). Addresses are numeric. Port 0 picks a free port
 * (see kx_metrics_port). The thread blocks every signal, so SIGINT, SIGTERM
 * and SIGHUP keep going to the capture thread. Returns 0, or -1 with a
 * message in err. At most one listener per struct kx_metrics. */
int kx_metrics_listen(struct kx_metrics *m, const char *addr_port, char *err, size_t errlen);

/* The bound port, 0 before a successful kx_metrics_listen. */
uint16_t kx_metrics_port(const struct kx_metrics *m);

/* Copies the current exposition text into buf, like snprintf: returns its
 * full length, stores what fits and NUL-terminates when len > 0. */
size_t kx_metrics_text(struct kx_metrics *m, char *buf, size_t len);

/* Writes the current exposition text to path through path.tmp + rename, so
 * a reader (node exporter's textfile collector) never sees a partial file.
 * Returns 0, or -1 with a message in err. */
int kx_metrics_write_file(struct kx_metrics *m, const char *path, char *err, size_t errlen);

/* Stops the listener thread (open connections are closed) and frees
 * everything. Accepts NULL. */
void kx_metrics_free(struct kx_metrics *m);

#endif
