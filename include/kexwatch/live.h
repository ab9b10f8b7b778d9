/* SPDX-License-Identifier: BSD-2-Clause */
/* live.h: live capture on one or more interfaces (libpcap), for `kexwatch live`.
 *
 * Each interface gets pcap_create -> setters -> pcap_activate (a positive
 * status is a warning, a negative one fatal), immediate mode so handshakes
 * are seen as they happen, a kernel buffer of --buffer-size MiB, and is
 * put in non-blocking mode so one poll() loop serves them all.
 */
#ifndef KEXWATCH_LIVE_H
#define KEXWATCH_LIVE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/capture.h"

#define KX_LIVE_MAX_IFACES 16
#define KX_LIVE_DEFAULT_SNAPLEN 262144
#define KX_LIVE_DEFAULT_BUFFER_MB 32

struct kx_live_opts {
	const char *const *ifaces;
	unsigned n_ifaces;
	int snaplen;
	int buffer_mb;
	bool no_promisc;
	const char *filter;
};

struct kx_live;

/* Opens and activates every interface; warnings (e.g. promiscuous mode not
 * supported) are written to `warn` (one line each) and are not fatal. */
int kx_live_open(const struct kx_live_opts *o, struct kx_live **ret, char *err, size_t errlen,
		 char *warn, size_t warnlen);

unsigned kx_live_count(const struct kx_live *l);
int kx_live_link(const struct kx_live *l, unsigned i);
const char *kx_live_name(const struct kx_live *l, unsigned i);

/* Fills one pollfd per interface (POLLIN). */
void kx_live_pollfds(const struct kx_live *l, struct pollfd *fds);

typedef void (*kx_live_fn)(void *ctx, unsigned iface, const struct kx_frame *f);

/* Reads up to `max` waiting packets of interface i. Returns the number read,
 * or -1 with a message in err (the interface went away). */
int kx_live_read(struct kx_live *l, unsigned i, int max, kx_live_fn fn, void *ctx, char *err,
		 size_t errlen);

/* Cumulative kernel statistics of interface i. */
int kx_live_stats(struct kx_live *l, unsigned i, uint64_t *ret_received, uint64_t *ret_dropped,
		  uint64_t *ret_if_dropped);

/* Makes the next kx_live_read return early (signal handlers). */
void kx_live_break(struct kx_live *l);

void kx_live_close(struct kx_live *l);

#endif
