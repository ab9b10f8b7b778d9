/* SPDX-License-Identifier: BSD-2-Clause */
/* merge.h: combine sensor databases into one inventory (see merge.c). */
#ifndef KEXWATCH_MERGE_H
#define KEXWATCH_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct kx_merge_stats {
	unsigned inputs;       /* inputs merged */
	uint64_t runs;         /* runs copied (identical runs are reused) */
	uint64_t rows_added;   /* handshakes new to the output */
	uint64_t rows_present; /* handshakes the output already had */
	uint64_t sessions_added;   /* hourly sessions rows new to the output */
	uint64_t sessions_updated; /* rows whose sessions were added to one there */
	uint64_t sessions_present; /* rows counted already (see merge.c) */
};

/* Merges the inputs into `out` (created or migrated as needed). Each input
 * is one transaction: on error the output keeps whole inputs only.
 * Returns 0, or -1 with a message in err. */
int kx_merge(const char *out, const char *const *inputs, unsigned n, struct kx_merge_stats *ms,
	     char *err, size_t errlen);

#endif
