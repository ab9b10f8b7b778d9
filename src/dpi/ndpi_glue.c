/* SPDX-License-Identifier: BSD-2-Clause */
/* ndpi_glue.c: everything kexwatch asks of nDPI (see dpi.h). */
#include "kexwatch/dpi.h"
#include "kexwatch/hs.h"

#include <ndpi_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Labels by name are a pure function of (protocol, SNI, IPv4 server
 * address), and a link sees the same endpoints again and again: a small
 * direct-mapped cache skips nDPI's string automaton and address tree for
 * repeats (measured: 88 % hits and a tenth of the packet thread's time on
 * the dense benchmark). SNIs longer than the slot go uncached. */
#define LABEL_CACHE_SLOTS 4096
#define LABEL_CACHE_SNI 64

struct label_slot {
	uint8_t used, proto;
	uint8_t ip[4];        /* IPv4 server address, zero otherwise */
	char sni[LABEL_CACHE_SNI];
	char label[KX_LABEL_MAX];
};

struct kx_dpi {
	struct ndpi_detection_module_struct *mod;
	struct label_slot *cache;
};

struct kx_dpi *kx_dpi_new(bool packets)
{
	struct kx_dpi *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cache = calloc(LABEL_CACHE_SLOTS, sizeof(*d->cache));
	d->mod = d->cache ? ndpi_init_detection_module(packets ? ndpi_no_prefs
									 : ndpi_dont_init_libgcrypt) : NULL;
	if (!d->mod) {
		free(d->cache);
		free(d);
		return NULL;
	}
	/* Only the dissectors for protocols that carry a key exchange kexwatch
	 * reports: every enabled dissector is tried on every packet until one
	 * matches, so enabling all of them made nDPI the costliest stage.
	 * Sub-protocol labels (TLS.Google, ...) come from the SNI and IP
	 * matching inside the TLS/QUIC dissectors and are unaffected. */
	static const uint16_t wanted[] = {
		NDPI_PROTOCOL_TLS,       NDPI_PROTOCOL_QUIC,      NDPI_PROTOCOL_DTLS,
		NDPI_PROTOCOL_SSH,       NDPI_PROTOCOL_MAIL_SMTP, NDPI_PROTOCOL_MAIL_SMTPS,
		NDPI_PROTOCOL_MAIL_IMAP, NDPI_PROTOCOL_MAIL_IMAPS, NDPI_PROTOCOL_MAIL_POP,
		NDPI_PROTOCOL_MAIL_POPS, NDPI_PROTOCOL_FTP_CONTROL, NDPI_PROTOCOL_LDAP,
		NDPI_PROTOCOL_JABBER,    NDPI_PROTOCOL_POSTGRES,  NDPI_PROTOCOL_MYSQL,
		NDPI_PROTOCOL_HTTP,
	};
	NDPI_PROTOCOL_BITMASK mask;
	NDPI_BITMASK_RESET(mask);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		NDPI_ADD_PROTOCOL_TO_BITMASK(mask, wanted[i]);
	ndpi_set_protocol_detection_bitmask2(d->mod, &mask);
	ndpi_finalize_initialization(d->mod);
	return d;
}

struct kx_dpi_async {
	pthread_t thread;
	bool started;
	struct kx_dpi *dpi;
};

static void *create_by_name(void *arg)
{
	struct kx_dpi_async *a = arg;
	a->dpi = kx_dpi_new(false);
	return NULL;
}

struct kx_dpi_async *kx_dpi_new_async(void)
{
	struct kx_dpi_async *a = calloc(1, sizeof(*a));
	if (a)
		a->started = pthread_create(&a->thread, NULL, create_by_name, a) == 0;
	return a;
}

struct kx_dpi *kx_dpi_join(struct kx_dpi_async *a)
{
	if (!a)
		return NULL;
	/* Without a thread to spare, the module is made here instead. */
	if (a->started)
		pthread_join(a->thread, NULL);
	else
		a->dpi = kx_dpi_new(false);
	struct kx_dpi *d = a->dpi;
	free(a);
	return d;
}

void kx_dpi_free(struct kx_dpi *d)
{
	if (!d)
		return;
	ndpi_exit_detection_module(d->mod);
	free(d->cache);
	free(d);
}

static struct kx_dpi *left_for_exit[4];
static _Atomic unsigned n_left_for_exit;

void kx_dpi_release_at_exit(struct kx_dpi *d)
{
	if (!d)
		return;
	unsigned i = atomic_fetch_add(&n_left_for_exit, 1);
	if (i < sizeof(left_for_exit) / sizeof(left_for_exit[0]))
		left_for_exit[i] = d;
	else
		kx_dpi_free(d);
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
	/* A label is all kexwatch wants: nDPI's extra dissection (certificates,
	 * JA3 of the server) would cost more packets and is not used. */
	return p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
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

static void label_by_name(struct kx_dpi *d, enum kx_dpi_proto proto, const char *sni,
			  const uint8_t *server_ip, int ip_version, char *buf, size_t len)
{
	static const uint16_t ids[KX_DPI_PROTO_MAX] = {
		[KX_DPI_TLS] = NDPI_PROTOCOL_TLS,
		[KX_DPI_QUIC] = NDPI_PROTOCOL_QUIC,
		[KX_DPI_SSH] = NDPI_PROTOCOL_SSH,
		[KX_DPI_DTLS] = NDPI_PROTOCOL_DTLS,
	};
	uint16_t master = (unsigned)proto < KX_DPI_PROTO_MAX ? ids[proto] : NDPI_PROTOCOL_UNKNOWN;
	int app = NDPI_PROTOCOL_UNKNOWN;
	if (sni && sni[0]) {
		ndpi_protocol_match_result m;
		memset(&m, 0, sizeof(m));
		int id = ndpi_match_string_subprotocol(d->mod, (char *)sni, (u_int)strlen(sni), &m);
		if (id > 0)
			app = id;
	}
	if (app == NDPI_PROTOCOL_UNKNOWN && ip_version == 4) {
		struct in_addr a;
		memcpy(&a, server_ip, 4);
		app = ndpi_network_ptree_match(d->mod, &a);
	}
	ndpi_protocol p;
	memset(&p, 0, sizeof(p));
	p.master_protocol = master;
	p.app_protocol = app != NDPI_PROTOCOL_UNKNOWN ? (u_int16_t)app : master;
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
		buf[0] = '\0';
		return;
	}
	ndpi_protocol2name(d->mod, p, buf, (u_int)len);
}

void kx_dpi_label_by_name(struct kx_dpi *d, enum kx_dpi_proto proto, const char *sni,
			  const uint8_t *server_ip, int ip_version, char *buf, size_t len)
{
	size_t sni_len = sni ? strnlen(sni, LABEL_CACHE_SNI) : 0;
	if (sni_len == LABEL_CACHE_SNI || len < KX_LABEL_MAX) {
		label_by_name(d, proto, sni, server_ip, ip_version, buf, len);
		return;
	}
	uint8_t ip[4] = { 0 };
	if (ip_version == 4)
		memcpy(ip, server_ip, 4);
	/* FNV-1a over the key; the cache holds no secrets worth a keyed hash:
	 * a collision only costs a lookup. */
	uint32_t h = 2166136261u ^ (uint32_t)proto;
	for (size_t i = 0; i < 4; i++)
		h = (h ^ ip[i]) * 16777619u;
	for (size_t i = 0; i < sni_len; i++)
		h = (h ^ (uint8_t)sni[i]) * 16777619u;
	struct label_slot *c = &d->cache[(h ^ h >> 16) & (LABEL_CACHE_SLOTS - 1)];
	if (c->used && c->proto == proto && memcmp(c->ip, ip, 4) == 0 &&
	    strncmp(c->sni, sni ? sni : "", LABEL_CACHE_SNI) == 0) {
		memcpy(buf, c->label, KX_LABEL_MAX);
		return;
	}
	label_by_name(d, proto, sni, server_ip, ip_version, c->label, KX_LABEL_MAX);
	c->used = 1;
	c->proto = (uint8_t)proto;
	memcpy(c->ip, ip, 4);
	memset(c->sni, 0, sizeof(c->sni));
	memcpy(c->sni, sni ? sni : "", sni_len);
	memcpy(buf, c->label, KX_LABEL_MAX);
}

void kx_dpi_label_by_port(struct kx_dpi *d, uint8_t transport, const uint8_t *client_ip,
			  uint16_t client_port, const uint8_t *server_ip, uint16_t server_port,
			  int ip_version, char *buf, size_t len)
{
	uint32_t c4 = 0, s4 = 0;
	if (ip_version == 4) {
		memcpy(&c4, client_ip, 4);
		memcpy(&s4, server_ip, 4);
	}
	/* nDPI 4.2 takes addresses and ports in host byte order here. */
	ndpi_protocol p = ndpi_guess_undetected_protocol(d->mod, NULL, transport, ntohl(c4),
							 client_port, ntohl(s4), server_port);
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && ip_version == 4) {
		struct in_addr a;
		memcpy(&a, server_ip, 4);
		p.app_protocol = (u_int16_t)ndpi_network_ptree_match(d->mod, &a);
	}
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
		buf[0] = '\0';
		return;
	}
	ndpi_protocol2name(d->mod, p, buf, (u_int)len);
}

const char *kx_dpi_version(void)
{
	return ndpi_revision();
}
