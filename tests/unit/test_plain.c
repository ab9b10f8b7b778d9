/* SPDX-License-Identifier: BSD-2-Clause */
/* test_plain.c: naming sessions that carry no handshake (plain.h), and the
 * STARTTLS module's verdict on why a session stayed in cleartext. */
#include <stdlib.h>

#include "kexwatch/plain.h"
#include "kexwatch/starttls.h"
#include "tap.h"

#define B(s) (const uint8_t *)(s), (uint32_t)(sizeof(s) - 1)

/* Every prefix of a recognised opener must be read without overrun (ASan
 * runs this suite); the full one must be recognised. */
static void every_prefix(bool from_client, const char *s, size_t n, enum kx_app want)
{
	bool ok = true;
	for (size_t i = 0; i <= n; i++) {
		uint8_t *copy = malloc(i ? i : 1);
		memcpy(copy, s, i);
		enum kx_app a = kx_app_from_payload(from_client, copy, (uint32_t)i);
		if (i == n && a != want)
			ok = false;
		free(copy);
	}
	CHECK(ok, "%s recognised, every prefix read in bounds", kx_app_name(want));
}

static enum kx_reason feed_session(const char *const *units, const bool *from_client, size_t n,
				   uint16_t port)
{
	struct kx_starttls st;
	kx_starttls_init(&st);
	kx_starttls_set_port(&st, port);
	for (size_t i = 0; i < n; i++) {
		bool tls = false;
		kx_starttls_feed(&st, from_client[i], (const uint8_t *)units[i],
				 (uint32_t)strlen(units[i]), &tls);
		if (tls)
			return KX_R_NONE;
	}
	return kx_starttls_outcome(&st);
}

int main(void)
{
	CHECK_EQ(kx_app_from_payload(true, B("GET / HTTP/1.1\r\nHost: a\r\n\r\n")), KX_APP_HTTP,
		 "HTTP request");
	CHECK_EQ(kx_app_from_payload(false, B("HTTP/1.1 200 OK\r\n")), KX_APP_HTTP, "HTTP status line");
	CHECK_EQ(kx_app_from_payload(true, B("*1\r\n$4\r\nPING\r\n")), KX_APP_REDIS, "RESP array");
	CHECK_EQ(kx_app_from_payload(true, B("*12\r\nX")), KX_APP_UNKNOWN,
		 "RESP without a bulk string is not Redis");
	CHECK_EQ(kx_app_from_payload(true, B("*1234567\r\n$1")), KX_APP_UNKNOWN, "absurd RESP count");
	CHECK_EQ(kx_app_from_payload(false, B("+PONG\r\n")), KX_APP_REDIS, "Redis answer");
	CHECK_EQ(kx_app_from_payload(true, B("\xff\xfd\x18")), KX_APP_TELNET, "Telnet IAC DO");
	CHECK_EQ(kx_app_from_payload(true, B("GETX")), KX_APP_UNKNOWN, "no method without a space");
	CHECK_EQ(kx_app_from_payload(true, NULL, 0), KX_APP_UNKNOWN, "empty payload");
	every_prefix(true, "POST /x HTTP/1.1\r\n", 18, KX_APP_HTTP);
	every_prefix(true, "*2\r\n$3\r\nGET\r\n", 13, KX_APP_REDIS);

	CHECK_EQ(kx_app_from_tcp_port(5432), KX_APP_POSTGRESQL, "port 5432");
	CHECK_EQ(kx_app_from_tcp_port(443), KX_APP_UNKNOWN, "443 is not a cleartext service");
	int srv = -1;
	CHECK(kx_app_udp_listed(40000, 5060, &srv) == KX_APP_SIP && srv == 1, "SIP to 5060");
	CHECK(kx_app_udp_listed(161, 40000, &srv) == KX_APP_SNMP && srv == 0, "SNMP from 161");
	CHECK(kx_app_udp_listed(40000, 53, &srv) == KX_APP_UNKNOWN, "DNS is not on the list");
	CHECK_STR(kx_app_name(KX_APP_POSTGRESQL), "postgresql", "name");
	CHECK_STR(kx_app_name(KX_APP_MAX), "unknown", "out-of-range name");

	CHECK(kx_plain_looks_like_tls_data(B("\x17\x03\x03\x00\x20")), "TLS application data record");
	CHECK(kx_plain_looks_like_tls_data(B("\x15\x03\x03\x00\x02")), "TLS alert record");
	CHECK(!kx_plain_looks_like_tls_data(B("\x16\x03\x01\x02\x00")), "a handshake record is not data");
	CHECK(!kx_plain_looks_like_tls_data(B("\x17\x03\x03\x48\x01")), "record longer than 2^14+2048");
	CHECK(!kx_plain_looks_like_tls_data(B("\x17\x03\x03\x00")), "truncated header");
	CHECK(!kx_plain_looks_like_tls_data(B("\x17\x02\x03\x00\x20")), "not version 3.x");

	uint8_t q[40] = { 0x40 | 0x01 };
	CHECK(kx_plain_looks_like_quic_later(q, sizeof(q)), "QUIC short header");
	CHECK(!kx_plain_looks_like_quic_later(q, 20), "short header too short for a tag");
	q[0] = 0x00;
	CHECK(!kx_plain_looks_like_quic_later(q, sizeof(q)), "fixed bit clear: not QUIC");
	uint8_t hs[40] = { 0xe0, 0, 0, 0, 1 }; /* v1 long header, type 2: Handshake */
	CHECK(kx_plain_looks_like_quic_later(hs, sizeof(hs)), "QUIC v1 Handshake packet");
	hs[0] = 0xc0; /* type 0: Initial */
	CHECK(!kx_plain_looks_like_quic_later(hs, sizeof(hs)), "an Initial starts a handshake");
	hs[4] = 7;
	CHECK(!kx_plain_looks_like_quic_later(hs, sizeof(hs)), "unknown version");

	/* Why a session stayed in cleartext. */
	const char *smtp_plain[] = { "220 mx.kx.test ESMTP\r\n", "EHLO c\r\n",
				     "250-mx.kx.test\r\n250 STARTTLS\r\n", "MAIL FROM:<a@b>\r\n" };
	const bool smtp_dirs[] = { false, true, false, true };
	CHECK_EQ(feed_session(smtp_plain, smtp_dirs, 4, 25), KX_R_STARTTLS_NOT_OFFERED,
		 "SMTP, the client never says STARTTLS");
	const char *smtp_refused[] = { "220 mx.kx.test ESMTP\r\n", "EHLO c\r\n", "250 mx\r\n",
				       "STARTTLS\r\n", "454 4.7.0 TLS not available\r\n",
				       "MAIL FROM:<a@b>\r\n" };
	const bool refused_dirs[] = { false, true, false, true, false, true };
	CHECK_EQ(feed_session(smtp_refused, refused_dirs, 6, 25), KX_R_STARTTLS_REFUSED,
		 "SMTP STARTTLS answered 454");
	/* SSLRequest (length 8, code 80877103), then the server's 'N'. */
	const char *pg_n[] = { "\x00\x00\x00\x08\x04\xd2\x16\x2f", "N" };
	struct kx_starttls st;
	kx_starttls_init(&st);
	bool tls = false;
	kx_starttls_feed(&st, true, (const uint8_t *)pg_n[0], 8, &tls);
	kx_starttls_feed(&st, false, (const uint8_t *)pg_n[1], 1, &tls);
	CHECK_EQ(kx_starttls_outcome(&st), KX_R_SSL_REFUSED, "PostgreSQL SSLRequest answered 'N'");
	return tap_done();
}
