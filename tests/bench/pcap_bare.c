/* SPDX-License-Identifier: BSD-2-Clause */
/* pcap_bare.c: the bare libpcap read loop, the floor for any reader built
 * on libpcap. It does nothing but touch every packet (one byte in 64 and the
 * capture length go into a sum the compiler cannot drop), so the time it
 * takes is libpcap's record parsing plus the kernel's copy out of the page
 * cache.
 *
 *   pcap_bare [--setvbuf] FILE
 *
 * Default: pcap_open_offline (stdio with its default buffer). --setvbuf:
 * fopen, a 256 KiB stdio buffer, pcap_fopen_offline.
 */
/* libpcap's headers use the BSD u_char/u_int types. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#define VBUF_SIZE (256u << 10)

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	const char *path = NULL;
	int use_setvbuf = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--setvbuf") == 0)
			use_setvbuf = 1;
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else
			path = NULL, i = argc;
	}
	if (!path) {
		fprintf(stderr, "usage: pcap_bare [--setvbuf] FILE\n");
		return 2;
	}

	pcap_t *p;
	if (use_setvbuf) {
		FILE *fp = fopen(path, "rb");
		/* Static: the stream keeps using it until pcap_close. */
		static char vbuf[VBUF_SIZE];
		if (!fp || setvbuf(fp, vbuf, _IOFBF, sizeof(vbuf)) != 0) {
			perror(path);
			return 1;
		}
		p = pcap_fopen_offline(fp, err);
	} else {
		p = pcap_open_offline(path, err);
	}
	if (!p) {
		fprintf(stderr, "pcap_bare: %s\n", err);
		return 1;
	}

	struct pcap_pkthdr *h;
	const u_char *d;
	unsigned long long packets = 0, bytes = 0;
	volatile unsigned long long sink = 0;
	unsigned long long acc = 0;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		packets++;
		bytes += h->caplen;
		acc += h->caplen;
		for (bpf_u_int32 i = 0; i < h->caplen; i += 64)
			acc += d[i];
	}
	sink = acc;
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcap_bare: %s: %s\n", path, pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("packets %llu bytes %llu sum %llu\n", packets, bytes, (unsigned long long)sink);
	return 0;
}
