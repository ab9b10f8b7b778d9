/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_pipeline.c: a whole capture file through reader, decoder, flow table,
 * reassembly, protocol parsers, classification and the JSON writer, with
 * small caps so eviction, refusal and depth paths run too. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kexwatch/capture.h"
#include "kexwatch/emit.h"
#include "kexwatch/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(void *ctx, const struct kx_hs *hs)
{
	kx_json_write(ctx, hs, "fuzz", "input");
}

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
	if (kx_source_open_file(path, NULL, &src, err, sizeof(err)) == 0) {
		struct kx_counters c;
		memset(&c, 0, sizeof(c));
		struct kx_engine_opts o;
		kx_engine_opts_default(&o);
		o.max_flows = 8;
		o.max_sessions = 4;
		o.max_stream_bytes = 8192;
		o.max_msg_bytes = 4096;
		o.memcap = 64 * 1024;
		o.idle_timeout_s = 5;
		o.defrag_memcap = 16 * 1024; /* 16 blocks */
		o.defrag_max_datagrams = 4;
		o.defrag_timeout_s = 5;
		o.no_ndpi = true;
		struct kx_json *j = kx_json_open("/dev/null", err, sizeof(err));
		struct kx_engine *e = j ? kx_engine_new(&o, &c, emit, j, err, sizeof(err)) : NULL;
		if (e) {
			/* The batched path of `kexwatch read`, batches of 1 to 16. */
			struct kx_frame f[KX_ENGINE_BATCH];
			enum kx_source_rc rc;
			uint64_t n = 0;
			int got;
			int max = size ? 1 + data[size - 1] % KX_ENGINE_BATCH : 1;
			while ((got = kx_source_next_batch(src, f, max, &c, &rc)) > 0 && n < 100000) {
				kx_engine_packets(e, f[0].link, f, got, n + 1, 0);
				n += (uint64_t)got;
			}
			kx_engine_finish(e, KX_R_EOF);
			kx_engine_free(e);
		}
		kx_json_close(j);
		kx_source_close(src);
	}
	close(fd);
	return 0;
}
