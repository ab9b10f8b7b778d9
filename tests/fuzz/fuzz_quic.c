/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_quic.c: QUIC Initial handling on arbitrary bytes. Each input is one
 * UDP datagram, read three ways: as a client datagram with keys derived from
 * its own Destination Connection ID (so seeds taken from captures and the RFC
 * vectors open and reach the frames), as a server datagram with the fixed
 * keys of the RFC 9001 Appendix A connection (whose server Initials open),
 * as a Retry answering that connection (RFC 9001 A.4's verifies), and,
 * because authentication stops every mutated packet before its frames, as
 * an already decrypted Initial payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/quic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint64_t bytes;
	uint8_t last;
};

static bool on_crypto(void *ctx, uint64_t off, const uint8_t *d, uint32_t len)
{
	struct sink *s = ctx;
	/* Touch every byte handed out, so a bad pointer or length shows. */
	for (uint32_t i = 0; i < len; i++)
		s->last ^= d[i];
	s->bytes += len;
	return off > 100000; /* exercise the stop path too */
}

static struct kx_quic_ctx *qc;
static struct kx_quic_secrets rfc;

static void setup(void)
{
	static const uint8_t dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };
	if (qc)
		return;
	qc = kx_quic_ctx_new();
	if (!qc || kx_quic_derive_initial(KX_QUIC_V1, dcid, sizeof(dcid), &rfc) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	struct sink sk;
	memset(&sk, 0, sizeof(sk));
	struct kx_quic_datagram_info info;

	/* client: keys from the datagram's own DCID and version */
	kx_quic_looks_like_initial(data, size, &info);
	enum kx_quic_rc rc = kx_quic_datagram(qc, data, size, true, &rfc, on_crypto, &sk, &info);
	if (rc != KX_QUIC_NOT_QUIC && kx_quic_version_known(info.version)) {
		struct kx_quic_secrets own;
		if (kx_quic_derive_initial(info.version, info.dcid, info.dcid_len, &own) == 0)
			kx_quic_datagram(qc, data, size, true, &own, on_crypto, &sk, &info);
	}

	/* server: the RFC connection's keys (a copy: a version switch rewrites it) */
	struct kx_quic_secrets s = rfc;
	kx_quic_datagram(qc, data, size, false, &s, on_crypto, &sk, NULL);

	/* a Retry to the RFC connection, and to its own DCID's (the seeds
	 * from captures verify that way only with the capture's first DCID,
	 * so parsing past the header is what they exercise) */
	struct kx_quic_retry r;
	kx_quic_retry(qc, data, size, rfc.odcid, rfc.odcid_len, &r);
	if (info.dcid_len <= KX_QUIC_CID_MAX)
		kx_quic_retry(qc, data, size, info.dcid, info.dcid_len, &r);

	/* the bytes as a decrypted Initial payload */
	unsigned n;
	kx_quic_initial_frames(data, size, on_crypto, &sk, &n);
	return 0;
}
