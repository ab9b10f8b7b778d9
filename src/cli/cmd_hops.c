/* cmd_hops.c: `kexwatch hops`: one line per server endpoint. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch hops [OPTIONS]\n"
		"\n"
		"One line per server endpoint (server IP, port, SNI): handshakes seen, how many\n"
		"were hybrid, pure ML-KEM or classical, the groups the server selected, and the\n"
		"endpoint's verdict, riskiest first. The database is opened read-only.\n"
		"\n"
		"  --db FILE   SQLite inventory (default: kexwatch.db)\n"
		"  --json      a JSON array instead of a table\n"
		"  --csv       CSV with a header line instead of a table\n"
		"  -h, --help  this help\n"
		"\n"
		"Endpoint verdicts: hybrid (every handshake hybrid or pq), mixed,\n"
		"classical (server-declined): clients offered PQ, the server never chose it,\n"
		"classical (clients-no-pq): no client offered PQ, draft-kyber, unknown.\n");
}

int kx_cmd_hops(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = "kexwatch.db";
	enum kx_out_format fmt = KX_OUT_TABLE;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'j': fmt = KX_OUT_JSON; break;
		case 'c': fmt = KX_OUT_CSV; break;
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
	char err[512];
	if (kx_report_hops(db, fmt, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch hops: %s\n", err);
		return KX_EXIT_FAIL;
	}
	return KX_EXIT_OK;
}
