/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_dtls.c: the DTLS record layer and handshake reassembly on arbitrary
 * datagrams. Input: one option byte (bit 0: copy every message, bit 1: tiny
 * memory cap and message limit), then datagrams, each a 2-byte header (top
 * bit: the server's direction, low 15 bits: length, cut to what is left)
 * and its bytes. Delivered hellos go through the DTLS hello parsers; a
 * HelloVerifyRequest or ServerHello from the server rebases its numbering,
 * as the engine does. The seed corpus holds the datagrams of the pcaps/dtls*
 * captures in this format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/dtls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint8_t last;
	struct kx_dtls_stream *server;
};

static bool on_msg(void *ctx, const struct kx_tls_msg *m)
{
	struct sink *k = ctx;
	/* Touch every byte handed out, so a bad pointer or length shows. */
	if (m->body)
		for (uint32_t i = 0; i < m->len; i++)
			k->last ^= m->body[i];
	if (m->content_type != KX_TLS_HANDSHAKE || !m->body)
		return false;
	struct kx_client_hello ch;
	struct kx_client_hello_extra ex;
	struct kx_server_hello sh;
	uint16_t v;
	uint8_t cl;
	switch (m->hs_type) {
	case KX_HS_CLIENT_HELLO:
		kx_tls_parse_dtls_client_hello(m->body, m->len, &ch, &ex);
		break;
	case KX_HS_SERVER_HELLO:
		if (kx_tls_parse_dtls_server_hello(m->body, m->len, &sh) == KX_PARSE_OK && sh.is_hrr &&
		    k->server)
			kx_dtls_stream_rebase(k->server);
		break;
	case KX_HS_HELLO_VERIFY_REQUEST:
		if (kx_dtls_parse_hello_verify_request(m->body, m->len, &v, &cl) == KX_PARSE_OK &&
		    k->server)
			kx_dtls_stream_rebase(k->server);
		break;
	default:
		break;
	}
	return m->len == 4321; /* exercise the stop path too */
}

static void on_frag(void *ctx, uint8_t type, uint32_t voff, uint32_t len)
{
	struct sink *k = ctx;
	k->last ^= (uint8_t)(type ^ voff ^ len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opt = data[0];
	struct kx_bufpool *pool = kx_bufpool_new((opt & 2) ? 4096 : 1 << 20);
	if (!pool)
		return 0;
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_dtls_stream s[2];
	uint32_t want = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12);
	for (int d = 0; d < 2; d++)
		kx_dtls_stream_init(&s[d], want, (opt & 2) ? 512 : 65536, opt & 1);
	struct sink k[2] = { { 0, NULL }, { 0, &s[1] } };
	size_t at = 1;
	while (at + 2 <= size) {
		unsigned hdr = (unsigned)data[at] << 8 | data[at + 1];
		at += 2;
		size_t n = hdr & 0x7fff;
		if (n > size - at)
			n = size - at;
		int dir = hdr >> 15;
		/* An exact-size copy, so a read past the datagram is caught. */
		uint8_t *dg = malloc(n ? n : 1);
		if (!dg)
			break;
		memcpy(dg, data + at, n);
		at += n;
		kx_dtls_looks_like_client_hello(dg, n);
		kx_dtls_is_first_client_hello(dg, n);
		struct kx_dtls_env env = { pool, &c, on_msg, on_frag, &k[dir] };
		kx_dtls_stream_feed(&s[dir], &env, dg, n);
		free(dg);
	}
	for (int d = 0; d < 2; d++)
		kx_dtls_stream_release(&s[d], pool);
	if (kx_bufpool_in_use(pool) != 0)
		abort(); /* a buffer not given back */
	kx_bufpool_free(pool);
	return 0;
}
