/* SPDX-License-Identifier: BSD-2-Clause */
/* capture.h: packet sources. Saved captures (pcap through our own reader, pcapng and
 * stdin through libpcap) behind one interface; frames are borrowed views that
 * stay valid until the next call on the same source.
 */
#ifndef KEXWATCH_CAPTURE_H
#define KEXWATCH_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/counters.h"

struct kx_source;

struct kx_frame {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_us;
};

enum kx_source_rc {
	KX_SRC_PACKET = 1,
	KX_SRC_END = 0,
	KX_SRC_ERROR = -1, /* message in kx_source_error(); frames read so far are valid */
};

struct kx_source_opts {
	bool libpcap;       /* read classic pcap files through libpcap too */
	const char *filter; /* BPF expression, or NULL */
};

/* Opens a saved capture: a path, or "-" for standard input. */
int kx_source_open_file(const char *path, const struct kx_source_opts *opts,
			struct kx_source **ret, char *err, size_t errlen);

enum kx_source_rc kx_source_next(struct kx_source *s, struct kx_frame *f,
				 struct kx_counters *c);

/* Up to max frames at once (fewer at a buffer boundary, one on the
 * libpcap path or with a filter), all valid until the next call. Returns
 * their number; 0 at the end, with *rc END or ERROR. */
int kx_source_next_batch(struct kx_source *s, struct kx_frame *f, int max, struct kx_counters *c,
			 enum kx_source_rc *rc);

int kx_source_link(const struct kx_source *s);
/* Total size in bytes (0 when unknown, e.g. a pipe) and bytes consumed. */
uint64_t kx_source_size(const struct kx_source *s);
uint64_t kx_source_pos(const struct kx_source *s);
const char *kx_source_error(const struct kx_source *s);
/* "pcap (direct)" (our own reader), "pcap", "pcapng" (libpcap). */
const char *kx_source_kind(const struct kx_source *s);
void kx_source_close(struct kx_source *s);

#endif
