/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_tls.c: the TLS record layer and hello parsers on arbitrary bytes.
 * The first input byte picks how the rest is cut into pieces, so split
 * records, split headers and split messages are all exercised. */
#include <stdint.h>
#include <string.h>

#include "kexwatch/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool on_msg(void *ctx, const struct kx_tls_msg *m)
{
	(void)ctx;
	if (m->content_type != KX_TLS_HANDSHAKE || !m->body)
		return false;
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	struct kx_server_hello sh;
	uint8_t kx;
	uint16_t group;
	switch (m->hs_type) {
	case KX_HS_CLIENT_HELLO:
		kx_tls_parse_client_hello(m->body, m->len, &ch, &ex);
		break;
	case KX_HS_SERVER_HELLO:
		kx_tls_parse_server_hello(m->body, m->len, &sh);
		break;
	case KX_HS_SERVER_KEY_EXCHANGE:
		kx_tls_parse_server_key_exchange(m->body, m->len, 0xc02f, &kx, &group);
		kx_tls_parse_server_key_exchange(m->body, m->len, 0x009e, &kx, &group);
		break;
	default:
		break;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)data[0] * 7 + 1;
	data++;
	size--;
	/* Small caps so the refusal paths are fuzzed too. */
	struct kx_bufpool *pool = kx_bufpool_new(64 * 1024);
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_tls_stream st;
	kx_tls_stream_init(&st, (1u << 1) | (1u << 2) | (1u << 12), 32 * 1024);
	struct kx_tls_env env = { pool, &c, on_msg, NULL };
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (kx_tls_stream_feed(&st, &env, data + off, (uint32_t)n))
			break;
	}
	kx_tls_stream_release(&st, pool);
	kx_bufpool_free(pool);

	/* The parsers on the raw bytes as a message body, too. */
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	struct kx_server_hello sh;
	kx_tls_parse_client_hello(data, size, &ch, &ex);
	kx_tls_parse_server_hello(data, size, &sh);
	kx_tls_looks_like_hello(data, size);
	return 0;
}
