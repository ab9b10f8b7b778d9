/* SPDX-License-Identifier: BSD-2-Clause */
/* test_dpi.c: nDPI labels by name and address, as nDPI's TLS dissector names them. */
#include "kexwatch/dpi.h"
#include "tap.h"

static void label(struct kx_dpi *d, const char *sni, const uint8_t ip[4], const char *want)
{
	char buf[64];
	kx_dpi_label_by_name(d, KX_DPI_TLS, sni, ip, 4, buf, sizeof(buf));
	CHECK_STR(buf, want, sni[0] ? sni : "(no SNI)");
}

int main(void)
{
	struct kx_dpi *d = kx_dpi_new(true);
	CHECK(d != NULL, "nDPI initialised");
	const uint8_t test_net[4] = { 198, 18, 0, 20 };
	const uint8_t google_dns[4] = { 8, 8, 8, 8 };
	label(d, "hybrid.kx.test", test_net, "TLS");
	label(d, "www.google.com", test_net, "TLS.Google");
	label(d, "api.github.com", test_net, "TLS.Github");
	label(d, "", google_dns, "TLS.Google");
	label(d, "", test_net, "TLS");
	char buf[64];
	kx_dpi_label_by_name(d, KX_DPI_SSH, "", test_net, 4, buf, sizeof(buf));
	CHECK_STR(buf, "SSH", "SSH by name");
	kx_dpi_label_by_name(d, KX_DPI_DTLS, "dtls12-openssl.kx.test", test_net, 4, buf, sizeof(buf));
	CHECK_STR(buf, "DTLS", "DTLS by name");
	kx_dpi_label_by_name(d, KX_DPI_DTLS, "www.google.com", test_net, 4, buf, sizeof(buf));
	CHECK_STR(buf, "DTLS.Google", "DTLS with a known SNI");
	kx_dpi_free(d);
	return tap_done();
}
