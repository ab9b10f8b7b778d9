/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_hops.c: `kexwatch hops`: one line per server endpoint. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch hops [OPTIONS]\n"
		"\n"
		"One line per server endpoint (server IP, port, SNI): first and last seen,\n"
		"handshakes, distinct clients, counts per verdict, plaintext sessions, the\n"
		"groups the server selected, the protocols and applications, and the\n"
		"endpoint's verdict, riskiest first. Sessions without a handshake have no\n"
		"SNI: their endpoint is the server IP and port.\n"
		"\n");
	kx_report_cli_help(out, 1);
	kx_report_cli_table_help(out);
	fprintf(out,
		"  --group-by KEY    endpoint (default: server IP, port, SNI), sni, server\n"
		"                    (server IP), pair (client IP -> server IP)\n"
		"  --sort KEY        risk (default), handshakes, clients, last-seen, name\n"
		"  --live DURATION   only handshakes seen within DURATION (30s, 5m, 1h) before\n"
		"                    the newest row; counts cover that window\n"
		"  --now             --live counts back from now instead of the newest row\n"
		"  -h, --help        this help\n"
		"\n"
		"Endpoint verdicts, riskiest first: plaintext: some session carried data\n"
		"without any encryption; classical (server-declined): clients offered PQ\n"
		"and the server never chose it; classical (clients-no-pq): no client\n"
		"offered PQ; classical (offer-unseen): the ClientHellos were not captured;\n"
		"draft-kyber; mixed; unknown: the server chose code points kexwatch does\n"
		"not know (or key shares that do not fit); no-verdict: only resumed or\n"
		"incomplete handshakes; no-verdict (not observed): encrypted sessions\n"
		"whose key exchange was not observed; hybrid (every deciding handshake\n"
		"hybrid or pq). Resumed and incomplete handshakes and sessions whose\n"
		"handshake was not seen do not decide. OTHER counts them, and Kyber-draft\n"
		"and unknown handshakes; --json and --csv add the plaintext reasons.\n"
		"\n"
		"Exit status: 0 success, 1 the database could not be read, 2 usage error.\n");
}

enum { OPT_GROUP_BY = 1, OPT_SORT, OPT_LIVE, OPT_NOW };

int kx_cmd_hops(int argc, char **argv)
{
	static const struct option longopts[] = {
		KX_REPORT_LONGOPTS,
		KX_TABLE_LONGOPTS,
		{ "group-by", required_argument, NULL, OPT_GROUP_BY },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "live", required_argument, NULL, OPT_LIVE },
		{ "now", no_argument, NULL, OPT_NOW },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	struct kx_hops_opts h;
	int ch;

	kx_report_cli_init(&o, "hops");
	kx_hops_opts_init(&h);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case OPT_GROUP_BY:
			if (kx_hops_parse_group(optarg, &h.group) < 0) {
				fprintf(stderr, "kexwatch hops: --group-by: expected endpoint, sni, "
						"server or pair, got '%s'\n", optarg);
				return KX_EXIT_USAGE;
			}
			break;
		case OPT_SORT:
			if (kx_hops_parse_sort(optarg, &h.sort) < 0) {
				fprintf(stderr, "kexwatch hops: --sort: expected risk, handshakes, "
						"clients, last-seen or name, got '%s'\n", optarg);
				return KX_EXIT_USAGE;
			}
			break;
		case OPT_LIVE:
			if (kx_report_parse_duration(optarg, &h.live_us) < 0 || h.live_us <= 0) {
				fprintf(stderr, "kexwatch hops: --live: expected a duration (30s, 5m, "
						"1h), got '%s'\n", optarg);
				return KX_EXIT_USAGE;
			}
			break;
		case OPT_NOW: h.live_from_now = true; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch hops --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch hops: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0 || kx_report_cli_table(&o) < 0)
		return KX_EXIT_USAGE;
	if (h.live_from_now && !h.live_us) {
		fprintf(stderr, "kexwatch hops: --now goes with --live\n");
		return KX_EXIT_USAGE;
	}
	h.f = o.f;
	h.now_us = o.now_us;
	char err[512];
	if (kx_report_hops_with(o.db, &h, o.fmt, stdout, err, sizeof(err)) < 0)
		return kx_report_cli_failed(&o, err, KX_EXIT_FAIL);
	return KX_EXIT_OK;
}
