/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_prune.c: `kexwatch prune`: remove raw handshake rows older than a
 * retention. On a central PostgreSQL store whole monthly partitions are
 * dropped (see pg_prune.c). The SQLite side is not written yet: the hook
 * below says so and leaves the file untouched. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kexwatch/central.h"
#include "kexwatch/cli.h"
#include "kexwatch/report.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch prune --older-than DURATION --db URL [--now TIME]\n"
		"\n"
		"Removes the handshake rows that began more than DURATION (90d, 12h, ...)\n"
		"before now. On a central PostgreSQL store (--db postgresql://...) the\n"
		"monthly partitions wholly before the cutoff are dropped and the older rows\n"
		"of the month across it deleted, in one transaction; the hourly sessions\n"
		"rows and the runs are kept.\n"
		"\n"
		"  --older-than D  the retention: 30s, 5m, 1h, 90d\n"
		"  --db URL        postgresql://user@host:port/dbname or 'host=... dbname=...'\n"
		"  --now TIME      count back from TIME (RFC 3339) instead of the clock\n"
		"  -q, --quiet     no summary\n"
		"  -h, --help      this help\n"
		"\n"
		"Exit status: 0 pruned, 1 the store failed (or an SQLite file: not yet\n"
		"supported), 2 usage error.\n");
}

/* SQLite inventories: another part of kexwatch prunes them (batched deletes
 * under a bounded write lock); until it lands, say so. */
static int prune_sqlite(const char *db, int64_t cutoff_us)
{
	(void)cutoff_us;
	fprintf(stderr, "kexwatch prune: %s: pruning an SQLite inventory is not supported yet"
			" (only --db postgresql://...); nothing was removed\n", db);
	return KX_EXIT_FAIL;
}

int kx_cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "now", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *now_s = NULL;
	int64_t older = -1, now_us;
	int quiet = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (kx_report_parse_duration(optarg, &older) < 0 || older <= 0) {
				fprintf(stderr, "kexwatch prune: --older-than: expected a duration"
						" (12h, 90d), got '%s'\n", optarg);
				return KX_EXIT_USAGE;
			}
			break;
		case 'd': db = optarg; break;
		case 'n': now_s = optarg; break;
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
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (now_s && kx_report_parse_time(now_s, now_us, &now_us) < 0) {
		fprintf(stderr, "kexwatch prune: --now: expected an RFC 3339 time, got '%s'\n", now_s);
		return KX_EXIT_USAGE;
	}
	int64_t cutoff = now_us - older;
	if (!kx_pg_is_url(db))
		return prune_sqlite(db, cutoff);
	char err[512], target[256];
	struct kx_pg_prune_stats st;
	kx_pg_redact(db, target, sizeof(target));
	if (kx_pg_prune(db, cutoff, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch prune: %s: %s\n", target, err);
		return KX_EXIT_FAIL;
	}
	if (!quiet)
		fprintf(stderr,
			"pruned %s before %" PRId64 ": %" PRIu64 " partitions dropped (%" PRIu64
			" rows), %" PRIu64 " rows deleted\n",
			target, cutoff, st.partitions_dropped, st.rows_dropped, st.rows_deleted);
	return KX_EXIT_OK;
}
