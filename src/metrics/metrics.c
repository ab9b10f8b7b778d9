/* SPDX-License-Identifier: BSD-2-Clause */
/* metrics.c: handshake accounting and the Prometheus text exposition.
 *
 * Reference: Prometheus "Exposition formats", text format 0.0.4 (HELP and
 * TYPE lines, label value escaping of \\, \" and \n, histogram _bucket{le}
 * series cumulative and ending at +Inf, then _sum and _count).
 *
 * kx_metrics_observe and kx_metrics_publish run on the capture thread and
 * are the only code touching the accounting state, so it needs no lock.
 * The listener thread only sees the published struct kx_snap.
 */
#include "kexwatch/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kexwatch/groups.h"
#include "kexwatch/plain.h"
#include "kx_config.h"
#include "metrics_int.h"

/* Protocols get a fixed slot each: they come from our parsers, but the
 * string is still data, and anything unexpected lands in "other". */
enum { P_TLS, P_QUIC, P_SSH, P_DTLS, P_OTHER, P_MAX };
static const char *const proto_names[P_MAX] = { "tls", "quic", "ssh", "dtls", "other" };

/* ClientHello to ServerHello, in microseconds; 1 ms .. 10 s. */
#define RTT_N 13
static const uint64_t rtt_le_us[RTT_N] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const rtt_le_str[RTT_N] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1", "2.5", "5", "10",
};

/* ClientHello bytes. 1500 is there because a hybrid ClientHello (~1.6-1.8 KB
 * with an X25519MLKEM768 share) no longer fits one Ethernet frame, which is
 * what breaks middleboxes that parse only the first segment. */
#define SIZE_N 8
static const uint64_t size_le[SIZE_N] = { 256, 512, 1024, 1500, 2048, 4096, 8192, 16384 };

struct hist {
	uint64_t bucket[RTT_N + 1]; /* per bucket, not cumulative; last is +Inf */
	uint64_t count, sum;
};

/* Open addressing at most half full, so probes stay short even when a peer
 * picks code points that collide. */
#define SLOTS (2 * KX_METRICS_MAX_LABEL_SETS)

struct label_set {
	uint64_t key; /* 0: empty */
	uint64_t count;
};

/* One rendered kexwatch_handshakes_total line before sorting and merging
 * (several code points can share a name, GREASE for one). */
struct hs_row {
	uint8_t proto, verdict, reason;
	char group[48];
	uint64_t count;
};

#define MAX_ROWS (KX_METRICS_MAX_LABEL_SETS + P_MAX * KX_V_MAX * KX_R_MAX)

/* Sessions without a handshake (kexwatch_sessions_total): verdict
 * plaintext or no-verdict (handshake-unseen), by reason and application. The
 * applications are the engine's fixed list (plain.h), anything else is
 * "other": at most 2 x KX_R_MAX x (KX_APP_MAX + 1) series, in practice a
 * handful. */
enum { S_PLAINTEXT, S_UNSEEN, S_MAX };
#define S_APPS (KX_APP_MAX + 1)

struct kx_metrics {
	char *sensor; /* escaped for a label value */
	bool central;             /* --pg: export the outbox backlog */
	int64_t central_backlog;  /* capture thread, like the counters */
	char *ndpi, *libpcap;
	uint64_t start_us;

	struct label_set sets[SLOTS];
	unsigned n_sets;
	uint64_t overflow[P_MAX][KX_V_MAX][KX_R_MAX];
	uint64_t overflow_total;
	uint64_t regressions[KX_REGRESS_KINDS];
	struct hist rtt[P_MAX], size[P_MAX];
	uint64_t sessions[S_MAX][KX_R_MAX][S_APPS];
	struct hs_row rows[MAX_ROWS];
	size_t last_len; /* size hint for the next render */

	struct kx_http_stats http;

	pthread_mutex_t lock; /* guards cur and every snapshot's refs */
	struct kx_snap *cur;
	struct kx_httpd *httpd;
};

/* ---- text buffer ---- */

/* Grows a struct kx_snap in place: the text starts at offsetof(text), so the
 * finished buffer is published without another copy. */
struct sbuf {
	char *base;
	size_t len, cap; /* len counts text bytes only */
	bool failed;
};

#define SNAP_HDR offsetof(struct kx_snap, text)

static bool sb_reserve(struct sbuf *sb, size_t more)
{
	if (sb->failed)
		return false;
	if (SNAP_HDR + sb->len + more + 1 <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 4096;
	while (SNAP_HDR + sb->len + more + 1 > cap)
		cap *= 2;
	char *p = realloc(sb->base, cap);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->base = p;
	sb->cap = cap;
	return true;
}

static void sb_put(struct sbuf *sb, const char *s, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->base + SNAP_HDR + sb->len, s, n);
	sb->len += n;
	sb->base[SNAP_HDR + sb->len] = '\0';
}

static void sb_str(struct sbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->failed = true;
		return;
	}
	if ((size_t)n < sizeof(tmp)) {
		sb_put(sb, tmp, (size_t)n);
		return;
	}
	if (!sb_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->base + SNAP_HDR + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* Label values escape \\, \" and newline; HELP text escapes \\ and newline. */
static void sb_escaped(struct sbuf *sb, const char *s, size_t n, bool quote)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\\')
			sb_put(sb, "\\\\", 2);
		else if (ch == '\n')
			sb_put(sb, "\\n", 2);
		else if (ch == '"' && quote)
			sb_put(sb, "\\\"", 2);
		else
			sb_put(sb, &ch, 1);
	}
}

static char *escape_dup(const char *s, size_t n)
{
	struct sbuf sb = { 0 };
	sb_reserve(&sb, n);
	sb_escaped(&sb, s, n, true);
	if (sb.failed) {
		free(sb.base);
		return NULL;
	}
	/* Keep only the text: the header space in front is not needed here. */
	char *out = malloc(sb.len + 1);
	if (out) {
		memcpy(out, sb.base + SNAP_HDR, sb.len);
		out[sb.len] = '\0';
	}
	free(sb.base);
	return out;
}

static void family(struct sbuf *sb, const char *name, const char *type, const char *help)
{
	sb_printf(sb, "# HELP %s ", name);
	sb_escaped(sb, help, strlen(help), false);
	sb_printf(sb, "\n# TYPE %s %s\n", name, type);
}

/* Starts a sample: `name{sensor="..."` ; the caller adds labels and ends it. */
static void sample(struct sbuf *sb, const struct kx_metrics *m, const char *name)
{
	sb_printf(sb, "%s{sensor=\"%s\"", name, m->sensor);
}

static void label(struct sbuf *sb, const char *key, const char *val, size_t n)
{
	sb_printf(sb, ",%s=\"", key);
	sb_escaped(sb, val, n, true);
	sb_put(sb, "\"", 1);
}

static void label_s(struct sbuf *sb, const char *key, const char *val)
{
	label(sb, key, val, strlen(val));
}

static void end_u64(struct sbuf *sb, uint64_t v)
{
	sb_printf(sb, "} %" PRIu64 "\n", v);
}

static void simple_u64(struct sbuf *sb, const struct kx_metrics *m, const char *name,
		       const char *type, const char *help, uint64_t v)
{
	family(sb, name, type, help);
	sample(sb, m, name);
	end_u64(sb, v);
}

/* ---- snapshots ---- */

static void publish_text(struct kx_metrics *m, struct sbuf *sb)
{
	if (sb->failed || !sb_reserve(sb, 0)) {
		free(sb->base);
		return;
	}
	struct kx_snap *s = (struct kx_snap *)(void *)sb->base;
	s->refs = 1;
	s->len = sb->len;
	m->last_len = sb->len;

	pthread_mutex_lock(&m->lock);
	struct kx_snap *old = m->cur;
	m->cur = s;
	bool last = old && --old->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (last)
		free(old);
}

struct kx_snap *kx_metrics_acquire(struct kx_metrics *m)
{
	pthread_mutex_lock(&m->lock);
	struct kx_snap *s = m->cur;
	s->refs++;
	pthread_mutex_unlock(&m->lock);
	return s;
}

void kx_metrics_release(struct kx_metrics *m, struct kx_snap *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&m->lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&m->lock);
	if (last)
		free(s);
}

/* ---- accounting ---- */

static unsigned proto_index(const char *p, size_t cap)
{
	for (unsigned i = 0; i < P_OTHER; i++)
		if (strncmp(p, proto_names[i], cap) == 0)
			return i;
	return P_OTHER;
}

static void hist_add(struct hist *h, const uint64_t *le, unsigned n, uint64_t v)
{
	unsigned i = 0;
	while (i < n && v > le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

static uint64_t set_hash(uint64_t key)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 32;
	return key;
}

/* The application's index in plain.h's list, KX_APP_MAX for anything else. */
static unsigned app_index(const char *app, size_t cap)
{
	for (unsigned i = 0; i < KX_APP_MAX; i++)
		if (strncmp(app, kx_app_name((enum kx_app)i), cap) == 0)
			return i;
	return KX_APP_MAX;
}

void kx_metrics_regression(struct kx_metrics *m, enum kx_regress_kind k)
{
	if ((unsigned)k < KX_REGRESS_KINDS)
		m->regressions[k]++;
}

void kx_metrics_observe(struct kx_metrics *m, const struct kx_hs *hs)
{
	/* A session is not a handshake: it has its own family, and no
	 * ClientHello for the histograms. */
	if (hs->is_session) {
		unsigned r = (unsigned)hs->reason < KX_R_MAX ? (unsigned)hs->reason : KX_R_NONE;
		m->sessions[hs->verdict == KX_V_PLAINTEXT ? S_PLAINTEXT : S_UNSEEN][r]
			   [app_index(hs->app, sizeof(hs->app))]++;
		return;
	}
	unsigned p = proto_index(hs->protocol, sizeof(hs->protocol));
	unsigned v = (unsigned)hs->verdict < KX_V_MAX ? (unsigned)hs->verdict : KX_V_UNKNOWN;
	unsigned r = (unsigned)hs->reason < KX_R_MAX ? (unsigned)hs->reason : KX_R_NONE;

	/* bit 40 keeps every real key non-zero */
	uint64_t key = 1ull << 40 | (uint64_t)p << 33 | (uint64_t)(hs->have_group ? 1 : 0) << 32 |
		       (uint64_t)(hs->have_group ? hs->group : 0) << 16 | (uint64_t)v << 8 | r;
	size_t i = (size_t)(set_hash(key) & (SLOTS - 1));
	for (;;) {
		struct label_set *e = &m->sets[i];
		if (e->key == key) {
			e->count++;
			break;
		}
		if (!e->key) {
			if (m->n_sets < KX_METRICS_MAX_LABEL_SETS) {
				e->key = key;
				e->count = 1;
				m->n_sets++;
			} else {
				m->overflow[p][v][r]++;
				m->overflow_total++;
			}
			break;
		}
		i = (i + 1) & (SLOTS - 1);
	}

	if (hs->n_ch >= 1 && hs->ch[0].bytes > 0)
		hist_add(&m->size[p], size_le, SIZE_N, hs->ch[0].bytes);
	if (hs->ch_to_sh_us >= 0)
		hist_add(&m->rtt[p], rtt_le_us, RTT_N, (uint64_t)hs->ch_to_sh_us);
}

/* ---- rendering ---- */

static int row_cmp(const void *a, const void *b)
{
	const struct hs_row *x = a, *y = b;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	int c = strcmp(x->group, y->group);
	if (c)
		return c;
	if (x->verdict != y->verdict)
		return x->verdict < y->verdict ? -1 : 1;
	if (x->reason != y->reason)
		return x->reason < y->reason ? -1 : 1;
	return 0;
}

static void render_handshakes(struct kx_metrics *m, struct sbuf *sb)
{
	size_t n = 0;
	for (size_t i = 0; i < SLOTS; i++) {
		uint64_t key = m->sets[i].key;
		if (!key)
			continue;
		struct hs_row *row = &m->rows[n++];
		row->proto = (uint8_t)(key >> 33 & 0x7);
		row->verdict = (uint8_t)(key >> 8);
		row->reason = (uint8_t)key;
		row->count = m->sets[i].count;
		if (key >> 32 & 1)
			kx_group_label((uint16_t)(key >> 16), row->group, sizeof(row->group));
		else
			snprintf(row->group, sizeof(row->group), "none");
	}
	for (unsigned p = 0; p < P_MAX; p++)
		for (unsigned v = 0; v < KX_V_MAX; v++)
			for (unsigned r = 0; r < KX_R_MAX; r++) {
				if (!m->overflow[p][v][r])
					continue;
				struct hs_row *row = &m->rows[n++];
				row->proto = (uint8_t)p;
				row->verdict = (uint8_t)v;
				row->reason = (uint8_t)r;
				row->count = m->overflow[p][v][r];
				snprintf(row->group, sizeof(row->group), "other");
			}
	if (!n)
		return;
	qsort(m->rows, n, sizeof(m->rows[0]), row_cmp);

	static const char name[] = "kexwatch_handshakes_total";
	family(sb, name, "counter",
	       "Key-exchange handshakes recorded, by protocol, selected group (registry name, "
	       "0x-hex when unknown, none without a ServerHello, other past the label-set cap), "
	       "verdict and reason.");
	for (size_t i = 0; i < n; i++) {
		uint64_t count = m->rows[i].count;
		while (i + 1 < n && row_cmp(&m->rows[i], &m->rows[i + 1]) == 0)
			count += m->rows[++i].count;
		const struct hs_row *row = &m->rows[i];
		const char *reason = kx_reason_name((enum kx_reason)row->reason);
		sample(sb, m, name);
		label_s(sb, "protocol", proto_names[row->proto]);
		label_s(sb, "group", row->group);
		label_s(sb, "verdict", kx_verdict_name((enum kx_verdict)row->verdict));
		label_s(sb, "reason", reason[0] ? reason : "none");
		end_u64(sb, count);
	}
}

static void render_sessions(struct kx_metrics *m, struct sbuf *sb)
{
	static const char name[] = "kexwatch_sessions_total";
	static const enum kx_verdict verdicts[S_MAX] = { KX_V_PLAINTEXT, KX_V_NO_VERDICT };
	/* The family is always there, so a dashboard's query for plaintext
	 * finds it (at zero) before the first session. */
	family(sb, name, "counter",
	       "Sessions without a handshake, by verdict (plaintext: application data with no "
	       "encryption; no-verdict: encrypted, handshake not captured), reason and application.");
	for (unsigned v = 0; v < S_MAX; v++)
		for (unsigned r = 0; r < KX_R_MAX; r++)
			for (unsigned a = 0; a < S_APPS; a++) {
				if (!m->sessions[v][r][a])
					continue;
				const char *reason = kx_reason_name((enum kx_reason)r);
				sample(sb, m, name);
				label_s(sb, "verdict", kx_verdict_name(verdicts[v]));
				label_s(sb, "reason", reason[0] ? reason : "none");
				label_s(sb, "app", a < KX_APP_MAX ? kx_app_name((enum kx_app)a) : "other");
				end_u64(sb, m->sessions[v][r][a]);
			}
}

static void render_hist(struct kx_metrics *m, struct sbuf *sb, const char *name, const char *help,
			const struct hist *h, unsigned n, const uint64_t *le_num,
			const char *const *le_str, bool seconds)
{
	char full[96];
	family(sb, name, "histogram", help);
	for (unsigned p = 0; p < P_MAX; p++) {
		/* tls is always there, so the family exists from the start */
		if (p != P_TLS && !h[p].count)
			continue;
		uint64_t cum = 0;
		snprintf(full, sizeof(full), "%s_bucket", name);
		for (unsigned i = 0; i <= n; i++) {
			char le[24];
			cum += h[p].bucket[i];
			if (i == n)
				snprintf(le, sizeof(le), "+Inf");
			else if (le_str)
				snprintf(le, sizeof(le), "%s", le_str[i]);
			else
				snprintf(le, sizeof(le), "%" PRIu64, le_num[i]);
			sample(sb, m, full);
			label_s(sb, "protocol", proto_names[p]);
			label_s(sb, "le", le);
			end_u64(sb, cum);
		}
		snprintf(full, sizeof(full), "%s_sum", name);
		sample(sb, m, full);
		label_s(sb, "protocol", proto_names[p]);
		if (seconds)
			sb_printf(sb, "} %" PRIu64 ".%06" PRIu64 "\n", h[p].sum / 1000000,
				  h[p].sum % 1000000);
		else
			end_u64(sb, h[p].sum);
		snprintf(full, sizeof(full), "%s_count", name);
		sample(sb, m, full);
		label_s(sb, "protocol", proto_names[p]);
		end_u64(sb, h[p].count);
	}
}

/* Counters that have their own metric below, or are summed up elsewhere
 * (hs_*: kexwatch_handshakes_total; capture_received/dropped/if_dropped:
 * the per-interface series). Everything else in counters.h is exported as
 * kexwatch_<name>_total, so a new counter shows up without touching this. */
static const struct {
	const char *counter, *metric, *help;
} named[] = {
	{ "packets", "kexwatch_packets_total", "Packets read from every capture source." },
	{ "bytes", "kexwatch_bytes_total", "Bytes on the wire (original packet lengths)." },
	{ "flows_evicted_full", "kexwatch_flows_evicted_total",
	  "Flows evicted because the flow table was full (pending handshakes end as "
	  "incomplete/evicted)." },
	{ "flows_expired_idle", "kexwatch_flows_expired_total",
	  "Flows ended by the idle timeout." },
	{ "db_rows_written", "kexwatch_db_rows_written_total", "Handshake rows written to SQLite." },
	{ "db_errors", "kexwatch_db_write_errors_total", "SQLite write errors." },
};

static const char *const not_generic[] = {
	"capture_received", "capture_dropped", "capture_if_dropped",
};

/* Names the fixed families use: a generic counter must never repeat one. */
static const char *const fixed_names[] = {
	"kexwatch_build_info", "kexwatch_start_time_seconds", "kexwatch_handshakes_total",
	"kexwatch_sessions_total", "kexwatch_regressions_total",
	"kexwatch_handshakes_label_overflow_total", "kexwatch_client_hello_size_bytes",
	"kexwatch_client_hello_to_server_hello_seconds", "kexwatch_packets_total",
	"kexwatch_bytes_total", "kexwatch_capture_packets_received_total",
	"kexwatch_capture_packets_dropped_total", "kexwatch_packets_skipped_total",
	"kexwatch_flows_active", "kexwatch_flows_evicted_total", "kexwatch_flows_expired_total",
	"kexwatch_db_rows_written_total", "kexwatch_db_write_errors_total",
	"kexwatch_db_queue_rows", "kexwatch_central_backlog_rows",
	"kexwatch_metrics_http_responses_total",
	"kexwatch_metrics_http_connections_dropped_total",
	"kexwatch_metrics_http_accept_errors_total",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool counter_named(const char *c, unsigned *ret_idx)
{
	for (unsigned i = 0; i < COUNT_OF(named); i++)
		if (strcmp(c, named[i].counter) == 0) {
			*ret_idx = i;
			return true;
		}
	return false;
}

static bool counter_excluded(const char *c)
{
	if (strncmp(c, "skip_", 5) == 0 || strncmp(c, "hs_", 3) == 0)
		return true;
	for (unsigned i = 0; i < COUNT_OF(not_generic); i++)
		if (strcmp(c, not_generic[i]) == 0)
			return true;
	return false;
}

static bool name_taken(const char *metric)
{
	for (unsigned i = 0; i < COUNT_OF(fixed_names); i++)
		if (strcmp(metric, fixed_names[i]) == 0)
			return true;
	return false;
}

static void render_counters(struct kx_metrics *m, struct sbuf *sb, const struct kx_counters *c)
{
	unsigned idx;
	/* The named ones first, in the table's order. */
	for (unsigned i = 0; i < COUNT_OF(named); i++) {
		uint64_t v = 0;
		for (unsigned k = 0; k < kx_counter_count; k++)
			if (strcmp(kx_counter_descs[k].name, named[i].counter) == 0)
				v = kx_counter_get(c, k);
		simple_u64(sb, m, named[i].metric, "counter", named[i].help, v);
	}

	bool any = false;
	for (unsigned k = 0; k < kx_counter_count; k++) {
		const char *name = kx_counter_descs[k].name;
		if (strncmp(name, "skip_", 5) != 0)
			continue;
		if (!any) {
			family(sb, "kexwatch_packets_skipped_total", "counter",
			       "Packets not analysed because a header was truncated, malformed or "
			       "unsupported, by reason.");
			any = true;
		}
		sample(sb, m, "kexwatch_packets_skipped_total");
		label_s(sb, "reason", name + 5);
		end_u64(sb, kx_counter_get(c, k));
	}

	char metric[128];
	for (unsigned k = 0; k < kx_counter_count; k++) {
		const char *name = kx_counter_descs[k].name;
		if (counter_named(name, &idx) || counter_excluded(name))
			continue;
		snprintf(metric, sizeof(metric), "kexwatch_%s_total", name);
		if (name_taken(metric))
			continue;
		char help[256];
		snprintf(help, sizeof(help), "Run counter %s: %s.", name, kx_counter_descs[k].desc);
		simple_u64(sb, m, metric, "counter", help, kx_counter_get(c, k));
	}
}

static void render_ifaces(struct kx_metrics *m, struct sbuf *sb, const struct kx_iface_stats *ifs,
			  unsigned n)
{
	if (!n)
		return;
	static const char recv[] = "kexwatch_capture_packets_received_total";
	static const char drop[] = "kexwatch_capture_packets_dropped_total";
	family(sb, recv, "counter", "Packets the capture handle received (pcap_stats ps_recv).");
	for (unsigned i = 0; i < n; i++) {
		sample(sb, m, recv);
		label(sb, "interface", ifs[i].name, strnlen(ifs[i].name, sizeof(ifs[i].name)));
		end_u64(sb, ifs[i].received);
	}
	family(sb, drop, "counter",
	       "Packets lost before kexwatch saw them: where=\"kernel\" the capture buffer was "
	       "full (ps_drop), where=\"interface\" the NIC or driver dropped them (ps_ifdrop).");
	for (unsigned i = 0; i < n; i++) {
		size_t len = strnlen(ifs[i].name, sizeof(ifs[i].name));
		sample(sb, m, drop);
		label(sb, "interface", ifs[i].name, len);
		label_s(sb, "where", "kernel");
		end_u64(sb, ifs[i].dropped);
		sample(sb, m, drop);
		label(sb, "interface", ifs[i].name, len);
		label_s(sb, "where", "interface");
		end_u64(sb, ifs[i].if_dropped);
	}
}

static void render_http(struct kx_metrics *m, struct sbuf *sb)
{
	static const char resp[] = "kexwatch_metrics_http_responses_total";
	static const char drop[] = "kexwatch_metrics_http_connections_dropped_total";
	family(sb, resp, "counter", "Answers of the metrics listener, by HTTP status.");
	for (unsigned i = 0; i < KX_HTTP_MAX; i++) {
		char code[8];
		snprintf(code, sizeof(code), "%d", kx_http_status_code((enum kx_http_status)i));
		sample(sb, m, resp);
		label_s(sb, "code", code);
		end_u64(sb, atomic_load_explicit(&m->http.responses[i], memory_order_relaxed));
	}
	family(sb, drop, "counter",
	       "Metrics connections closed before an answer was sent: timeout (deadline), "
	       "evicted (connection flood), error (reset or closed early).");
	for (unsigned i = 0; i < KX_DROP_MAX; i++) {
		sample(sb, m, drop);
		label_s(sb, "reason", kx_http_drop_name((enum kx_http_drop)i));
		end_u64(sb, atomic_load_explicit(&m->http.dropped[i], memory_order_relaxed));
	}
	simple_u64(sb, m, "kexwatch_metrics_http_accept_errors_total", "counter",
		   "accept() failures of the metrics listener (e.g. out of file descriptors).",
		   atomic_load_explicit(&m->http.accept_errors, memory_order_relaxed));
}

void kx_metrics_publish(struct kx_metrics *m, const struct kx_counters *c,
			const struct kx_iface_stats *ifs, unsigned n_ifs, uint32_t active_flows,
			uint64_t db_queue)
{
	struct sbuf sb = { 0 };
	sb_reserve(&sb, m->last_len + m->last_len / 4);

	family(&sb, "kexwatch_build_info", "gauge",
	       "Always 1; the labels name the kexwatch version and the nDPI and libpcap it runs with.");
	sample(&sb, m, "kexwatch_build_info");
	label_s(&sb, "version", KX_VERSION);
	if (m->ndpi)
		sb_printf(&sb, ",ndpi=\"%s\"", m->ndpi);
	if (m->libpcap)
		sb_printf(&sb, ",libpcap=\"%s\"", m->libpcap);
	sb_str(&sb, "} 1\n");

	family(&sb, "kexwatch_start_time_seconds", "gauge",
	       "Start of this kexwatch process, seconds since the Unix epoch.");
	sample(&sb, m, "kexwatch_start_time_seconds");
	sb_printf(&sb, "} %" PRIu64 ".%03" PRIu64 "\n", m->start_us / 1000000,
		  m->start_us % 1000000 / 1000);

	render_handshakes(m, &sb);
	simple_u64(&sb, m, "kexwatch_handshakes_label_overflow_total", "counter",
		   "Handshakes counted with group=\"other\" because kexwatch_handshakes_total "
		   "already had its maximum number of label sets.",
		   m->overflow_total);
	render_sessions(m, &sb);
	family(&sb, "kexwatch_regressions_total", "counter",
	       "Handshakes of an endpoint (client) remembered as hybrid/pq (offering PQ) that "
	       "are now classical (--regress-memory).");
	for (unsigned k = 0; k < KX_REGRESS_KINDS; k++) {
		sample(&sb, m, "kexwatch_regressions_total");
		label_s(&sb, "kind", kx_regress_kind_name((enum kx_regress_kind)k));
		end_u64(&sb, m->regressions[k]);
	}
	render_hist(m, &sb, "kexwatch_client_hello_size_bytes",
		    "Size of the first ClientHello handshake message (including its 4-byte header); "
		    "above 1500 it cannot fit one Ethernet frame.",
		    m->size, SIZE_N, size_le, NULL, false);
	render_hist(m, &sb, "kexwatch_client_hello_to_server_hello_seconds",
		    "Time from the first ClientHello segment to the ServerHello.", m->rtt, RTT_N,
		    NULL, rtt_le_str, true);

	render_ifaces(m, &sb, ifs, n_ifs);
	simple_u64(&sb, m, "kexwatch_flows_active", "gauge", "Flows in the flow table.",
		   active_flows);
	simple_u64(&sb, m, "kexwatch_db_queue_rows", "gauge",
		   "Handshake rows waiting for the database writer.", db_queue);
	if (m->central)
		simple_u64(&sb, m, "kexwatch_central_backlog_rows", "gauge",
			   "Handshake rows in the local outbox, not yet in the central store.",
			   m->central_backlog > 0 ? (uint64_t)m->central_backlog : 0);
	render_counters(m, &sb, c);
	render_http(m, &sb);

	publish_text(m, &sb);
}

/* ---- life cycle ---- */

static uint64_t realtime_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void kx_metrics_set_central_backlog(struct kx_metrics *m, int64_t rows)
{
	m->central = true;
	m->central_backlog = rows;
}

struct kx_metrics *kx_metrics_new(const char *sensor)
{
	struct kx_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (!sensor)
		sensor = "";
	m->sensor = escape_dup(sensor, strlen(sensor));
	if (!m->sensor || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m->sensor);
		free(m);
		return NULL;
	}
	m->start_us = realtime_us();

	struct kx_counters zero;
	memset(&zero, 0, sizeof(zero));
	kx_metrics_publish(m, &zero, NULL, 0, 0, 0);
	if (!m->cur) {
		kx_metrics_free(m);
		return NULL;
	}
	return m;
}

void kx_metrics_set_build_info(struct kx_metrics *m, const char *ndpi, const char *libpcap)
{
	free(m->ndpi);
	free(m->libpcap);
	m->ndpi = ndpi ? escape_dup(ndpi, strlen(ndpi)) : NULL;
	m->libpcap = libpcap ? escape_dup(libpcap, strlen(libpcap)) : NULL;
}

int kx_metrics_listen(struct kx_metrics *m, const char *addr_port, char *err, size_t errlen)
{
	if (m->httpd) {
		snprintf(err, errlen, "already listening");
		return -1;
	}
	m->httpd = kx_httpd_start(m, &m->http, addr_port, err, errlen);
	return m->httpd ? 0 : -1;
}

uint16_t kx_metrics_port(const struct kx_metrics *m)
{
	return m->httpd ? kx_httpd_port(m->httpd) : 0;
}

size_t kx_metrics_text(struct kx_metrics *m, char *buf, size_t len)
{
	struct kx_snap *s = kx_metrics_acquire(m);
	size_t n = s->len;
	if (len) {
		size_t k = n < len - 1 ? n : len - 1;
		memcpy(buf, s->text, k);
		buf[k] = '\0';
	}
	kx_metrics_release(m, s);
	return n;
}

int kx_metrics_write_file(struct kx_metrics *m, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	struct kx_snap *s = kx_metrics_acquire(m);
	size_t w = fwrite(s->text, 1, s->len, f);
	bool ok = w == s->len;
	kx_metrics_release(m, s);
	int saved = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void kx_metrics_free(struct kx_metrics *m)
{
	if (!m)
		return;
	kx_httpd_stop(m->httpd);
	/* The thread is gone: every reference but ours has been released. */
	free(m->cur);
	pthread_mutex_destroy(&m->lock);
	free(m->sensor);
	free(m->ndpi);
	free(m->libpcap);
	free(m);
}
