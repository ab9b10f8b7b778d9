/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_rollup.c: `kexwatch rollup`: fold the handshake rows not folded yet
 * into the rollups that hops, health and the HTML report read over the
 * full range (rollup.h), or rebuild them from the raw rows. The writer
 * folds as it goes and a report folds a large tail itself; this is for an
 * inventory upgraded from before rollups, one filled by `merge`, or a
 * check. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "kexwatch/central.h"
#include "kexwatch/cli.h"
#include "kexwatch/rollup.h"
#include "cli_util.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch rollup --db FILE|URL [--rebuild] [-q]\n"
		"\n"
		"Fold the handshake rows not yet in the rollups (the all-time aggregates\n"
		"that hops, health and report read when no --since, --until or --live\n"
		"narrows them) into them, upgrading an older inventory first. On a\n"
		"central store (postgresql://...) it folds the rows the shippers left\n"
		"pending, after any folder already running.\n"
		"\n"
		"  --db FILE|URL the inventory (SQLite) or a central store (PostgreSQL)\n"
		"  --rebuild     empty the rollups and fold every row again\n"
		"  -q, --quiet   no progress or summary on stderr\n"
		"  -h, --help    this help\n");
}

int kx_cmd_rollup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "rebuild", no_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	bool rebuild = false, quiet = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'r': rebuild = true; break;
		case 'q': quiet = true; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch rollup --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (!db || optind != argc) {
		fprintf(stderr, "kexwatch rollup: needs --db FILE (and no other arguments)\n");
		return KX_EXIT_USAGE;
	}
	char err[512];
	if (kx_pg_is_url(db)) {
		char target[256];
		uint64_t folded;
		kx_pg_redact(db, target, sizeof(target));
		if (rebuild) {
			fprintf(stderr, "kexwatch rollup: --rebuild is for an inventory file; a central"
					" store's rollups are built by its schema upgrade\n");
			return KX_EXIT_USAGE;
		}
		if (kx_pg_fold(db, &folded, err, sizeof(err)) < 0) {
			fprintf(stderr, "kexwatch rollup: %s: %s\n", target, err);
			return KX_EXIT_FAIL;
		}
		if (!quiet)
			fprintf(stderr, "%s: %" PRIu64 " pending handshake rows folded into the rollups\n",
				target, folded);
		return KX_EXIT_OK;
	}
	int64_t n = kx_rollup_file(db, rebuild, quiet ? NULL : stderr, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "kexwatch rollup: %s\n", err);
		return KX_EXIT_FAIL;
	}
	if (!quiet)
		fprintf(stderr, "%s: %" PRId64 " handshake rows %s\n", db, n,
			rebuild ? "folded into rebuilt rollups" : "folded into the rollups");
	return KX_EXIT_OK;
}
