/* SPDX-License-Identifier: BSD-2-Clause */
/* metrics_int.h: what metrics.c (state, rendering) and httpd.c (the
 * listener thread) share. Not part of the public API; the unit test uses the
 * request classifier directly.
 */
#ifndef KX_SRC_METRICS_INT_H
#define KX_SRC_METRICS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kx_metrics;

/* One published exposition. Immutable once published; the reference count
 * (guarded by the metrics mutex) lets a slow client keep sending an old
 * text while a newer one is swapped in. */
struct kx_snap {
	unsigned refs;
	size_t len;
	char text[];
};

/* Takes a reference to the current text; never NULL. */
struct kx_snap *kx_metrics_acquire(struct kx_metrics *m);
void kx_metrics_release(struct kx_metrics *m, struct kx_snap *s);

/* Statuses the listener answers with, in the order they are rendered. */
enum kx_http_status {
	KX_HTTP_200 = 0,
	KX_HTTP_400,
	KX_HTTP_404,
	KX_HTTP_405,
	KX_HTTP_431,
	KX_HTTP_505,
	KX_HTTP_MAX
};

/* Connections closed before an answer was fully sent. */
enum kx_http_drop {
	KX_DROP_TIMEOUT = 0, /* deadline passed */
	KX_DROP_EVICTED,     /* closed to make room under a connection flood */
	KX_DROP_ERROR,       /* reset by the peer, or closed before asking anything */
	KX_DROP_MAX
};

/* Written by the listener thread, read by kx_metrics_publish. */
struct kx_http_stats {
	atomic_uint_fast64_t responses[KX_HTTP_MAX];
	atomic_uint_fast64_t dropped[KX_DROP_MAX];
	atomic_uint_fast64_t accept_errors;
};

int kx_http_status_code(enum kx_http_status s);
const char *kx_http_drop_name(enum kx_http_drop d);

/* Classifies the request bytes received so far. Returns false while more
 * bytes are needed; true once the answer is known, with it in *ret_status
 * and *ret_head set for a HEAD request. A bad request line (or a byte that
 * cannot start one) is decided at once, without waiting for the headers;
 * a good one waits for the blank line that ends them. */
bool kx_http_classify(const char *req, size_t len, enum kx_http_status *ret_status,
		      bool *ret_head);

struct kx_httpd;

/* Binds addr_port, starts the thread. The thread takes snapshots from m and
 * counts into st; both must outlive kx_httpd_stop. */
struct kx_httpd *kx_httpd_start(struct kx_metrics *m, struct kx_http_stats *st,
				const char *addr_port, char *err, size_t errlen);
uint16_t kx_httpd_port(const struct kx_httpd *h);
/* Wakes and joins the thread, closes every socket. Accepts NULL. */
void kx_httpd_stop(struct kx_httpd *h);

#endif
