/* SPDX-License-Identifier: BSD-2-Clause */
/* gen_inventory: a seeded, synthetic kexwatch inventory of N handshakes, for
 * timing the reports on a year of a busy link (issue 17). It writes through
 * kexwatch's own store (kx_store_open/begin_run/add), so the file has
 * exactly the schema, views and row layout that `kexwatch read` writes.
 *
 *   gen_inventory --out FILE.db [--rows N] [--seed S] [--sensors K]
 *                 [--servers N] [--clients N] [--days D] [--start EPOCH]
 *                 [--session-share F] [--batch N]
 *
 * The model (fixed by the seed; the same arguments give the same rows):
 *   - server endpoints: --servers SNIs on --servers/3 addresses (a quarter
 *     IPv6), each one protocol (tls 85 %, quic 10 %, ssh 5 %) and one
 *     capability (hybrid, classical only, TLS 1.2 only, hybrid draft, pq);
 *     popularity Zipf(1.0)
 *   - clients: --clients addresses (a fifth IPv6), each one TLS stack
 *     (modern hybrid, hybrid in supported_groups only -> HelloRetryRequest,
 *     Kyber draft, classical TLS 1.3, TLS 1.2 only, pure ML-KEM);
 *     activity Zipf(0.8)
 *   - time: --days days from --start (default 2025-01-01), one run per
 *     sensor and 30-day span, rows in time order within a run, busier by
 *     day than by night; sensors differ in load (weights 1, 1/2, 1/3, ...)
 *   - outcomes: ~3 % resumptions, ~3 % without a ServerHello (rst, fin,
 *     timeout, gap), more of the big (hybrid) ClientHellos lost on the
 *     last sensor (a path with an MTU problem, for `health` to find)
 *   - sessions (the `sessions` table): plaintext legs (http, smtp,
 *     postgresql, redis) and encrypted sessions without a handshake, about
 *     --session-share of the handshakes' count, added up per hour and
 *     (client, server, application) as kexwatch keeps them
 *
 * Prints one line: rows, sessions rows, sessions, runs, seconds, rows/s.
 * Handshakes never collide (strictly increasing time per sensor), so the
 * inventory holds exactly --rows handshakes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kexwatch/counters.h"
#include "kexwatch/hs.h"
#include "kexwatch/store.h"

#define HOUR_US 3600000000ull
#define DAY_US (24 * HOUR_US)
#define RUN_DAYS 30

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0);
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd01() * n);
}

/* Zipf(s) over n items: a cumulative table and a binary search. */
struct zipf {
	double *cdf;
	unsigned n;
};

static int zipf_init(struct zipf *z, unsigned n, double s)
{
	z->n = n;
	z->cdf = malloc(n * sizeof(*z->cdf));
	if (!z->cdf)
		return -1;
	double sum = 0;
	for (unsigned i = 0; i < n; i++)
		z->cdf[i] = (sum += 1.0 / pow(i + 1.0, s));
	for (unsigned i = 0; i < n; i++)
		z->cdf[i] /= sum;
	return 0;
}

static unsigned zipf_draw(const struct zipf *z)
{
	double u = rnd01();
	unsigned lo = 0, hi = z->n - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Popular items are spread over the index range, not the low indexes:
 * otherwise the busiest servers would all share an address. */
static unsigned scatter(unsigned rank, unsigned n)
{
	return (unsigned)(((uint64_t)rank * 2654435761u) % n);
}

enum srv_cap { CAP_HYBRID, CAP_CLASSICAL, CAP_TLS12, CAP_DRAFT, CAP_PQ };
enum srv_proto { P_TLS, P_QUIC, P_SSH };

struct server {
	struct kx_addr ip;
	uint16_t port;
	uint8_t proto, cap;
	unsigned zone;
};

enum cli_stack { ST_MODERN, ST_HRR, ST_DRAFT, ST_CLASSIC13, ST_TLS12, ST_PQ, ST_MAX };

struct client {
	struct kx_addr ip;
	uint8_t stack;
};

/* The ClientHello of each stack: real code points, lists as a browser or
 * library of that kind sends them. */
struct stack_def {
	uint16_t versions[4];
	uint8_t n_versions;
	uint16_t groups[8];
	uint8_t n_groups;
	uint16_t shares[3];
	uint8_t n_shares;
	uint32_t bytes; /* ClientHello length with a short SNI */
	uint16_t segments;
};

static const uint16_t sigalgs[] = { 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601 };

static const struct stack_def stacks[ST_MAX] = {
	[ST_MODERN] = { { 0x2a2a, 0x0304, 0x0303 }, 3,
			{ 0x2a2a, 0x11ec, 0x001d, 0x0017, 0x0018 }, 5,
			{ 0x2a2a, 0x11ec, 0x001d }, 3, 1800, 2 },
	[ST_HRR] = { { 0x0304, 0x0303 }, 2, { 0x001d, 0x0017, 0x11ec, 0x0018, 0x0100 }, 5,
		     { 0x001d }, 1, 600, 1 },
	[ST_DRAFT] = { { 0x3a3a, 0x0304, 0x0303 }, 3,
		       { 0x3a3a, 0x6399, 0x001d, 0x0017, 0x0018 }, 5,
		       { 0x3a3a, 0x6399, 0x001d }, 3, 1760, 2 },
	[ST_CLASSIC13] = { { 0x0304, 0x0303 }, 2, { 0x001d, 0x0017, 0x001e, 0x0019, 0x0018 }, 5,
			   { 0x001d }, 1, 520, 1 },
	[ST_TLS12] = { { 0 }, 0, { 0x001d, 0x0017, 0x0018 }, 3, { 0 }, 0, 230, 1 },
	[ST_PQ] = { { 0x0304 }, 1, { 0x0201, 0x0202, 0x11ec }, 3, { 0x0201 }, 1, 1390, 1 },
};

/* Cumulative shares of the client stacks, per mille. */
static const unsigned stack_mix[ST_MAX] = { 520, 620, 650, 930, 998, 1000 };

static const char *const zones[] = { "pay", "web", "api", "cdn", "mail", "intra" };
#define N_ZONES (sizeof(zones) / sizeof(zones[0]))

static const char *const ssh_kex_client[] = {
	"mlkem768x25519-sha256,sntrup761x25519-sha512,curve25519-sha256,ecdh-sha2-nistp256",
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256",
};

struct gen {
	struct server *srv;
	struct client *cli;
	unsigned n_srv, n_cli, n_sensors;
	struct zipf zsrv, zcli;
	uint64_t pkt;
};

static void addr4(struct kx_addr *a, uint8_t b0, uint8_t b1, unsigned x)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->a[0] = b0;
	a->a[1] = b1;
	a->a[2] = (uint8_t)(x >> 8);
	a->a[3] = (uint8_t)(x & 0xff);
}

static void addr6(struct kx_addr *a, uint16_t net, unsigned x)
{
	memset(a, 0, sizeof(*a));
	a->family = 6;
	a->a[0] = 0x20;
	a->a[1] = 0x01;
	a->a[2] = 0x0d;
	a->a[3] = 0xb8;
	a->a[4] = (uint8_t)(net >> 8);
	a->a[5] = (uint8_t)net;
	a->a[12] = (uint8_t)(x >> 24);
	a->a[13] = (uint8_t)(x >> 16);
	a->a[14] = (uint8_t)(x >> 8);
	a->a[15] = (uint8_t)x;
}

static int model_init(struct gen *g)
{
	g->srv = calloc(g->n_srv, sizeof(*g->srv));
	g->cli = calloc(g->n_cli, sizeof(*g->cli));
	if (!g->srv || !g->cli || zipf_init(&g->zsrv, g->n_srv, 1.0) < 0 ||
	    zipf_init(&g->zcli, g->n_cli, 0.8) < 0)
		return -1;
	unsigned n_addr = g->n_srv / 3 + 1;
	for (unsigned i = 0; i < g->n_srv; i++) {
		struct server *s = &g->srv[i];
		unsigned a = rnd_below(n_addr); /* several SNIs share an address */
		if (a % 4 == 3)
			addr6(&s->ip, 0x0443, a + 1);
		else
			addr4(&s->ip, 198, (uint8_t)(18 + (a >> 16)), a & 0xffff);
		unsigned p = rnd_below(100);
		s->proto = p < 85 ? P_TLS : p < 95 ? P_QUIC : P_SSH;
		s->port = s->proto == P_SSH ? 22 : (rnd_below(10) == 0 ? 8443 : 443);
		unsigned c = rnd_below(1000);
		s->cap = c < 550 ? CAP_HYBRID : c < 880 ? CAP_CLASSICAL : c < 960 ? CAP_TLS12
			 : c < 995 ? CAP_DRAFT : CAP_PQ;
		if (s->proto == P_QUIC && s->cap == CAP_TLS12)
			s->cap = CAP_CLASSICAL; /* QUIC is TLS 1.3 only */
		s->zone = rnd_below(N_ZONES);
	}
	for (unsigned i = 0; i < g->n_cli; i++) {
		struct client *c = &g->cli[i];
		if (i % 5 == 4)
			addr6(&c->ip, 0x0c11, i + 1);
		else
			addr4(&c->ip, 10, (uint8_t)(i >> 16), i & 0xffff);
		unsigned u = rnd_below(1000), st = 0;
		while (st < ST_MAX - 1 && u >= stack_mix[st])
			st++;
		c->stack = (uint8_t)st;
	}
	return 0;
}

static bool has_group(const uint16_t *v, unsigned n, uint16_t g)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == g)
			return true;
	return false;
}

static void fill_ch(struct kx_client_hello *ch, const struct stack_def *d, bool quic)
{
	ch->legacy_version = 0x0303;
	memcpy(ch->versions, d->versions, sizeof(d->versions));
	ch->n_versions = d->n_versions;
	memcpy(ch->groups, d->groups, sizeof(d->groups));
	ch->n_groups = d->n_groups;
	memcpy(ch->shares, d->shares, sizeof(d->shares));
	ch->n_shares = d->n_shares;
	memcpy(ch->sigalgs, sigalgs, sizeof(sigalgs));
	ch->n_sigalgs = sizeof(sigalgs) / sizeof(sigalgs[0]);
	ch->n_suites = d->n_versions ? 16 : 24;
	ch->session_id_len = quic ? 0 : 32;
	ch->bytes = d->bytes;
	ch->segments = quic ? (d->bytes > 1200 ? 2 : 1) : d->segments;
	/* One JA4 per stack and transport, shaped like real ones (the
	 * hashes are made up): the fingerprint rollups and report have a
	 * few dozen software sets to count, as on a real link. */
	unsigned k = (unsigned)(d - stacks);
	snprintf(ch->ja4, sizeof(ch->ja4), "%c%sd%02u%02u%s_%012llx_%012llx", quic ? 'q' : 't',
		 d->n_versions ? "13" : "12", ch->n_suites % 100u, (10u + d->n_groups) % 100u,
		 quic ? "h3" : "h2", (0x8daaf6152771ull + k * 0x111111ull) & 0xffffffffffffull,
		 (0xe5627efa2ab1ull + k * 0x222222ull) & 0xffffffffffffull);
}

/* The server's choice among the client's shares and groups (TLS 1.3). */
static uint16_t pick_group(const struct server *s, const struct kx_client_hello *ch, bool *hrr)
{
	static const uint16_t pref_hybrid[] = { 0x11ec, 0x001d, 0x0017, 0x0018 };
	static const uint16_t pref_classical[] = { 0x001d, 0x0017, 0x0018, 0x0019 };
	static const uint16_t pref_draft[] = { 0x6399, 0x001d, 0x0017 };
	static const uint16_t pref_pq[] = { 0x0201, 0x11ec, 0x001d, 0x0017 };
	const uint16_t *pref = pref_classical;
	unsigned n = 4;
	switch (s->cap) {
	case CAP_HYBRID: pref = pref_hybrid; break;
	case CAP_DRAFT: pref = pref_draft, n = 3; break;
	case CAP_PQ: pref = pref_pq; break;
	default: break;
	}
	*hrr = false;
	/* Servers prefer their order over the client's shares: a preferred
	 * group offered without a share costs a HelloRetryRequest. */
	for (unsigned i = 0; i < n; i++) {
		if (has_group(ch->shares, ch->n_shares, pref[i]))
			return pref[i];
		if (has_group(ch->groups, ch->n_groups, pref[i])) {
			*hrr = true;
			return pref[i];
		}
	}
	return 0;
}

static void make_ssh(struct kx_hs *hs, const struct server *s, const struct client *c)
{
	bool cpq = c->stack == ST_MODERN || c->stack == ST_HRR || c->stack == ST_PQ;
	bool spq = s->cap == CAP_HYBRID || s->cap == CAP_PQ;
	memset(&hs->ssh, 0, sizeof(hs->ssh));
	snprintf(hs->protocol, sizeof(hs->protocol), "ssh");
	hs->preclassified = true;
	hs->ssh.client_offers_pq = cpq;
	snprintf(hs->ssh.client_banner, sizeof(hs->ssh.client_banner), "%s",
		 cpq ? "SSH-2.0-OpenSSH_9.9" : "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3");
	snprintf(hs->ssh.server_banner, sizeof(hs->ssh.server_banner), "%s",
		 spq ? "SSH-2.0-OpenSSH_9.9" : "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
	snprintf(hs->ssh.kex_client, sizeof(hs->ssh.kex_client), "%s", ssh_kex_client[cpq ? 0 : 1]);
	snprintf(hs->ssh.kex_server, sizeof(hs->ssh.kex_server), "%s", ssh_kex_client[spq ? 0 : 1]);
	snprintf(hs->ssh.hostkey, sizeof(hs->ssh.hostkey), "ssh-ed25519");
	snprintf(hs->ssh.hassh, sizeof(hs->ssh.hassh), "%s",
		 cpq ? "a4d0f6bb2a1e3c5d9e8f7a6b5c4d3e2f" : "06046964c022c6407d15a27b12a6a4fb");
	if (!hs->have_sh) {
		hs->verdict = KX_V_INCOMPLETE;
		return;
	}
	if (cpq && spq) {
		snprintf(hs->ssh.kex, sizeof(hs->ssh.kex), "mlkem768x25519-sha256");
		hs->verdict = KX_V_HYBRID;
		hs->reason = KX_R_NONE;
	} else {
		snprintf(hs->ssh.kex, sizeof(hs->ssh.kex), "curve25519-sha256");
		hs->verdict = KX_V_CLASSICAL;
		hs->reason = cpq ? KX_R_SERVER_DECLINED : KX_R_CLIENT_NO_PQ;
	}
}

/* One handshake at ts from a client to a server, seen on `sensor`. */
static void make_hs(struct gen *g, struct kx_hs *hs, uint64_t ts, unsigned sensor)
{
	const struct server *s = &g->srv[scatter(zipf_draw(&g->zsrv), g->n_srv)];
	unsigned si = (unsigned)(s - g->srv);
	const struct client *c = &g->cli[scatter(zipf_draw(&g->zcli), g->n_cli)];
	bool quic = s->proto == P_QUIC;

	memset(hs, 0, offsetof(struct kx_hs, ssh));
	hs->ts_first_us = ts;
	hs->client_ip = c->ip;
	hs->server_ip = s->ip;
	hs->client_port = (uint16_t)(32768 + rnd_below(28000));
	hs->server_port = s->port;
	hs->transport = quic ? 17 : 6;
	hs->pkt_first_ch = ++g->pkt;
	snprintf(hs->ndpi_label, sizeof(hs->ndpi_label), "%s",
		 quic ? "QUIC" : s->proto == P_SSH ? "SSH" : "TLS");

	/* Lost answers: a few percent everywhere, and big ClientHellos on
	 * the last sensor's path (MTU black hole). */
	const struct stack_def *d = &stacks[c->stack];
	unsigned lost = rnd_below(1000);
	bool big = d->bytes >= 1500;
	hs->have_sh = !(lost < 30 || (sensor == g->n_sensors - 1 && big && lost < 250));
	if (!hs->have_sh) {
		static const enum kx_reason why[] = { KX_R_RST, KX_R_FIN, KX_R_TIMEOUT, KX_R_GAP };
		hs->reason = why[rnd_below(4)];
	}

	uint64_t rtt = 2000 + (uint64_t)(-log(1.0 - rnd01()) * 20000);
	if (rnd_below(200) == 0)
		rtt += 1000000; /* a retransmitted ClientHello segment */
	hs->ch_to_sh_us = hs->have_sh ? (int64_t)rtt : -1;
	hs->ts_last_us = ts + (hs->have_sh ? rtt : 0);
	hs->pkt_sh = hs->have_sh ? hs->pkt_first_ch + 2 + rnd_below(3) : 0;

	if (s->proto == P_SSH) {
		make_ssh(hs, s, c);
		return;
	}

	snprintf(hs->protocol, sizeof(hs->protocol), "%s", quic ? "quic" : "tls");
	snprintf(hs->sni, sizeof(hs->sni), "srv%u.%s.inv.kx.test", si, zones[s->zone]);
	snprintf(hs->alpn, sizeof(hs->alpn), "%s", quic ? "h3" : s->zone == 4 ? "" : "h2,http/1.1");
	unsigned stack = c->stack;
	if (quic && stack == ST_TLS12)
		stack = ST_CLASSIC13; /* QUIC is TLS 1.3 only */
	fill_ch(&hs->ch[0], &stacks[stack], quic);
	hs->ch[0].bytes += (uint32_t)strlen(hs->sni);
	hs->ch[0].has_ech = stack == ST_MODERN && rnd_below(10) == 0;
	hs->n_ch = 1;
	if (!hs->have_sh)
		goto classify;

	bool tls13 = stacks[stack].n_versions && s->cap != CAP_TLS12;
	bool resume = rnd_below(100) < 3;
	if (!tls13) {
		hs->version = 0x0303;
		hs->cipher_suite = 0xc02f;
		hs->resumed = resume;
		if (!resume) {
			hs->tls12_kx = rnd_below(10) == 0 ? KX_KX_RSA : KX_KX_ECDHE;
			hs->have_group = hs->tls12_kx == KX_KX_ECDHE;
			hs->group = 0x001d;
		}
		goto classify;
	}
	hs->version = 0x0304;
	hs->cipher_suite = 0x1301;
	if (resume) {
		hs->ch[0].has_psk = true;
		hs->ch[0].psk_modes = 2;
		hs->psk_selected = hs->resumed = true;
		if (rnd_below(3) == 0) /* psk_ke: no key share at all */
			goto classify;
	}
	bool hrr;
	uint16_t grp = pick_group(s, &hs->ch[0], &hrr);
	if (!grp) { /* nothing in common: a handshake_failure alert */
		hs->have_sh = false;
		hs->reason = KX_R_ALERT;
		hs->ch_to_sh_us = -1;
		hs->pkt_sh = 0;
		goto classify;
	}
	hs->have_group = true;
	hs->group = grp;
	if (hrr) {
		hs->hrr = true;
		hs->hrr_group = grp;
		hs->ch[1] = hs->ch[0];
		hs->ch[1].shares[0] = grp;
		hs->ch[1].n_shares = 1;
		hs->ch[1].bytes += grp == 0x11ec ? 1216 : 0;
		hs->ch[1].segments = hs->ch[1].bytes >= 1500 ? 2 : 1;
		hs->n_ch = 2;
	}
classify:
	kx_classify(hs);
}

/* Sessions without a handshake in one hour: distinct (client, server,
 * application) rows, each with a few sessions. */
struct plain_kind {
	const char *app;
	uint16_t port;
	enum kx_verdict verdict;
	enum kx_reason reason;
};

static const struct plain_kind plain_kinds[] = {
	{ "http", 80, KX_V_PLAINTEXT, KX_R_NO_TLS },
	{ "http", 8080, KX_V_PLAINTEXT, KX_R_NO_TLS },
	{ "smtp", 25, KX_V_PLAINTEXT, KX_R_STARTTLS_NOT_OFFERED },
	{ "postgresql", 5432, KX_V_PLAINTEXT, KX_R_SSL_REFUSED },
	{ "redis", 6379, KX_V_PLAINTEXT, KX_R_NO_TLS },
	{ "tls", 443, KX_V_NO_VERDICT, KX_R_HANDSHAKE_UNSEEN },
};
#define N_PLAIN (sizeof(plain_kinds) / sizeof(plain_kinds[0]))

struct totals {
	uint64_t rows, session_rows, sessions;
};

static int add_sessions(struct gen *g, struct kx_store *st, struct kx_counters *cnt,
			uint64_t hour_start, double want, struct totals *tot)
{
	/* Probabilistic rounding keeps the mean right at tiny scales. */
	unsigned n_rows = (unsigned)want;
	if (rnd01() < want - n_rows)
		n_rows++;
	if (n_rows > g->n_cli)
		n_rows = g->n_cli;
	unsigned first = rnd_below(g->n_cli), step = g->n_cli % 7919 ? 7919 : 1;
	for (unsigned i = 0; i < n_rows; i++) {
		/* distinct clients within the hour (step prime to n_cli or 1) */
		const struct client *c = &g->cli[(first + (uint64_t)i * step) % g->n_cli];
		const struct plain_kind *k = &plain_kinds[rnd_below(N_PLAIN)];
		const struct server *s = &g->srv[scatter(zipf_draw(&g->zsrv), g->n_srv)];
		unsigned n = 1;
		while (n < 20 && rnd_below(3) != 0)
			n++;
		for (unsigned j = 0; j < n; j++) {
			struct kx_hs hs;
			memset(&hs, 0, offsetof(struct kx_hs, ssh));
			hs.is_session = true;
			hs.ts_first_us = hour_start + 60000000ull + rnd() % (3000 * 1000000ull);
			hs.ts_last_us = hs.ts_first_us + rnd() % 30000000ull;
			hs.client_ip = c->ip;
			hs.server_ip = s->ip;
			hs.client_port = (uint16_t)(32768 + rnd_below(28000));
			hs.server_port = k->port;
			hs.transport = 6;
			hs.verdict = k->verdict;
			hs.reason = k->reason;
			snprintf(hs.app, sizeof(hs.app), "%s", k->app);
			snprintf(hs.ndpi_label, sizeof(hs.ndpi_label), "%s",
				 strcmp(k->app, "tls") == 0 ? "TLS" : "");
			hs.bytes = 200 + rnd() % 50000;
			hs.pkt_first_ch = ++g->pkt;
			if (kx_store_add(st, &hs, cnt) < 0)
				return -1;
			tot->sessions++;
		}
		tot->session_rows++;
	}
	return 0;
}

/* Relative load by hour of day: quiet at night, busy in the afternoon. */
static double diurnal(uint64_t ts)
{
	double h = (double)(ts % DAY_US) / (double)HOUR_US;
	return 1.0 + 0.6 * sin((h - 9.0) * 3.14159265358979 / 12.0);
}

static unsigned long long num_arg(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v ? v : "", &end, 10);
	if (!v || errno || *end || end == v) {
		fprintf(stderr, "gen_inventory: %s wants a number\n", opt);
		exit(2);
	}
	return x;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t rows = 20000000, seed = 1, start = 1735689600; /* 2025-01-01T00:00:00Z */
	unsigned days = 365, batch = 50000;
	double session_share = 0.04;
	struct gen g = { .n_srv = 5000, .n_cli = 40000, .n_sensors = 6 };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--out") == 0 && v)
			out = v;
		else if (strcmp(a, "--rows") == 0)
			rows = num_arg(a, v);
		else if (strcmp(a, "--seed") == 0)
			seed = num_arg(a, v);
		else if (strcmp(a, "--sensors") == 0)
			g.n_sensors = (unsigned)num_arg(a, v);
		else if (strcmp(a, "--servers") == 0)
			g.n_srv = (unsigned)num_arg(a, v);
		else if (strcmp(a, "--clients") == 0)
			g.n_cli = (unsigned)num_arg(a, v);
		else if (strcmp(a, "--days") == 0)
			days = (unsigned)num_arg(a, v);
		else if (strcmp(a, "--start") == 0)
			start = num_arg(a, v);
		else if (strcmp(a, "--batch") == 0)
			batch = (unsigned)num_arg(a, v);
		else if (strcmp(a, "--session-share") == 0 && v)
			session_share = atof(v);
		else {
			fprintf(stderr, "usage: gen_inventory --out FILE.db [--rows N] [--seed S]"
					" [--sensors K] [--servers N] [--clients N] [--days D]"
					" [--start EPOCH] [--session-share F] [--batch N]\n");
			return 2;
		}
		i++;
	}
	if (!out || !g.n_sensors || g.n_sensors > 1000 || g.n_srv < 3 || g.n_cli < 1 || !days ||
	    !batch || session_share < 0 || session_share > 10) {
		fprintf(stderr, "gen_inventory: --out is required; sensors 1..1000, servers >= 3,"
				" clients, days and batch >= 1, session share 0..10\n");
		return 2;
	}
	rng_state = seed;
	if (model_init(&g) < 0) {
		fprintf(stderr, "gen_inventory: out of memory\n");
		return 1;
	}

	/* Sensor s carries a share 1/(s+1) of the load. */
	double wsum = 0;
	for (unsigned s = 0; s < g.n_sensors; s++)
		wsum += 1.0 / (s + 1);

	struct kx_store_opts opts = { .batch_rows = batch, .flush_ms = 3600000 };
	struct kx_store *st;
	char err[512];
	if (kx_store_open(out, &opts, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen_inventory: %s\n", err);
		return 1;
	}
	char command[256];
	snprintf(command, sizeof(command), "gen_inventory --rows %" PRIu64 " --seed %" PRIu64, rows,
		 seed);

	struct totals tot = { 0, 0, 0 };
	unsigned runs = 0;
	uint64_t t0 = start * 1000000ull, span_us = (uint64_t)days * DAY_US;
	double started = now_s();
	uint64_t assigned = 0;
	unsigned n_chunks = (days + RUN_DAYS - 1) / RUN_DAYS;
	for (unsigned chunk = 0; chunk < n_chunks; chunk++) {
		uint64_t c0 = t0 + (uint64_t)chunk * RUN_DAYS * DAY_US;
		uint64_t c1 = c0 + RUN_DAYS * DAY_US;
		if (c1 > t0 + span_us)
			c1 = t0 + span_us;
		for (unsigned s = 0; s < g.n_sensors; s++) {
			/* This run's share of the rows; the last run takes the rest. */
			uint64_t upto = chunk == n_chunks - 1 && s == g.n_sensors - 1
					  ? rows
					  : assigned + (uint64_t)llround(
						(double)rows * (double)(c1 - c0) / (double)span_us *
						(1.0 / (s + 1)) / wsum);
			if (upto > rows)
				upto = rows;
			uint64_t n = upto - assigned;
			assigned = upto;
			char sensor[32];
			snprintf(sensor, sizeof(sensor), "span-%02u", s + 1);
			struct kx_counters cnt;
			memset(&cnt, 0, sizeof(cnt));
			if (kx_store_begin_run(st, sensor, command, c0) < 0 ||
			    kx_store_set_source(st, 0, "eth1") < 0)
				goto fail;
			runs++;
			g.pkt = 0;
			/* Rows in time order, the gaps shaped by the hour of day;
			 * the last minute of the span stays empty so that a run's
			 * span never reaches into the next run's first hour. */
			uint64_t usable = c1 - c0 - 120000000ull;
			double mean_gap = n ? (double)usable / (double)n : 0;
			double per_hour = n ? (double)n * (double)HOUR_US / (double)usable : 0;
			uint64_t ts = c0 + 60000000ull, hour = UINT64_MAX;
			for (uint64_t i = 0; i < n; i++) {
				double gap = mean_gap * -log(1.0 - rnd01()) / diurnal(ts);
				uint64_t step = (uint64_t)gap + 1;
				/* Keep to the span: n rows fit with the mean gap. */
				if (ts + step > c0 + 60000000ull + usable - (n - i))
					step = 1;
				ts += step;
				if (ts / HOUR_US != hour) {
					hour = ts / HOUR_US;
					if (session_share > 0 &&
					    add_sessions(&g, st, &cnt, hour * HOUR_US,
							 per_hour * session_share / 3.0, &tot) < 0)
						goto fail;
				}
				struct kx_hs hs;
				make_hs(&g, &hs, ts, s);
				if (kx_store_add(st, &hs, &cnt) < 0)
					goto fail;
				tot.rows++;
			}
			if (kx_store_end_run(st, &cnt, c1) < 0)
				goto fail;
			if (cnt.db_rows_duplicate || cnt.db_errors) {
				fprintf(stderr, "gen_inventory: run %u: %" PRIu64 " duplicates, %" PRIu64
						" errors\n", runs, (uint64_t)cnt.db_rows_duplicate,
					(uint64_t)cnt.db_errors);
				goto fail;
			}
		}
	}
	kx_store_close(st);
	double secs = now_s() - started;
	printf("gen_inventory: %" PRIu64 " handshakes, %" PRIu64 " sessions rows (%" PRIu64
	       " sessions), %u runs, %u sensors, %u servers, %u clients, %u days, %.1f s,"
	       " %.0f rows/s\n",
	       tot.rows, tot.session_rows, tot.sessions, runs, g.n_sensors, g.n_srv, g.n_cli, days,
	       secs, secs > 0 ? (double)tot.rows / secs : 0);
	free(g.srv);
	free(g.cli);
	free(g.zsrv.cdf);
	free(g.zcli.cdf);
	return 0;
fail:
	fprintf(stderr, "gen_inventory: %s\n", kx_store_error(st));
	kx_store_close(st);
	return 1;
}
