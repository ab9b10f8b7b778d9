/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_live.c: `kexwatch live`: span-port capture that runs for months.
 *
 * One poll() loop over every interface. Handshakes are written as soon as
 * they are final; a one-second tick advances the engine clock on a quiet
 * link so idle flows still end, reads the kernel's drop counters and
 * publishes metrics. SIGINT/SIGTERM stop cleanly (pending handshakes are
 * written as incomplete, the batch is committed, the run row closed), SIGHUP
 * reopens the JSON file for logrotate. Root is dropped (--user) as soon as
 * the interfaces and files are open.
 */
#include <errno.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_util.h"
#include "kexwatch/cli.h"
#include "kexwatch/dpi.h"
#include "kexwatch/live.h"
#include "kexwatch/metrics.h"

struct live_opts {
	struct kx_common_opts c;
	const char *ifaces[KX_LIVE_MAX_IFACES];
	unsigned n_ifaces;
	int snaplen;
	int buffer_mb;
	bool no_promisc;
	const char *user;
	const char *metrics;
	unsigned flush_s;
	unsigned status_s;
	bool quiet;
};

static volatile sig_atomic_t stop_requested, hup_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	hup_requested = 1;
}

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch live -i IFACE [-i IFACE2 ...] [OPTIONS]\n"
		"\n"
		"Captures on span/mirror ports or TAPs and records every key-exchange handshake\n"
		"as soon as it is final. Runs until SIGINT or SIGTERM; SIGHUP reopens --json.\n"
		"\n"
		"  -i, --interface IFACE  capture on IFACE (repeat for several, up to %d)\n",
		KX_LIVE_MAX_IFACES);
	kx_common_help(out);
	fprintf(out,
		"  --snaplen N            bytes kept per packet (default: %d)\n"
		"  --buffer-size MB       kernel capture buffer per interface (default: %d)\n"
		"  --no-promisc           do not put interfaces in promiscuous mode\n"
		"  --user NAME            drop root to NAME once interfaces and files are open\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus metrics at /metrics\n"
		"  --flush-interval S     commit to the database at least every S seconds (default: 1)\n"
		"  --status-interval S    status line on stderr every S seconds (default: 60, 0: off)\n"
		"  -q, --quiet            no status lines and no summary\n"
		"  -h, --help             this help\n"
		"\n"
		"Without root, kexwatch needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode\n"
		"and buffer sizes): e.g. setcap cap_net_raw,cap_net_admin=eip kexwatch.\n",
		KX_LIVE_DEFAULT_SNAPLEN, KX_LIVE_DEFAULT_BUFFER_MB);
}

enum {
	OPT_SNAPLEN = 256, OPT_BUFFER, OPT_NO_PROMISC, OPT_USER, OPT_METRICS, OPT_FLUSH, OPT_STATUS,
};

static int parse_args(int argc, char **argv, struct live_opts *o)
{
	static const struct option longopts[] = {
		KX_COMMON_LONGOPTS,
		{ "interface", required_argument, NULL, 'i' },
		{ "snaplen", required_argument, NULL, OPT_SNAPLEN },
		{ "buffer-size", required_argument, NULL, OPT_BUFFER },
		{ "no-promisc", no_argument, NULL, OPT_NO_PROMISC },
		{ "user", required_argument, NULL, OPT_USER },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS },
		{ "flush-interval", required_argument, NULL, OPT_FLUSH },
		{ "status-interval", required_argument, NULL, OPT_STATUS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:qh", longopts, NULL)) != -1) {
		int rc = kx_common_option(&o->c, ch, optarg);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		switch (ch) {
		case 'i':
			if (o->n_ifaces == KX_LIVE_MAX_IFACES) {
				fprintf(stderr, "kexwatch live: at most %d interfaces\n",
					KX_LIVE_MAX_IFACES);
				return -1;
			}
			o->ifaces[o->n_ifaces++] = optarg;
			break;
		case OPT_SNAPLEN:
			if (kx_parse_uint("--snaplen", optarg, 64, 262144, &v) < 0)
				return -1;
			o->snaplen = (int)v;
			break;
		case OPT_BUFFER:
			if (kx_parse_uint("--buffer-size", optarg, 1, 4096, &v) < 0)
				return -1;
			o->buffer_mb = (int)v;
			break;
		case OPT_FLUSH:
			if (kx_parse_uint("--flush-interval", optarg, 1, 3600, &v) < 0)
				return -1;
			o->flush_s = (unsigned)v;
			break;
		case OPT_STATUS:
			if (kx_parse_uint("--status-interval", optarg, 0, 86400, &v) < 0)
				return -1;
			o->status_s = (unsigned)v;
			break;
		case OPT_NO_PROMISC: o->no_promisc = true; break;
		case OPT_USER: o->user = optarg; break;
		case OPT_METRICS: o->metrics = optarg; break;
		case 'q': o->quiet = true; break;
		case 'h': print_help(stdout); return 1;
		default:
			fprintf(stderr, "Try 'kexwatch live --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch live: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->n_ifaces) {
		fprintf(stderr, "kexwatch live: no interface given (-i IFACE)\n");
		return -1;
	}
	return kx_common_finish(&o->c, "live");
}

/* Files created while still root must stay writable by the user we become. */
static void hand_over(const char *path, const char *suffix, uid_t uid, gid_t gid)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (chown(p, uid, gid) < 0 && errno != ENOENT)
		fprintf(stderr, "kexwatch live: warning: chown %s: %s\n", p, strerror(errno));
}

static int drop_root(const char *user, const struct live_opts *o, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "--user %s: no such user", user);
		return -1;
	}
	if (!o->c.no_db) {
		hand_over(o->c.db, "", pw->pw_uid, pw->pw_gid);
		hand_over(o->c.db, "-wal", pw->pw_uid, pw->pw_gid);
		hand_over(o->c.db, "-shm", pw->pw_uid, pw->pw_gid);
	}
	if (o->c.json && strcmp(o->c.json, "-") != 0)
		hand_over(o->c.json, "", pw->pw_uid, pw->pw_gid);
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "--user %s: cannot switch: %s", user, strerror(errno));
		return -1;
	}
	/* setuid() from root drops every capability; make sure of it. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "--user %s: root could be regained", user);
		return -1;
	}
	return 0;
}

struct loop {
	struct kx_engine *eng;
	struct kx_live *live;
	struct kx_metrics *metrics;
	struct kx_outputs *out;
	uint64_t num[KX_LIVE_MAX_IFACES];
	int link[KX_LIVE_MAX_IFACES];
};

static void on_frame(void *ctx, unsigned iface, const struct kx_frame *f)
{
	struct loop *lp = ctx;
	kx_engine_packet(lp->eng, lp->link[iface], f, ++lp->num[iface], iface);
}

static void emit(void *ctx, const struct kx_hs *hs)
{
	struct loop *lp = ctx;
	if (lp->metrics)
		kx_metrics_observe(lp->metrics, hs);
	kx_outputs_emit(lp->out, hs);
}

static uint64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Reads the kernel's counters into c and the per-interface table. */
static void read_stats(struct loop *lp, struct kx_counters *c, struct kx_iface_stats *ifs)
{
	c->capture_received = c->capture_dropped = c->capture_if_dropped = 0;
	for (unsigned i = 0; i < kx_live_count(lp->live); i++) {
		uint64_t r = 0, d = 0, ifd = 0;
		kx_live_stats(lp->live, i, &r, &d, &ifd);
		snprintf(ifs[i].name, sizeof(ifs[i].name), "%s", kx_live_name(lp->live, i));
		ifs[i].received = r;
		ifs[i].dropped = d;
		ifs[i].if_dropped = ifd;
		c->capture_received += r;
		c->capture_dropped += d;
		c->capture_if_dropped += ifd;
	}
}

static void status_line(const struct kx_counters *c, uint32_t flows, uint32_t queued,
			int64_t central_backlog)
{
	char central[96] = "";
	if (central_backlog >= 0)
		snprintf(central, sizeof(central), ", %" PRId64 " rows waiting for the central store",
			 central_backlog);
	fprintf(stderr,
		"kexwatch live: %" PRIu64 " packets, %" PRIu64 " handshakes (%" PRIu64
		" hybrid, %" PRIu64 " pq, %" PRIu64 " classical, %" PRIu64 " incomplete), %u flows, "
		"%" PRIu64 " dropped by the kernel, %" PRIu64 " by the interface, %u rows queued%s\n",
		c->packets, c->hs_total, c->hs_hybrid, c->hs_pq, c->hs_classical, c->hs_incomplete,
		flows, c->capture_dropped, c->capture_if_dropped, queued, central);
}

int kx_cmd_live(int argc, char **argv)
{
	/* kexwatch never executes anything: forbid gaining privileges through
	 * exec for every thread, which inherit this only if it is set first. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	struct live_opts o = { .flush_s = 1, .status_s = 60 };
	kx_common_defaults(&o.c);
	int prc = parse_args(argc, argv, &o);
	if (prc != 0)
		return prc > 0 ? KX_EXIT_OK : KX_EXIT_USAGE;

	/* Handlers first: a SIGHUP from logrotate during start-up must not kill us. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	char err[512], warn[1024];
	struct kx_live_opts lo = {
		.ifaces = o.ifaces, .n_ifaces = o.n_ifaces, .snaplen = o.snaplen,
		.buffer_mb = o.buffer_mb, .no_promisc = o.no_promisc, .filter = o.c.filter,
	};
	struct loop lp;
	memset(&lp, 0, sizeof(lp));
	if (kx_live_open(&lo, &lp.live, err, sizeof(err), warn, sizeof(warn)) < 0) {
		fprintf(stderr, "kexwatch live: %s\n", err);
		return KX_EXIT_FAIL;
	}
	/* One "kexwatch live: IFACE: warning: ..." line per warning. */
	for (char *w = warn, *nl; *w; w = nl + 1) {
		nl = strchr(w, '\n');
		if (!nl) {
			fprintf(stderr, "kexwatch live: %s\n", w);
			break;
		}
		fprintf(stderr, "kexwatch live: %.*s\n", (int)(nl - w), w);
	}
	for (unsigned i = 0; i < o.n_ifaces; i++)
		lp.link[i] = kx_live_link(lp.live, i);

	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_outputs out;
	lp.out = &out;
	if (kx_outputs_open(&out, &o.c, argc, argv, o.ifaces, o.n_ifaces, o.flush_s * 1000, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch live: %s\n", err);
		kx_live_close(lp.live);
		return KX_EXIT_FAIL;
	}
	out.cmd = "live";
	out.regress_log_budget = UINT32_MAX; /* already one line per subject and hour */
	int status = KX_EXIT_OK;
	if (o.metrics) {
		lp.metrics = kx_metrics_new(o.c.sensor);
		if (lp.metrics)
			kx_metrics_set_build_info(lp.metrics, kx_dpi_version(), pcap_lib_version());
		if (!lp.metrics || kx_metrics_listen(lp.metrics, o.metrics, err, sizeof(err)) < 0) {
			fprintf(stderr, "kexwatch live: --metrics-listen: %s\n",
				lp.metrics ? err : "out of memory");
			status = KX_EXIT_FAIL;
		}
		out.metrics = lp.metrics;
	}
	if (status == KX_EXIT_OK && o.user && drop_root(o.user, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch live: %s\n", err);
		status = KX_EXIT_FAIL;
	}
	if (status == KX_EXIT_OK) {
		lp.eng = kx_engine_new(&o.c.eng, &c, emit, &lp, err, sizeof(err));
		if (!lp.eng) {
			fprintf(stderr, "kexwatch live: %s\n", err);
			status = KX_EXIT_FAIL;
		}
	}

	struct pollfd fds[KX_LIVE_MAX_IFACES];
	kx_live_pollfds(lp.live, fds);
	struct kx_iface_stats ifs[KX_LIVE_MAX_IFACES];
	memset(ifs, 0, sizeof(ifs));
	uint64_t started = mono_s(), last_tick = started, last_status = started;
	if (status == KX_EXIT_OK && !o.quiet)
		fprintf(stderr, "kexwatch live: capturing on %u interface%s as '%s'\n", o.n_ifaces,
			o.n_ifaces > 1 ? "s" : "", o.c.sensor);
	while (status == KX_EXIT_OK && !stop_requested) {
		int n = poll(fds, o.n_ifaces, 200);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "kexwatch live: poll: %s\n", strerror(errno));
			status = KX_EXIT_FAIL;
			break;
		}
		for (unsigned i = 0; n > 0 && i < o.n_ifaces; i++) {
			if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (kx_live_read(lp.live, i, 1024, on_frame, &lp, err, sizeof(err)) < 0) {
				fprintf(stderr, "kexwatch live: %s\n", err);
				status = KX_EXIT_FAIL;
			}
		}
		if (hup_requested) {
			hup_requested = 0;
			kx_sink_reopen(out.sink);
		}
		uint64_t now = mono_s();
		if (now != last_tick) {
			last_tick = now;
			kx_engine_tick(lp.eng, kx_now_us());
			read_stats(&lp, &c, ifs);
			kx_sink_stats(out.sink, &c);
			int64_t backlog = kx_outputs_central(&out, &c);
			if (lp.metrics && backlog != -1)
				kx_metrics_set_central_backlog(lp.metrics, backlog);
			if (lp.metrics)
				kx_metrics_publish(lp.metrics, &c, ifs, o.n_ifaces,
						   kx_engine_active_flows(lp.eng), kx_sink_queued(out.sink));
			if (kx_sink_failed(out.sink)) {
				kx_sink_error(out.sink, err, sizeof(err));
				fprintf(stderr, "kexwatch live: %s\n", err);
				status = KX_EXIT_FAIL;
			}
			if (!o.quiet && o.status_s && now - last_status >= o.status_s) {
				last_status = now;
				status_line(&c, kx_engine_active_flows(lp.eng), kx_sink_queued(out.sink),
					    backlog);
			}
		}
	}

	if (lp.eng) {
		kx_engine_finish(lp.eng, KX_R_EOF);
		read_stats(&lp, &c, ifs);
	}
	/* The writer's final counts are added by kx_outputs_close. */
	c.db_rows_written = c.db_rows_duplicate = c.db_errors = 0;
	if (kx_outputs_close(&out, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch live: %s\n", err);
		status = KX_EXIT_FAIL;
	}
	if (!o.quiet)
		kx_print_summary(stderr, "captured", &c, (double)(mono_s() - started));
	kx_metrics_free(lp.metrics);
	kx_engine_free(lp.eng);
	kx_live_close(lp.live);
	return status;
}
