/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_capture.c: the capture readers alone: the input as a file through
 * kx_source (magic number, gzip/xz/zstd decompression, the classic pcap
 * reader with its resync, the pcapng block reader with its interfaces,
 * options and resync), every frame's bytes touched so a view past its
 * buffer shows up under ASan. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kexwatch/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("kx-fuzz", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64], err[256];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct kx_source *src;
	/* A filter on every other input: pcapng compiles one per link type. */
	struct kx_source_opts o = { .filter = size && data[0] & 1 ? "tcp or udp" : NULL };
	if (kx_source_open_file(path, &o, &src, err, sizeof(err)) == 0) {
		struct kx_counters c;
		memset(&c, 0, sizeof(c));
		struct kx_frame f[16];
		enum kx_source_rc rc;
		volatile uint32_t sum = 0;
		uint64_t n = 0;
		int got;
		while ((got = kx_source_next_batch(src, f, 16, &c, &rc)) > 0 && n < 100000) {
			for (int i = 0; i < got; i++) {
				for (uint32_t k = 0; k < f[i].caplen; k++)
					sum += f[i].data[k];
				const char *name = kx_iface_name(f[i].iface);
				if (name)
					sum += (uint32_t)strlen(name);
			}
			n += (uint64_t)got;
		}
		(void)kx_source_warning(src);
		(void)kx_source_pos(src);
		kx_source_close(src);
	}
	close(fd);
	return 0;
}
