/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_der.c: the DER reader and the leaf-certificate parser on arbitrary
 * bytes.
 *
 * Input: byte 0 low bit picks the form (0: a TLS Certificate message body,
 * 1: one DER certificate); for the message form bytes 1-2 (big-endian)
 * cut the assembled prefix, as KX_TLS_PART_MAX cuts a long chain, while the
 * wire length stays the input's. Seeds: the certificates of tests/data/certs
 * and of the TLS 1.2 / DTLS 1.2 captures, as messages and alone.
 */
#include <stdint.h>
#include <string.h>

#include "kexwatch/fingerprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_cert_info ci;
	char oid[64];

	if (size < 3)
		return 0;
	bool der = data[0] & 1;
	size_t cut = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	if (der) {
		kx_cert_parse_der(data, size, &ci);
	} else {
		size_t have = cut && cut < size ? cut : size;
		kx_cert_parse_tls(data, have, size, &ci);
	}
	/* Names of whatever came out, and the generic reader on the same bytes. */
	if (strlen(kx_cert_key_name(ci.key)) + strlen(kx_cert_sig_name(ci.sig)) +
		    strlen(kx_cert_curve_name(ci.curve)) + strlen(kx_cert_status_name(ci.status)) >
	    1000)
		return 0;
	struct kx_rd r = kx_rd_init(data, size);
	for (int i = 0; i < 64 && kx_rd_left(&r); i++) {
		uint8_t tag = 0;
		struct kx_rd c = kx_der_tlv(&r, &tag);
		if (tag == 0x06)
			kx_der_oid_str(c, oid, sizeof(oid));
	}
	return 0;
}
