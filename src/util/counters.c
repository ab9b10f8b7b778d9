/* SPDX-License-Identifier: BSD-2-Clause */
/* counters.c: the descriptor table behind struct kx_counters. */
#include <stddef.h>

#include "kexwatch/counters.h"

const struct kx_counter_desc kx_counter_descs[] = {
#define KX_COUNTER_DESC(name, desc) { #name, desc, (unsigned)offsetof(struct kx_counters, name) },
	KX_COUNTERS(KX_COUNTER_DESC)
#undef KX_COUNTER_DESC
};

const unsigned kx_counter_count = sizeof(kx_counter_descs) / sizeof(kx_counter_descs[0]);
