/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_ssh.c: the SSH stream layer, KEXINIT parser and negotiation on
 * arbitrary bytes, both directions of one connection.
 *
 * Input: byte 0 picks the piece size (low 7 bits) and whether every
 * KEXINIT is assembled instead of parsed in place (high bit); bytes 1-2
 * (big-endian) are the length of the client's bytes, which follow; the
 * rest is the server's. The directions are fed in alternating pieces, as
 * reassembly delivers them, so split lines, split headers and split
 * packets are all exercised. Seeds come from pcaps/ssh-*.pcap
 * (contrib/pcapgen/expected_ssh.py --test-data).
 */
#include <stdint.h>
#include <string.h>

#include "kexwatch/ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct side {
	struct kx_ssh_kexinit k;
	bool have;
};

static bool on_banner(void *ctx, const struct kx_ssh_banner *b)
{
	(void)ctx;
	/* Touch every string so the sanitiser sees any missing NUL. */
	return strlen(b->line) + strlen(b->software) + strlen(b->comments) > 3 * KX_SSH_LINE_MAX;
}

static bool on_kexinit(void *ctx, const struct kx_ssh_kexinit *k)
{
	struct side *s = ctx;
	s->k = *k;
	s->have = true;
	char name[KX_SSH_NAME_MAX + 1];
	for (int id = 0; id < KX_SSH_L_MAX; id++) {
		const char *p = kx_ssh_list_str(k, (enum kx_ssh_list_id)id);
		while (kx_ssh_list_next(&p, name))
			kx_ssh_kex_class(name);
	}
	return false;
}

static bool on_packet(void *ctx, const struct kx_ssh_packet *p)
{
	(void)ctx;
	return p->end_off < p->start_off; /* never: offsets only grow */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t piece = (size_t)(data[0] & 0x7f) * 7 + 1;
	bool copy = data[0] & 0x80;
	size_t clen = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	if (clen > size)
		clen = size;
	const uint8_t *in[2] = { data, data + clen };
	size_t len[2] = { clen, size - clen };

	/* Small caps so the refusal paths are fuzzed too. */
	struct kx_bufpool *pool = kx_bufpool_new(16 * 1024);
	static struct side sides[2];
	struct kx_ssh_stream st[2];
	bool stopped[2] = { false, false };
	size_t off[2] = { 0, 0 };
	for (int d = 0; d < 2; d++) {
		memset(&sides[d], 0, sizeof(sides[d]));
		kx_ssh_stream_init(&st[d], 8 * 1024);
		st[d].copy_always = copy;
	}
	while (off[0] < len[0] || off[1] < len[1]) {
		for (int d = 0; d < 2; d++) {
			if (off[d] >= len[d])
				continue;
			size_t n = len[d] - off[d] < piece ? len[d] - off[d] : piece;
			struct kx_ssh_env env = { pool, on_banner, on_kexinit, on_packet, &sides[d] };
			if (!stopped[d])
				stopped[d] = kx_ssh_stream_feed(&st[d], &env, in[d] + off[d], (uint32_t)n);
			off[d] += n;
		}
	}
	if (sides[0].have && sides[1].have) {
		struct kx_ssh_result r;
		kx_ssh_negotiate(&sides[0].k, &sides[1].k, &r);
		kx_ssh_reason_text(&r);
	}
	for (int d = 0; d < 2; d++) {
		kx_ssh_err_name((enum kx_ssh_err)st[d].err);
		kx_ssh_stream_release(&st[d], pool);
	}
	kx_bufpool_free(pool);

	/* The message parsers on the raw bytes, too. */
	struct kx_ssh_kexinit k;
	struct kx_ssh_banner b;
	kx_ssh_parse_kexinit(data, size, &k);
	kx_ssh_parse_banner(data, size, &b);
	kx_ssh_looks_like_banner(data, size);
	return 0;
}
