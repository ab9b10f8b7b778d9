/* SPDX-License-Identifier: BSD-2-Clause */
/* decode.h: link layer -> tunnels -> IP -> TCP/UDP, into a struct kx_pkt of views.
 *
 * The decoder never copies: kx_pkt points into the captured frame. Every
 * failure is one counter in struct kx_counters (truncated and malformed are
 * kept apart, as tcpdump keeps "[|trunc]" and "invalid" apart). Tunnels are
 * peeled off (src/decode/tunnel.c): the packet is the innermost connection,
 * and the outermost tunnel names it. IP fragments are described, not
 * reassembled: that is the defragmenter's job (defrag.h).
 */
#ifndef KEXWATCH_DECODE_H
#define KEXWATCH_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kexwatch/counters.h"

/* Link types, as numbered in capture files (LINKTYPE_*) and by libpcap (DLT_*). */
enum {
	KX_LINK_NULL = 0,      /* BSD loopback: 4-byte host-order address family */
	KX_LINK_ETHERNET = 1,
	KX_LINK_RAW_DLT = 12,  /* DLT_RAW as libpcap on Linux reports it */
	KX_LINK_RAW = 101,     /* LINKTYPE_RAW in files */
	KX_LINK_LOOP = 108,    /* OpenBSD loopback: network-order address family */
	KX_LINK_SLL = 113,
	KX_LINK_IPV4 = 228,
	KX_LINK_IPV6 = 229,
	KX_LINK_SLL2 = 276,
};

#define KX_MAX_VLAN_DEPTH 4
/* Tunnels inside tunnels peeled off at most; deeper ones are counted and skipped. */
#define KX_MAX_TUNNEL_DEPTH 4
/* MPLS label stack entries read at most before the bottom of the stack. */
#define KX_MAX_MPLS_LABELS 8

/* Kinds of tunnel; the id that comes with each is in brackets. */
enum kx_tunnel {
	KX_TUN_NONE = 0,
	KX_TUN_VXLAN,       /* UDP 4789 [VNI] */
	KX_TUN_GENEVE,      /* UDP 6081 [VNI] */
	KX_TUN_GRE,         /* GRE carrying IP */
	KX_TUN_GRE_KEY,     /* the same with a key [key] */
	KX_TUN_GRETAP,      /* GRE carrying Ethernet (0x6558) */
	KX_TUN_GRETAP_KEY,  /* [key] */
	KX_TUN_ERSPAN1,     /* GRE 0x88be without sequence number: no ERSPAN header */
	KX_TUN_ERSPAN2,     /* GRE 0x88be [session id] */
	KX_TUN_ERSPAN3,     /* GRE 0x22eb [session id] */
	KX_TUN_IPIP,        /* IPv4 in IPv4 */
	KX_TUN_6IN4,
	KX_TUN_4IN6,
	KX_TUN_6IN6,
	KX_TUN_MPLS,        /* [top label] */
	KX_TUN_PPPOE,       /* [session id] */
	KX_TUN_MAX
};

/* What the defragmenter needs of a fragment (KX_DECODE_FRAGMENT). */
struct kx_frag {
	uint32_t id;        /* IPv4 identification / IPv6 fragment identification */
	uint16_t offset;    /* of this fragment's data in the datagram, bytes */
	uint16_t hdr_len;   /* l3 bytes the reassembled datagram starts with: the IPv4
			     * header, or the IPv6 header and the extension headers
			     * before the Fragment header */
	uint16_t nh_at;     /* offset in l3 of the byte naming the upper protocol (IPv4
			     * protocol field; IPv6 Next Header that names Fragment) */
	bool more;          /* more fragments follow (MF / M) */
};

struct kx_pkt {
	uint64_t ts_us;
	uint64_t num;          /* 1-based packet number within its source */
	uint32_t source_id;
	uint32_t wire_len;
	uint8_t iface;         /* kx_iface_name() index of the capture interface, 0: none */

	const uint8_t *l3;     /* IP header, for nDPI */
	uint32_t l3_len;       /* captured bytes of the IP packet (padding trimmed) */

	uint8_t ip_version;    /* 4 or 6 */
	uint8_t proto;         /* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t vlan;         /* outermost VLAN id, 0 when untagged */
	uint8_t tunnel_depth;  /* tunnels peeled off */
	/* The outermost tunnel as the flow key holds it (kx_flow_key copies the
	 * two words at once): its VNI, key or session id (0 for MPLS, whose
	 * labels differ per direction, and for tunnels without an id), and its
	 * kind (enum kx_tunnel, KX_TUN_NONE when none). */
	uint32_t tunnel_id;
	uint32_t tunnel;
	uint32_t tunnel_tag;   /* the id that names it: tunnel_id, or MPLS's top label */
	uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes, rest zero */
	uint16_t sport, dport;

	uint8_t tcp_flags;
	uint32_t seq, ack;

	const uint8_t *payload;
	uint32_t payload_len;  /* bytes present in the capture */
	bool payload_truncated; /* the IP length promised more than was captured */

	struct kx_frag frag;   /* KX_DECODE_FRAGMENT only: payload is the fragment's data,
				* proto the upper protocol, l3 the fragment's IP packet */
};

#define KX_TCP_FIN 0x01
#define KX_TCP_SYN 0x02
#define KX_TCP_RST 0x04
#define KX_TCP_PSH 0x08
#define KX_TCP_ACK 0x10

enum kx_decode_rc {
	KX_DECODE_OK = 0,   /* a TCP or UDP packet */
	KX_DECODE_OTHER,    /* well-formed but nothing for us (ARP, ICMP, ...) */
	KX_DECODE_SKIP,     /* truncated or malformed: a skip_* counter was bumped */
	KX_DECODE_FRAGMENT, /* an IP fragment, captured whole: see struct kx_frag */
};

/* Decodes one frame of link type `link`. Fills *p on KX_DECODE_OK and
 * KX_DECODE_FRAGMENT only (address fields are written in full, so keys can
 * be compared bytewise). */
enum kx_decode_rc kx_decode(int link, const uint8_t *frame, uint32_t caplen,
			    struct kx_pkt *p, struct kx_counters *c);

/* Decodes a reassembled IP datagram the same way from its IP header on.
 * p's vlan and tunnel fields are kept: they are those of its fragments. */
enum kx_decode_rc kx_decode_datagram(const uint8_t *ip, uint32_t len, struct kx_pkt *p,
				     struct kx_counters *c);

/* The label of a tunnel: "vxlan:42", "geneve:7", "gre", "gre:key=5",
 * "gretap", "erspan:7", "ipip", "6in4", "4in6", "6in6", "mpls:100",
 * "pppoe:0x1234"; "" for KX_TUN_NONE. Always terminated; 32 bytes suffice. */
void kx_tunnel_label(uint32_t tunnel, uint32_t id, char *buf, size_t len);

/* True when kx_decode knows the link type. */
bool kx_decode_link_supported(int link);

#endif
