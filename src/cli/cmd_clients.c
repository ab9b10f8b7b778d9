/* cmd_clients.c: `kexwatch clients`: one line per client IP. */
#include <getopt.h>
#include <stdio.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch clients [OPTIONS]\n"
		"\n"
		"One line per client IP: handshakes, whether it offers post-quantum key\n"
		"exchange in all, some or none of its ClientHellos (\"none (0/4)\": 0 of 4\n"
		"parsed ClientHellos offered a PQ group), which PQ groups, how many servers it\n"
		"talked to, a few SNIs and ALPNs, and its handshakes per verdict. Clients that\n"
		"offer no PQ come first: upgrade them. A ClientHello whose first segment was\n"
		"lost counts as a handshake, not as an offer.\n"
		"\n");
	kx_report_cli_help(out, 1);
	fprintf(out, "  -h, --help        this help\n"
		"\n"
		"Exit status: 0 success, 1 the database could not be read, 2 usage error.\n");
}

int kx_cmd_clients(int argc, char **argv)
{
	static const struct option longopts[] = {
		KX_REPORT_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	char err[512];
	int ch;

	kx_report_cli_init(&o, "clients");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		if (ch == 'h') {
			print_help(stdout);
			return KX_EXIT_OK;
		}
		fprintf(stderr, "Try 'kexwatch clients --help'.\n");
		return KX_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch clients: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0)
		return KX_EXIT_USAGE;
	if (kx_report_clients(o.db, &o.f, o.fmt, stdout, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch clients: %s\n", err);
		return KX_EXIT_FAIL;
	}
	return KX_EXIT_OK;
}
