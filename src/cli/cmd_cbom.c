/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_cbom.c: `kexwatch cbom`: a CycloneDX cryptography BOM of the inventory. */
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
		"usage: kexwatch cbom [OPTIONS]\n"
		"\n"
		"Writes a CycloneDX JSON BOM (CBOM) of the cryptography observed: one\n"
		"cryptographic-asset component per algorithm negotiated (key exchange groups\n"
		"and SSH methods with their NIST PQC category and classical strength, SSH host\n"
		"key algorithms, the ciphers of the cipher suites), one protocol component per\n"
		"endpoint and version with its cipher suites, and a dependency from each\n"
		"endpoint to the algorithms it used; first/last seen and handshake counts as\n"
		"properties. The same inventory and window give the same bytes.\n"
		"\n"
		"  -o, --output FILE the BOM to write (default: standard output); written to\n"
		"                    FILE.tmp and renamed\n"
		"  --spec VERSION    CycloneDX version: 1.6 (default) or 1.7\n");
	kx_report_cli_help(out, 0);
	fprintf(out, "  -h, --help        this help\n"
		"\n"
		"Exit status: 0 success, 1 the database or FILE failed, 2 usage error.\n");
}

enum { OPT_SPEC = 1 };

int kx_cmd_cbom(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, KX_ROPT_DB },
		{ "since", required_argument, NULL, KX_ROPT_SINCE },
		{ "until", required_argument, NULL, KX_ROPT_UNTIL },
		{ "sensor", required_argument, NULL, KX_ROPT_SENSOR },
		{ "groups", required_argument, NULL, KX_ROPT_GROUPS },
		{ "spec", required_argument, NULL, OPT_SPEC },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	const char *path = NULL;
	char err[512];
	int ch, rc, minor = 6;

	kx_report_cli_init(&o, "cbom");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'o': path = optarg; break;
		case OPT_SPEC:
			if (strcmp(optarg, "1.6") == 0) {
				minor = 6;
			} else if (strcmp(optarg, "1.7") == 0) {
				minor = 7;
			} else {
				fprintf(stderr, "kexwatch cbom: --spec: expected 1.6 or 1.7, got '%s'\n",
					optarg);
				return KX_EXIT_USAGE;
			}
			break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch cbom --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch cbom: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0)
		return KX_EXIT_USAGE;
	struct kx_atomic_out ao;
	if (kx_atomic_open(&ao, "cbom", path) < 0)
		return KX_EXIT_FAIL;
	rc = kx_report_cbom(o.db, &o.f, minor, ao.f, err, sizeof(err));
	return kx_atomic_finish(&ao, "cbom", rc, err, sizeof(err));
}
