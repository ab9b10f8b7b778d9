/* SPDX-License-Identifier: BSD-2-Clause */
/* tunnel.c: tunnel headers peeled off, so that flows are the inner connections.
 *
 * Wire formats (network byte order; each field is bits):
 *
 *   VXLAN, RFC 7348, UDP destination port 4789:
 *     flags(8, I = 0x08: VNI valid) reserved(24) VNI(24) reserved(8) | Ethernet
 *   GENEVE, RFC 8926, UDP destination port 6081:
 *     ver(2) = 0, opt_len(6, 4-byte words) O(1) C(1) reserved(6) protocol(16)
 *     VNI(24) reserved(8) | options | protocol 0x6558 Ethernet, 0x0800/0x86dd IP
 *     option: class(16) type(8) reserved(3) length(5, words) data; the options
 *     tile opt_len exactly
 *   GRE, RFC 2784 + RFC 2890, IP protocol 47:
 *     C(1) R(1) K(1) S(1) reserved(9) ver(3) = 0 protocol(16)
 *     [checksum(16) reserved(16) if C] [key(32) if K] [sequence(32) if S]
 *     protocol 0x0800/0x86dd IP, 0x6558 Ethernet (transparent bridging:
 *     "gretap"), 0x88be ERSPAN type II (type I when S is clear: no ERSPAN
 *     header), 0x22eb ERSPAN type III
 *   ERSPAN type II (draft-foschiano-erspan): ver(4) = 1 VLAN(12) COS(3) En(2)
 *     T(1) session(10) reserved(12) index(20) | Ethernet
 *   ERSPAN type III: ver(4) = 2 VLAN(12) COS(3) BSO(2) T(1) session(10)
 *     timestamp(32) SGT(16) P(1) FT(5) HwID(6) D(1) Gra(2) O(1)
 *     [platform-specific subheader(64) if O] | FT 0: Ethernet, FT 2: IP
 *   IP in IP: IP protocol 4 (RFC 2003: IPv4 inside) or 41 (RFC 4213, RFC
 *     2473: IPv6 inside), in IPv4 or IPv6: no header of its own
 *   MPLS, RFC 3032, ethertypes 0x8847/0x8848: label(20) TC(3) S(1) TTL(8)
 *     per entry until S = 1; no protocol field: the first nibble after the
 *     stack says IPv4 or IPv6 (what RFC 4928 keeps unambiguous)
 *   PPPoE session stage, RFC 2516, ethertype 0x8864: ver(4) = 1 type(4) = 1
 *     code(8) = 0 session(16) length(16) | PPP protocol(16): 0x0021 IPv4,
 *     0x0057 IPv6 (RFC 1332, RFC 5072)
 *
 * Checksums are not verified (as for IP). A header cut by the snap length is
 * counted as truncated, one that contradicts its format as malformed; a
 * tunnel carrying something else than IP or Ethernet is "other".
 */
#include <stdio.h>

#include "decode_int.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_TEB 0x6558     /* transparent Ethernet bridging */
#define ETH_ERSPAN2 0x88be
#define ETH_ERSPAN3 0x22eb

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_VER 0x0007

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

static enum kx_decode_rc cut(bool truncated, struct kx_counters *c)
{
	if (truncated)
		c->skip_tunnel_short++;
	else
		c->skip_tunnel_malformed++;
	return KX_DECODE_SKIP;
}

static enum kx_decode_rc malformed(struct kx_counters *c)
{
	c->skip_tunnel_malformed++;
	return KX_DECODE_SKIP;
}

static enum kx_decode_rc other(struct kx_counters *c)
{
	c->pkt_other++;
	return KX_DECODE_OTHER;
}

/* Goes one tunnel deeper: false (counted) past KX_MAX_TUNNEL_DEPTH. The
 * outermost tunnel names the packet and is part of its flow key. */
static bool enter(struct kx_pkt *p, uint32_t tunnel, uint32_t id, struct kx_counters *c)
{
	if (p->tunnel_depth >= KX_MAX_TUNNEL_DEPTH) {
		c->skip_tunnel_depth++;
		return false;
	}
	if (p->tunnel_depth++ == 0) {
		p->tunnel = tunnel;
		p->tunnel_id = tunnel == KX_TUN_MPLS ? 0 : id; /* see kx_flow_key */
		p->tunnel_tag = id;
		c->pkt_tunneled++;
	}
	return true;
}

/* The packet behind a protocol number of the ethertype space (GRE, GENEVE). */
static enum kx_decode_rc inner(uint16_t type, struct kx_rd r, struct kx_pkt *p,
			       struct kx_counters *c)
{
	switch (type) {
	case ETH_IPV4:
		return kx_decode_inner_ip(4, r.p, kx_rd_left(&r), p, c);
	case ETH_IPV6:
		return kx_decode_inner_ip(6, r.p, kx_rd_left(&r), p, c);
	default:
		return kx_decode_inner_eth(r.p, kx_rd_left(&r), p, c);
	}
}

static enum kx_decode_rc vxlan(struct kx_rd r, bool truncated, struct kx_pkt *p,
			       struct kx_counters *c)
{
	uint8_t flags = kx_rd_u8(&r);
	kx_rd_skip(&r, 3);
	uint32_t vni = kx_rd_u24(&r);
	kx_rd_skip(&r, 1);
	if (r.bad)
		return cut(truncated, c);
	if (!(flags & 0x08))
		return malformed(c);
	if (!enter(p, KX_TUN_VXLAN, vni, c))
		return KX_DECODE_SKIP;
	return kx_decode_inner_eth(r.p, kx_rd_left(&r), p, c);
}

static enum kx_decode_rc geneve(struct kx_rd r, bool truncated, struct kx_pkt *p,
				struct kx_counters *c)
{
	uint8_t ver_optlen = kx_rd_u8(&r);
	kx_rd_skip(&r, 1); /* O, C: a monitor neither acts on nor drops control packets */
	uint16_t type = kx_rd_u16(&r);
	uint32_t vni = kx_rd_u24(&r);
	kx_rd_skip(&r, 1);
	struct kx_rd opts = kx_rd_sub(&r, (size_t)(ver_optlen & 0x3f) * 4);
	if (r.bad)
		return cut(truncated, c);
	if (ver_optlen >> 6 != 0)
		return malformed(c);
	while (kx_rd_left(&opts)) {
		kx_rd_skip(&opts, 3); /* class, type */
		kx_rd_skip(&opts, (size_t)(kx_rd_u8(&opts) & 0x1f) * 4);
		if (opts.bad)
			return malformed(c);
	}
	if (type != ETH_IPV4 && type != ETH_IPV6 && type != ETH_TEB)
		return other(c);
	if (!enter(p, KX_TUN_GENEVE, vni, c))
		return KX_DECODE_SKIP;
	return inner(type, r, p, c);
}

static enum kx_decode_rc erspan2(struct kx_rd r, bool truncated, struct kx_pkt *p,
				 struct kx_counters *c)
{
	uint16_t ver_vlan = kx_rd_u16(&r);
	uint16_t session = kx_rd_u16(&r) & 0x03ff;
	kx_rd_skip(&r, 4); /* reserved, index */
	if (r.bad)
		return cut(truncated, c);
	if (ver_vlan >> 12 != 1)
		return malformed(c);
	if (!enter(p, KX_TUN_ERSPAN2, session, c))
		return KX_DECODE_SKIP;
	return kx_decode_inner_eth(r.p, kx_rd_left(&r), p, c);
}

static enum kx_decode_rc erspan3(struct kx_rd r, bool truncated, struct kx_pkt *p,
				 struct kx_counters *c)
{
	uint16_t ver_vlan = kx_rd_u16(&r);
	uint16_t session = kx_rd_u16(&r) & 0x03ff;
	kx_rd_skip(&r, 4 + 2); /* timestamp, SGT */
	uint16_t bits = kx_rd_u16(&r);
	if (bits & 1)
		kx_rd_skip(&r, 8); /* platform-specific subheader */
	if (r.bad)
		return cut(truncated, c);
	if (ver_vlan >> 12 != 2)
		return malformed(c);
	unsigned ft = (bits >> 10) & 0x1f;
	if (ft != 0 && ft != 2)
		return other(c);
	if (!enter(p, KX_TUN_ERSPAN3, session, c))
		return KX_DECODE_SKIP;
	if (ft == 0)
		return kx_decode_inner_eth(r.p, kx_rd_left(&r), p, c);
	return kx_decode_inner_ip(0, r.p, kx_rd_left(&r), p, c);
}

static enum kx_decode_rc gre(struct kx_rd r, bool truncated, struct kx_pkt *p,
			     struct kx_counters *c)
{
	uint16_t flags = kx_rd_u16(&r);
	uint16_t type = kx_rd_u16(&r);
	if (r.bad)
		return cut(truncated, c);
	/* Version 1 is PPTP's enhanced GRE, routing the RFC 1701 form: neither
	 * carries anything followed here. */
	if ((flags & GRE_VER) != 0 || (flags & GRE_R) != 0)
		return other(c);
	if (flags & GRE_C)
		kx_rd_skip(&r, 4); /* checksum, reserved1 */
	bool keyed = (flags & GRE_K) != 0;
	uint32_t key = keyed ? kx_rd_u32(&r) : 0;
	bool seq = (flags & GRE_S) != 0;
	if (seq)
		kx_rd_skip(&r, 4);
	if (r.bad)
		return cut(truncated, c);
	switch (type) {
	case ETH_IPV4:
	case ETH_IPV6:
		if (!enter(p, keyed ? KX_TUN_GRE_KEY : KX_TUN_GRE, key, c))
			return KX_DECODE_SKIP;
		return inner(type, r, p, c);
	case ETH_TEB:
		if (!enter(p, keyed ? KX_TUN_GRETAP_KEY : KX_TUN_GRETAP, key, c))
			return KX_DECODE_SKIP;
		return kx_decode_inner_eth(r.p, kx_rd_left(&r), p, c);
	case ETH_ERSPAN2:
		if (seq)
			return erspan2(r, truncated, p, c);
		if (!enter(p, KX_TUN_ERSPAN1, 0, c))
			return KX_DECODE_SKIP;
		return kx_decode_inner_eth(r.p, kx_rd_left(&r), p, c);
	case ETH_ERSPAN3:
		return erspan3(r, truncated, p, c);
	default:
		return other(c);
	}
}

enum kx_decode_rc kx_tunnel_ip(uint8_t proto, int outer_version, const uint8_t *data, size_t len,
			       bool truncated, struct kx_pkt *p, struct kx_counters *c)
{
	struct kx_rd r = kx_rd_init(data, len);
	if (proto == 47)
		return gre(r, truncated, p, c);
	int version = proto == 4 ? 4 : 6;
	uint32_t tunnel = outer_version == 4 ? (version == 4 ? KX_TUN_IPIP : KX_TUN_6IN4)
					    : (version == 4 ? KX_TUN_4IN6 : KX_TUN_6IN6);
	if (!enter(p, tunnel, 0, c))
		return KX_DECODE_SKIP;
	return kx_decode_inner_ip(version, r.p, kx_rd_left(&r), p, c);
}

enum kx_decode_rc kx_tunnel_udp(uint16_t dport, const uint8_t *data, size_t len, bool truncated,
				struct kx_pkt *p, struct kx_counters *c)
{
	struct kx_rd r = kx_rd_init(data, len);
	if (dport == KX_UDP_VXLAN)
		return vxlan(r, truncated, p, c);
	return geneve(r, truncated, p, c);
}

static enum kx_decode_rc mpls(struct kx_rd r, struct kx_pkt *p, struct kx_counters *c)
{
	uint32_t top = 0;
	for (int i = 0;; i++) {
		if (i == KX_MAX_MPLS_LABELS) {
			c->skip_tunnel_depth++;
			return KX_DECODE_SKIP;
		}
		uint32_t entry = kx_rd_u32(&r);
		if (r.bad)
			return cut(true, c);
		if (i == 0)
			top = entry >> 12;
		if (entry & 0x100) /* bottom of stack */
			break;
	}
	struct kx_rd peek = r;
	int version = kx_rd_u8(&peek) >> 4;
	if (peek.bad)
		return cut(true, c);
	if (version != 4 && version != 6)
		return other(c); /* a pseudowire or something else without a nibble */
	if (!enter(p, KX_TUN_MPLS, top, c))
		return KX_DECODE_SKIP;
	return kx_decode_inner_ip(version, r.p, kx_rd_left(&r), p, c);
}

static enum kx_decode_rc pppoe(struct kx_rd r, struct kx_pkt *p, struct kx_counters *c)
{
	uint8_t ver_type = kx_rd_u8(&r);
	uint8_t code = kx_rd_u8(&r);
	uint16_t session = kx_rd_u16(&r);
	size_t len = kx_rd_u16(&r);
	if (r.bad)
		return cut(true, c);
	if (ver_type != 0x11 || code != 0)
		return malformed(c);
	/* The length drops Ethernet padding; a capture cut short keeps what it
	 * has, and the inner IP length says the rest. */
	struct kx_rd pl = len <= kx_rd_left(&r) ? kx_rd_sub(&r, len) : r;
	uint16_t proto = kx_rd_u16(&pl);
	if (pl.bad)
		return cut(true, c);
	if (proto != PPP_IPV4 && proto != PPP_IPV6)
		return other(c); /* LCP, IPCP and the rest of PPP's control traffic */
	if (!enter(p, KX_TUN_PPPOE, session, c))
		return KX_DECODE_SKIP;
	return kx_decode_inner_ip(proto == PPP_IPV4 ? 4 : 6, pl.p, kx_rd_left(&pl), p, c);
}

enum kx_decode_rc kx_tunnel_ethertype(uint16_t type, const uint8_t *data, size_t len,
				      struct kx_pkt *p, struct kx_counters *c)
{
	struct kx_rd r = kx_rd_init(data, len);
	if (type == KX_ETH_PPPOE)
		return pppoe(r, p, c);
	return mpls(r, p, c);
}

void kx_tunnel_label(uint32_t tunnel, uint32_t id, char *buf, size_t len)
{
	static const char *const names[KX_TUN_MAX] = {
		[KX_TUN_NONE] = "",           [KX_TUN_VXLAN] = "vxlan",
		[KX_TUN_GENEVE] = "geneve",   [KX_TUN_GRE] = "gre",
		[KX_TUN_GRE_KEY] = "gre",     [KX_TUN_GRETAP] = "gretap",
		[KX_TUN_GRETAP_KEY] = "gretap", [KX_TUN_ERSPAN1] = "erspan",
		[KX_TUN_ERSPAN2] = "erspan",  [KX_TUN_ERSPAN3] = "erspan",
		[KX_TUN_IPIP] = "ipip",       [KX_TUN_6IN4] = "6in4",
		[KX_TUN_4IN6] = "4in6",       [KX_TUN_6IN6] = "6in6",
		[KX_TUN_MPLS] = "mpls",       [KX_TUN_PPPOE] = "pppoe",
	};
	if (!len)
		return;
	if (tunnel == KX_TUN_NONE || tunnel >= KX_TUN_MAX) { /* most rows: no snprintf */
		buf[0] = '\0';
		return;
	}
	const char *name = names[tunnel];
	switch (tunnel) {
	case KX_TUN_VXLAN:
	case KX_TUN_GENEVE:
	case KX_TUN_ERSPAN2:
	case KX_TUN_ERSPAN3:
	case KX_TUN_MPLS:
		snprintf(buf, len, "%s:%u", name, (unsigned)id);
		break;
	case KX_TUN_GRE_KEY:
	case KX_TUN_GRETAP_KEY:
		snprintf(buf, len, "%s:key=%u", name, (unsigned)id);
		break;
	case KX_TUN_PPPOE:
		snprintf(buf, len, "%s:0x%04x", name, (unsigned)id);
		break;
	default:
		snprintf(buf, len, "%s", name);
		break;
	}
}
