/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_tunnel.c: tunnel headers and everything behind them. The first byte
 * picks the carrier (VXLAN, GENEVE, GRE, IP in IP over IPv4 or IPv6, MPLS,
 * PPPoE) and how much of the frame the capture keeps; the rest of the input
 * follows the carrier's outer headers, whose lengths are set to cover it.
 * Every view of a decoded packet or fragment must lie inside the frame, and
 * its tunnel fields must make a label. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/decode.h"
#include "kexwatch/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct carrier {
	uint16_t ethertype;
	uint8_t ip_version; /* 0: none */
	uint8_t proto;
	uint16_t dport;     /* UDP destination port when proto is UDP */
};

static const struct carrier carriers[] = {
	{ 0x0800, 4, 17, 4789 }, { 0x0800, 4, 17, 6081 }, { 0x0800, 4, 47, 0 },
	{ 0x0800, 4, 4, 0 },     { 0x0800, 4, 41, 0 },    { 0x86dd, 6, 47, 0 },
	{ 0x86dd, 6, 4, 0 },     { 0x86dd, 6, 41, 0 },    { 0x86dd, 6, 17, 6081 },
	{ 0x8847, 0, 0, 0 },     { 0x8848, 0, 0, 0 },     { 0x8864, 0, 0, 0 },
};
#define N_CARRIERS (sizeof(carriers) / sizeof(carriers[0]))

static void put16(uint8_t *b, size_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void inside(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	if (n && (p < lo || p + n > hi))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65000)
		return 0;
	const struct carrier *k = &carriers[(data[0] & 0x0f) % N_CARRIERS];
	size_t body = size - 1;
	size_t hdr = 14 + (k->ip_version == 4 ? 20 : k->ip_version == 6 ? 40 : 0) +
		     (k->proto == 17 ? 8 : 0);
	size_t len = hdr + body;
	uint8_t *f = malloc(len);
	if (!f)
		return 0;
	memset(f, 0, hdr);
	put16(f + 12, k->ethertype);
	uint8_t *ip = f + 14;
	size_t l4 = (k->proto == 17 ? 8 : 0) + body;
	if (k->ip_version == 4) {
		ip[0] = 0x45;
		put16(ip + 2, 20 + l4 > 0xffff ? 0xffff : 20 + l4);
		ip[8] = 64;
		ip[9] = k->proto;
		ip[12] = 192; ip[15] = 1;
		ip[16] = 192; ip[19] = 2;
	} else if (k->ip_version == 6) {
		ip[0] = 0x60;
		put16(ip + 4, l4 > 0xffff ? 0xffff : l4);
		ip[6] = k->proto;
		ip[7] = 64;
		ip[8] = 0xfd; ip[23] = 1;
		ip[24] = 0xfd; ip[39] = 2;
	}
	if (k->proto == 17) {
		uint8_t *udp = f + hdr - 8;
		put16(udp, 50000);
		put16(udp + 2, k->dport);
		put16(udp + 4, 8 + body > 0xffff ? 0xffff : 8 + body);
	}
	memcpy(f + hdr, data + 1, body);
	/* The high nibble cuts the capture that many 16-byte steps short. */
	size_t cut = (size_t)(data[0] >> 4) * 16;
	uint32_t caplen = (uint32_t)(cut < len ? len - cut : 0);

	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_pkt p;
	enum kx_decode_rc rc = kx_decode(KX_LINK_ETHERNET, f, caplen, &p, &c);
	if (rc == KX_DECODE_OK || rc == KX_DECODE_FRAGMENT) {
		inside(p.payload, p.payload_len, f, f + caplen);
		inside(p.l3, p.l3_len, f, f + caplen);
		if (p.tunnel_depth > KX_MAX_TUNNEL_DEPTH || (p.tunnel_depth > 0) != (p.tunnel != KX_TUN_NONE) ||
		    p.tunnel >= KX_TUN_MAX)
			__builtin_trap();
		char label[32];
		kx_tunnel_label(p.tunnel, p.tunnel_tag, label, sizeof(label));
		if (strnlen(label, sizeof(label)) >= sizeof(label))
			__builtin_trap();
	}
	if (rc == KX_DECODE_FRAGMENT) {
		if (p.frag.hdr_len > p.l3_len || p.frag.nh_at >= p.frag.hdr_len ||
		    p.payload != p.l3 + (p.l3_len - p.payload_len))
			__builtin_trap();
	}
	if (rc == KX_DECODE_OK) {
		struct kx_flow_key key;
		int dir;
		kx_flow_key_from_pkt(&p, &key, &dir);
		if (key.tunnel != p.tunnel)
			__builtin_trap();
	}
	free(f);
	return 0;
}
