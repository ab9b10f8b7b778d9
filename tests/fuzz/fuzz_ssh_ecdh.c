/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_ssh_ecdh.c: SSH_MSG_KEX_ECDH_INIT / REPLY on arbitrary bytes, alone
 * and through the stream layer after a real KEXINIT.
 *
 * Input: byte 0 picks the piece size (low 7 bits) and whether packets are
 * assembled instead of parsed in place (high bit); the rest is one
 * direction's stream bytes (a version line, a KEXINIT, the ECDH message,
 * ...). Every packet the stream hands over with a payload is parsed, and
 * the whole input is parsed as one payload too. Seeds: the client and
 * server streams of pcaps/ssh-*.pcap cut after the ECDH messages.
 */
#include <stdint.h>
#include <string.h>

#include "kexwatch/ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool on_packet(void *ctx, const struct kx_ssh_packet *p)
{
	uint32_t q = 0;
	unsigned *n = ctx;
	if (p->payload) {
		(*n)++;
		if (kx_ssh_parse_ecdh(p->payload, p->payload_len, &q) == KX_SSH_OK &&
		    q > p->payload_len)
			__builtin_trap(); /* a size larger than its message cannot be */
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t q = 0;
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 0x7f) * 13 + 1;
	bool copy = data[0] & 0x80;
	data++;
	size--;
	if (kx_ssh_parse_ecdh(data, size, &q) == KX_SSH_OK && q > size)
		__builtin_trap();

	struct kx_bufpool *pool = kx_bufpool_new(1u << 20);
	unsigned handed = 0;
	struct kx_ssh_stream s;
	kx_ssh_stream_init(&s, 0);
	s.copy_always = copy;
	struct kx_ssh_env env = { pool, NULL, NULL, on_packet, &handed };
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (kx_ssh_stream_feed(&s, &env, data + off, (uint32_t)n))
			break;
	}
	kx_ssh_stream_release(&s, pool);
	kx_bufpool_free(pool);
	if (handed > 1)
		__builtin_trap(); /* only the first ECDH message is kept */
	return 0;
}
