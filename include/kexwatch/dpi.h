/* SPDX-License-Identifier: BSD-2-Clause */
/* dpi.h: the nDPI glue, kept in one place. nDPI gives each handshake an
 * application label ("TLS", "TLS.Google", ...) in one of two ways:
 *
 *  - by name and address (default): kexwatch has already parsed the
 *    handshake, so the label is the protocol plus nDPI's match of the SNI
 *    against its host list and of the server address against its IP list,
 *    the same lookups nDPI's own TLS dissector ends with. Costs one string
 *    match per handshake.
 *  - by packets (--ndpi-packets): nDPI dissects the flow's first packets from
 *    the SYN until it has a label, in caller-owned per-flow state of
 *    kx_dpi_flow_size() bytes (688 with nDPI 4.2). Its TLS dissector builds
 *    JA3 strings on every ClientHello, which made it the costliest stage.
 */
#ifndef KEXWATCH_DPI_H
#define KEXWATCH_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kx_dpi;

/* packets: the module will dissect packets (kx_dpi_packet), which needs
 * libgcrypt set up for QUIC; a by-name module leaves libgcrypt alone, so it
 * can be created on another thread while the capture thread sets it up. */
struct kx_dpi *kx_dpi_new(bool packets);
void kx_dpi_free(struct kx_dpi *d);

/* For a process about to exit: a module is ~100 000 small allocations in
 * nDPI's trees, and freeing them one by one took ~5 ms of the last
 * milliseconds of a run (plus the allocator's consolidation after it) for
 * memory the exit returns anyway. The module is kept reachable, so leak
 * checkers do not report it; past a few modules it is freed after all. */
void kx_dpi_release_at_exit(struct kx_dpi *d);

/* A by-name module takes ~15 ms to create (nDPI loads its host and address
 * lists). kx_dpi_new_async creates one on a thread of its own, so that this
 * overlaps the caller's other start-up work (opening the database); the
 * module is taken with kx_dpi_join, exactly once, on any thread: NULL when
 * it could not be created. */
struct kx_dpi_async;
struct kx_dpi_async *kx_dpi_new_async(void);
struct kx_dpi *kx_dpi_join(struct kx_dpi_async *a);

size_t kx_dpi_flow_size(void);

/* Feeds one IP packet; returns true when the label is final. */
bool kx_dpi_packet(struct kx_dpi *d, void *flow, const uint8_t *l3, uint32_t len,
		   uint64_t ts_ms);

/* Writes the label ("" when nothing was detected), guessing if needed. */
void kx_dpi_label(struct kx_dpi *d, void *flow, char *buf, size_t len);

/* Frees what nDPI allocated inside the flow state and zeroes it for reuse. */
void kx_dpi_flow_reset(void *flow);

enum kx_dpi_proto { KX_DPI_TLS = 0, KX_DPI_QUIC, KX_DPI_SSH, KX_DPI_DTLS, KX_DPI_PROTO_MAX };

/* Label for a handshake kexwatch parsed itself: "TLS" or "TLS.<app>" (QUIC,
 * SSH, DTLS alike). */
void kx_dpi_label_by_name(struct kx_dpi *d, enum kx_dpi_proto proto, const char *sni,
			  const uint8_t *server_ip, int ip_version, char *buf, size_t len);

/* "4.2.0" style version string of the linked library. */
/* A session without a handshake (plaintext legs): nDPI's guess from the
 * transport and ports (its default port table), then its address list; ""
 * when it has none. Host-order ports; IPv4 addresses in the first 4 bytes. */
void kx_dpi_label_by_port(struct kx_dpi *d, uint8_t transport, const uint8_t *client_ip,
			  uint16_t client_port, const uint8_t *server_ip, uint16_t server_port,
			  int ip_version, char *buf, size_t len);

const char *kx_dpi_version(void);

#endif
