/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_decode.c: one frame through the link/IP/TCP/UDP decoder; the first
 * byte picks the link type. */
#include <stdint.h>
#include <string.h>

#include "kexwatch/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int links[] = { KX_LINK_ETHERNET, KX_LINK_SLL, KX_LINK_SLL2, KX_LINK_RAW,
				     KX_LINK_NULL, KX_LINK_LOOP, KX_LINK_IPV4, KX_LINK_IPV6 };
	if (size < 1)
		return 0;
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_pkt p;
	int link = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	if (kx_decode(link, data + 1, (uint32_t)(size - 1), &p, &c) == KX_DECODE_OK) {
		/* Every view must lie inside the frame. */
		if (p.payload_len && (p.payload < data + 1 || p.payload + p.payload_len > data + size))
			__builtin_trap();
		if (p.l3_len && (p.l3 < data + 1 || p.l3 + p.l3_len > data + size))
			__builtin_trap();
	}
	return 0;
}
