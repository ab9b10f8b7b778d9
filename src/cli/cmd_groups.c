/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_groups.c: `kexwatch groups`: the key-exchange group registry. */
#include <getopt.h>
#include <stdio.h>

#include "kexwatch/cli.h"
#include "kexwatch/groups.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch groups [OPTIONS]\n"
		"\n"
		"The key-exchange group registry kexwatch classifies with: one line per\n"
		"TLS Supported Groups code point (GREASE values aside) with its name, its\n"
		"family (classical, hybrid, pq, hybrid-draft, unknown), the key share sizes\n"
		"in bytes a client and a server send (\"-\" when not known: nothing is\n"
		"checked), and its source: built-in, or file (a --groups FILE line, new or\n"
		"overriding). A code point not listed is reported as unknown.\n"
		"\n"
		"  --groups FILE     add or override entries: one 'CODE NAME FAMILY\n"
		"                    [CLIENT/SERVER]' line per group (CODE decimal or 0x-hex,\n"
		"                    sizes in bytes, '#' comments)\n"
		"  --json            a JSON document instead of a table\n"
		"  --csv             CSV (RFC 4180) with a header line instead of a table\n");
	kx_report_cli_table_help(out);
	fprintf(out, "  -h, --help        this help\n"
		"\n"
		"Exit status: 0 success, 1 the list could not be written, 2 usage error\n"
		"(a bad --groups file included).\n");
}

int kx_cmd_groups(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "groups", required_argument, NULL, KX_ROPT_GROUPS },
		{ "json", no_argument, NULL, KX_ROPT_JSON },
		{ "csv", no_argument, NULL, KX_ROPT_CSV },
		KX_TABLE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	char err[1024];
	int ch;

	kx_report_cli_init(&o, "groups");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		if (ch == 'h') {
			print_help(stdout);
			return KX_EXIT_OK;
		}
		fprintf(stderr, "Try 'kexwatch groups --help'.\n");
		return KX_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch groups: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0 || kx_report_cli_table(&o) < 0)
		return KX_EXIT_USAGE;
	if (kx_report_groups(o.fmt, stdout, err, sizeof(err)) < 0)
		return kx_report_cli_failed(&o, err, KX_EXIT_FAIL);
	return KX_EXIT_OK;
}
