/* dpi.h: the nDPI glue, kept in one place. nDPI labels a flow's application
 * protocol ("TLS", "TLS.Google", ...) from its first packets; kexwatch stops
 * feeding it as soon as it has a label. The per-flow state is caller-owned
 * memory of kx_dpi_flow_size() bytes (688 with nDPI 4.2).
 */
#ifndef KEXWATCH_DPI_H
#define KEXWATCH_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kx_dpi;

struct kx_dpi *kx_dpi_new(void);
void kx_dpi_free(struct kx_dpi *d);

size_t kx_dpi_flow_size(void);

/* Feeds one IP packet; returns true when the label is final. */
bool kx_dpi_packet(struct kx_dpi *d, void *flow, const uint8_t *l3, uint32_t len,
		   uint64_t ts_ms);

/* Writes the label ("" when nothing was detected), guessing if needed. */
void kx_dpi_label(struct kx_dpi *d, void *flow, char *buf, size_t len);

/* Frees what nDPI allocated inside the flow state and zeroes it for reuse. */
void kx_dpi_flow_reset(void *flow);

/* "4.2.0" style version string of the linked library. */
const char *kx_dpi_version(void);

#endif
