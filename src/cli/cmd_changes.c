/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_changes.c: `kexwatch changes`: regressions and first sightings. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

/* 1 is "something got worse" (for CI and cron), so a database error needs
 * its own status. */
#define KX_EXIT_CHANGES_DB 3

#define DAY_US (86400LL * 1000000LL)

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch changes [OPTIONS]\n"
		"\n"
		"Compares the window (--since/--until, default: the last 24 hours) with a\n"
		"baseline (default: the 30 days before the window) and prints what got\n"
		"worse, then what got better, per server endpoint (grouped as in hops) and\n"
		"per client: the counts of the good and the bad state in both periods, the\n"
		"first time the new state was seen in the window, and the capture file and\n"
		"packet of that handshake (or plaintext session).\n"
		"\n");
	kx_report_cli_help(out, 1);
	kx_report_cli_table_help(out);
	fprintf(out,
		"  --baseline DURATION\n"
		"                    the baseline is DURATION before --since (default: 30d)\n"
		"  --baseline-since TIME, --baseline-until TIME\n"
		"                    an explicit baseline (same forms as --since; it must end\n"
		"                    at or before the window starts)\n"
		"  --group-by KEY    endpoint (default: server IP, port, SNI), sni, server,\n"
		"                    pair (client IP -> server IP)\n"
		"  -h, --help        this help\n"
		"\n"
		"Changes (worse when the window has the second state and the baseline had\n"
		"the first but never the second; better the other way round):\n"
		"  hybrid-to-classical  endpoint: hybrid/pq -> classical although the client\n"
		"                       offered PQ (server-declined)\n"
		"  hybrid-to-draft      endpoint: hybrid/pq -> retired Kyber draft (0x6399)\n"
		"  tls13-to-tls12       endpoint: TLS 1.3 -> TLS 1.2\n"
		"  tls-to-plaintext     endpoint: encrypted -> plaintext sessions\n"
		"  pq-offer-dropped     client: offered PQ -> ClientHellos without PQ\n"
		"  new-classical        endpoint or client first seen in the window:\n"
		"                       classical (no PQ offered), nothing hybrid\n"
		"  new-plaintext        endpoint or client first seen with plaintext\n"
		"\n"
		"Exit status: 0 nothing got worse, 1 something got worse, 2 usage error,\n"
		"3 the database could not be read.\n");
}

enum { OPT_GROUP_BY = 1, OPT_BASELINE, OPT_BASELINE_SINCE, OPT_BASELINE_UNTIL };

static int parse_time(const char *name, const char *arg, int64_t now_us, int64_t *ret)
{
	if (kx_report_parse_time(arg, now_us, ret) == 0)
		return 0;
	fprintf(stderr, "kexwatch changes: %s: expected an RFC 3339 time (2026-11-22T10:00:00Z, "
			"2026-11-22) or a duration before now (30m, 24h, 7d), got '%s'\n",
		name, arg);
	return -1;
}

int kx_cmd_changes(int argc, char **argv)
{
	static const struct option longopts[] = {
		KX_REPORT_LONGOPTS,
		KX_TABLE_LONGOPTS,
		{ "group-by", required_argument, NULL, OPT_GROUP_BY },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "baseline-since", required_argument, NULL, OPT_BASELINE_SINCE },
		{ "baseline-until", required_argument, NULL, OPT_BASELINE_UNTIL },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	struct kx_changes_opts c;
	const char *bsince = NULL, *buntil = NULL;
	int64_t baseline_us = 30 * DAY_US;
	bool baseline_given = false;
	int ch;

	kx_report_cli_init(&o, "changes");
	kx_changes_opts_init(&c);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case OPT_GROUP_BY:
			if (kx_hops_parse_group(optarg, &c.group) < 0) {
				fprintf(stderr, "kexwatch changes: --group-by: expected endpoint, sni, "
						"server or pair, got '%s'\n", optarg);
				return KX_EXIT_USAGE;
			}
			break;
		case OPT_BASELINE:
			if (kx_report_parse_duration(optarg, &baseline_us) < 0 || baseline_us <= 0) {
				fprintf(stderr, "kexwatch changes: --baseline: expected a duration "
						"(7d, 30d, 12h), got '%s'\n", optarg);
				return KX_EXIT_USAGE;
			}
			baseline_given = true;
			break;
		case OPT_BASELINE_SINCE: bsince = optarg; break;
		case OPT_BASELINE_UNTIL: buntil = optarg; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch changes --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch changes: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0 || kx_report_cli_table(&o) < 0)
		return KX_EXIT_USAGE;
	if (baseline_given && (bsince || buntil)) {
		fprintf(stderr, "kexwatch changes: --baseline excludes --baseline-since/until\n");
		return KX_EXIT_USAGE;
	}
	/* The window: default the last day up to now. */
	c.f = o.f;
	if (!o.until)
		c.f.until_us = o.now_us;
	if (!o.since)
		c.f.since_us = c.f.until_us - DAY_US;
	if (c.f.since_us >= c.f.until_us) {
		fprintf(stderr, "kexwatch changes: --since must be before --until\n");
		return KX_EXIT_USAGE;
	}
	c.baseline_until_us = c.f.since_us;
	c.baseline_since_us = c.f.since_us - baseline_us;
	if (bsince && parse_time("--baseline-since", bsince, o.now_us, &c.baseline_since_us) < 0)
		return KX_EXIT_USAGE;
	if (buntil && parse_time("--baseline-until", buntil, o.now_us, &c.baseline_until_us) < 0)
		return KX_EXIT_USAGE;
	if (bsince && !buntil)
		c.baseline_until_us = c.f.since_us;
	if (buntil && !bsince)
		c.baseline_since_us = c.baseline_until_us - baseline_us;
	if (c.baseline_since_us >= c.baseline_until_us) {
		fprintf(stderr, "kexwatch changes: the baseline must start before it ends\n");
		return KX_EXIT_USAGE;
	}
	if (c.baseline_until_us > c.f.since_us) {
		fprintf(stderr, "kexwatch changes: the baseline must end at or before the window "
				"starts (--since)\n");
		return KX_EXIT_USAGE;
	}
	char err[512];
	int worse = 0;
	if (kx_report_changes(o.db, &c, o.fmt, stdout, &worse, err, sizeof(err)) < 0)
		return kx_report_cli_failed(&o, err, KX_EXIT_CHANGES_DB);
	return worse ? KX_EXIT_FAIL : KX_EXIT_OK;
}
