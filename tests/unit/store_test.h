/* SPDX-License-Identifier: BSD-2-Clause */
/* store_test.h: SQL probes and hand-made handshakes shared by test_store.c,
 * test_json.c and test_report.c. */
#ifndef KEXWATCH_TEST_STORE_TEST_H
#define KEXWATCH_TEST_STORE_TEST_H

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kexwatch/hs.h"
#include "tap.h"

static inline void print_escaped(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

/* CHECK_STR for long, multi-line or hostile text: silent when it passes,
 * escaped when it fails, so the TAP stream stays one line per test. */
static inline void check_str(const char *got, const char *want, const char *what)
{
	bool ok = got && strcmp(got, want) == 0;

	CHECK(ok, "%s", what);
	if (!ok) {
		printf("# got:  ");
		print_escaped(got ? got : "(null)");
		printf("\n# want: ");
		print_escaped(want);
		putchar('\n');
	}
}

/* Rows of a query with ?1 bound to arg (when not NULL): every column as text
 * joined by '|', NULL as "NULL", rows joined by '\n' (max_rows of them);
 * "ERROR: ..." when the query fails, "NO ROW" when it is empty. */
static inline const char *sql_rows(sqlite3 *db, const char *sql, const char *arg, int max_rows)
{
	static char buf[65536];
	sqlite3_stmt *s;
	size_t n = 0;
	int rows = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		snprintf(buf, sizeof(buf), "ERROR: %s", sqlite3_errmsg(db));
		return buf;
	}
	if (arg)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	snprintf(buf, sizeof(buf), "NO ROW");
	while (rows < max_rows && sqlite3_step(s) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(s) && n < sizeof(buf); i++) {
			const char *v = (const char *)sqlite3_column_text(s, i);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
					      i ? "|" : rows ? "\n" : "", v ? v : "NULL");
		}
		rows++;
	}
	sqlite3_finalize(s);
	return buf;
}

static inline const char *sql_row1(sqlite3 *db, const char *sql, const char *arg)
{
	return sql_rows(db, sql, arg, 1);
}

static inline const char *sql_row(sqlite3 *db, const char *sql)
{
	return sql_row1(db, sql, NULL);
}

static inline sqlite3 *open_db(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		printf("Bail out! cannot open %s\n", path);
		exit(1);
	}
	return db;
}

/* A fresh directory under $TMPDIR for the test's files. */
static inline const char *test_dir(void)
{
	static char dir[256];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/kxtest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp %s\n", dir);
		exit(1);
	}
	return dir;
}

/* Removes the files test_dir's directory holds (one level), then it. */
static inline void rm_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* 2025-11-22T10:00:00.123456Z */
#define T0 1763805600123456ULL

static inline void set_v4(struct kx_addr *a, unsigned char b0, unsigned char b1,
			  unsigned char b2, unsigned char b3)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->a[0] = b0;
	a->a[1] = b1;
	a->a[2] = b2;
	a->a[3] = b3;
}

#define SET(arr, n, ...)                                                         \
	do {                                                                     \
		const uint16_t v_[] = { __VA_ARGS__ };                           \
		memcpy(arr, v_, sizeof(v_));                                     \
		n = (uint8_t)(sizeof(v_) / sizeof(v_[0]));                       \
	} while (0)

/* Chrome-like TLS 1.3 with X25519MLKEM768, 192.0.2.10:51000 -> 198.51.100.1:443. */
static inline struct kx_hs hs_hybrid(void)
{
	struct kx_hs hs;
	struct kx_client_hello *ch = &hs.ch[0];

	memset(&hs, 0, sizeof(hs));
	hs.ts_first_us = T0;
	hs.ts_last_us = T0 + 12345;
	set_v4(&hs.client_ip, 192, 0, 2, 10);
	set_v4(&hs.server_ip, 198, 51, 100, 1);
	hs.client_port = 51000;
	hs.server_port = 443;
	hs.transport = 6;
	strcpy(hs.protocol, "tls");
	strcpy(hs.sni, "example.com");
	strcpy(hs.alpn, "h2,http/1.1");
	ch->legacy_version = 0x0303;
	SET(ch->versions, ch->n_versions, 0x2a2a, 0x0304, 0x0303);
	SET(ch->groups, ch->n_groups, 0x0a0a, 0x11ec, 29, 23, 24);
	SET(ch->shares, ch->n_shares, 0x0a0a, 0x11ec, 29);
	SET(ch->sigalgs, ch->n_sigalgs, 0x0403, 0x0804, 0x0401);
	ch->n_suites = 16;
	ch->bytes = 1802;
	ch->segments = 2;
	hs.n_ch = 1;
	hs.have_sh = true;
	hs.version = 0x0304;
	hs.cipher_suite = 0x1301;
	hs.have_group = true;
	hs.group = 0x11ec;
	hs.ch_to_sh_us = 12345;
	strcpy(hs.ndpi_label, "TLS.Google");
	hs.pkt_first_ch = 4;
	hs.pkt_sh = 6;
	kx_classify(&hs);
	return hs;
}

/* IPv6 with a HelloRetryRequest: x25519 share first, the server asks for
 * X25519MLKEM768, the second ClientHello sends it. */
static inline struct kx_hs hs_hrr(void)
{
	struct kx_hs hs;

	memset(&hs, 0, sizeof(hs));
	hs.ts_first_us = T0 + 1000000;
	hs.ts_last_us = T0 + 1030000;
	hs.client_ip.family = 6;
	memcpy(hs.client_ip.a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16);
	hs.server_ip.family = 6;
	memcpy(hs.server_ip.a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	hs.client_port = 40000;
	hs.server_port = 443;
	hs.vlan = 100;
	hs.transport = 6;
	strcpy(hs.protocol, "tls");
	strcpy(hs.sni, "hrr.example");
	for (int i = 0; i < 2; i++) {
		struct kx_client_hello *ch = &hs.ch[i];
		ch->legacy_version = 0x0303;
		SET(ch->versions, ch->n_versions, 0x0304);
		SET(ch->groups, ch->n_groups, 29, 0x11ec);
		SET(ch->sigalgs, ch->n_sigalgs, 0x0804);
		ch->bytes = i ? 1500 : 300;
		ch->segments = i ? 2 : 1;
	}
	SET(hs.ch[0].shares, hs.ch[0].n_shares, 29);
	SET(hs.ch[1].shares, hs.ch[1].n_shares, 0x11ec);
	hs.n_ch = 2;
	hs.hrr = true;
	hs.hrr_group = 0x11ec;
	hs.have_sh = true;
	hs.version = 0x0304;
	hs.cipher_suite = 0x1302;
	hs.have_group = true;
	hs.group = 0x11ec;
	hs.ch_to_sh_us = 30000;
	hs.pkt_first_ch = 1;
	hs.pkt_sh = 9;
	hs.source_id = 1;
	kx_classify(&hs);
	return hs;
}

/* TLS 1.2 ECDHE secp256r1, no SNI, no ALPN, to 203.0.113.5:8443. */
static inline struct kx_hs hs_tls12(void)
{
	struct kx_hs hs;
	struct kx_client_hello *ch = &hs.ch[0];

	memset(&hs, 0, sizeof(hs));
	hs.ts_first_us = T0 + 2000000;
	hs.ts_last_us = T0 + 2000500;
	set_v4(&hs.client_ip, 192, 0, 2, 11);
	set_v4(&hs.server_ip, 203, 0, 113, 5);
	hs.client_port = 50001;
	hs.server_port = 8443;
	hs.transport = 6;
	strcpy(hs.protocol, "tls");
	ch->legacy_version = 0x0303;
	SET(ch->groups, ch->n_groups, 29, 23);
	SET(ch->sigalgs, ch->n_sigalgs, 0x0401);
	ch->bytes = 220;
	ch->segments = 1;
	hs.n_ch = 1;
	hs.have_sh = true;
	hs.version = 0x0303;
	hs.cipher_suite = 0xc02f;
	hs.have_group = true;
	hs.group = 23;
	hs.tls12_kx = KX_KX_ECDHE;
	hs.ch_to_sh_us = 500;
	hs.pkt_first_ch = 12;
	hs.pkt_sh = 13;
	kx_classify(&hs);
	return hs;
}

/* A ClientHello answered by a RST. */
static inline struct kx_hs hs_incomplete(void)
{
	struct kx_hs hs = hs_hybrid();

	hs.ts_first_us = T0 + 3000000;
	hs.ts_last_us = T0 + 3000000;
	hs.client_port = 51002;
	hs.have_sh = false;
	hs.version = 0;
	hs.cipher_suite = 0;
	hs.have_group = false;
	hs.group = 0;
	hs.ch_to_sh_us = -1;
	hs.pkt_sh = 0;
	hs.ndpi_label[0] = '\0';
	hs.reason = KX_R_RST;
	kx_classify(&hs);
	return hs;
}

#endif
