/* cmd_read.c: `kexwatch read`: saved captures -> inventory (+ JSON lines). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kexwatch/capture.h"
#include "kexwatch/cli.h"
#include "kexwatch/emit.h"
#include "kexwatch/engine.h"
#include "kexwatch/groups.h"
#include "kexwatch/sink.h"
#include "kexwatch/store.h"
#include "cli_util.h"

struct read_opts {
	const char *db;
	const char *json;
	const char *filter;
	const char *sensor;
	const char *groups;
	bool no_db;
	bool no_mmap;
	bool quiet;
	int progress; /* -1 auto (when stderr is a terminal), 0 off, 1 on */
	struct kx_engine_opts eng;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The engine's output: rows go to the writer thread. */
static void emit_row(void *ctx, const struct kx_hs *hs)
{
	kx_sink_put(ctx, hs); /* a failure is seen through kx_sink_failed */
}

static void print_help(FILE *out)
{
	struct kx_engine_opts d;
	kx_engine_opts_default(&d);
	fprintf(out,
		"usage: kexwatch read [OPTIONS] CAPTURE...\n"
		"\n"
		"Reads pcap/pcapng files ('-' for standard input), follows every TLS handshake\n"
		"and stores one row per handshake: offered groups, key shares, the group the\n"
		"server selected, and a verdict (hybrid, pq, classical, ...).\n"
		"\n"
		"  --db FILE              SQLite inventory (default: kexwatch.db)\n"
		"  --no-db                do not write a database (with --json)\n"
		"  --json FILE|-          also write one JSON event per handshake ('-': stdout)\n"
		"  --filter BPF           only packets matching this pcap filter expression\n"
		"  --sensor NAME          name of this observation point (default: host name)\n"
		"  --groups FILE          extra/overriding group code points: 'CODE NAME FAMILY'\n"
		"  --max-flows N          flow table slots (default: %u, %zu bytes each)\n"
		"  --max-handshakes N     handshakes followed at once (default: %u, %zu bytes each)\n"
		"  --max-stream-bytes N   bytes examined per direction (default: %u)\n"
		"  --max-message-bytes N  largest handshake message assembled (default: %u)\n"
		"  --memcap MB            reassembly buffer memory cap (default: %zu)\n"
		"  --idle-timeout S       seconds of silence before a flow ends (default: %u)\n"
		"  --no-ndpi              do not label flows with nDPI\n"
		"  --ndpi-packets         label by nDPI's dissection of each flow's first packets\n"
		"                         (default: nDPI's host and address match; much cheaper)\n"
		"  --no-mmap              read classic pcap files through libpcap\n"
		"  --no-fastpath          reference run: libpcap reader, every byte copied and\n"
		"                         reassembled, no in-place parsing (same results, slower)\n"
		"  --progress / --no-progress   progress line on stderr (default: when a terminal)\n"
		"  -q, --quiet            no summary\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit status: 0 on success, 1 when an input or the database failed, 2 on usage\n"
		"errors, 130 when interrupted (rows up to that point are saved).\n",
		d.max_flows, kx_engine_flow_bytes(), d.max_sessions, kx_engine_session_bytes(),
		d.max_stream_bytes, d.max_msg_bytes, d.memcap >> 20, d.idle_timeout_s);
}

enum {
	OPT_DB = 256, OPT_NO_DB, OPT_JSON, OPT_FILTER, OPT_SENSOR, OPT_GROUPS, OPT_MAX_FLOWS,
	OPT_MAX_HS, OPT_MAX_STREAM, OPT_MAX_MSG, OPT_MEMCAP, OPT_IDLE, OPT_NO_NDPI, OPT_NO_MMAP,
	OPT_PROGRESS, OPT_NO_PROGRESS, OPT_NDPI_PACKETS, OPT_NO_FASTPATH,
};

static int parse_args(int argc, char **argv, struct read_opts *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "no-db", no_argument, NULL, OPT_NO_DB },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "sensor", required_argument, NULL, OPT_SENSOR },
		{ "groups", required_argument, NULL, OPT_GROUPS },
		{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
		{ "max-handshakes", required_argument, NULL, OPT_MAX_HS },
		{ "max-stream-bytes", required_argument, NULL, OPT_MAX_STREAM },
		{ "max-message-bytes", required_argument, NULL, OPT_MAX_MSG },
		{ "memcap", required_argument, NULL, OPT_MEMCAP },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "no-ndpi", no_argument, NULL, OPT_NO_NDPI },
		{ "ndpi-packets", no_argument, NULL, OPT_NDPI_PACKETS },
		{ "no-fastpath", no_argument, NULL, OPT_NO_FASTPATH },
		{ "no-mmap", no_argument, NULL, OPT_NO_MMAP },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_DB: o->db = optarg; break;
		case OPT_NO_DB: o->no_db = true; break;
		case OPT_JSON: o->json = optarg; break;
		case OPT_FILTER: o->filter = optarg; break;
		case OPT_SENSOR: o->sensor = optarg; break;
		case OPT_GROUPS: o->groups = optarg; break;
		case OPT_NO_NDPI: o->eng.no_ndpi = true; break;
		case OPT_NDPI_PACKETS: o->eng.ndpi_packets = true; break;
		case OPT_NO_FASTPATH:
			o->eng.no_fastpath = true;
			o->no_mmap = true;
			break;
		case OPT_NO_MMAP: o->no_mmap = true; break;
		case OPT_PROGRESS: o->progress = 1; break;
		case OPT_NO_PROGRESS: o->progress = 0; break;
		case 'q': o->quiet = true; break;
		case 'h': print_help(stdout); return 1;
		case OPT_MAX_FLOWS:
			if (kx_parse_uint("--max-flows", optarg, 1, 1u << 28, &v) < 0)
				return -1;
			o->eng.max_flows = (uint32_t)v;
			break;
		case OPT_MAX_HS:
			if (kx_parse_uint("--max-handshakes", optarg, 1, 1u << 24, &v) < 0)
				return -1;
			o->eng.max_sessions = (uint32_t)v;
			break;
		case OPT_MAX_STREAM:
			if (kx_parse_uint("--max-stream-bytes", optarg, 512, 16u << 20, &v) < 0)
				return -1;
			o->eng.max_stream_bytes = (uint32_t)v;
			break;
		case OPT_MAX_MSG:
			if (kx_parse_uint("--max-message-bytes", optarg, 512, 16u << 20, &v) < 0)
				return -1;
			o->eng.max_msg_bytes = (uint32_t)v;
			break;
		case OPT_MEMCAP:
			if (kx_parse_uint("--memcap", optarg, 1, 1u << 20, &v) < 0)
				return -1;
			o->eng.memcap = (size_t)v << 20;
			break;
		case OPT_IDLE:
			if (kx_parse_uint("--idle-timeout", optarg, 1, 86400, &v) < 0)
				return -1;
			o->eng.idle_timeout_s = (uint32_t)v;
			break;
		default:
			fprintf(stderr, "Try 'kexwatch read --help'.\n");
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "kexwatch read: no capture file given\nTry 'kexwatch read --help'.\n");
		return -1;
	}
	if (o->no_db && !o->json) {
		fprintf(stderr, "kexwatch read: --no-db needs --json, or nothing would be kept\n");
		return -1;
	}
	return 0;
}

struct progress {
	bool on;
	struct timespec start, last;
	uint64_t total_bytes, done_bytes;
};

static double secs_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress_line(struct progress *pg, const struct kx_counters *c, uint64_t pos,
			  bool final)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && secs_between(&pg->last, &now) < 0.5)
		return;
	pg->last = now;
	double el = secs_between(&pg->start, &now);
	double mb = (double)(pg->done_bytes + pos) / 1e6;
	fprintf(stderr, "\r%8.1f", mb);
	if (pg->total_bytes)
		fprintf(stderr, "/%.1f MB (%3.0f%%)", (double)pg->total_bytes / 1e6,
			100.0 * (double)(pg->done_bytes + pos) / (double)pg->total_bytes);
	else
		fprintf(stderr, " MB");
	fprintf(stderr, "  %.2f Mpkt/s  %" PRIu64 " handshakes (%" PRIu64 " hybrid)   %s",
		el > 0 ? (double)c->packets / el / 1e6 : 0.0, c->hs_total, c->hs_hybrid + c->hs_pq,
		final ? "\n" : "");
}

static void print_summary(const struct kx_counters *c, double secs)
{
	fprintf(stderr, "read %" PRIu64 " packets, %" PRIu64 " bytes in %.2f s; %" PRIu64 " flows\n",
		c->packets, c->bytes, secs, c->flows_created);
	fprintf(stderr,
		"handshakes: %" PRIu64 " (hybrid %" PRIu64 ", pq %" PRIu64 ", hybrid-draft %" PRIu64
		", classical %" PRIu64 ", resumed %" PRIu64 ", unknown %" PRIu64
		", incomplete %" PRIu64 ")\n",
		c->hs_total, c->hs_hybrid, c->hs_pq, c->hs_hybrid_draft, c->hs_classical,
		c->hs_resumed, c->hs_unknown, c->hs_incomplete);
	uint64_t truncated = c->skip_link_short + c->skip_ip_short + c->skip_tcp_short +
			     c->payload_truncated;
	uint64_t malformed = c->skip_link_unsupported + c->skip_vlan_depth +
			     c->skip_ip_malformed + c->skip_ip6_ext + c->skip_tcp_malformed;
	fprintf(stderr,
		"skipped: %" PRIu64 " truncated, %" PRIu64 " malformed, %" PRIu64
		" fragments; flows evicted: %" PRIu64 " (table full), %" PRIu64
		" expired idle; database: %" PRIu64 " new rows, %" PRIu64 " already present\n",
		truncated, malformed, c->skip_ip_fragment, c->flows_evicted_full,
		c->flows_expired_idle, c->db_rows_written, c->db_rows_duplicate);
	for (unsigned i = 0; i < kx_counter_count; i++) {
		const char *n = kx_counter_descs[i].name;
		uint64_t v = kx_counter_get(c, i);
		/* The rest only when they say something went wrong. */
		if (v && (strstr(n, "corrupt") || strstr(n, "capture_truncated") ||
			  strstr(n, "refused") || strstr(n, "memcap") || strstr(n, "dropped") ||
			  strstr(n, "conflict") || strstr(n, "malformed") || strstr(n, "too_big") ||
			  strstr(n, "db_errors")))
			fprintf(stderr, "  %s: %" PRIu64 " (%s)\n", n, v, kx_counter_descs[i].desc);
	}
}

int kx_cmd_read(int argc, char **argv)
{
	struct read_opts o = { .db = "kexwatch.db", .progress = -1 };
	kx_engine_opts_default(&o.eng);
	int prc = parse_args(argc, argv, &o);
	if (prc != 0)
		return prc > 0 ? KX_EXIT_OK : KX_EXIT_USAGE;

	char err[512];
	char host[256];
	if (!o.sensor) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "kexwatch");
		host[sizeof(host) - 1] = '\0';
		o.sensor = host;
	}
	if (o.groups && kx_groups_load(o.groups, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch read: --groups: %s\n", err);
		return KX_EXIT_USAGE;
	}

	int nsrc = argc - optind;
	char **paths = argv + optind;
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_store *store = NULL;
	struct kx_json *json = NULL;
	int status = KX_EXIT_OK;

	if (!o.no_db) {
		struct kx_store_opts so = { 0 };
		if (kx_store_open(o.db, &so, &store, err, sizeof(err)) < 0) {
			fprintf(stderr, "kexwatch read: %s\n", err);
			return KX_EXIT_FAIL;
		}
		char cmd[1024];
		kx_join_args(cmd, sizeof(cmd), argc, argv);
		bool ok = kx_store_begin_run(store, o.sensor, cmd, kx_now_us()) == 0;
		for (int i = 0; ok && i < nsrc; i++)
			ok = kx_store_set_source(store, (uint32_t)i, paths[i]) == 0;
		if (!ok) {
			fprintf(stderr, "kexwatch read: %s\n", kx_store_error(store));
			kx_store_close(store);
			return KX_EXIT_FAIL;
		}
	}
	if (o.json) {
		json = kx_json_open(o.json, err, sizeof(err));
		if (!json) {
			fprintf(stderr, "kexwatch read: --json: %s\n", err);
			kx_store_close(store);
			return KX_EXIT_FAIL;
		}
	}
	struct kx_sink_opts ko = {
		.store = store, .json = json, .sensor = o.sensor,
		.sources = (const char *const *)paths, .n_sources = (uint32_t)nsrc,
	};
	struct kx_sink *sink = kx_sink_new(&ko, err, sizeof(err));
	struct kx_engine *eng = sink ? kx_engine_new(&o.eng, &c, emit_row, sink, err, sizeof(err))
				     : NULL;
	if (!eng) {
		fprintf(stderr, "kexwatch read: %s\n", err);
		char e2[512];
		kx_sink_close(sink, &c, e2, sizeof(e2));
		kx_json_close(json);
		kx_store_close(store);
		return KX_EXIT_FAIL;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct progress pg = { .on = o.progress == 1 || (o.progress < 0 && isatty(2)) };
	clock_gettime(CLOCK_MONOTONIC, &pg.start);
	pg.last = pg.start;

	struct kx_source_opts sopts = { .no_mmap = o.no_mmap, .filter = o.filter };
	bool sink_failed = false;
	for (int i = 0; i < nsrc && !interrupted && !sink_failed; i++) {
		struct kx_source *src;
		if (kx_source_open_file(paths[i], &sopts, &src, err, sizeof(err)) < 0) {
			fprintf(stderr, "%skexwatch read: %s\n", pg.on ? "\n" : "", err);
			status = KX_EXIT_FAIL;
			continue;
		}
		pg.total_bytes += kx_source_size(src);
		int link = kx_source_link(src);
		struct kx_frame fr;
		uint64_t num = 0;
		enum kx_source_rc rc;
		uint64_t truncated_before = c.capture_truncated;
		while ((rc = kx_source_next(src, &fr, &c)) == KX_SRC_PACKET) {
			kx_engine_packet(eng, link, &fr, ++num, (uint32_t)i);
			if ((num & 0xffff) == 0) {
				sink_failed = kx_sink_failed(sink);
				if (interrupted || sink_failed)
					break;
				if (pg.on)
					progress_line(&pg, &c, kx_source_pos(src), false);
			}
		}
		if (rc == KX_SRC_ERROR) {
			fprintf(stderr, "%skexwatch read: %s: %s (after packet %" PRIu64 ")\n",
				pg.on ? "\n" : "", paths[i], kx_source_error(src), num);
			status = KX_EXIT_FAIL;
		} else if (c.capture_truncated > truncated_before) {
			fprintf(stderr,
				"%skexwatch read: warning: %s: file ends in the middle of a "
				"packet (after packet %" PRIu64 ")\n",
				pg.on ? "\n" : "", paths[i], num);
		}
		pg.done_bytes += kx_source_size(src);
		kx_source_close(src);
	}
	kx_engine_finish(eng, KX_R_EOF);
	if (pg.on)
		progress_line(&pg, &c, 0, true);

	char sink_err[512] = "";
	bool failed = kx_sink_close(sink, &c, sink_err, sizeof(sink_err)) < 0;
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (store) {
		if (kx_store_end_run(store, &c, kx_now_us()) < 0 && !failed) {
			snprintf(sink_err, sizeof(sink_err), "%s", kx_store_error(store));
			failed = true;
		}
		kx_store_close(store);
	}
	kx_json_close(json);
	if (!o.quiet)
		print_summary(&c, secs_between(&pg.start, &end));
	kx_engine_free(eng);
	if (failed) {
		fprintf(stderr, "kexwatch read: %s\n", sink_err);
		return KX_EXIT_FAIL;
	}
	if (interrupted) {
		fprintf(stderr, "kexwatch read: interrupted; rows up to this point are saved\n");
		return KX_EXIT_INTERRUPTED;
	}
	return status;
}
