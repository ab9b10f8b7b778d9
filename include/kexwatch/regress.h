/* SPDX-License-Identifier: BSD-2-Clause */
/* regress.h: regressions noticed as they happen. A fixed table remembers,
 * per server endpoint (server IP, port, SNI) and per client IP, when it was
 * last seen hybrid/pq (an endpoint) or offering PQ (a client). A handshake
 * of a remembered subject that is now classical is a regression: the
 * server declined PQ the client offered (hybrid-to-classical), or the
 * client's ClientHello no longer offers PQ (pq-offer-dropped).
 *
 * Memory: max_entries * KX_REGRESS_ENTRY_BYTES, allocated once; entries
 * older than the memory (days) count as empty. When a probe window is full
 * the entry seen longest ago is replaced. Times are packet times, so a
 * saved capture behaves as it did live. One thread (the capture thread). */
#ifndef KEXWATCH_REGRESS_H
#define KEXWATCH_REGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/hs.h"

enum kx_regress_kind { KX_REGRESS_ENDPOINT = 0, KX_REGRESS_CLIENT, KX_REGRESS_KINDS };

#define KX_REGRESS_ENTRY_BYTES 24
#define KX_REGRESS_DEFAULT_MAX 65536
#define KX_REGRESS_DEFAULT_DAYS 30

struct kx_regress;

struct kx_regress *kx_regress_new(uint32_t max_entries, uint32_t memory_days);
void kx_regress_free(struct kx_regress *r);

/* "hybrid-to-classical", "pq-offer-dropped": the metric's kind label and
 * the change names of `kexwatch changes`. */
const char *kx_regress_kind_name(enum kx_regress_kind k);

/* Seeds the table from an inventory (read-only; a missing file is not an
 * error): the subjects good within the memory before its newest row.
 * Returns the entries loaded, or -1 with a message in err. */
int kx_regress_load(struct kx_regress *r, const char *db_path, char *err, size_t errlen);

/* Looks at one finished handshake and remembers what it shows. Returns a
 * bit mask of (1 << kind) for the regressions it is; *ret_log is set to
 * the kinds to log (at most once per subject and hour). */
unsigned kx_regress_observe(struct kx_regress *r, const struct kx_hs *hs, unsigned *ret_log);

/* One log line for a regression of kind k in hs. */
void kx_regress_describe(const struct kx_hs *hs, enum kx_regress_kind k, char *buf, size_t len);

#endif
