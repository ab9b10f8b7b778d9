/* SPDX-License-Identifier: BSD-2-Clause */
/* pcap_int.h: the saved-capture source shared by the classic pcap reader
 * (pcap_source.c) and the pcapng block reader (pcapng.c). */
#ifndef KEXWATCH_PCAP_INT_H
#define KEXWATCH_PCAP_INT_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kexwatch/capture.h"
#include "kexwatch/counters.h"

#define PCAP_HDR_LEN 24
#define REC_HDR_LEN 16
#define MAX_CAPLEN 262144u       /* libpcap's MAXIMUM_SNAPLEN */
#define RESYNC_WINDOW (1u << 20) /* bytes searched for the next good record */
#define RESYNC_CHAIN 3           /* records in a row that a resync point must start */
#define STDIO_BUF (256u * 1024)
#define READ_CHUNK (256u * 1024)
/* Room for a resync: the whole search window plus the records of the chain
 * after the candidate's header, and the last one's header. */
#define WINDOW_CAP (RESYNC_WINDOW + (RESYNC_CHAIN - 1) * (MAX_CAPLEN + REC_HDR_LEN) + REC_HDR_LEN)

/* pcapng: interfaces of the current section. */
#define NG_MAX_IFACES 256
#define NG_MAX_FILTERS 8 /* distinct link types with a compiled BPF filter */

struct ng_iface {
	int link;
	uint32_t snaplen;     /* MAX_CAPLEN when 0 or above it */
	bool decimal;         /* if_tsresol: 10^-exp (else 2^-exp) */
	uint8_t exp;
	int64_t offset_s;     /* if_tsoffset */
	uint8_t name;         /* kx_iface_name() index, 0 when it has none */
	bool unsupported;     /* a link type kexwatch does not decode */
	int filter;           /* index in filters[], -1 when none compiled yet */
};

struct ng_filter {
	int link;
	struct bpf_program prog;
};

struct kx_source {
	char kind[32];
	int link;
	char err[256];
	char warn[256];         /* the capture was cut (cut: counted once) */
	char ifwarn[256];       /* pcapng: an interface of a link type not decoded */
	char warn_all[520];     /* both, for kx_source_warning */
	bool cut;
	uint64_t records;       /* packets read, before the filter */
	uint64_t size;
	struct kx_zstream *z;   /* the bytes of either own reader; NULL with libpcap */

	/* own readers: buf holds the stream's bytes [buf_off, buf_off + buf_len) */
	int fd;            /* -1 on the libpcap path */
	uint8_t *buf;
	uint64_t buf_off;
	size_t buf_len;
	bool eof;
	uint64_t off;      /* next record header / block */
	enum kx_source_rc batch_end; /* END/ERROR met inside a batch, for the next call */
	bool batch_ended;
	uint64_t checked_off;   /* record header next_in_buffer found plausible */
	uint32_t checked_caplen;
	bool swapped;
	bool nanos;
	uint32_t snaplen;       /* from the file header; MAX_CAPLEN when 0 or above it */

	/* pcapng */
	bool ng;
	bool ng_be;             /* the current section is big-endian */
	bool ng_section;        /* a section header was read */
	uint32_t n_ifaces;
	uint64_t ifaces_dropped; /* interfaces beyond NG_MAX_IFACES */
	uint64_t unsupported_pkts;
	struct ng_iface ifaces[NG_MAX_IFACES];
	struct ng_filter filters[NG_MAX_FILTERS];
	int n_filters;
	const char *filter_expr;

	/* libpcap path */
	pcap_t *pcap;
	FILE *fp;
	char *fpbuf;

	/* BPF filter, applied in user space to both paths */
	bool have_filter;
	struct bpf_program prog;
};

/* Makes the stream's bytes [off, off + n) readable (pcap_source.c). */
const uint8_t *kx_src_view(struct kx_source *s, uint64_t off, size_t n, size_t *have);
enum kx_source_rc kx_ng_next(struct kx_source *s, struct kx_frame *f, struct kx_counters *c);
/* Sets up the pcapng reader once the section header's magic is seen. */
/* The index in s->filters of the program for a link type, compiled on
 * first use; -1 with s->err set when the filter does not apply to it. */
int kx_ng_filter(struct kx_source *s, int link);
int kx_ng_open(struct kx_source *s, char *err, size_t errlen, const char *path);

#endif
