/* SPDX-License-Identifier: BSD-2-Clause */
/* decode_int.h: what decode.c and tunnel.c give each other (not installed).
 *
 * decode.c finds a tunnel by an IP protocol, a UDP port or an ethertype and
 * hands its bytes to tunnel.c, which peels the tunnel header off and hands
 * the inner packet back to decode.c at the layer it starts with.
 */
#ifndef KEXWATCH_DECODE_INT_H
#define KEXWATCH_DECODE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "kexwatch/counters.h"
#include "kexwatch/decode.h"
#include "kexwatch/rd.h"

#define KX_UDP_VXLAN 4789
#define KX_UDP_GENEVE 6081

#define KX_ETH_MPLS 0x8847
#define KX_ETH_MPLS_MC 0x8848
#define KX_ETH_PPPOE 0x8864

/* Bytes cross this interface as pointer and length, not as a struct kx_rd:
 * a reader handed whole to another file keeps the compiler from splitting
 * decode.c's readers into registers (measured: +16 instructions a packet). */

/* ---- decode.c, for the inner packet ---- */

/* An Ethernet frame from its destination MAC. */
enum kx_decode_rc kx_decode_inner_eth(const uint8_t *data, size_t len, struct kx_pkt *p,
				      struct kx_counters *c);
/* An IPv4 (version 4) or IPv6 (version 6) packet, or either (version 0:
 * the first nibble decides). */
enum kx_decode_rc kx_decode_inner_ip(int version, const uint8_t *data, size_t len,
				     struct kx_pkt *p, struct kx_counters *c);

/* ---- tunnel.c ---- */

/* IP protocol 4 (IPv4), 41 (IPv6) or 47 (GRE) in an IP packet of version
 * outer_version; data holds the IP payload, truncated says whether the snap
 * length cut it. */
enum kx_decode_rc kx_tunnel_ip(uint8_t proto, int outer_version, const uint8_t *data, size_t len,
			       bool truncated, struct kx_pkt *p, struct kx_counters *c);

/* The UDP payload of a datagram to KX_UDP_VXLAN or KX_UDP_GENEVE. */
enum kx_decode_rc kx_tunnel_udp(uint16_t dport, const uint8_t *data, size_t len, bool truncated,
				struct kx_pkt *p, struct kx_counters *c);

/* An MPLS or PPPoE session payload after its ethertype. */
enum kx_decode_rc kx_tunnel_ethertype(uint16_t type, const uint8_t *data, size_t len,
				      struct kx_pkt *p, struct kx_counters *c);

#endif
