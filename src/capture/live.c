/* SPDX-License-Identifier: BSD-2-Clause */
/* live.c: libpcap live capture for `kexwatch live` (see live.h). */
#include "kexwatch/live.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/capture.h"
#include "kexwatch/decode.h"

struct iface {
	pcap_t *p;
	char name[64];
	int link;
	uint8_t iface; /* kx_iface_name() index of name */
	/* pcap_stats counters are 32-bit and wrap: widened here. */
	uint32_t last_recv, last_drop, last_ifdrop;
	uint64_t recv, drop, ifdrop;
};

struct kx_live {
	struct iface ifs[KX_LIVE_MAX_IFACES];
	unsigned n;
};

struct read_ctx {
	struct kx_live *l;
	unsigned i;
	kx_live_fn fn;
	void *ctx;
};

static void appendf(char *buf, size_t len, const char *line)
{
	size_t used = strlen(buf);
	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s\n", line);
}

static int open_one(struct iface *f, const char *name, const struct kx_live_opts *o, char *err,
		    size_t errlen, char *warn, size_t warnlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->iface = kx_iface_intern(name, strlen(name));
	f->p = pcap_create(name, ebuf);
	if (!f->p) {
		snprintf(err, errlen, "%s: %s", name, ebuf);
		return -1;
	}
	pcap_set_snaplen(f->p, o->snaplen > 0 ? o->snaplen : KX_LIVE_DEFAULT_SNAPLEN);
	pcap_set_promisc(f->p, !o->no_promisc);
	pcap_set_buffer_size(f->p, (o->buffer_mb > 0 ? o->buffer_mb : KX_LIVE_DEFAULT_BUFFER_MB) << 20);
	/* Immediate mode: a ServerHello is handled when it arrives, not when a
	 * kernel buffer block fills up on a quiet link. */
	pcap_set_immediate_mode(f->p, 1);
	pcap_set_timeout(f->p, 100);
	int rc = pcap_activate(f->p);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s%s%s", name, pcap_statustostr(rc),
			 rc == PCAP_ERROR ? ": " : "", rc == PCAP_ERROR ? pcap_geterr(f->p) : "");
		if (rc == PCAP_ERROR_PERM_DENIED)
			snprintf(err + strlen(err), errlen - strlen(err),
				 " (needs root or CAP_NET_RAW and CAP_NET_ADMIN)");
		return -1;
	}
	if (rc > 0) {
		char line[PCAP_ERRBUF_SIZE + 128];
		snprintf(line, sizeof(line), "%s: warning: %s: %s", name, pcap_statustostr(rc),
			 pcap_geterr(f->p));
		appendf(warn, warnlen, line);
	}
	f->link = pcap_datalink(f->p);
	if (!kx_decode_link_supported(f->link)) {
		snprintf(err, errlen, "%s: unsupported link type %s", name,
			 pcap_datalink_val_to_name(f->link) ? pcap_datalink_val_to_name(f->link)
							     : "?");
		return -1;
	}
	if (o->filter) {
		struct bpf_program prog;
		if (pcap_compile(f->p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			snprintf(err, errlen, "bad filter '%s': %s", o->filter, pcap_geterr(f->p));
			return -1;
		}
		rc = pcap_setfilter(f->p, &prog);
		pcap_freecode(&prog);
		if (rc < 0) {
			snprintf(err, errlen, "%s: cannot set filter: %s", name, pcap_geterr(f->p));
			return -1;
		}
	}
	if (pcap_setnonblock(f->p, 1, ebuf) < 0) {
		snprintf(err, errlen, "%s: %s", name, ebuf);
		return -1;
	}
	return 0;
}

int kx_live_open(const struct kx_live_opts *o, struct kx_live **ret, char *err, size_t errlen,
		 char *warn, size_t warnlen)
{
	if (warnlen)
		warn[0] = '\0';
	if (o->n_ifaces == 0 || o->n_ifaces > KX_LIVE_MAX_IFACES) {
		snprintf(err, errlen, "between 1 and %d interfaces, please", KX_LIVE_MAX_IFACES);
		return -1;
	}
	struct kx_live *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < o->n_ifaces; i++) {
		l->n = i + 1;
		if (open_one(&l->ifs[i], o->ifaces[i], o, err, errlen, warn, warnlen) < 0) {
			kx_live_close(l);
			return -1;
		}
	}
	*ret = l;
	return 0;
}

unsigned kx_live_count(const struct kx_live *l)
{
	return l->n;
}

int kx_live_link(const struct kx_live *l, unsigned i)
{
	return l->ifs[i].link;
}

const char *kx_live_name(const struct kx_live *l, unsigned i)
{
	return l->ifs[i].name;
}

void kx_live_pollfds(const struct kx_live *l, struct pollfd *fds)
{
	for (unsigned i = 0; i < l->n; i++) {
		fds[i].fd = pcap_get_selectable_fd(l->ifs[i].p);
		fds[i].events = POLLIN;
		fds[i].revents = 0;
	}
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct read_ctx *r = (struct read_ctx *)user;
	struct kx_frame f = {
		.data = data,
		.caplen = h->caplen,
		.wirelen = h->len,
		.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
		.link = r->l->ifs[r->i].link,
		.iface = r->l->ifs[r->i].iface,
	};
	r->fn(r->ctx, r->i, &f);
}

int kx_live_read(struct kx_live *l, unsigned i, int max, kx_live_fn fn, void *ctx, char *err,
		 size_t errlen)
{
	struct read_ctx r = { l, i, fn, ctx };
	int n = pcap_dispatch(l->ifs[i].p, max, on_packet, (u_char *)&r);
	if (n == PCAP_ERROR) {
		snprintf(err, errlen, "%s: %s", l->ifs[i].name, pcap_geterr(l->ifs[i].p));
		return -1;
	}
	return n < 0 ? 0 : n; /* PCAP_ERROR_BREAK: asked to stop */
}

static uint64_t widen(uint64_t *total, uint32_t *last, uint32_t now)
{
	*total += (uint32_t)(now - *last);
	*last = now;
	return *total;
}

int kx_live_stats(struct kx_live *l, unsigned i, uint64_t *ret_received, uint64_t *ret_dropped,
		  uint64_t *ret_if_dropped)
{
	struct iface *f = &l->ifs[i];
	struct pcap_stat st;
	if (pcap_stats(f->p, &st) < 0)
		return -1;
	*ret_received = widen(&f->recv, &f->last_recv, st.ps_recv);
	*ret_dropped = widen(&f->drop, &f->last_drop, st.ps_drop);
	*ret_if_dropped = widen(&f->ifdrop, &f->last_ifdrop, st.ps_ifdrop);
	return 0;
}

void kx_live_break(struct kx_live *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->ifs[i].p)
			pcap_breakloop(l->ifs[i].p);
}

void kx_live_close(struct kx_live *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n; i++)
		if (l->ifs[i].p)
			pcap_close(l->ifs[i].p);
	free(l);
}
