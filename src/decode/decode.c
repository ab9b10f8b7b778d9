/* SPDX-License-Identifier: BSD-2-Clause */
/* decode.c: link layer (Ethernet + stacked VLAN, Linux SLL/SLL2, raw IP, BSD
 * null/loop) -> IPv4 (options) / IPv6 (extension headers) -> TCP / UDP.
 * Tunnels met on the way (IP protocols 4, 41, 47; UDP 4789, 6081; MPLS and
 * PPPoE ethertypes) go to tunnel.c, which comes back here for the inner
 * packet. IP fragments are described for the defragmenter (defrag.h).
 *
 * References: IEEE 802.1Q/802.1ad, tcpdump.org/linktypes (LINKTYPE_LINUX_SLL,
 * LINKTYPE_LINUX_SLL2, LINKTYPE_NULL), RFC 791, RFC 8200 section 4, RFC 9293.
 */
#include "kexwatch/decode.h"

#include <string.h>

#include "decode_int.h"
#include "kexwatch/rd.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100

#define PROTO_IPIP 4
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_IPV6 41
#define PROTO_GRE 47
#define PROTO_IPV6_FRAG 44

bool kx_decode_link_supported(int link)
{
	switch (link) {
	case KX_LINK_NULL:
	case KX_LINK_ETHERNET:
	case KX_LINK_RAW_DLT:
	case KX_LINK_RAW:
	case KX_LINK_LOOP:
	case KX_LINK_SLL:
	case KX_LINK_IPV4:
	case KX_LINK_IPV6:
	case KX_LINK_SLL2:
		return true;
	default:
		return false;
	}
}

static enum kx_decode_rc decode_tcp(struct kx_rd seg, bool ip_truncated, struct kx_pkt *p,
				    struct kx_counters *c)
{
	/*  0: sport(2) dport(2) seq(4) ack(4) off/flags(2) window(2) csum(2) urg(2) */
	if (kx_rd_left(&seg) < 20) {
		if (ip_truncated)
			c->skip_tcp_short++;
		else
			c->skip_tcp_malformed++;
		return KX_DECODE_SKIP;
	}
	struct kx_rd r = seg;
	p->sport = kx_rd_u16(&r);
	p->dport = kx_rd_u16(&r);
	p->seq = kx_rd_u32(&r);
	p->ack = kx_rd_u32(&r);
	uint8_t off = kx_rd_u8(&r) >> 4;
	p->tcp_flags = kx_rd_u8(&r);
	size_t hlen = (size_t)off * 4;
	if (off < 5) {
		c->skip_tcp_malformed++;
		return KX_DECODE_SKIP;
	}
	if (hlen > kx_rd_left(&seg)) {
		if (ip_truncated)
			c->skip_tcp_short++;
		else
			c->skip_tcp_malformed++;
		return KX_DECODE_SKIP;
	}
	kx_rd_skip(&seg, hlen);
	p->payload = seg.p;
	p->payload_len = (uint32_t)kx_rd_left(&seg);
	p->payload_truncated = ip_truncated;
	if (ip_truncated)
		c->payload_truncated++;
	c->pkt_tcp++;
	return KX_DECODE_OK;
}

static enum kx_decode_rc decode_udp(struct kx_rd seg, bool ip_truncated, struct kx_pkt *p,
				    struct kx_counters *c)
{
	if (kx_rd_left(&seg) < 8) {
		c->skip_ip_short++;
		return KX_DECODE_SKIP;
	}
	p->sport = kx_rd_u16(&seg);
	p->dport = kx_rd_u16(&seg);
	kx_rd_skip(&seg, 4);
	if (p->dport == KX_UDP_VXLAN || p->dport == KX_UDP_GENEVE)
		return kx_tunnel_udp(p->dport, seg.p, kx_rd_left(&seg), ip_truncated, p, c);
	p->tcp_flags = 0;
	p->seq = p->ack = 0;
	p->payload = seg.p;
	p->payload_len = (uint32_t)kx_rd_left(&seg);
	p->payload_truncated = ip_truncated;
	if (ip_truncated)
		c->payload_truncated++;
	c->pkt_udp++;
	return KX_DECODE_OK;
}

static enum kx_decode_rc decode_l4(uint8_t proto, struct kx_rd seg, bool ip_truncated,
				   struct kx_pkt *p, struct kx_counters *c)
{
	p->proto = proto;
	if (proto == PROTO_TCP)
		return decode_tcp(seg, ip_truncated, p, c);
	if (proto == PROTO_UDP)
		return decode_udp(seg, ip_truncated, p, c);
	if (proto == PROTO_IPIP || proto == PROTO_IPV6 || proto == PROTO_GRE)
		return kx_tunnel_ip(proto, p->ip_version, seg.p, kx_rd_left(&seg), ip_truncated, p, c);
	c->pkt_other++;
	return KX_DECODE_OTHER;
}

/* A fragment goes to the defragmenter whole or not at all: one cut by the
 * snap length could never complete its datagram. */
static enum kx_decode_rc fragment(struct kx_pkt *p, struct kx_rd data, bool truncated,
				  uint8_t proto, uint32_t id, uint16_t offset, bool more,
				  size_t hdr_len, size_t nh_at, struct kx_counters *c)
{
	if (truncated) {
		c->skip_ip_fragment++;
		return KX_DECODE_SKIP;
	}
	p->proto = proto;
	p->payload = data.p;
	p->payload_len = (uint32_t)kx_rd_left(&data);
	p->payload_truncated = false;
	p->frag.id = id;
	p->frag.offset = offset;
	p->frag.more = more;
	p->frag.hdr_len = (uint16_t)hdr_len;
	p->frag.nh_at = (uint16_t)nh_at;
	return KX_DECODE_FRAGMENT;
}

static enum kx_decode_rc decode_ipv4(struct kx_rd r, struct kx_pkt *p, struct kx_counters *c)
{
	const uint8_t *start = r.p;
	size_t avail = kx_rd_left(&r);
	if (avail < 20) {
		c->skip_ip_short++;
		return KX_DECODE_SKIP;
	}
	uint8_t vihl = kx_rd_u8(&r);
	size_t ihl = (size_t)(vihl & 0x0f) * 4;
	kx_rd_skip(&r, 1); /* DSCP/ECN */
	size_t total = kx_rd_u16(&r);
	kx_rd_skip(&r, 2); /* identification: read again for fragments only */
	uint16_t frag = kx_rd_u16(&r);
	kx_rd_skip(&r, 1); /* TTL */
	uint8_t proto = kx_rd_u8(&r);
	kx_rd_skip(&r, 2); /* checksum: not verified, offloads make it meaningless */
	const uint8_t *src = kx_rd_take(&r, 4);
	const uint8_t *dst = kx_rd_take(&r, 4);
	if (total == 0 && (vihl >> 4) == 4 && ihl >= 20) {
		/* Captured on the sending host with TCP segmentation offload: the
		 * length of a segment over 64 KiB (IPv4 BIG TCP, Windows LSO) does
		 * not fit the field, which is left 0. As Wireshark does, the
		 * captured bytes are the packet. */
		total = avail;
		c->ip_len_zero++;
	}
	if ((vihl >> 4) != 4 || ihl < 20 || total < ihl || !src || !dst) {
		c->skip_ip_malformed++;
		return KX_DECODE_SKIP;
	}
	if (ihl > avail) {
		c->skip_ip_short++;
		return KX_DECODE_SKIP;
	}
	bool truncated = total > avail;
	size_t have = truncated ? avail : total; /* drop Ethernet padding */
	memset(p->src, 0, sizeof(p->src));
	memset(p->dst, 0, sizeof(p->dst));
	memcpy(p->src, src, 4);
	memcpy(p->dst, dst, 4);
	p->ip_version = 4;
	p->l3 = start;
	p->l3_len = (uint32_t)have;
	struct kx_rd all = kx_rd_init(start, have);
	kx_rd_skip(&all, ihl);
	if ((frag & 0x3fff) != 0) { /* MF or an offset: a fragment */
		struct kx_rd h = kx_rd_init(start, ihl);
		kx_rd_skip(&h, 4);
		return fragment(p, all, truncated, proto, kx_rd_u16(&h),
				(uint16_t)((frag & 0x1fff) * 8), (frag & 0x2000) != 0, ihl, 9, c);
	}
	return decode_l4(proto, all, truncated, p, c);
}

static bool ipv6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 ||
	       nh == 139 || nh == 140;
}

static enum kx_decode_rc decode_ipv6(struct kx_rd r, struct kx_pkt *p, struct kx_counters *c)
{
	const uint8_t *start = r.p;
	size_t avail = kx_rd_left(&r);
	if (avail < 40) {
		c->skip_ip_short++;
		return KX_DECODE_SKIP;
	}
	uint8_t v = kx_rd_u8(&r) >> 4;
	kx_rd_skip(&r, 3);
	size_t plen = kx_rd_u16(&r);
	uint8_t nh = kx_rd_u8(&r);
	kx_rd_skip(&r, 1);
	const uint8_t *src = kx_rd_take(&r, 16);
	const uint8_t *dst = kx_rd_take(&r, 16);
	if (v != 6 || plen == 0 || !src || !dst) {
		/* plen 0 means a jumbogram (RFC 2675): never carries a handshake here. */
		c->skip_ip_malformed++;
		return KX_DECODE_SKIP;
	}
	bool truncated = 40 + plen > avail;
	size_t have = truncated ? avail : 40 + plen;
	struct kx_rd body = kx_rd_init(start, have);
	kx_rd_skip(&body, 40);

	/* Walk at most 8 extension headers: enough for any real packet, and a
	 * bound against a chain crafted to burn time. */
	size_t nh_at = 6; /* where the byte naming header nh sits */
	memcpy(p->src, src, 16);
	memcpy(p->dst, dst, 16);
	p->ip_version = 6;
	p->l3 = start;
	p->l3_len = (uint32_t)have;
	for (int i = 0; ipv6_ext(nh); i++) {
		if (i == 8) {
			c->skip_ip6_ext++;
			return KX_DECODE_SKIP;
		}
		if (kx_rd_left(&body) < 8) {
			if (truncated)
				c->skip_ip_short++;
			else
				c->skip_ip6_ext++;
			return KX_DECODE_SKIP;
		}
		struct kx_rd h = body;
		uint8_t next = kx_rd_u8(&h);
		uint8_t hlen = kx_rd_u8(&h);
		size_t len;
		if (nh == PROTO_IPV6_FRAG) {
			uint16_t off = kx_rd_u16(&h);
			uint32_t id = kx_rd_u32(&h);
			size_t at = have - kx_rd_left(&body);
			if ((off & 0xfff8) != 0 || (off & 1) != 0) {
				kx_rd_skip(&body, 8);
				return fragment(p, body, truncated, next, id, off & 0xfff8, off & 1, at,
						nh_at, c);
			}
			len = 8; /* an atomic fragment (RFC 6946): a plain header */
		} else if (nh == 51) {
			len = ((size_t)hlen + 2) * 4; /* AH counts 4-byte units */
		} else {
			len = ((size_t)hlen + 1) * 8;
		}
		if (len > kx_rd_left(&body)) {
			if (truncated)
				c->skip_ip_short++;
			else
				c->skip_ip6_ext++;
			return KX_DECODE_SKIP;
		}
		nh_at = have - kx_rd_left(&body);
		kx_rd_skip(&body, len);
		nh = next;
	}
	return decode_l4(nh, body, truncated, p, c);
}

/* Out of line and out of decode_ethertype's switch: as cases there, they
 * made the switch a decision tree and IPv4 took more compares. */
static __attribute__((noinline)) enum kx_decode_rc tunnel_ethertype(uint16_t type, struct kx_rd r,
								    struct kx_pkt *p,
								    struct kx_counters *c)
{
	return kx_tunnel_ethertype(type, r.p, kx_rd_left(&r), p, c);
}

static enum kx_decode_rc decode_ethertype(uint16_t type, struct kx_rd r, struct kx_pkt *p,
					  struct kx_counters *c)
{
	int depth = 0;
	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
		if (++depth > KX_MAX_VLAN_DEPTH) {
			c->skip_vlan_depth++;
			return KX_DECODE_SKIP;
		}
		uint16_t tci = kx_rd_u16(&r);
		type = kx_rd_u16(&r);
		if (r.bad) {
			c->skip_link_short++;
			return KX_DECODE_SKIP;
		}
		if (depth == 1)
			p->vlan = tci & 0x0fff;
	}
	switch (type) {
	case ETH_IPV4:
		return decode_ipv4(r, p, c);
	case ETH_IPV6:
		return decode_ipv6(r, p, c);
	default:
		if (type == KX_ETH_MPLS || type == KX_ETH_MPLS_MC || type == KX_ETH_PPPOE)
			return tunnel_ethertype(type, r, p, c);
		c->pkt_other++;
		return KX_DECODE_OTHER;
	}
}

static enum kx_decode_rc decode_ethernet(struct kx_rd r, struct kx_pkt *p, struct kx_counters *c)
{
	kx_rd_skip(&r, 12); /* dst, src MAC */
	uint16_t type = kx_rd_u16(&r);
	if (r.bad) {
		c->skip_link_short++;
		return KX_DECODE_SKIP;
	}
	if (type < 1536) { /* 802.3 length field: LLC frames, not IP */
		c->pkt_other++;
		return KX_DECODE_OTHER;
	}
	return decode_ethertype(type, r, p, c);
}

enum kx_decode_rc kx_decode_inner_eth(const uint8_t *data, size_t len, struct kx_pkt *p,
				      struct kx_counters *c)
{
	/* The outermost frame's tag names the packet, not one inside a tunnel
	 * (restored here: a check in decode_ethertype's loop cost every packet). */
	uint16_t vlan = p->vlan;
	enum kx_decode_rc rc = decode_ethernet(kx_rd_init(data, len), p, c);
	p->vlan = vlan;
	return rc;
}

static enum kx_decode_rc decode_ip_any(struct kx_rd r, struct kx_pkt *p, struct kx_counters *c)
{
	if (kx_rd_left(&r) < 1) {
		c->skip_ip_short++;
		return KX_DECODE_SKIP;
	}
	switch (r.p[0] >> 4) {
	case 4:
		return decode_ipv4(r, p, c);
	case 6:
		return decode_ipv6(r, p, c);
	default:
		c->skip_ip_malformed++;
		return KX_DECODE_SKIP;
	}
}

/* Address families in BSD null/loop headers: AF_INET is 2 everywhere,
 * AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS). */
static enum kx_decode_rc decode_null(struct kx_rd r, bool network_order, struct kx_pkt *p,
				     struct kx_counters *c)
{
	uint32_t af = network_order ? kx_rd_u32(&r) : kx_rd_u32le(&r);
	if (r.bad) {
		c->skip_link_short++;
		return KX_DECODE_SKIP;
	}
	/* Host order is the writer's: accept a value that only makes sense swapped. */
	if (!network_order && af > 0xffff)
		af = (af >> 24) | ((af >> 8) & 0xff00);
	switch (af) {
	case 2:
		return decode_ipv4(r, p, c);
	case 10: case 24: case 28: case 30:
		return decode_ipv6(r, p, c);
	default:
		c->pkt_other++;
		return KX_DECODE_OTHER;
	}
}

enum kx_decode_rc kx_decode(int link, const uint8_t *frame, uint32_t caplen,
			    struct kx_pkt *p, struct kx_counters *c)
{
	struct kx_rd r = kx_rd_init(frame, caplen);
	p->vlan = 0;
	p->tunnel_depth = 0;
	p->tunnel_id = 0;
	p->tunnel = KX_TUN_NONE; /* tunnel_tag is read only with a tunnel */
	switch (link) {
	case KX_LINK_ETHERNET:
		return decode_ethernet(r, p, c);
	case KX_LINK_SLL: {
		/* packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2) */
		kx_rd_skip(&r, 14);
		uint16_t type = kx_rd_u16(&r);
		if (r.bad) {
			c->skip_link_short++;
			return KX_DECODE_SKIP;
		}
		return decode_ethertype(type, r, p, c);
	}
	case KX_LINK_SLL2: {
		/* protocol(2) reserved(2) ifindex(4) ARPHRD(2) pkttype(1) addrlen(1) addr(8) */
		uint16_t type = kx_rd_u16(&r);
		kx_rd_skip(&r, 18);
		if (r.bad) {
			c->skip_link_short++;
			return KX_DECODE_SKIP;
		}
		return decode_ethertype(type, r, p, c);
	}
	case KX_LINK_RAW:
	case KX_LINK_RAW_DLT:
		return decode_ip_any(r, p, c);
	case KX_LINK_IPV4:
		return decode_ipv4(r, p, c);
	case KX_LINK_IPV6:
		return decode_ipv6(r, p, c);
	case KX_LINK_NULL:
		return decode_null(r, false, p, c);
	case KX_LINK_LOOP:
		return decode_null(r, true, p, c);
	default:
		c->skip_link_unsupported++;
		return KX_DECODE_SKIP;
	}
}

enum kx_decode_rc kx_decode_inner_ip(int version, const uint8_t *data, size_t len,
				     struct kx_pkt *p, struct kx_counters *c)
{
	struct kx_rd r = kx_rd_init(data, len);
	if (version == 4)
		return decode_ipv4(r, p, c);
	if (version == 6)
		return decode_ipv6(r, p, c);
	return decode_ip_any(r, p, c);
}

enum kx_decode_rc kx_decode_datagram(const uint8_t *ip, uint32_t len, struct kx_pkt *p,
				     struct kx_counters *c)
{
	return decode_ip_any(kx_rd_init(ip, len), p, c);
}
