/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_report.c: `kexwatch report --html FILE`: one self-contained HTML page. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"

#include "cli_util.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch report --html FILE [OPTIONS]\n"
		"\n"
		"Writes one self-contained HTML page (inline CSS, inline SVG charts, a few\n"
		"lines of inline JavaScript to sort tables; nothing is fetched from the\n"
		"network): the share of hybrid handshakes, classical and server-declined\n"
		"hops, hybrid share over time, selected groups, a sortable table of hops\n"
		"coloured by verdict, the clients that offer no PQ, and health findings.\n"
		"\n"
		"  --html FILE       the page to write ('-': standard output); written to\n"
		"                    FILE.tmp and renamed, so a reader never sees half a page\n");
	kx_report_cli_help(out, 0);
	fprintf(out, "  -h, --help        this help\n"
		"\n"
		"Exit status: 0 success, 1 the database or FILE failed, 2 usage error.\n");
}

enum { OPT_HTML = 1 };

int kx_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, KX_ROPT_DB },
		{ "since", required_argument, NULL, KX_ROPT_SINCE },
		{ "until", required_argument, NULL, KX_ROPT_UNTIL },
		{ "sensor", required_argument, NULL, KX_ROPT_SENSOR },
		{ "groups", required_argument, NULL, KX_ROPT_GROUPS },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	const char *html = NULL;
	char err[512];
	int ch, rc;

	kx_report_cli_init(&o, "report");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case OPT_HTML: html = optarg; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch report --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch report: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (!html) {
		fprintf(stderr, "kexwatch report: --html FILE is required (the only format)\n");
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0)
		return KX_EXIT_USAGE;
	struct kx_atomic_out ao;
	if (kx_atomic_open(&ao, "report", html) < 0)
		return KX_EXIT_FAIL;
	rc = kx_report_html(o.db, &o.f, o.now_us, ao.f, err, sizeof(err));
	return kx_atomic_finish(&ao, "report", rc, err, sizeof(err));
}
