/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_merge.c: `kexwatch merge`: several sensor databases into one. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "kexwatch/cli.h"
#include "kexwatch/merge.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch merge --db OUT.db SENSOR.db...\n"
		"\n"
		"Copies the runs, sources, handshakes and sessions of each sensor database\n"
		"into OUT.db (created if missing) for an offline audit. Idempotent: a\n"
		"handshake already in OUT.db (same sensor, protocol, endpoints and first\n"
		"timestamp) and an identical run are not copied again, so overlapping or\n"
		"repeated merges add nothing twice. Sessions (hourly counts) within the\n"
		"capture time a run of the same sensor in OUT.db covered, or another copy of\n"
		"a row there (same first session), are counted once; other sessions of the\n"
		"same hour and endpoint add up. The inputs are opened read-only.\n"
		"\n"
		"  --db FILE   the merged inventory (required)\n"
		"  -q, --quiet no summary\n"
		"  -h, --help  this help\n");
}

int kx_cmd_merge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int quiet = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch merge --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (!out || optind >= argc) {
		fprintf(stderr, "kexwatch merge: needs --db OUT.db and at least one input\n");
		return KX_EXIT_USAGE;
	}
	struct kx_merge_stats ms;
	char err[512];
	int rc = kx_merge(out, (const char *const *)argv + optind, (unsigned)(argc - optind), &ms,
			  err, sizeof(err));
	if (!quiet)
		fprintf(stderr,
			"merged %u database%s into %s: %" PRIu64 " runs, %" PRIu64
			" new handshakes, %" PRIu64 " already present; sessions rows: %" PRIu64
			" new, %" PRIu64 " added to one there, %" PRIu64 " already counted\n",
			ms.inputs, ms.inputs == 1 ? "" : "s", out, ms.runs, ms.rows_added,
			ms.rows_present, ms.sessions_added, ms.sessions_updated, ms.sessions_present);
	if (rc < 0) {
		fprintf(stderr, "kexwatch merge: %s\n", err);
		return KX_EXIT_FAIL;
	}
	return KX_EXIT_OK;
}
