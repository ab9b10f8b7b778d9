/* decode.h: link layer -> IP -> TCP/UDP, into a struct kx_pkt of views.
 *
 * The decoder never copies: kx_pkt points into the captured frame. Every
 * failure is one counter in struct kx_counters (truncated and malformed are
 * kept apart, as tcpdump keeps "[|trunc]" and "invalid" apart).
 */
#ifndef KEXWATCH_DECODE_H
#define KEXWATCH_DECODE_H

#include <stdbool.h>
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

struct kx_pkt {
	uint64_t ts_us;
	uint64_t num;          /* 1-based packet number within its source */
	uint32_t source_id;
	uint32_t wire_len;

	const uint8_t *l3;     /* IP header, for nDPI */
	uint32_t l3_len;       /* captured bytes of the IP packet (padding trimmed) */

	uint8_t ip_version;    /* 4 or 6 */
	uint8_t proto;         /* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t vlan;         /* outermost VLAN id, 0 when untagged */
	uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes, rest zero */
	uint16_t sport, dport;

	uint8_t tcp_flags;
	uint32_t seq, ack;

	const uint8_t *payload;
	uint32_t payload_len;  /* bytes present in the capture */
	bool payload_truncated; /* the IP length promised more than was captured */
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
};

/* Decodes one frame of link type `link`. Fills *p on KX_DECODE_OK only
 * (address fields are written in full, so keys can be compared bytewise). */
enum kx_decode_rc kx_decode(int link, const uint8_t *frame, uint32_t caplen,
			    struct kx_pkt *p, struct kx_counters *c);

/* True when kx_decode knows the link type. */
bool kx_decode_link_supported(int link);

#endif
