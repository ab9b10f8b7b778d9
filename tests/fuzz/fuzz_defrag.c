/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_defrag.c: a stream of IPv4 and IPv6 fragments of a few datagrams,
 * with fuzzer-chosen offsets, lengths, flags, bytes and clock steps, built
 * as real packets, decoded, and given to a small defragmenter (4 datagrams,
 * 8 pool blocks, 30 s). Every datagram it returns must be consistent: its
 * length fields say its length, the fragment fields are cleared, the IPv4
 * checksum holds, and it decodes without harm. After a flush nothing may be held. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/decode.h"
#include "kexwatch/defrag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REC 8

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

static void check_out(const uint8_t *o, uint32_t n)
{
	if (n < 20)
		__builtin_trap();
	if (o[0] >> 4 == 4) {
		uint32_t sum = 0;
		size_t ihl = (size_t)(o[0] & 15) * 4;
		for (size_t i = 0; i < ihl; i += 2)
			sum += get16(o + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		if (get16(o + 2) != n || (o[6] & 0x3f) != 0 || o[7] != 0 || sum != 0xffff)
			__builtin_trap();
	} else if (n < 40 || get16(o + 4) + 40u != n) {
		__builtin_trap();
	}
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_pkt p;
	memset(&p, 0, sizeof(p));
	kx_decode_datagram(o, n, &p, &c); /* may be anything, even a fragment in a tunnel */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_defrag *d = kx_defrag_new(8 * KX_DEFRAG_BLOCK, 4, 30);
	if (!d)
		return 0;
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	uint64_t now = 1000000;
	/* One record per fragment:
	 *  0: bit 0 IPv6, bit 1 more fragments, bits 2-3 id, bit 4 other source,
	 *     bit 5 IPv6 hop-by-hop header first / IPv4 options, bits 6-7 clock step (x 12 s)
	 *  1-2: offset in 8-byte units   3-4: data length (mod 2048)
	 *  5: fill byte   6: protocol   7: fill step */
	for (size_t i = 0; i + REC <= size; i += REC) {
		const uint8_t *r = data + i;
		bool v6 = r[0] & 1, more = r[0] & 2, ext = r[0] & 32;
		unsigned id = (r[0] >> 2) & 3;
		unsigned off = get16(r + 1) & 0x1fff;
		size_t len = get16(r + 3) % 2048;
		now += (uint64_t)(r[0] >> 6) * 12000000u;
		size_t hdr = v6 ? 40 + (ext ? 8 : 0) + 8 : 20 + (ext ? 8 : 0);
		uint8_t *f = malloc(hdr + len);
		if (!f)
			break;
		memset(f, 0, hdr);
		for (size_t k = 0; k < len; k++)
			f[hdr + k] = (uint8_t)(r[5] + k * r[7]);
		if (v6) {
			f[0] = 0x60;
			put16(f + 4, (unsigned)(hdr - 40 + len));
			f[6] = ext ? 0 : 44;
			f[8] = 0xfd; f[23] = (uint8_t)(1 + (r[0] >> 4 & 1));
			f[24] = 0xfd; f[39] = 2;
			uint8_t *fh = f + 40;
			if (ext) {
				fh[0] = 44; /* hop-by-hop -> Fragment, 8 bytes of padding options */
				fh[2] = 1;
				fh[3] = 4;
				fh += 8;
			}
			fh[0] = r[6];
			put16(fh + 2, off << 3 | (more ? 1 : 0));
			put16(fh + 6, id);
		} else {
			f[0] = (uint8_t)(0x40 | (hdr / 4));
			put16(f + 2, (unsigned)(hdr + len > 0xffff ? 0xffff : hdr + len));
			put16(f + 4, id);
			put16(f + 6, (more ? 0x2000 : 0) | off);
			f[8] = 64;
			f[9] = r[6];
			f[12] = 10; f[15] = (uint8_t)(1 + (r[0] >> 4 & 1));
			f[16] = 10; f[19] = 2;
			if (ext)
				memset(f + 20, 1, 8); /* NOPs */
		}
		struct kx_pkt p;
		if (kx_decode(KX_LINK_RAW, f, (uint32_t)(hdr + len), &p, &c) == KX_DECODE_FRAGMENT) {
			p.ts_us = now;
			const uint8_t *out;
			uint32_t n;
			if (kx_defrag_add(d, &p, &c, &out, &n))
				check_out(out, n);
		}
		if (kx_defrag_pending(d) > 4)
			__builtin_trap();
		free(f);
	}
	kx_defrag_expire(d, now, &c);
	kx_defrag_flush(d, &c);
	if (kx_defrag_pending(d) != 0)
		__builtin_trap();
	kx_defrag_free(d);
	return 0;
}
