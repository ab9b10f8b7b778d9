/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_clients.c: `kexwatch clients`: one line per client IP. */
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
		"talked to, a few SNIs and ALPNs, its handshakes per verdict, and its\n"
		"plaintext sessions (PLAINTEXT; PROTO names their applications). Clients with\n"
		"plaintext legs come first, even without any ClientHello (\"no-hello (0/0)\"),\n"
		"then those that offer no PQ: upgrade them. A ClientHello whose first segment\n"
		"was lost counts as a handshake, not as an offer.\n"
		"\n");
	kx_report_cli_help(out, 1);
	kx_report_cli_table_help(out);
	fprintf(out, "  -h, --help        this help\n"
		"\n"
		"Exit status: 0 success, 1 the database could not be read, 2 usage error.\n");
}

int kx_cmd_clients(int argc, char **argv)
{
	return kx_report_cli_run_table(argc, argv, "clients", print_help, kx_report_clients);
}
