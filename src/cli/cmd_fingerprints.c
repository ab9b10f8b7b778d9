/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_fingerprints.c: `kexwatch fingerprints`: one line per client software. */
#include <stdio.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch fingerprints [OPTIONS]\n"
		"\n"
		"One line per client software: JA4 and its key-exchange suffix (the offered\n"
		"groups and key shares, GREASE removed) for TLS, QUIC and DTLS, HASSH and the\n"
		"kex list for SSH. Clients, server endpoints, handshakes, whether it offers a\n"
		"post-quantum group (PQ) and ML-DSA signatures, handshakes per verdict\n"
		"(SUSPECT: unknown because a key share's size or the group selection breaks\n"
		"the rules), first and last seen, a few SNIs. Fingerprints that offer no PQ\n"
		"come first, those with the most clients first among them: the software to\n"
		"upgrade.\n"
		"\n");
	kx_report_cli_help(out, 1);
	kx_report_cli_table_help(out);
	fprintf(out, "  -h, --help        this help\n"
		"\n"
		"Exit status: 0 success, 1 the database could not be read, 2 usage error.\n");
}

int kx_cmd_fingerprints(int argc, char **argv)
{
	return kx_report_cli_run_table(argc, argv, "fingerprints", print_help, kx_report_fingerprints);
}
