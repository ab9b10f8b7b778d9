/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_health.c: `kexwatch health`: ClientHellos left unanswered, by size and hop. */
#include <stdio.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch health [OPTIONS]\n"
		"\n"
		"Problems a hybrid rollout causes. A hybrid ClientHello no longer fits one\n"
		"1500-byte packet; paths with a broken MTU, MSS clamping or a size-limited\n"
		"middlebox drop it. Shows ClientHellos without a ServerHello (rst, fin,\n"
		"timeout, end-of-capture, gap) by size band (under 1500 bytes, 1500 or more,\n"
		"unknown) and by hop (server IP, port); ClientHellos whose first segment never\n"
		"reached the sensor; HelloRetryRequest round trips; ServerHellos 1 s or more\n"
		"late (a retransmitted ClientHello segment); per hop too, plaintext sessions,\n"
		"handshakes not followed (--max-handshakes or --memcap reached) and encrypted\n"
		"sessions whose handshake was not captured; findings that name the hops; and\n"
		"the flow ledger of the runs behind them.\n"
		"\n");
	kx_report_cli_help(out, 1);
	fprintf(out,
		"  -h, --help        this help\n"
		"\n"
		"--json prints {bands, hops, findings, runs}; --csv prints the hops table.\n"
		"\n"
		"Exit status: 0 success, 1 the database could not be read, 2 usage error.\n");
}

int kx_cmd_health(int argc, char **argv)
{
	return kx_report_cli_run(argc, argv, "health", print_help, kx_report_health);
}
