/* SPDX-License-Identifier: BSD-2-Clause */
/* test_starttls.c: the STARTTLS follower on hand-built exchanges and on
 * exchanges cut from the bundled starttls-*.pcap captures. Every exchange is
 * fed whole, byte by byte, split at every offset of every message, and in
 * two other direction orders; the TLS start offsets must always agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/starttls.h"
#include "tap.h"

#define CLI 1
#define SRV 0

struct msg {
	int client;
	const char *b;
	uint32_t n;
	int tls_at; /* offset in this message where TLS starts, or -1 */
};

#define M(dir, s, at) { dir, s, (uint32_t)(sizeof(s) - 1), at }
#define C(s) M(CLI, s, -1)
#define S(s) M(SRV, s, -1)
#define CT(s) M(CLI, s, 0)
#define ST(s) M(SRV, s, 0)

/* A ClientHello and ServerHello record start: only the first byte matters. */
#define CH "\x16\x03\x01\x00\x04\x01\x00\x00\x00"
#define SH "\x16\x03\x03\x00\x04\x02\x00\x00\x00"

struct result {
	int64_t off[2]; /* [client] TLS start in the direction's stream, or -1 */
	int proto;
	int gave_up;
	uint32_t anomalies;
};

enum order { ORDER_AS_GIVEN, ORDER_CLIENT_FIRST, ORDER_SERVER_FIRST };

static void feed(struct kx_starttls *st, struct result *res, uint64_t *pos, int client,
		 const uint8_t *b, uint32_t n)
{
	if (res->off[client] >= 0)
		return;
	bool tls = false;
	uint32_t used = kx_starttls_feed(st, client, b, n, &tls);
	if (used > n)
		res->off[client] = -2; /* a broken count: never matches */
	else if (tls)
		res->off[client] = (int64_t)(pos[client] + used);
	pos[client] += n;
}

/* piece: 0 = each message in one call, 1 = byte by byte. split_msg/split_at:
 * additionally cut that message in two at that offset. */
static void run(const struct msg *m, size_t nm, enum order order, uint32_t piece,
		size_t split_msg, uint32_t split_at, uint16_t port, struct result *res)
{
	struct kx_starttls st;
	kx_starttls_init(&st);
	if (port)
		kx_starttls_set_port(&st, port);
	uint64_t pos[2] = { 0, 0 };
	res->off[0] = res->off[1] = -1;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nm; i++) {
			if (order == ORDER_CLIENT_FIRST && m[i].client != (pass == 0))
				continue;
			if (order == ORDER_SERVER_FIRST && m[i].client != (pass == 1))
				continue;
			if (order == ORDER_AS_GIVEN && pass == 1)
				continue;
			const uint8_t *b = (const uint8_t *)m[i].b;
			if (piece == 1) {
				for (uint32_t k = 0; k < m[i].n; k++)
					feed(&st, res, pos, m[i].client, b + k, 1);
			} else if (i == split_msg && split_at < m[i].n) {
				feed(&st, res, pos, m[i].client, b, split_at);
				feed(&st, res, pos, m[i].client, b + split_at, m[i].n - split_at);
			} else {
				feed(&st, res, pos, m[i].client, b, m[i].n);
			}
		}
	}
	res->proto = kx_starttls_proto(&st);
	res->gave_up = kx_starttls_gave_up(&st);
	res->anomalies = kx_starttls_anomalies(&st);
}

static void expected(const struct msg *m, size_t nm, int64_t *want)
{
	uint64_t pos[2] = { 0, 0 };
	want[0] = want[1] = -1;
	for (size_t i = 0; i < nm; i++) {
		int c = m[i].client;
		if (want[c] < 0 && m[i].tls_at >= 0)
			want[c] = (int64_t)(pos[c] + (uint64_t)m[i].tls_at);
		pos[c] += m[i].n;
	}
}

static bool same(const struct result *a, const int64_t *want, int proto, int gave_up)
{
	return a->off[0] == want[0] && a->off[1] == want[1] && a->proto == proto &&
	       a->gave_up == gave_up;
}

#define ORD_CLIENT 1 /* feeding the whole client side first must agree too */
#define ORD_SERVER 2 /* feeding the whole server side first must agree too */

/* Runs one exchange every way. A protocol is decided from the side that
 * speaks first, so only that side may be fed ahead of the other. */
static void exchange(const char *name, const struct msg *m, size_t nm, int proto, int gave_up,
		     int orders, uint16_t port)
{
	int64_t want[2];
	expected(m, nm, want);
	struct result r;

	run(m, nm, ORDER_AS_GIVEN, 0, SIZE_MAX, 0, port, &r);
	CHECK(same(&r, want, proto, gave_up),
	      "%s whole: client %lld server %lld proto %s gave_up %d (want %lld %lld %s %d)", name,
	      (long long)r.off[CLI], (long long)r.off[SRV], kx_starttls_name(r.proto), r.gave_up,
	      (long long)want[CLI], (long long)want[SRV], kx_starttls_name(proto), gave_up);

	run(m, nm, ORDER_AS_GIVEN, 1, SIZE_MAX, 0, port, &r);
	CHECK(same(&r, want, proto, gave_up), "%s byte by byte: client %lld server %lld", name,
	      (long long)r.off[CLI], (long long)r.off[SRV]);

	unsigned bad = 0, total = 0;
	for (size_t i = 0; i < nm; i++) {
		for (uint32_t k = 1; k < m[i].n; k++) {
			run(m, nm, ORDER_AS_GIVEN, 0, i, k, port, &r);
			total++;
			if (!same(&r, want, proto, gave_up)) {
				if (!bad)
					printf("# %s: message %zu split at %u: client %lld server %lld\n",
					       name, i, k, (long long)r.off[CLI], (long long)r.off[SRV]);
				bad++;
			}
		}
	}
	CHECK(bad == 0, "%s split at every offset: %u of %u differ", name, bad, total);

	if (orders & ORD_CLIENT) {
		run(m, nm, ORDER_CLIENT_FIRST, 0, SIZE_MAX, 0, port, &r);
		CHECK(same(&r, want, proto, gave_up), "%s client fed first: client %lld server %lld",
		      name, (long long)r.off[CLI], (long long)r.off[SRV]);
	}
	if (orders & ORD_SERVER) {
		run(m, nm, ORDER_SERVER_FIRST, 1, SIZE_MAX, 0, port, &r);
		CHECK(same(&r, want, proto, gave_up), "%s server fed first: client %lld server %lld",
		      name, (long long)r.off[CLI], (long long)r.off[SRV]);
	}
}

#define EXCHANGE(name, arr, proto, gave_up, orders) \
	exchange(name, arr, sizeof(arr) / sizeof(arr[0]), proto, gave_up, orders, 0)

/* ---- hand-built exchanges ---- */

static const struct msg smtp[] = {
	S("220 mx.example.test ESMTP Postfix (Debian/GNU)\r\n"),
	C("EHLO client.example.test\r\n"),
	S("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
	C("STARTTLS\r\n"),
	S("220 2.0.0 Ready to start TLS\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg smtp_refused[] = {
	S("220-mx.example.test ESMTP\r\n220 second greeting line\r\n"),
	C("EHLO c\r\n"),
	S("250-mx\r\n250 STARTTLS\r\n"),
	C("STARTTLS\r\n"),
	S("454 4.7.0 TLS not available due to local problem\r\n"),
	C("MAIL FROM:<a@b>\r\n"),
	S("250 2.1.0 Ok\r\n"),
	C("STARTTLS\r\n"),
	S("220 2.0.0 Ready to start TLS\r\n"),
	CT(CH),
	ST(SH),
};

/* The client does not wait for the 220 and the server sends the 220 and its
 * hello in one piece: TLS starts inside the pieces. */
static const struct msg smtp_eager[] = {
	S("220 mx ESMTP\r\n"),
	C("EHLO c\r\n"),
	S("250 STARTTLS\r\n"),
	M(CLI, "STARTTLS\r\n" CH, 10),
	M(SRV, "220 go ahead\r\n" SH, 14),
};

static const struct msg smtp_data[] = {
	S("220 mx ESMTP\r\n"),
	C("EHLO c\r\n"),
	S("250 STARTTLS\r\n"),
	C("MAIL FROM:<a@b>\r\n"),
	S("250 ok\r\n"),
	C("RCPT TO:<c@d>\r\n"),
	S("250 ok\r\n"),
	C("DATA\r\n"),
	S("354 go\r\n"),
	C("Subject: STARTTLS\r\n\r\nSTARTTLS\r\n220 not a reply\r\n.\r\n"),
	S("250 queued\r\n"),
	C("STARTTLS\r\n"),
	S("220 ready\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg imap[] = {
	S("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
	  "LOGINDISABLED] Dovecot (Debian) ready.\r\n"),
	C("a1 CAPABILITY\r\n"),
	S("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na1 OK Pre-login capabilities listed.\r\n"),
	C("a2 STARTTLS\r\n"),
	S("a2 OK Begin TLS negotiation now.\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg imap_refused[] = {
	S("* OK ready\r\n"),
	C("x STARTTLS\r\n"),
	S("x NO not now\r\n"),
	C("y NOOP\r\n"),
	S("y OK\r\n"),
	C("z starttls\r\n"),
	S("* BYE maybe\r\nz OK go\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg pop3[] = {
	S("+OK Dovecot (Debian) ready.\r\n"),
	C("CAPA\r\n"),
	S("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\n"
	  "USER\r\nSASL PLAIN\r\n.\r\n"),
	C("STLS\r\n"),
	S("+OK Begin TLS negotiation now.\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg ftp[] = {
	S("220-Welcome to the test FTP service\r\n220 ready\r\n"),
	C("FEAT\r\n"),
	S("211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n234 not the end\r\n211 End\r\n"),
	C("AUTH TLS\r\n"),
	S("234 AUTH TLS successful\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg ftp_auth_first[] = {
	S("220 (vsFTPd 3.0.3)\r\n"),
	C("AUTH SSL\r\n"),
	S("234 Proceed with negotiation.\r\n"),
	CT(CH),
	ST(SH),
};

static const struct msg ldap[] = {
	C("\x30\x1d\x02\x01\x01\x77\x18\x80\x16" "1.3.6.1.4.1.1466.20037"),
	S("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00"),
	CT(CH),
	ST(SH),
};

/* Long-form lengths (as Active Directory writes them), a bind first, and a
 * responseName in the answer. */
static const struct msg ldap_long[] = {
	C("\x30\x84\x00\x00\x00\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"),
	S("\x30\x84\x00\x00\x00\x10\x02\x01\x01\x61\x84\x00\x00\x00\x07\x0a\x01\x00\x04\x00\x04\x00"),
	C("\x30\x84\x00\x00\x00\x1d\x02\x01\x02\x77\x18\x80\x16" "1.3.6.1.4.1.1466.20037"),
	S("\x30\x24\x02\x01\x02\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16"
	  "1.3.6.1.4.1.1466.20037"),
	CT(CH),
	ST(SH),
};

static const struct msg ldap_refused[] = {
	C("\x30\x1d\x02\x01\x05\x77\x18\x80\x16" "1.3.6.1.4.1.1466.20037"),
	S("\x30\x0c\x02\x01\x05\x78\x07\x0a\x01\x02\x04\x00\x04\x00"),
	C("\x30\x05\x02\x01\x06\x42\x00"),
};

static const struct msg xmpp[] = {
	C("<?xml version='1.0'?><stream:stream to='example.test' xmlns='jabber:client' "
	  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"),
	S("<?xml version='1.0'?><stream:stream from='example.test' id='c2s_123' "
	  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
	  "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
	  "</starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
	  "</mechanism></mechanisms></stream:features>"),
	C("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
	S("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
	CT(CH),
	ST(SH),
};

static const struct msg xmpp_long_form[] = {
	C("<stream:stream to='e' xmlns='jabber:client' version='1.0'>"),
	S("<stream:stream from='e' version='1.0'><stream:features><starttls "
	  "xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"),
	C("\n<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>"),
	S("\n<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'></proceed>"),
	CT(CH),
	ST(SH),
};

static const struct msg pg[] = {
	C("\x00\x00\x00\x08\x04\xd2\x16\x2f"),
	S("S"),
	CT(CH),
	ST(SH),
};

static const struct msg pg_gss_then_ssl[] = {
	C("\x00\x00\x00\x08\x04\xd2\x16\x30"),
	S("N"),
	C("\x00\x00\x00\x08\x04\xd2\x16\x2f"),
	S("S"),
	CT(CH),
	ST(SH),
};

static const struct msg pg_refused[] = {
	C("\x00\x00\x00\x08\x04\xd2\x16\x2f"),
	S("N"),
	C("\x00\x00\x00\x0f\x00\x03\x00\x00user\0x\0\0"),
};

#define MYSQL_GREETING                                                                       \
	"\x62\x00\x00\x00\x0a" "5.5.5-10.11.6-MariaDB-0+deb12u1\0"                           \
	"\x03\x00\x00\x00" "abcdefgh\0" "\xfe\xf7\x2d\x02\x00\xff\x81\x15\0\0\0\0\0\x1d\0\0\0" \
	"ijklmnopqrst\0" "mysql_native_password\0"

static const struct msg mysql[] = {
	S(MYSQL_GREETING),
	C("\x20\x00\x00\x01\x84\xae\xff\x01\x00\x00\x00\x01\x2d\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	  "\0\0\0\0\0\0"),
	CT(CH),
	ST(SH),
};

static const struct msg mysql_no_ssl[] = {
	S(MYSQL_GREETING),
	C("\x2c\x00\x00\x01\x84\xa6\xff\x01\x00\x00\x00\x01\x2d\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	  "\0\0\0\0\0root\0\x14" "aaaaaaaaaaaaaaaaaaaa"),
};

static const struct msg garbage_server[] = {
	S("HTTP/1.1 200 OK\r\n"),
	C("\x16\x03\x01"),
};

static const struct msg garbage_client[] = {
	C("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
};

static const struct msg tls_direct[] = {
	C(CH),
	S(SH),
};

/* An over-long EHLO line is skipped and counted; the upgrade still works. */
static char ehlo_long[5000 + 8];
static struct msg smtp_long_line[] = {
	S("220 mx ESMTP\r\n"),
	{ CLI, ehlo_long, 0, -1 },
	S("250 STARTTLS\r\n"),
	C("STARTTLS\r\n"),
	S("220 ready\r\n"),
	CT(CH),
	ST(SH),
};

static void bounds(void)
{
	struct kx_starttls st;
	bool tls;

	/* A session that never upgrades stops after KX_ST_MAX_UNITS lines. */
	kx_starttls_init(&st);
	kx_starttls_feed(&st, false, (const uint8_t *)"220 mx ESMTP\r\n", 14, &tls);
	int lines = 0;
	while (!kx_starttls_gave_up(&st) && lines < 1000) {
		kx_starttls_feed(&st, true, (const uint8_t *)"NOOP\r\n", 6, &tls);
		kx_starttls_feed(&st, false, (const uint8_t *)"250 ok\r\n", 8, &tls);
		lines++;
	}
	CHECK(kx_starttls_gave_up(&st) && lines <= KX_ST_MAX_UNITS,
	      "never-upgrading SMTP gives up after %d commands", lines);
	CHECK_EQ(kx_starttls_proto(&st), KX_ST_SMTP, "never-upgrading SMTP: protocol");
	uint32_t n = kx_starttls_feed(&st, true, (const uint8_t *)"STARTTLS\r\n", 10, &tls);
	CHECK(n == 10 && !tls, "after giving up every byte is cleartext");

	/* A 1 MB line: given up at the byte bound, never read past the call. */
	size_t big = 1u << 20;
	uint8_t *line = malloc(big);
	memset(line, 'A', big);
	kx_starttls_init(&st);
	kx_starttls_feed(&st, false, (const uint8_t *)"220 ", 4, &tls);
	n = kx_starttls_feed(&st, false, line, (uint32_t)big, &tls);
	CHECK(n == big && !tls && kx_starttls_gave_up(&st), "1 MB greeting line: gave up");
	CHECK(st.d[1].bytes <= KX_ST_MAX_BYTES + 1, "1 MB line: stopped at %u bytes",
	      st.d[1].bytes);
	CHECK_EQ(kx_starttls_anomalies(&st), 1, "1 MB line: one over-long line");

	/* The same line fed in 1 KB pieces. */
	kx_starttls_init(&st);
	kx_starttls_feed(&st, false, (const uint8_t *)"220 ", 4, &tls);
	size_t off = 0;
	while (off < big && !kx_starttls_gave_up(&st)) {
		kx_starttls_feed(&st, false, line + off, 1024, &tls);
		off += 1024;
	}
	CHECK(kx_starttls_gave_up(&st) && off <= 33 * 1024, "1 MB line in pieces: gave up at %zu",
	      off);
	free(line);

	/* A TLS direction is not fed again. */
	kx_starttls_init(&st);
	kx_starttls_feed(&st, true, (const uint8_t *)"\x00\x00\x00\x08\x04\xd2\x16\x2f", 8, &tls);
	kx_starttls_feed(&st, false, (const uint8_t *)"S", 1, &tls);
	CHECK(tls && kx_starttls_tls_started(&st, false), "postgres: server TLS after 'S'");
	n = kx_starttls_feed(&st, false, (const uint8_t *)SH, 9, &tls);
	CHECK(n == 0 && tls, "a TLS direction reports 0 cleartext bytes");
	n = kx_starttls_feed(&st, true, NULL, 0, &tls);
	CHECK(n == 0 && tls, "client TLS known with no bytes yet");
}

static void looks_like(void)
{
	static const struct {
		bool client;
		const char *b;
		uint32_t n;
		bool want;
	} cases[] = {
		{ false, "220 mx ESMTP\r\n", 14, true },
		{ false, "220-ftp\r\n", 9, true },
		{ false, "* OK ready\r\n", 12, true },
		{ false, "+OK ready\r\n", 11, true },
		{ false, "<?xml version='1.0'?>", 21, true },
		{ false, "<stream:stream ", 15, true },
		{ false, MYSQL_GREETING, sizeof(MYSQL_GREETING) - 1, true },
		{ false, "\x5b\x00\x00\x00\x0a" "5.5\x01", 9, false },
		{ false, "HTTP/1.1 200 OK\r\n", 17, false },
		{ false, "22", 2, false },
		{ false, SH, 9, false },
		{ true, "\x00\x00\x00\x08\x04\xd2\x16\x2f", 8, true },
		{ true, "\x00\x00\x00\x08\x04\xd2\x16\x2e", 8, false },
		{ true, "\x30\x1d\x02\x01\x01\x77\x18\x80\x16" "1.3.6.1.4.1.1466.20037", 31, true },
		{ true, "\x30\x1d\x02\x01\x01\x77\x18\x80\x16" "1.3.6.1.4.1.1466.20038", 31, false },
		{ true, "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00", 14, false },
		{ true, "<stream:stream to='x'>", 22, true },
		{ true, "EHLO x\r\n", 8, false },
		{ true, CH, 9, false },
		{ true, "", 0, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(kx_starttls_looks_like(cases[i].client, (const uint8_t *)cases[i].b,
					     cases[i].n) == cases[i].want,
		      "looks_like case %zu", i);
}

static void smtp_or_ftp(void)
{
	static const struct msg neutral_user[] = {
		S("220 ready\r\n"),
		C("USER anonymous\r\n"),
		S("331 password\r\n"),
		C("AUTH TLS\r\n"),
		S("234 ok\r\n"),
		CT(CH),
		ST(SH),
	};
	static const struct msg neutral_auth[] = {
		S("220 ready\r\n"),
		C("AUTH TLS\r\n"),
		S("234 ok\r\n"),
		CT(CH),
		ST(SH),
	};
	static const struct msg neutral_starttls[] = {
		S("220 ready\r\n"),
		C("STARTTLS\r\n"),
		S("220 ok\r\n"),
		CT(CH),
		ST(SH),
	};
	EXCHANGE("ftp by USER", neutral_user, KX_ST_FTP, 0, ORD_SERVER);
	EXCHANGE("ftp by AUTH", neutral_auth, KX_ST_FTP, 0, ORD_SERVER);
	EXCHANGE("smtp by default", neutral_starttls, KX_ST_SMTP, 0, ORD_SERVER);
	exchange("smtp by port 587", neutral_starttls, 5, KX_ST_SMTP, 0, 0, 587);
	struct result r;
	run(neutral_auth, 5, ORDER_AS_GIVEN, 0, SIZE_MAX, 0, 25, &r);
	CHECK_EQ(r.proto, KX_ST_SMTP, "AUTH first on port 25 is SMTP");
	CHECK(r.off[CLI] == -1 && r.off[SRV] == -1, "SMTP AUTH TLS is no upgrade");
}

#include "test_starttls_captures.h"

static void captures(void)
{
	for (size_t i = 0; i + 1 <= CAPTURE_CASES; i++) {
		const struct capture_case *c = &capture_cases[i];
		exchange(c->name, c->msgs, c->n, c->proto, 0, c->orders, 0);
	}
}

int main(void)
{
	EXCHANGE("smtp", smtp, KX_ST_SMTP, 0, ORD_SERVER);
	EXCHANGE("smtp 454 then 220", smtp_refused, KX_ST_SMTP, 0, ORD_SERVER);
	EXCHANGE("smtp eager client", smtp_eager, KX_ST_SMTP, 0, 0);
	EXCHANGE("smtp DATA before STARTTLS", smtp_data, KX_ST_SMTP, 0, ORD_SERVER);
	EXCHANGE("imap", imap, KX_ST_IMAP, 0, ORD_SERVER);
	EXCHANGE("imap NO then OK", imap_refused, KX_ST_IMAP, 0, 0);
	EXCHANGE("pop3", pop3, KX_ST_POP3, 0, ORD_SERVER);
	EXCHANGE("ftp FEAT", ftp, KX_ST_FTP, 0, ORD_SERVER);
	EXCHANGE("ftp AUTH SSL", ftp_auth_first, KX_ST_FTP, 0, ORD_SERVER);
	EXCHANGE("ldap", ldap, KX_ST_LDAP, 0, ORD_CLIENT);
	EXCHANGE("ldap long lengths", ldap_long, KX_ST_LDAP, 0, ORD_CLIENT);
	EXCHANGE("ldap refused", ldap_refused, KX_ST_LDAP, 0, 0);
	EXCHANGE("xmpp", xmpp, KX_ST_XMPP, 0, ORD_CLIENT);
	EXCHANGE("xmpp open/close form", xmpp_long_form, KX_ST_XMPP, 0, ORD_CLIENT);
	EXCHANGE("postgres", pg, KX_ST_POSTGRES, 0, ORD_CLIENT);
	EXCHANGE("postgres GSSENC N then SSL", pg_gss_then_ssl, KX_ST_POSTGRES, 0, ORD_CLIENT);
	EXCHANGE("postgres N", pg_refused, KX_ST_POSTGRES, 1, 0);
	EXCHANGE("mysql", mysql, KX_ST_MYSQL, 0, ORD_SERVER);
	EXCHANGE("mysql without SSL", mysql_no_ssl, KX_ST_MYSQL, 1, 0);
	EXCHANGE("garbage server", garbage_server, KX_ST_UNKNOWN, 1, 0);
	EXCHANGE("garbage client", garbage_client, KX_ST_UNKNOWN, 1, 0);
	EXCHANGE("direct TLS", tls_direct, KX_ST_UNKNOWN, 1, 0);

	memcpy(ehlo_long, "EHLO ", 5);
	memset(ehlo_long + 5, 'x', 5000);
	memcpy(ehlo_long + 5005, "\r\n", 2);
	smtp_long_line[1].n = 5007;
	EXCHANGE("smtp 5000-byte EHLO", smtp_long_line, KX_ST_SMTP, 0, 0);
	struct result r;
	run(smtp_long_line, 7, ORDER_AS_GIVEN, 0, SIZE_MAX, 0, 0, &r);
	CHECK_EQ(r.anomalies, 1, "5000-byte EHLO counted as one anomaly");

	smtp_or_ftp();
	bounds();
	looks_like();
	captures();
	CHECK_STR(kx_starttls_name(KX_ST_POSTGRES), "postgres", "name");
	CHECK_STR(kx_starttls_name(KX_ST_MAX), "unknown", "name out of range");
	return tap_done();
}
