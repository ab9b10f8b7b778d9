/* SPDX-License-Identifier: BSD-2-Clause */
/* report_test.h: the handshakes the report tests store, and running a
 * report into memory. Shared by test_report*.c. */
#ifndef KEXWATCH_TEST_REPORT_TEST_H
#define KEXWATCH_TEST_REPORT_TEST_H

#include "kexwatch/report.h"
#include "kexwatch/store.h"
#include "store_test.h"

/* The handshake hs moved to server 198.51.100.<server>, SNI sni, client
 * 192.0.2.<client>, k seconds after T0. */
static inline struct kx_hs at(struct kx_hs hs, int server, const char *sni, int client, int k)
{
	if (server)
		set_v4(&hs.server_ip, 198, 51, 100, (unsigned char)server);
	if (sni)
		snprintf(hs.sni, sizeof(hs.sni), "%s", sni);
	set_v4(&hs.client_ip, 192, 0, 2, (unsigned char)client);
	hs.client_port = (uint16_t)(50000 + k);
	hs.ts_first_us = T0 + (uint64_t)k * 1000000;
	hs.ts_last_us = hs.ts_first_us + 1000;
	return hs;
}

/* TLS 1.3 selecting group g from a ClientHello offering groups/shares. */
static inline struct kx_hs select_group(uint16_t g, bool offer_pq)
{
	struct kx_hs hs = hs_hybrid();

	if (!offer_pq) {
		SET(hs.ch[0].groups, hs.ch[0].n_groups, 29, 23);
		SET(hs.ch[0].shares, hs.ch[0].n_shares, 29);
		hs.ch[0].bytes = 320;
		hs.ch[0].segments = 1;
	} else if (g == 0x6399) {
		SET(hs.ch[0].groups, hs.ch[0].n_groups, 0x6399, 29);
		SET(hs.ch[0].shares, hs.ch[0].n_shares, 0x6399);
	}
	hs.group = g;
	kx_classify(&hs);
	return hs;
}

static inline struct kx_hs resumed(void)
{
	struct kx_hs hs = hs_hybrid();

	hs.have_group = false;
	hs.psk_selected = true;
	hs.resumed = true;
	kx_classify(&hs);
	return hs;
}

/* An incomplete handshake of reason r whose ClientHello was bytes long. */
static inline struct kx_hs unanswered(enum kx_reason r, unsigned bytes, unsigned segments)
{
	struct kx_hs hs = hs_incomplete();

	hs.reason = r;
	hs.ch[0].bytes = bytes;
	hs.ch[0].segments = (uint8_t)segments;
	if (!bytes) {
		/* First segment lost: nothing of the ClientHello was parsed. */
		hs.sni[0] = '\0';
		hs.alpn[0] = '\0';
		hs.ch[0].n_groups = hs.ch[0].n_shares = hs.ch[0].n_versions = 0;
		hs.ch[0].n_sigalgs = 0;
	}
	kx_classify(&hs);
	return hs;
}

/* end: the run's counters as it ends (NULL: all zero); source: the name of
 * capture source 0 (NULL: none). */
static inline void store_rows_c(const char *path, const char *sensor, uint64_t start,
				const struct kx_hs *h, size_t n, const struct kx_counters *end,
				const char *source)
{
	struct kx_counters c = { 0 };
	struct kx_store *st;
	char err[512];
	int rc = kx_store_open(path, NULL, &st, err, sizeof(err));

	if (rc == 0) {
		rc |= kx_store_begin_run(st, sensor, "test", start);
		if (source)
			rc |= kx_store_set_source(st, 0, source);
		for (size_t i = 0; i < n; i++)
			rc |= kx_store_add(st, &h[i], &c);
		if (end)
			c = *end;
		rc |= kx_store_end_run(st, &c, start + 60000000);
		kx_store_close(st);
	}
	if (rc) {
		printf("Bail out! cannot fill %s: %s\n", path, err);
		exit(1);
	}
}

static inline void store_rows(const char *path, const char *sensor, uint64_t start,
			      const struct kx_hs *h, size_t n)
{
	store_rows_c(path, sensor, start, h, n, NULL, NULL);
}

static inline void fill(const char *path)
{
	const char evil[] = "evil\x1b[2J,\"x\".example";
	struct kx_hs h[] = {
		at(hs_hybrid(), 1, "example.com", 10, 1),
		at(hs_hybrid(), 1, "example.com", 20, 2),
		at(hs_incomplete(), 1, "example.com", 10, 3),
		at(hs_tls12(), 0, NULL, 11, 4),
		at(select_group(29, true), 2, "declined.example", 10, 5),
		at(select_group(29, false), 2, "declined.example", 11, 6),
		at(select_group(0x6399, true), 3, "draft.example", 10, 7),
		at(hs_hybrid(), 3, "draft.example", 10, 8),
		at(hs_hybrid(), 4, "mixed.example", 10, 9),
		at(select_group(29, false), 4, "mixed.example", 12, 10),
		at(resumed(), 5, "quiet.example", 10, 11),
		at(hs_incomplete(), 5, "quiet.example", 10, 12),
		at(select_group(0x1234, true), 6, "odd.example", 10, 13),
		at(hs_hybrid(), 7, evil, 10, 14),
	};

	store_rows(path, "s", T0, h, sizeof(h) / sizeof(h[0]));
}

/* A second sensor, an hour later: what the health report looks for, an
 * HTML-hostile SNI, QUIC and IPv6. */
static inline void fill_more(const char *path)
{
	struct kx_hs slow = at(hs_hybrid(), 1, "example.com", 21, 3620);
	struct kx_hs quic = at(hs_hybrid(), 8, "<b>x</b>'&.example", 22, 3630);
	struct kx_hs v6 = hs_hrr();
	struct kx_hs h[] = {
		at(unanswered(KX_R_EOF, 1802, 2), 1, "example.com", 10, 3601),
		at(unanswered(KX_R_TIMEOUT, 1650, 2), 1, "example.com", 10, 3602),
		at(unanswered(KX_R_GAP, 0, 0), 1, NULL, 10, 3603),
		at(select_group(29, false), 1, "example.com", 11, 3604),
		at(unanswered(KX_R_RST, 300, 1), 2, "declined.example", 11, 3605),
		slow, quic, v6,
	};

	h[5].ch_to_sh_us = 1250000;
	h[5].ts_last_us = h[5].ts_first_us + 1250000;
	strcpy(h[6].protocol, "quic");
	h[6].transport = 17;
	h[7].ts_first_us = T0 + 3640ull * 1000000;
	h[7].ts_last_us = h[7].ts_first_us + 30000;
	store_rows(path, "t", T0 + 3600ull * 1000000, h, sizeof(h) / sizeof(h[0]));
}

/* A session without a handshake (the engine's plain_finish): client
 * 192.0.2.<client> -> 198.51.100.<server>:port, k seconds after T0. */
static inline struct kx_hs session(enum kx_verdict v, enum kx_reason r, const char *app,
				   int server, uint16_t port, int client, int k, uint64_t bytes)
{
	struct kx_hs hs;

	memset(&hs, 0, sizeof(hs));
	hs.is_session = true;
	set_v4(&hs.client_ip, 192, 0, 2, (unsigned char)client);
	set_v4(&hs.server_ip, 198, 51, 100, (unsigned char)server);
	hs.client_port = (uint16_t)(40000 + k);
	hs.server_port = port;
	hs.transport = 6;
	hs.ts_first_us = T0 + (uint64_t)k * 1000000;
	hs.ts_last_us = hs.ts_first_us + 500000;
	hs.pkt_first_ch = (uint64_t)k * 10;
	hs.ch_to_sh_us = -1;
	hs.verdict = v;
	hs.reason = r;
	hs.bytes = bytes;
	snprintf(hs.app, sizeof(hs.app), "%s", app);
	snprintf(hs.protocol, sizeof(hs.protocol), "%s", app);
	return hs;
}

/* A ServerHello whose ClientHello was not captured, selecting g. */
static inline struct kx_hs offer_unseen(uint16_t g)
{
	struct kx_hs hs = hs_hybrid();

	memset(hs.ch, 0, sizeof(hs.ch));
	hs.n_ch = 0;
	hs.sni[0] = hs.alpn[0] = '\0';
	hs.ch_unseen = true;
	hs.group = g;
	hs.ch_to_sh_us = -1;
	hs.pkt_first_ch = hs.pkt_sh;
	kx_classify(&hs);
	return hs;
}

/* The legs without a visible handshake, two hours after T0, sensor "p":
 *   .20:5432  postgresql plaintext (ssl-refused) x2, from .30 only
 *   .21:80    http plaintext (no-tls) from .30
 *   .22:443   tls handshake-unseen x3 (two clients)
 *   .23:443   a hybrid handshake without SNI and a handshake-unseen session
 *   .24:25    smtp: a hybrid STARTTLS handshake and a plaintext session
 *             (starttls-not-offered): plaintext wins
 *   .25:443   classical, ClientHello not captured (offer-unseen)
 *   .26:443   hybrid, ClientHello not captured
 *   .27:443   incomplete/capacity */
static inline void fill_legs(const char *path)
{
	struct kx_hs starttls = at(hs_hybrid(), 24, NULL, 33, 7207);
	struct kx_hs nosni = at(hs_hybrid(), 23, NULL, 32, 7205);
	struct kx_hs capacity = at(hs_incomplete(), 27, NULL, 35, 7211);
	struct kx_hs h[] = {
		session(KX_V_PLAINTEXT, KX_R_SSL_REFUSED, "postgresql", 20, 5432, 30, 7201, 1000),
		session(KX_V_PLAINTEXT, KX_R_SSL_REFUSED, "postgresql", 20, 5432, 30, 7202, 2000),
		session(KX_V_PLAINTEXT, KX_R_NO_TLS, "http", 21, 80, 30, 7203, 300),
		session(KX_V_NO_VERDICT, KX_R_HANDSHAKE_UNSEEN, "tls", 22, 443, 31, 7204, 5000),
		session(KX_V_NO_VERDICT, KX_R_HANDSHAKE_UNSEEN, "tls", 22, 443, 31, 7204, 5000),
		session(KX_V_NO_VERDICT, KX_R_HANDSHAKE_UNSEEN, "tls", 22, 443, 32, 7204, 5000),
		nosni,
		session(KX_V_NO_VERDICT, KX_R_HANDSHAKE_UNSEEN, "tls", 23, 443, 32, 7206, 700),
		starttls,
		session(KX_V_PLAINTEXT, KX_R_STARTTLS_NOT_OFFERED, "smtp", 24, 25, 33, 7208, 900),
		at(offer_unseen(29), 25, NULL, 34, 7209),
		at(offer_unseen(0x11ec), 26, NULL, 34, 7210),
		capacity,
	};

	/* Two sessions at the same second are one more session of the row. */
	h[4].client_port++;
	h[4].ts_first_us += 1000;
	h[4].ts_last_us += 1000;
	h[6].sni[0] = '\0';
	h[8].sni[0] = '\0';
	h[8].server_port = 25;
	strcpy(h[8].starttls, "smtp");
	/* As the engine's capacity_row: endpoints only. */
	h[12].reason = KX_R_CAPACITY;
	memset(h[12].ch, 0, sizeof(h[12].ch));
	h[12].n_ch = 0;
	h[12].sni[0] = h[12].alpn[0] = '\0';
	/* The flow ledger of the run: 4 handshake rows, 1 capacity row, 4
	 * plaintext and 4 handshake-unseen sessions, 2 one-sided, 3 without
	 * payload, 1 still open; 1 flow refused. */
	struct kx_counters end = { 0 };
	end.flows_created = 19;
	end.flows_refused = 1;
	end.flow_hs_row = 4;
	end.flow_capacity = 1;
	end.flow_plaintext = 4;
	end.flow_unseen = 4;
	end.flow_one_sided = 2;
	end.flow_no_payload = 3;
	store_rows_c(path, "p", T0 + 7200ull * 1000000, h, sizeof(h) / sizeof(h[0]), &end,
		     "legs.pcap");
}

typedef int (*report_fn)(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
			 char *err, size_t errlen);

/* Runs a report into memory; returns its text or "ERROR: message". */
static inline char *run(report_fn fn, const char *path, const void *arg, enum kx_out_format fmt)
{
	char *text = NULL, err[512] = "";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = fn(path, arg, fmt, f, err, sizeof(err));

	fclose(f);
	if (rc < 0) {
		free(text);
		text = malloc(strlen(err) + 8);
		sprintf(text, "ERROR: %s", err);
	}
	return text;
}

#endif
