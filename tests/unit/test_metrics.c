/* SPDX-License-Identifier: BSD-2-Clause */
/* test_metrics.c: the Prometheus exposition and the /metrics listener.
 *
 * Text: exact lines for hand-made handshakes and counters (cumulative
 * buckets, merged label sets, the label-set cap, escaping).
 * Listener: a real socket on 127.0.0.1:0, good and bad requests, and the
 * hostile cases (slow senders, floods, huge requests, resets, clients that
 * never read), while the capture side keeps publishing.
 *
 * `test_metrics --dump FILE` only writes a representative exposition to FILE
 * (for promtool, see tests/integration/check_contrib.sh).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/metrics/metrics_int.h"
#include "kexwatch/groups.h"
#include "kexwatch/metrics.h"
#include "tap.h"

#define TEXT_MAX (1 << 20)
static char text[TEXT_MAX];

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct kx_hs make_hs(const char *proto, int have_group, uint16_t group,
			    enum kx_verdict v, enum kx_reason r, uint32_t ch_bytes, int64_t rtt_us)
{
	struct kx_hs hs;
	memset(&hs, 0, sizeof(hs));
	snprintf(hs.protocol, sizeof(hs.protocol), "%s", proto);
	hs.n_ch = 1;
	hs.ch[0].bytes = ch_bytes;
	hs.have_sh = rtt_us >= 0;
	hs.have_group = have_group;
	hs.group = group;
	hs.verdict = v;
	hs.reason = r;
	hs.ch_to_sh_us = rtt_us;
	return hs;
}

/* True when `line` is a whole line of text. */
/* A session without a handshake, as the engine emits it; the ClientHello
 * size and RTT it must not add to the histograms are set on purpose. */
static struct kx_hs make_session(enum kx_verdict v, enum kx_reason r, const char *app)
{
	struct kx_hs hs = make_hs(app, 0, 0, v, r, 999, 5);
	hs.is_session = true;
	snprintf(hs.app, sizeof(hs.app), "%s", app);
	hs.bytes = 1234;
	return hs;
}

static bool has_line(const char *t, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = t; (p = strstr(p, line)) != NULL; p++)
		if ((p == t || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static unsigned count_prefix(const char *t, const char *prefix)
{
	unsigned n = 0;
	size_t k = strlen(prefix);
	for (const char *p = t; *p;) {
		if (strncmp(p, prefix, k) == 0)
			n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

#define LINE(t, l) CHECK(has_line(t, l), "line: %s", l)

static void fill_counters(struct kx_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->packets = 10;
	c->bytes = 1000;
	c->skip_ip_short = 3;
	c->flows_evicted_full = 2;
	c->flows_expired_idle = 5;
	c->db_rows_written = 4;
	c->db_errors = 1;
	c->tls_records = 7;
}

/* The scenario the text checks and --dump use. */
static struct kx_metrics *scenario(const char *sensor)
{
	struct kx_metrics *m = kx_metrics_new(sensor);
	if (!m)
		return NULL;
	kx_metrics_set_build_info(m, "4.2.0", "libpcap version 1.10.3");
	struct kx_hs hs = make_hs("tls", 1, 0x11EC, KX_V_HYBRID, KX_R_NONE, 1586, 3539);
	kx_metrics_observe(m, &hs);
	kx_metrics_observe(m, &hs);
	hs = make_hs("tls", 1, 29, KX_V_CLASSICAL, KX_R_SERVER_DECLINED, 512, 1000);
	kx_metrics_observe(m, &hs);
	hs = make_hs("tls", 0, 0, KX_V_INCOMPLETE, KX_R_TIMEOUT, 300, -1);
	kx_metrics_observe(m, &hs);
	/* two GREASE code points share the name: one series */
	hs = make_hs("tls", 1, 0x0a0a, KX_V_UNKNOWN, KX_R_NONE, 2100, 20000);
	kx_metrics_observe(m, &hs);
	hs = make_hs("tls", 1, 0x1a1a, KX_V_UNKNOWN, KX_R_NONE, 2100, 20000);
	kx_metrics_observe(m, &hs);
	hs = make_hs("quic", 1, 0x11EC, KX_V_HYBRID, KX_R_NONE, 1700, 12000000);
	kx_metrics_observe(m, &hs);
	/* Sessions: their own family, not handshakes, not in the histograms. */
	hs = make_session(KX_V_PLAINTEXT, KX_R_SSL_REFUSED, "postgresql");
	kx_metrics_observe(m, &hs);
	kx_metrics_observe(m, &hs);
	hs = make_session(KX_V_PLAINTEXT, KX_R_NO_TLS, "http");
	kx_metrics_observe(m, &hs);
	hs = make_session(KX_V_PLAINTEXT, KX_R_NO_TLS, "gopher"); /* not on the list */
	kx_metrics_observe(m, &hs);
	hs = make_session(KX_V_NO_VERDICT, KX_R_HANDSHAKE_UNSEEN, "tls");
	kx_metrics_observe(m, &hs);

	struct kx_counters c;
	fill_counters(&c);
	struct kx_iface_stats ifs[2];
	memset(ifs, 0, sizeof(ifs));
	snprintf(ifs[0].name, sizeof(ifs[0].name), "eth0");
	ifs[0].received = 100;
	ifs[0].dropped = 2;
	ifs[0].if_dropped = 1;
	snprintf(ifs[1].name, sizeof(ifs[1].name), "odd\"if\\");
	ifs[1].received = 5;
	kx_metrics_publish(m, &c, ifs, 2, 3, 9);
	return m;
}

/* --pg: the outbox backlog gauge and the central counters. */
static void test_central(void)
{
	struct kx_metrics *m = kx_metrics_new("s2");
	struct kx_counters c;
	fill_counters(&c);
	c.central_rows_sent = 40;
	c.central_send_errors = 3;
	kx_metrics_set_central_backlog(m, 17);
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, text, sizeof(text));
	LINE(text, "# TYPE kexwatch_central_backlog_rows gauge");
	LINE(text, "kexwatch_central_backlog_rows{sensor=\"s2\"} 17");
	LINE(text, "kexwatch_central_rows_sent_total{sensor=\"s2\"} 40");
	LINE(text, "kexwatch_central_send_errors_total{sensor=\"s2\"} 3");
	kx_metrics_set_central_backlog(m, -1); /* before the shipper's first look */
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, text, sizeof(text));
	LINE(text, "kexwatch_central_backlog_rows{sensor=\"s2\"} 0");
	kx_metrics_free(m);
}

/* DTLS handshakes have a protocol label of their own. */
static void test_dtls(void)
{
	struct kx_metrics *m = kx_metrics_new("s3");
	struct kx_hs hs = make_hs("dtls", 1, 0x001d, KX_V_CLASSICAL, KX_R_TLS12, 226, 50000);
	kx_metrics_observe(m, &hs);
	struct kx_counters c;
	fill_counters(&c);
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, text, sizeof(text));
	LINE(text, "kexwatch_handshakes_total{sensor=\"s3\",protocol=\"dtls\",group=\"x25519\","
		   "verdict=\"classical\",reason=\"tls12\"} 1");
	LINE(text, "kexwatch_client_hello_size_bytes_count{sensor=\"s3\",protocol=\"dtls\"} 1");
	CHECK(!strstr(text, "protocol=\"other\""), "a dtls handshake is not \"other\"");
	kx_metrics_free(m);
}

static void test_text(void)
{
	struct kx_metrics *m = scenario("s1");
	CHECK(m != NULL, "kx_metrics_new");
	size_t n = kx_metrics_text(m, text, sizeof(text));
	CHECK(n > 0 && n < sizeof(text) && strlen(text) == n, "text length %zu", n);

	LINE(text, "# TYPE kexwatch_handshakes_total counter");
	LINE(text, "kexwatch_handshakes_total{sensor=\"s1\",protocol=\"tls\",group=\"X25519MLKEM768\","
		   "verdict=\"hybrid\",reason=\"none\"} 2");
	LINE(text, "kexwatch_handshakes_total{sensor=\"s1\",protocol=\"tls\",group=\"x25519\","
		   "verdict=\"classical\",reason=\"server-declined\"} 1");
	LINE(text, "kexwatch_handshakes_total{sensor=\"s1\",protocol=\"tls\",group=\"none\","
		   "verdict=\"incomplete\",reason=\"timeout\"} 1");
	LINE(text, "kexwatch_handshakes_total{sensor=\"s1\",protocol=\"tls\",group=\"GREASE\","
		   "verdict=\"unknown\",reason=\"none\"} 2");
	LINE(text, "kexwatch_handshakes_total{sensor=\"s1\",protocol=\"quic\",group=\"X25519MLKEM768\","
		   "verdict=\"hybrid\",reason=\"none\"} 1");
	CHECK_EQ(count_prefix(text, "kexwatch_handshakes_total{"), 5, "handshake series (GREASE merged)");
	LINE(text, "kexwatch_handshakes_label_overflow_total{sensor=\"s1\"} 0");

	LINE(text, "# TYPE kexwatch_sessions_total counter");
	LINE(text, "kexwatch_sessions_total{sensor=\"s1\",verdict=\"plaintext\",reason=\"no-tls\","
		   "app=\"http\"} 1");
	LINE(text, "kexwatch_sessions_total{sensor=\"s1\",verdict=\"plaintext\",reason=\"no-tls\","
		   "app=\"other\"} 1");
	LINE(text, "kexwatch_sessions_total{sensor=\"s1\",verdict=\"plaintext\",reason=\"ssl-refused\","
		   "app=\"postgresql\"} 2");
	LINE(text, "kexwatch_sessions_total{sensor=\"s1\",verdict=\"no-verdict\","
		   "reason=\"handshake-unseen\",app=\"tls\"} 1");
	CHECK_EQ(count_prefix(text, "kexwatch_sessions_total{"), 4, "session series");
	/* 'unknown' is an unregistered code point's word: no session says it. */
	CHECK_EQ(count_prefix(text, "kexwatch_sessions_total{sensor=\"s1\",verdict=\"unknown\""), 0,
		 "no session series says unknown");
	CHECK(strstr(text, "app=\"http\"} 1\nkexwatch_sessions_total{sensor=\"s1\",verdict=\"plaintext\","
			   "reason=\"no-tls\",app=\"other\"}") != NULL,
	      "session series in verdict, reason, application order");

	/* sizes 300, 512, 1586, 1586, 2100, 2100 (tls): cumulative */
	LINE(text, "# TYPE kexwatch_client_hello_size_bytes histogram");
	static const char *const size[] = {
		"le=\"256\"} 0",  "le=\"512\"} 2",  "le=\"1024\"} 2",  "le=\"1500\"} 2",
		"le=\"2048\"} 4", "le=\"4096\"} 6", "le=\"16384\"} 6", "le=\"+Inf\"} 6",
	};
	for (unsigned i = 0; i < sizeof(size) / sizeof(size[0]); i++) {
		char l[256];
		snprintf(l, sizeof(l),
			 "kexwatch_client_hello_size_bytes_bucket{sensor=\"s1\",protocol=\"tls\",%s",
			 size[i]);
		LINE(text, l);
	}
	LINE(text, "kexwatch_client_hello_size_bytes_sum{sensor=\"s1\",protocol=\"tls\"} 8184");
	LINE(text, "kexwatch_client_hello_size_bytes_count{sensor=\"s1\",protocol=\"tls\"} 6");
	LINE(text, "kexwatch_client_hello_size_bytes_count{sensor=\"s1\",protocol=\"quic\"} 1");
	CHECK(!strstr(text, "protocol=\"ssh\""), "no ssh series before an ssh handshake");

	/* tls RTTs 3539, 3539, 1000 (exactly 1 ms: le is inclusive), 20000, 20000 */
	static const char *const rtt[] = {
		"le=\"0.001\"} 1", "le=\"0.0025\"} 1", "le=\"0.005\"} 3", "le=\"0.01\"} 3",
		"le=\"0.025\"} 5", "le=\"10\"} 5", "le=\"+Inf\"} 5",
	};
	for (unsigned i = 0; i < sizeof(rtt) / sizeof(rtt[0]); i++) {
		char l[256];
		snprintf(l, sizeof(l),
			 "kexwatch_client_hello_to_server_hello_seconds_bucket{sensor=\"s1\","
			 "protocol=\"tls\",%s",
			 rtt[i]);
		LINE(text, l);
	}
	LINE(text, "kexwatch_client_hello_to_server_hello_seconds_sum{sensor=\"s1\",protocol=\"tls\"} "
		   "0.048078");
	LINE(text, "kexwatch_client_hello_to_server_hello_seconds_count{sensor=\"s1\","
		   "protocol=\"tls\"} 5");
	/* 12 s is past the last finite bucket */
	LINE(text, "kexwatch_client_hello_to_server_hello_seconds_bucket{sensor=\"s1\",protocol=\"quic\","
		   "le=\"10\"} 0");
	LINE(text, "kexwatch_client_hello_to_server_hello_seconds_bucket{sensor=\"s1\",protocol=\"quic\","
		   "le=\"+Inf\"} 1");
	LINE(text, "kexwatch_client_hello_to_server_hello_seconds_sum{sensor=\"s1\",protocol=\"quic\"} "
		   "12.000000");

	LINE(text, "kexwatch_packets_total{sensor=\"s1\"} 10");
	LINE(text, "kexwatch_bytes_total{sensor=\"s1\"} 1000");
	LINE(text, "kexwatch_packets_skipped_total{sensor=\"s1\",reason=\"ip_short\"} 3");
	LINE(text, "kexwatch_packets_skipped_total{sensor=\"s1\",reason=\"tcp_malformed\"} 0");
	LINE(text, "kexwatch_flows_active{sensor=\"s1\"} 3");
	LINE(text, "# TYPE kexwatch_flows_active gauge");
	LINE(text, "kexwatch_flows_evicted_total{sensor=\"s1\"} 2");
	LINE(text, "kexwatch_flows_expired_total{sensor=\"s1\"} 5");
	LINE(text, "kexwatch_db_rows_written_total{sensor=\"s1\"} 4");
	LINE(text, "kexwatch_db_write_errors_total{sensor=\"s1\"} 1");
	LINE(text, "kexwatch_db_queue_rows{sensor=\"s1\"} 9");
	CHECK(!strstr(text, "kexwatch_central_backlog_rows"), "no central gauge without --pg");
	LINE(text, "kexwatch_central_send_errors_total{sensor=\"s1\"} 0");
	LINE(text, "kexwatch_capture_packets_received_total{sensor=\"s1\",interface=\"eth0\"} 100");
	LINE(text, "kexwatch_capture_packets_dropped_total{sensor=\"s1\",interface=\"eth0\","
		   "where=\"kernel\"} 2");
	LINE(text, "kexwatch_capture_packets_dropped_total{sensor=\"s1\",interface=\"eth0\","
		   "where=\"interface\"} 1");
	LINE(text, "kexwatch_capture_packets_received_total{sensor=\"s1\",interface=\"odd\\\"if\\\\\"} 5");
	/* every other counter, generically, with its description as HELP */
	LINE(text, "kexwatch_tls_records_total{sensor=\"s1\"} 7");
	LINE(text, "# HELP kexwatch_tls_records_total Run counter tls_records: TLS records parsed.");
	CHECK(!strstr(text, "kexwatch_hs_total_total") && !strstr(text, "kexwatch_skip_") &&
		      !strstr(text, "kexwatch_db_errors_total"),
	      "counters with their own metric are not repeated generically");
	LINE(text, "kexwatch_build_info{sensor=\"s1\",version=\"0.1.0\",ndpi=\"4.2.0\","
		   "libpcap=\"libpcap version 1.10.3\"} 1");
	LINE(text, "# TYPE kexwatch_start_time_seconds gauge");
	LINE(text, "kexwatch_metrics_http_responses_total{sensor=\"s1\",code=\"200\"} 0");

	/* Each family is declared once (generic counter names never repeat a
	 * fixed one). */
	unsigned dup = 0, families = 0;
	for (const char *p = text; (p = strstr(p, "# TYPE ")) != NULL; p++) {
		char fam[128];
		if (sscanf(p + 7, "%127s", fam) != 1)
			continue;
		families++;
		char needle[160];
		snprintf(needle, sizeof(needle), "# TYPE %s ", fam);
		if (strstr(p + 1, needle))
			dup++;
	}
	CHECK(dup == 0 && families > 30, "%u families, %u declared twice", families, dup);

	/* Shape: every line is a comment or a sample of ours with the sensor. */
	unsigned bad = 0, samples = 0;
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		if (!nl) {
			bad++;
			break;
		}
		if (*p != '#') {
			samples++;
			if (strncmp(p, "kexwatch_", 9) != 0 || !strstr(p, "{sensor=\"s1\"") ||
			    strstr(p, "{sensor=\"s1\"") > nl)
				bad++;
		}
		p = nl + 1;
	}
	CHECK(bad == 0 && samples > 50, "%u samples, %u malformed", samples, bad);

	/* snprintf semantics */
	char small[16];
	CHECK_EQ(kx_metrics_text(m, small, sizeof(small)), n, "short buffer: full length returned");
	CHECK_EQ(strlen(small), sizeof(small) - 1, "short buffer: NUL-terminated");

	/* publish is a snapshot: observing does not change the text until the next publish */
	struct kx_hs hs = make_hs("ssh", 1, 29, KX_V_CLASSICAL, KX_R_CLIENT_NO_PQ, 1000, 500);
	kx_metrics_observe(m, &hs);
	static char again[TEXT_MAX];
	kx_metrics_text(m, again, sizeof(again));
	CHECK(strcmp(text, again) == 0, "text unchanged until published");
	struct kx_counters c;
	fill_counters(&c);
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, again, sizeof(again));
	LINE(again, "kexwatch_handshakes_total{sensor=\"s1\",protocol=\"ssh\",group=\"x25519\","
		    "verdict=\"classical\",reason=\"client-no-pq\"} 1");
	CHECK(!strstr(again, "kexwatch_capture_packets"), "no interface series without interfaces");

	char path[] = "/tmp/kx_metrics_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char err[256];
	CHECK(kx_metrics_write_file(m, path, err, sizeof(err)) == 0, "write_file");
	FILE *f = fopen(path, "r");
	size_t got = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	text[got] = '\0';
	if (f)
		fclose(f);
	CHECK(strcmp(text, again) == 0, "file holds the text");
	unlink(path);
	CHECK(kx_metrics_write_file(m, "/nonexistent-dir/x.prom", err, sizeof(err)) < 0 &&
		      strstr(err, "/nonexistent-dir/x.prom.tmp"),
	      "write_file error: %s", err);
	kx_metrics_free(m);
	kx_metrics_free(NULL);
}

static void test_fresh(void)
{
	/* Before any publish: valid text with zeros and no handshake series. */
	struct kx_metrics *m = kx_metrics_new("fresh");
	kx_metrics_text(m, text, sizeof(text));
	LINE(text, "kexwatch_packets_total{sensor=\"fresh\"} 0");
	LINE(text, "kexwatch_client_hello_size_bytes_count{sensor=\"fresh\",protocol=\"tls\"} 0");
	LINE(text, "kexwatch_build_info{sensor=\"fresh\",version=\"0.1.0\"} 1");
	CHECK(!strstr(text, "kexwatch_handshakes_total{"), "no handshake series yet");
	CHECK_EQ(kx_metrics_port(m), 0, "no port before listen");
	kx_metrics_free(m);
}

static void test_escaping(void)
{
	struct kx_metrics *m = kx_metrics_new("a\"b\\c\nd");
	char path[] = "/tmp/kx_groups_XXXXXX";
	int fd = mkstemp(path);
	const char def[] = "0x2F3A My\"Vendor\\KEM pq\n";
	CHECK(write(fd, def, sizeof(def) - 1) == (ssize_t)(sizeof(def) - 1), "groups file");
	close(fd);
	char err[256];
	CHECK(kx_groups_load(path, err, sizeof(err)) == 0, "groups load");
	unlink(path);
	struct kx_hs hs = make_hs("tls", 1, 0x2F3A, KX_V_PQ, KX_R_NONE, 1200, 100);
	kx_metrics_observe(m, &hs);
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, text, sizeof(text));
	LINE(text, "kexwatch_handshakes_total{sensor=\"a\\\"b\\\\c\\nd\",protocol=\"tls\","
		   "group=\"My\\\"Vendor\\\\KEM\",verdict=\"pq\",reason=\"none\"} 1");
	LINE(text, "kexwatch_packets_total{sensor=\"a\\\"b\\\\c\\nd\"} 0");
	kx_groups_reset();
	kx_metrics_free(m);

	/* A protocol string that is not one of ours, without a NUL. */
	m = kx_metrics_new("p");
	hs = make_hs("tls", 1, 29, KX_V_CLASSICAL, KX_R_TLS12, 200, 100);
	memset(hs.protocol, 'x', sizeof(hs.protocol));
	hs.verdict = (enum kx_verdict)99;
	kx_metrics_observe(m, &hs);
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, text, sizeof(text));
	LINE(text, "kexwatch_handshakes_total{sensor=\"p\",protocol=\"other\",group=\"x25519\","
		   "verdict=\"unknown\",reason=\"tls12\"} 1");
	kx_metrics_free(m);
}

static void test_overflow(void)
{
	struct kx_metrics *m = kx_metrics_new("o");
	for (unsigned i = 0; i < 300; i++) {
		struct kx_hs hs = make_hs("tls", 1, (uint16_t)(0x7000 + i), KX_V_UNKNOWN, KX_R_NONE,
					  600, 100);
		kx_metrics_observe(m, &hs);
		kx_metrics_observe(m, &hs);
	}
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	kx_metrics_publish(m, &c, NULL, 0, 0, 0);
	kx_metrics_text(m, text, sizeof(text));
	CHECK_EQ(count_prefix(text, "kexwatch_handshakes_total{"), KX_METRICS_MAX_LABEL_SETS + 1,
		 "label sets capped, plus one 'other'");
	LINE(text, "kexwatch_handshakes_total{sensor=\"o\",protocol=\"tls\",group=\"0x7000\","
		   "verdict=\"unknown\",reason=\"none\"} 2");
	LINE(text, "kexwatch_handshakes_total{sensor=\"o\",protocol=\"tls\",group=\"other\","
		   "verdict=\"unknown\",reason=\"none\"} 88");
	LINE(text, "kexwatch_handshakes_label_overflow_total{sensor=\"o\"} 88");
	LINE(text, "kexwatch_client_hello_size_bytes_count{sensor=\"o\",protocol=\"tls\"} 600");
	kx_metrics_free(m);
}

static void test_classify(void)
{
	static const struct {
		const char *req;
		int done;
		enum kx_http_status st;
		bool head;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 1, KX_HTTP_200, false },
		{ "GET /metrics HTTP/1.0\r\n\r\n", 1, KX_HTTP_200, false },
		{ "GET /metrics HTTP/1.1\n\n", 1, KX_HTTP_200, false },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 1, KX_HTTP_200, true },
		{ "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 1, KX_HTTP_200, false },
		{ "GET http://h:9707/metrics HTTP/1.1\r\n\r\n", 1, KX_HTTP_200, false },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, KX_HTTP_200, false },
		{ "GET /metr", 0, KX_HTTP_200, false },
		{ "G", 0, KX_HTTP_200, false },
		{ "GET /metrics HTTP/1.1\r", 0, KX_HTTP_200, false },
		{ "GET / HTTP/1.1\r\n", 1, KX_HTTP_404, false },
		{ "GET /metrics/ HTTP/1.1\r\n", 1, KX_HTTP_404, false },
		{ "GET /metricsx HTTP/1.1\r\n", 1, KX_HTTP_404, false },
		{ "POST /metrics HTTP/1.1\r\n", 1, KX_HTTP_405, false },
		{ "get /metrics HTTP/1.1\r\n", 1, KX_HTTP_405, false },
		{ "GET /metrics HTTP/2.0\r\n", 1, KX_HTTP_505, false },
		{ "GET /metrics\r\n\r\n", 1, KX_HTTP_400, false },
		{ "GET  /metrics HTTP/1.1\r\n", 1, KX_HTTP_400, false },
		{ "GET /metrics HTTP/1.1x\r\n", 1, KX_HTTP_400, false },
		{ "\x16\x03\x01\x02\x00", 1, KX_HTTP_400, false },
		{ "GE\x01", 1, KX_HTTP_400, false },
		{ "\r\n", 1, KX_HTTP_400, false },
		{ "GET /metrics HTTP/1.1\r\nX: \x01\r\n\r\n", 1, KX_HTTP_400, false },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum kx_http_status st = KX_HTTP_MAX;
		bool head = false;
		bool done = kx_http_classify(cases[i].req, strlen(cases[i].req), &st, &head);
		CHECK(done == (cases[i].done != 0) &&
			      (!done || (st == cases[i].st && head == cases[i].head)),
		      "classify %u: done %d status %d head %d", i, done,
		      done ? kx_http_status_code(st) : 0, head);
	}
	/* NUL bytes in the request line */
	const char nul[] = "GET /met\0rics HTTP/1.1\r\n\r\n";
	enum kx_http_status st;
	bool head;
	CHECK(kx_http_classify(nul, sizeof(nul) - 1, &st, &head) && st == KX_HTTP_400, "NUL in target");
}

/* ---- HTTP client side ---- */

static int connect_port(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the server may close early on purpose */
		p += w;
		n -= (size_t)w;
	}
}

/* Reads to EOF into a malloc'd NUL-terminated buffer. */
static char *read_all(int fd, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

static char *http(uint16_t port, const char *req, size_t req_len, size_t *ret_len)
{
	int fd = connect_port(port);
	if (fd < 0) {
		*ret_len = 0;
		return calloc(1, 1);
	}
	send_all(fd, req, req_len);
	char *resp = read_all(fd, ret_len);
	close(fd);
	return resp;
}

static int status_of(const char *resp)
{
	int code = 0;
	if (sscanf(resp, "HTTP/1.1 %d ", &code) != 1)
		return 0;
	return code;
}

static const char *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");
	return b ? b + 4 : "";
}

static char *get(uint16_t port, const char *req)
{
	size_t n;
	return http(port, req, strlen(req), &n);
}

struct slow_arg {
	uint16_t port;
	uint64_t closed_after_ms;
	int sent;
};

/* Slowloris: one byte per second until the server gives up on us. */
static void *slow_client(void *p)
{
	struct slow_arg *a = p;
	const char req[] = "GET /metrics HTTP/1.1\r\nHost: slow\r\n\r\n";
	int fd = connect_port(a->port);
	uint64_t t0 = now_ms();
	for (size_t i = 0; fd >= 0 && i < sizeof(req) - 1; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		a->sent++;
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 1000) > 0) {
			char b[64];
			if (recv(fd, b, sizeof(b), 0) <= 0)
				break;
		}
	}
	a->closed_after_ms = now_ms() - t0;
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct fetcher_arg {
	uint16_t port;
	int ok, bad;
};

/* Scrapes while the main thread publishes (a data race here is what
 * -fsanitize=thread would report). */
static void *fetcher(void *p)
{
	struct fetcher_arg *a = p;
	for (int i = 0; i < 40; i++) {
		char *r = get(a->port, "GET /metrics HTTP/1.1\r\n\r\n");
		const char *b = body_of(r);
		size_t bl = strlen(b);
		if (status_of(r) == 200 && strstr(b, "kexwatch_build_info") && bl && b[bl - 1] == '\n')
			a->ok++;
		else
			a->bad++;
		free(r);
	}
	return NULL;
}

static unsigned long long sigblk_of_others(void)
{
	/* AND of SigBlk over the threads other than this one */
	unsigned long long all = ~0ull;
	int threads = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == getpid())
			continue;
		char path[300], line[256];
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long long v;
			if (sscanf(line, "SigBlk: %llx", &v) == 1) {
				all &= v;
				threads++;
			}
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return threads ? all : 0;
}

static void test_listen_errors(void)
{
	struct kx_metrics *m = kx_metrics_new("e");
	int rc0;
	char err[256];
	static const char *const bad[] = {
		"127.0.0.1", "localhost:9707", "127.0.0.1:99999", "127.0.0.1:", "[::1:80",
		"[::1]80", "1.2.3:80", "127.0.0.1:80x", "[127.0.0.1]:80",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(kx_metrics_listen(m, bad[i], err, sizeof(err)) < 0 && err[0],
		      "listen '%s' refused: %s", bad[i], err);
	}
	rc0 = kx_metrics_listen(m, ":0", err, sizeof(err));
	CHECK(rc0 == 0, "listen :0 (%s)", rc0 ? err : "ok");
	CHECK(kx_metrics_port(m) != 0, "port picked: %u", kx_metrics_port(m));
	/* dual-stack ':0' answers on IPv4 loopback */
	char *r = get(kx_metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK_EQ(status_of(r), 200, "':0' reachable over IPv4");
	free(r);
	CHECK(kx_metrics_listen(m, "127.0.0.1:0", err, sizeof(err)) < 0, "second listen: %s", err);
	kx_metrics_free(m);

	m = kx_metrics_new("e6");
	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	if (s6 >= 0) {
		close(s6);
		int rc = kx_metrics_listen(m, "[::1]:0", err, sizeof(err));
		CHECK(rc == 0 || strstr(err, "Cannot assign"), "listen [::1]:0: %s",
		      rc ? err : "ok");
	}
	kx_metrics_free(m);

	/* port in use */
	struct kx_metrics *a = kx_metrics_new("a"), *b = kx_metrics_new("b");
	CHECK(kx_metrics_listen(a, "127.0.0.1:0", err, sizeof(err)) == 0, "listen a");
	char ap[32];
	snprintf(ap, sizeof(ap), "127.0.0.1:%u", kx_metrics_port(a));
	CHECK(kx_metrics_listen(b, ap, err, sizeof(err)) < 0 && strstr(err, "in use"),
	      "port in use: %s", err);
	kx_metrics_free(a);
	kx_metrics_free(b);
}

static void test_http(void)
{
	struct kx_metrics *m = scenario("h");
	char err[256];
	int rc = kx_metrics_listen(m, "127.0.0.1:0", err, sizeof(err));
	CHECK(rc == 0, "listen 127.0.0.1:0 (%s)", rc ? err : "ok");
	if (rc) {
		kx_metrics_free(m);
		return;
	}
	uint16_t port = kx_metrics_port(m);

	unsigned long long blk = sigblk_of_others();
	CHECK((blk & 0x4003) == 0x4003, "listener thread blocks SIGHUP, SIGINT, SIGTERM (%llx)", blk);

	struct slow_arg slow = { .port = port };
	pthread_t slow_t;
	pthread_create(&slow_t, NULL, slow_client, &slow);

	size_t tl = kx_metrics_text(m, text, sizeof(text));
	char *r = get(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
	CHECK_EQ(status_of(r), 200, "GET /metrics");
	CHECK(strstr(r, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL,
	      "content type");
	CHECK(strstr(r, "\r\nConnection: close\r\n") != NULL, "Connection: close");
	char cl[64];
	snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", tl);
	CHECK(strstr(r, cl) != NULL, "content length %zu", tl);
	CHECK(strcmp(body_of(r), text) == 0, "body is kx_metrics_text");
	free(r);

	r = get(port, "GET /metrics HTTP/1.0\r\n\r\n");
	CHECK(status_of(r) == 200 && strcmp(body_of(r), text) == 0, "HTTP/1.0");
	free(r);
	r = get(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
	CHECK(status_of(r) == 200 && strstr(r, cl) && !*body_of(r), "HEAD: headers only");
	free(r);

	/* a request in many small writes */
	int fd = connect_port(port);
	const char *pieces[] = { "GE", "T /met", "rics HTTP/1.1\r", "\nHost: x\r\n", "\r\n" };
	for (unsigned i = 0; i < 5; i++) {
		send_all(fd, pieces[i], strlen(pieces[i]));
		sleep_ms(20);
	}
	size_t n;
	r = read_all(fd, &n);
	close(fd);
	CHECK(status_of(r) == 200 && strcmp(body_of(r), text) == 0, "request in pieces");
	free(r);

	r = get(port, "GET / HTTP/1.1\r\n\r\n");
	CHECK_EQ(status_of(r), 404, "GET / -> 404");
	free(r);
	r = get(port, "GET /favicon.ico HTTP/1.1\r\n\r\n");
	CHECK_EQ(status_of(r), 404, "GET /favicon.ico -> 404");
	free(r);
	r = get(port, "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
	CHECK(status_of(r) == 405 && strstr(r, "\r\nAllow: GET, HEAD\r\n"), "POST -> 405 with Allow");
	free(r);
	r = get(port, "DELETE / HTTP/1.1\r\n\r\n");
	CHECK_EQ(status_of(r), 405, "DELETE -> 405");
	free(r);
	r = get(port, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03");
	CHECK_EQ(status_of(r), 400, "TLS ClientHello -> 400");
	free(r);
	r = get(port, "hello world\r\n\r\n");
	CHECK_EQ(status_of(r), 400, "garbage line -> 400");
	free(r);
	r = get(port, "GET /metrics HTTP/3.0\r\n\r\n");
	CHECK_EQ(status_of(r), 505, "HTTP/3.0 -> 505");
	free(r);

	/* 1 MB: a header that never ends, and one line of junk without a newline */
	size_t big = 1 << 20;
	char *req = malloc(big);
	memset(req, 'a', big);
	memcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	r = http(port, req, big, &n);
	CHECK_EQ(status_of(r), 431, "1 MB header -> 431");
	free(r);
	memset(req, 'a', big);
	r = http(port, req, big, &n);
	CHECK_EQ(status_of(r), 431, "1 MB request line -> 431");
	free(r);
	free(req);

	/* reset right after the request: the answer hits a dead socket */
	for (int i = 0; i < 20; i++) {
		fd = connect_port(port);
		send_all(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25);
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	/* connect and close without a word */
	for (int i = 0; i < 5; i++)
		close(connect_port(port));

	/* a client that asks and never reads, with a tiny window */
	int lazy = socket(AF_INET, SOCK_STREAM, 0);
	int rcv = 1024;
	setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(lazy, (struct sockaddr *)&sa, sizeof(sa)) == 0, "lazy client connects");
	send_all(lazy, "GET /metrics HTTP/1.1\r\n\r\n", 25);

	/* while slowloris and the lazy client hold their slots */
	uint64_t t0 = now_ms();
	r = get(port, "GET /metrics HTTP/1.1\r\n\r\n");
	uint64_t dt = now_ms() - t0;
	CHECK(status_of(r) == 200 && dt < 1000, "answered in %llu ms next to a slow client",
	      (unsigned long long)dt);
	free(r);
	/* before the floods below, which could evict it early */
	pthread_join(slow_t, NULL);
	CHECK(slow.closed_after_ms >= KX_METRICS_DEADLINE_MS - 500 &&
		      slow.closed_after_ms < KX_METRICS_DEADLINE_MS + 3000,
	      "slow client cut at the deadline: %llu ms, %d bytes sent",
	      (unsigned long long)slow.closed_after_ms, slow.sent);

	/* 100 connections at once: all asked before any is read */
	enum { FLOOD = 100 };
	int fds[FLOOD];
	t0 = now_ms();
	for (int i = 0; i < FLOOD; i++) {
		fds[i] = connect_port(port);
		send_all(fds[i], "GET /metrics HTTP/1.1\r\n\r\n", 25);
	}
	int ok = 0;
	for (int i = 0; i < FLOOD; i++) {
		r = read_all(fds[i], &n);
		if (status_of(r) == 200 && strcmp(body_of(r), text) == 0)
			ok++;
		free(r);
		close(fds[i]);
	}
	dt = now_ms() - t0;
	CHECK(ok == FLOOD, "100 simultaneous connections: %d answered in %llu ms", ok,
	      (unsigned long long)dt);

	/* Every slot held by a slow sender: a newcomer still gets in once they
	 * are past the eviction age. */
	enum { SLOW = KX_METRICS_MAX_CLIENTS + 4 };
	int sl[SLOW];
	for (int i = 0; i < SLOW; i++) {
		sl[i] = connect_port(port);
		send_all(sl[i], "G", 1);
	}
	sleep_ms(KX_METRICS_EVICT_AGE_MS + 100);
	t0 = now_ms();
	r = get(port, "GET /metrics HTTP/1.1\r\n\r\n");
	dt = now_ms() - t0;
	CHECK(status_of(r) == 200 && dt < 1000, "full house of slow senders: answered in %llu ms",
	      (unsigned long long)dt);
	free(r);
	for (int i = 0; i < SLOW; i++)
		close(sl[i]);

	/* scrapes concurrent with observe + publish */
	struct fetcher_arg fa = { .port = port };
	pthread_t ft;
	pthread_create(&ft, NULL, fetcher, &fa);
	struct kx_counters c;
	fill_counters(&c);
	for (int i = 0; i < 200; i++) {
		struct kx_hs hs = make_hs("tls", 1, (uint16_t)(i % 40), KX_V_CLASSICAL,
					  KX_R_CLIENT_NO_PQ, 400, 1000);
		kx_metrics_observe(m, &hs);
		c.packets++;
		kx_metrics_publish(m, &c, NULL, 0, 1, 0);
		sleep_ms(2);
	}
	pthread_join(ft, NULL);
	CHECK(fa.ok == 40 && fa.bad == 0, "concurrent scrapes: %d good, %d bad", fa.ok, fa.bad);

	close(lazy);

	/* the listener's own counters */
	sleep_ms(100);
	kx_metrics_publish(m, &c, NULL, 0, 1, 0);
	kx_metrics_text(m, text, sizeof(text));
	CHECK(strstr(text, "kexwatch_metrics_http_responses_total{sensor=\"h\",code=\"404\"} 2\n") !=
		      NULL,
	      "404s counted");
	CHECK(strstr(text, "kexwatch_metrics_http_responses_total{sensor=\"h\",code=\"431\"} 2\n") !=
		      NULL,
	      "431s counted");
	CHECK(!strstr(text, "reason=\"timeout\"} 0\n"), "timeouts counted");
	CHECK(!strstr(text, "reason=\"evicted\"} 0\n"), "evictions counted");

	/* still serving after all that */
	r = get(port, "GET /metrics HTTP/1.1\r\n\r\n");
	CHECK_EQ(status_of(r), 200, "still serving");
	free(r);

	/* free with connections open must not hang */
	int idle = connect_port(port);
	send_all(idle, "GET", 3);
	sleep_ms(50);
	t0 = now_ms();
	kx_metrics_free(m);
	CHECK(now_ms() - t0 < 1000, "free with an open connection");
	close(idle);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
		struct kx_metrics *m = scenario("sensor-1");
		char err[256];
		if (!m || kx_metrics_write_file(m, argv[2], err, sizeof(err)) < 0) {
			fprintf(stderr, "test_metrics: %s\n", m ? err : "out of memory");
			return 1;
		}
		kx_metrics_free(m);
		return 0;
	}
	test_text();
	test_central();
	test_dtls();
	test_fresh();
	test_escaping();
	test_overflow();
	test_classify();
	test_listen_errors();
	test_http();
	return tap_done();
}
