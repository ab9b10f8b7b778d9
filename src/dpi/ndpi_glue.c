/* ndpi_glue.c: everything kexwatch asks of nDPI (see dpi.h). */
#include "kexwatch/dpi.h"

#include <ndpi_api.h>
#include <string.h>

struct kx_dpi {
	struct ndpi_detection_module_struct *mod;
};

struct kx_dpi *kx_dpi_new(void)
{
	struct kx_dpi *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->mod = ndpi_init_detection_module(ndpi_no_prefs);
	if (!d->mod) {
		free(d);
		return NULL;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(d->mod, &all);
	ndpi_finalize_initialization(d->mod);
	return d;
}

void kx_dpi_free(struct kx_dpi *d)
{
	if (!d)
		return;
	ndpi_exit_detection_module(d->mod);
	free(d);
}

size_t kx_dpi_flow_size(void)
{
	return ndpi_detection_get_sizeof_ndpi_flow_struct();
}

bool kx_dpi_packet(struct kx_dpi *d, void *flow, const uint8_t *l3, uint32_t len, uint64_t ts_ms)
{
	struct ndpi_flow_struct *f = flow;
	if (len > 0xffff)
		len = 0xffff;
	ndpi_protocol p = ndpi_detection_process_packet(d->mod, f, l3, (unsigned short)len, ts_ms);
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN)
		return false;
	return !ndpi_extra_dissection_possible(d->mod, f);
}

void kx_dpi_label(struct kx_dpi *d, void *flow, char *buf, size_t len)
{
	struct ndpi_flow_struct *f = flow;
	ndpi_protocol p;
	memset(&p, 0, sizeof(p));
	p.app_protocol = f->detected_protocol_stack[0];
	p.master_protocol = f->detected_protocol_stack[1];
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		uint8_t guessed = 0;
		p = ndpi_detection_giveup(d->mod, f, 1, &guessed);
	}
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
		buf[0] = '\0';
		return;
	}
	ndpi_protocol2name(d->mod, p, buf, (u_int)len);
}

void kx_dpi_flow_reset(void *flow)
{
	ndpi_free_flow_data(flow);
	memset(flow, 0, kx_dpi_flow_size());
}

const char *kx_dpi_version(void)
{
	return ndpi_revision();
}
