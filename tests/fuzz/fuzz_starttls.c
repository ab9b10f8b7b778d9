/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_starttls.c: the STARTTLS follower on arbitrary two-sided exchanges.
 *
 * Input: a port byte, then chunks "h, data[(h >> 1) + 1]": bit 0 of h picks
 * the direction (1 = client), so any interleaving and any piece size of up
 * to 128 bytes is reachable. Chunks of a direction that has started TLS
 * are dropped, as the engine would hand them to the TLS parser instead.
 *
 * The same chunks are then fed again byte by byte: where TLS starts, the
 * protocol and giving up must not depend on how a chunk is cut, so any
 * difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t ports[8] = { 0, 25, 21, 587, 143, 110, 389, 5222 };

struct outcome {
	int64_t tls_at[2];
	int proto;
	bool gave_up;
};

static void run(const uint8_t *data, size_t size, bool bytewise, struct outcome *o)
{
	struct kx_starttls st;
	kx_starttls_init(&st);
	kx_starttls_set_port(&st, ports[data[0] & 7]);
	uint64_t pos[2] = { 0, 0 };
	o->tls_at[0] = o->tls_at[1] = -1;
	size_t off = 1;
	while (off < size) {
		uint8_t h = data[off++];
		bool client = h & 1;
		size_t n = (size_t)(h >> 1) + 1;
		if (n > size - off)
			n = size - off;
		size_t step = bytewise ? 1 : n;
		for (size_t k = 0; k < n; k += step) {
			if (kx_starttls_tls_started(&st, client))
				break;
			bool tls = false;
			uint32_t used = kx_starttls_feed(&st, client, data + off + k, (uint32_t)step, &tls);
			if (used > step || tls != kx_starttls_tls_started(&st, client))
				abort();
			if (tls)
				o->tls_at[client] = (int64_t)(pos[client] + used);
			pos[client] += step;
		}
		off += n;
	}
	o->proto = kx_starttls_proto(&st);
	o->gave_up = kx_starttls_gave_up(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct outcome whole, bytes;
	run(data, size, false, &whole);
	run(data, size, true, &bytes);
	if (whole.tls_at[0] != bytes.tls_at[0] || whole.tls_at[1] != bytes.tls_at[1] ||
	    whole.proto != bytes.proto || whole.gave_up != bytes.gave_up)
		abort();

	/* The first-bytes test on the raw input, both ways. */
	uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	kx_starttls_looks_like(true, data, len);
	kx_starttls_looks_like(false, data, len);
	return 0;
}
