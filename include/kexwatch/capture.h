/* SPDX-License-Identifier: BSD-2-Clause */
/* capture.h: packet sources. Saved captures (pcap and pcapng through our own
 * readers, plain or gzip/xz/zstd compressed, files, pipes and stdin; libpcap
 * with --libpcap) behind one interface; frames are borrowed views that stay
 * valid until the next call on the same source.
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
	int link;      /* the frame's link type (pcapng: its interface's) */
	uint8_t iface; /* kx_iface_name() index of its interface; 0: none known */
};

/* Interface names, interned for the whole process: rows carry the 1-byte
 * index (kx_hs.iface), the sink looks the name up. At most
 * KX_IFACE_MAX - 1 distinct names; later ones get 0 (no name). Names are
 * cleaned to printable ASCII and cut to KX_IFACE_NAME_MAX - 1 bytes.
 * Interning is for the packet thread; lookups are safe from any thread for
 * an index the caller got through a frame or a row. */
#define KX_IFACE_MAX 256
#define KX_IFACE_NAME_MAX 64
uint8_t kx_iface_intern(const char *name, size_t len);
const char *kx_iface_name(uint8_t idx); /* NULL for 0 or an unused index */

/* Compiles a BPF expression for Ethernet (or, failing that, raw IP, SLL,
 * SLL2, 802.11 radiotap), to refuse a bad filter before anything is
 * opened. 0, or -1 with libpcap's message for Ethernet in err. */
int kx_filter_check(const char *expr, char *err, size_t errlen);

enum kx_source_rc {
	KX_SRC_PACKET = 1,
	KX_SRC_END = 0,
	KX_SRC_ERROR = -1, /* message in kx_source_error(); frames read so far are valid */
};

struct kx_source_opts {
	bool libpcap;       /* read through libpcap instead of our own readers */
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
/* Packets read so far, those a filter dropped included. */
uint64_t kx_source_records(const struct kx_source *s);
const char *kx_source_error(const struct kx_source *s);
/* What ended the input early without being an error (a file cut in the
 * middle of a packet or block, a compressed stream that stops short, an
 * interface of a link type kexwatch does not decode), "" when nothing:
 * the same words whatever the reader. */
const char *kx_source_warning(struct kx_source *s); /* once, at the end */
/* "pcap (direct)", "pcapng (direct)" (our own readers), "pcap", "pcapng"
 * (libpcap); with a " gzip", " xz" or " zstd" suffix when compressed. */
const char *kx_source_kind(const struct kx_source *s);
void kx_source_close(struct kx_source *s);

#endif
