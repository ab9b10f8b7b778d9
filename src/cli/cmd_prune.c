/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_prune.c: `kexwatch prune`: remove raw handshake rows older than a
 * retention. On a central PostgreSQL store whole monthly partitions are
 * dropped (see pg_prune.c); on an SQLite file the rows are deleted in short
 * transactions beside a running capture (see src/store/prune.c). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kexwatch/central.h"
#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "kexwatch/emit.h"
#include "kexwatch/store.h"

#include "cli_util.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch prune --older-than DURATION --db FILE|URL [--now TIME]\n"
		"                      [--rollups-older-than DURATION] [--max-lock-ms N]\n"
		"\n"
		"Removes the handshake rows that began more than DURATION (90d, 12h, ...)\n"
		"before now. On a central PostgreSQL store (--db postgresql://...) the\n"
		"monthly partitions wholly before the cutoff are dropped and the older rows\n"
		"of the month across it deleted, in one transaction; the runs are kept, and\n"
		"the hourly sessions rows and the rollups unless --rollups-older-than.\n"
		"On an SQLite inventory the rows are deleted oldest first in short write\n"
		"transactions, so a capture writing to the same file waits one of them at\n"
		"most; rows a central store has not received yet and the runs are kept, and\n"
		"the hourly sessions rows and the rollups unless --rollups-older-than.\n"
		"The file does not shrink (its pages are reused).\n"
		"\n"
		"  --older-than D     the retention: 30s, 5m, 1h, 90d\n"
		"  --rollups-older-than R\n"
		"                     the rollups' retention (at least D; default: keep\n"
		"                     them whole): an endpoint (server address, port, SNI),\n"
		"                     a client address or a fingerprint set last seen more\n"
		"                     than R ago is forgotten with its whole history, one\n"
		"                     seen since keeps all of its history; the hourly rows\n"
		"                     (sessions, the share over time) of hours that began\n"
		"                     more than R ago go. A central store has no client or\n"
		"                     fingerprint rollups: it forgets endpoints.\n"
		"  --db FILE|URL      an inventory file, or postgresql://user@host:port/dbname\n"
		"                     or 'host=... dbname=...'\n"
		"  --now TIME         count back from TIME (RFC 3339) instead of the clock\n"
		"  --max-lock-ms N    SQLite: the write lock budget of one transaction\n"
		"                     (default 250; each is kept near half of it)\n"
		"  -q, --quiet        no summary\n"
		"  -h, --help         this help\n"
		"\n"
		"Exit status: 0 pruned, 1 the store failed, 2 usage error.\n");
}

static int prune_sqlite(const char *db, int64_t cutoff_us, const struct kx_prune_opts *po,
			int quiet)
{
	struct kx_prune_stats st;
	char err[512];
	if (kx_store_prune(db, cutoff_us, po, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch prune: %s\n", err);
		return KX_EXIT_FAIL;
	}
	if (!quiet) {
		char t[32];
		fprintf(stderr,
			"pruned %s before %s: %" PRIu64 " rows deleted in %" PRIu64
			" transactions (longest %.3f s, waited %.3f s for other writers)",
			db, kx_time_str((uint64_t)(cutoff_us > 0 ? cutoff_us : 0), t, sizeof(t)),
			st.rows_deleted, st.batches, (double)st.longest_lock_us / 1e6,
			(double)st.waited_us / 1e6);
		if (st.rows_folded)
			fprintf(stderr, "; %" PRIu64 " rows folded into the rollups first (%" PRIu64
					" transaction%s)",
				st.rows_folded, st.fold_transactions,
				st.fold_transactions == 1 ? "" : "s");
		if (st.rows_kept_fence)
			fprintf(stderr, "; 1 older row kept: the newest row written, which keeps new"
					" rows' ids above the rollups' mark");
		if (st.rows_kept_unsent)
			fprintf(stderr, "; %" PRIu64 " older rows kept: not yet sent to the central store",
				st.rows_kept_unsent);
		fputc('\n', stderr);
		if (po->rollup_cutoff_us != INT64_MIN) {
			fprintf(stderr,
				"rollups of %s before %s: %" PRIu64 " endpoints, %" PRIu64
				" clients and %" PRIu64 " fingerprint sets forgotten (%" PRIu64
				" rollup rows) and %" PRIu64 " hourly sessions rows deleted in %" PRIu64
				" transactions",
				db,
				kx_time_str((uint64_t)(po->rollup_cutoff_us > 0 ? po->rollup_cutoff_us
										: 0),
					    t, sizeof(t)),
				st.endpoints_forgotten, st.clients_forgotten, st.fingerprints_forgotten,
				st.rollup_rows_deleted, st.sessions_deleted, st.rollup_transactions);
			if (st.sessions_kept_unsent)
				fprintf(stderr, "; %" PRIu64 " older sessions rows kept: not yet sent to"
						" the central store", st.sessions_kept_unsent);
			fputc('\n', stderr);
		}
	}
	return KX_EXIT_OK;
}

/* A retention: a positive duration (12h, 90d). */
static int parse_age(const char *opt, const char *arg, int64_t *us)
{
	if (kx_report_parse_duration(arg, us) == 0 && *us > 0)
		return 0;
	fprintf(stderr, "kexwatch prune: %s: expected a duration (12h, 90d), got '%s'\n", opt, arg);
	return -1;
}

int kx_cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "now", required_argument, NULL, 'n' },
		{ "max-lock-ms", required_argument, NULL, 'm' },
		{ "rollups-older-than", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *now_s = NULL;
	int64_t older = -1, rollups_older = -1, now_us;
	int quiet = 0, ch;
	struct kx_prune_opts po;
	kx_prune_opts_init(&po);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (parse_age("--older-than", optarg, &older) < 0)
				return KX_EXIT_USAGE;
			break;
		case 'r':
			if (parse_age("--rollups-older-than", optarg, &rollups_older) < 0)
				return KX_EXIT_USAGE;
			break;
		case 'd': db = optarg; break;
		case 'n': now_s = optarg; break;
		case 'm': {
			uint64_t v;
			if (kx_parse_uint("--max-lock-ms", optarg, 10, 60000, &v) < 0)
				return KX_EXIT_USAGE;
			po.max_lock_ms = (unsigned)v;
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch prune --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (!db || older < 0 || optind != argc) {
		fprintf(stderr, "kexwatch prune: needs --older-than DURATION and --db (and no other"
				" arguments)\n");
		return KX_EXIT_USAGE;
	}
	/* Rollups shorter than the raw rows would leave folded rows whose
	 * entries are gone: full-range reports would miss what windows see. */
	if (rollups_older >= 0 && rollups_older < older) {
		fprintf(stderr, "kexwatch prune: --rollups-older-than must be at least --older-than\n");
		return KX_EXIT_USAGE;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (now_s && kx_report_parse_time(now_s, now_us, &now_us) < 0) {
		fprintf(stderr, "kexwatch prune: --now: expected an RFC 3339 time, got '%s'\n", now_s);
		return KX_EXIT_USAGE;
	}
	int64_t cutoff = now_us - older;
	po.rollup_cutoff_us = rollups_older >= 0 ? now_us - rollups_older : INT64_MIN;
	if (!kx_pg_is_url(db))
		return prune_sqlite(db, cutoff, &po, quiet);
	char err[512], target[256];
	struct kx_pg_prune_stats st;
	kx_pg_redact(db, target, sizeof(target));
	if (kx_pg_prune(db, cutoff, po.rollup_cutoff_us, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch prune: %s: %s\n", target, err);
		return KX_EXIT_FAIL;
	}
	if (!quiet)
		fprintf(stderr,
			"pruned %s before %" PRId64 ": %" PRIu64 " partitions dropped (%" PRIu64
			" rows), %" PRIu64 " rows deleted; %" PRIu64
			" pending rows folded into the rollups first\n",
			target, cutoff, st.partitions_dropped, st.rows_dropped, st.rows_deleted,
			st.rows_folded);
	if (!quiet && po.rollup_cutoff_us != INT64_MIN) {
		char t[32];
		fprintf(stderr,
			"rollups of %s before %s: %" PRIu64 " endpoints forgotten (%" PRIu64
			" rollup rows), %" PRIu64 " hourly sessions rows deleted; %" PRIu64
			" clients forgotten (%" PRIu64 " client rollup rows)\n",
			target,
			kx_time_str((uint64_t)(po.rollup_cutoff_us > 0 ? po.rollup_cutoff_us : 0), t,
				    sizeof(t)),
			st.endpoints_forgotten, st.rollup_rows_deleted, st.sessions_deleted,
			st.clients_forgotten, st.client_rows_deleted);
	}
	return KX_EXIT_OK;
}
