/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_read.c: `kexwatch read`: saved captures -> inventory (+ JSON lines). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "kexwatch/capture.h"
#include "kexwatch/cli.h"

struct read_opts {
	struct kx_common_opts c;
	bool libpcap;
	bool quiet;
	int progress; /* -1 auto (when stderr is a terminal), 0 off, 1 on */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch read [OPTIONS] CAPTURE...\n"
		"\n"
		"Reads pcap/pcapng files ('-' for standard input), plain or gzip/xz/zstd\n"
		"compressed (told by magic number), follows every TLS handshake and stores one\n"
		"row per handshake: offered groups, key shares, the group the server selected,\n"
		"a verdict (hybrid, pq, classical, ...) and the capture interface (pcapng).\n"
		"\n");
	kx_common_help(out);
	fprintf(out,
		"  --libpcap              read captures through libpcap (by default kexwatch's own\n"
		"                         readers: faster, resync after a corrupt record or block,\n"
		"                         pcapng interfaces of different link types); --no-mmap\n"
		"                         is an old name for it\n"
		"  --no-fastpath          reference run: libpcap reader, every byte copied and\n"
		"                         reassembled, no in-place parsing (same results, slower)\n"
		"  --progress / --no-progress   progress line on stderr (default: when a terminal)\n"
		"  -q, --quiet            no summary\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit status: 0 on success (a capture cut short is a warning), 1 when an input\n"
		"or the database failed, 2 on usage errors (a bad --filter among them), 130 when\n"
		"interrupted (rows up to that point are saved). A run that read no packet leaves\n"
		"no runs row; with --pg, rows wait in the local outbox while the server is away.\n");
}

enum { OPT_LIBPCAP = 256, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_NO_FASTPATH };

static int parse_args(int argc, char **argv, struct read_opts *o)
{
	static const struct option longopts[] = {
		KX_COMMON_LONGOPTS,
		{ "no-fastpath", no_argument, NULL, OPT_NO_FASTPATH },
		{ "libpcap", no_argument, NULL, OPT_LIBPCAP },
		{ "no-mmap", no_argument, NULL, OPT_LIBPCAP },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		int rc = kx_common_option(&o->c, ch, optarg);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		switch (ch) {
		case OPT_NO_FASTPATH:
			o->c.eng.no_fastpath = true;
			o->libpcap = true;
			break;
		case OPT_LIBPCAP: o->libpcap = true; break;
		case OPT_PROGRESS: o->progress = 1; break;
		case OPT_NO_PROGRESS: o->progress = 0; break;
		case 'q': o->quiet = true; break;
		case 'h': print_help(stdout); return 1;
		default:
			fprintf(stderr, "Try 'kexwatch read --help'.\n");
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "kexwatch read: no capture file given\nTry 'kexwatch read --help'.\n");
		return -1;
	}
	return kx_common_finish(&o->c, "read");
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
	/* The same words and counts as the summary's "handshakes:" line. */
	fprintf(stderr, "  %.2f Mpkt/s  %" PRIu64 " handshakes (hybrid %" PRIu64 ", pq %" PRIu64
		")   %s",
		el > 0 ? (double)c->packets / el / 1e6 : 0.0, c->hs_total, c->hs_hybrid, c->hs_pq,
		final ? "\n" : "");
}

int kx_cmd_read(int argc, char **argv)
{
	struct read_opts o = { .progress = -1 };
	kx_common_defaults(&o.c);
	int prc = parse_args(argc, argv, &o);
	if (prc != 0)
		return prc > 0 ? KX_EXIT_OK : KX_EXIT_USAGE;

	char err[512];
	int nsrc = argc - optind;
	char **paths = argv + optind;
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	int status = KX_EXIT_OK;

	struct kx_outputs out;
	if (kx_outputs_open(&out, &o.c, argc, argv, (const char *const *)paths, (uint32_t)nsrc, 0,
			    err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch read: %s\n", err);
		return KX_EXIT_FAIL;
	}
	out.cmd = "read";
	out.regress_log_budget = o.quiet ? 0 : 20; /* a capture of a NATed network can hold thousands */
	struct kx_engine *eng = kx_engine_new(&o.c.eng, &c, kx_outputs_emit, &out, err, sizeof(err));
	if (!eng) {
		fprintf(stderr, "kexwatch read: %s\n", err);
		kx_outputs_close(&out, &c, err, sizeof(err));
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

	struct kx_source_opts sopts = { .libpcap = o.libpcap, .filter = o.c.filter };
	bool sink_failed = false;
	bool read_any = false; /* a packet of any input, filtered out or not */
	for (int i = 0; i < nsrc && !interrupted && !sink_failed; i++) {
		struct kx_source *src;
		if (kx_source_open_file(paths[i], &sopts, &src, err, sizeof(err)) < 0) {
			fprintf(stderr, "%skexwatch read: %s\n", pg.on ? "\n" : "", err);
			status = KX_EXIT_FAIL;
			continue;
		}
		pg.total_bytes += kx_source_size(src);
		struct kx_frame fr[KX_ENGINE_BATCH];
		uint64_t num = 0;
		enum kx_source_rc rc;
		int n;
		/* A batch's frames share a link type (pcapng's come one at a time). */
		while ((n = kx_source_next_batch(src, fr, KX_ENGINE_BATCH, &c, &rc)) > 0) {
			kx_engine_packets(eng, fr[0].link, fr, n, num + 1, (uint32_t)i);
			uint64_t before = num;
			num += (uint64_t)n;
			if ((num >> 16) != (before >> 16)) {
				sink_failed = kx_sink_failed(out.sink);
				if (interrupted || sink_failed)
					break;
				if (pg.on)
					progress_line(&pg, &c, kx_source_pos(src), false);
			}
		}
		const char *warn = kx_source_warning(src);
		if (rc == KX_SRC_ERROR) {
			fprintf(stderr, "%skexwatch read: %s: %s (after packet %" PRIu64 ")\n",
				pg.on ? "\n" : "", paths[i], kx_source_error(src), num);
			status = KX_EXIT_FAIL;
		}
		/* The same words whatever the reader: our own, libpcap, a
		 * decompressor. A cut capture is a warning, not a failure. */
		if (warn[0])
			fprintf(stderr, "%skexwatch read: warning: %s: %s (after packet %" PRIu64 ")\n",
				pg.on ? "\n" : "", paths[i], warn, num);
		read_any |= kx_source_records(src) > 0;
		pg.done_bytes += kx_source_size(src);
		kx_source_close(src);
	}
	kx_engine_finish(eng, KX_R_EOF);
	/* Every row is emitted: tearing nDPI and the tables down now overlaps
	 * with the writer thread's last batch instead of following it. */
	kx_engine_free(eng);
	if (pg.on)
		progress_line(&pg, &c, 0, true);

	uint64_t reg_found = out.regress_found, reg_unlogged = out.regress_unlogged;
	/* Every input missing, empty or unreadable: no runs row for it. */
	out.discard_empty = !read_any;
	bool failed = kx_outputs_close(&out, &c, err, sizeof(err)) < 0;
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (!o.quiet) {
		kx_print_summary(stderr, "read", &c, secs_between(&pg.start, &end));
		if (reg_unlogged)
			fprintf(stderr, "kexwatch read: %llu handshakes marked as regressions, %llu log lines "
				"not shown (kexwatch changes lists them)\n",
				(unsigned long long)reg_found, (unsigned long long)reg_unlogged);
	}
	if (failed) {
		fprintf(stderr, "kexwatch read: %s\n", err);
		return KX_EXIT_FAIL;
	}
	if (interrupted) {
		fprintf(stderr, "kexwatch read: interrupted; rows up to this point are saved\n");
		return KX_EXIT_INTERRUPTED;
	}
	return status;
}
